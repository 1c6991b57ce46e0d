"""Appliance steps, runs, clusters and standby on hand-made series; a simulated day against its truth."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from analysis.appliances import (
    PowerStep,
    PowerWindow,
    PowerWindows,
    StepDetector,
    appliance_report,
    cluster_runs,
    pair_runs,
    standby_per_day,
)
from analysis.pricing import FlatPrice
from analysis.readings import PhaseReading, Reading, reading_from_values
from meter_sim.meter import Meter
from meter_sim.truth import appliance_truth, phase_values

ZONE = ZoneInfo("Europe/Brussels")
T0 = datetime(2026, 11, 16, 6, 0, tzinfo=ZONE)


def r(*watts: int) -> Reading:
    return Reading(tuple(PhaseReading(k + 1, 2300, w) for k, w in enumerate(watts)), sum(watts) < 0)


def detect(series: Sequence[tuple[int, ...]], **options: int) -> list[PowerStep]:
    det = StepDetector(**options)
    steps = []
    for i, watts in enumerate(series):
        steps += det.feed(T0 + timedelta(seconds=i), r(*watts))
    return steps + det.flush()


def test_a_step_spread_over_phases_and_two_seconds_is_one_step() -> None:
    base = [(150, 40, 30)] * 10
    ramp = [(150 + 700, 40 + 300, 30), (150 + 1200, 40 + 500, 30 + 300)]  # 2000 W over two seconds
    on = [(1350, 540, 330)] * 120
    off = [(150, 40, 30)] * 10
    steps = detect(base + ramp + on + off)
    t0 = int(T0.timestamp())
    assert steps == [PowerStep(t0 + 10, 2000, (1, 2, 3)), PowerStep(t0 + 132, -2000, (1, 2, 3))]


def test_small_changes_and_gaps_make_no_step() -> None:
    fridge = [(150,)] * 5 + [(240,)] * 5 + [(150,)] * 5  # 90 W: below min_step
    assert detect(fridge) == []
    det = StepDetector()
    assert det.feed(T0, r(100)) == []
    # 60 s without telegrams: a 2 kW difference across the gap is not a step (nothing is assumed)
    assert det.feed(T0 + timedelta(seconds=60), r(2100)) == []
    assert det.flush() == []


def test_pairs_nest_and_cluster_with_euros() -> None:
    t0 = int(T0.timestamp())
    steps = [
        PowerStep(t0, 2500, (1,)),  # oven on
        PowerStep(t0 + 300, 2000, (1,)),  # kettle on while the oven runs
        PowerStep(t0 + 480, -2010, (1,)),  # kettle off
        PowerStep(t0 + 1800, -2490, (1,)),  # oven off
        PowerStep(t0 + 4000, -900, (1,)),  # an off-step nobody matches: left out
        PowerStep(t0 + 7200, 2020, (1,)),  # kettle again
        PowerStep(t0 + 7380, -2000, (1,)),
    ]
    runs = pair_runs(steps)
    assert [(x.start_ts - t0, x.end_ts - t0, x.power_w) for x in runs] == [
        (0, 1800, 2495),
        (300, 480, 2005),
        (7200, 7380, 2010),
    ]
    clusters = cluster_runs(runs)
    assert [(c.label, len(c.runs)) for c in clusters] == [("oven", 1), ("kettle", 2)]
    report = appliance_report(steps, [], T0, T0 + timedelta(days=1), price=FlatPrice(Decimal("0.30")))
    oven, kettle = report["clusters"]
    assert (oven["kwh"], oven["eur"]) == (1.248, 0.37)  # 2495 W x 30 min = 1247.5 -> 1248 Wh
    assert (kettle["runs"], kettle["kwh"]) == (2, 0.2)
    # euros are summed exactly and rounded once: 2 x 0.1 kWh x 0.35 = 0.07 (0.04 + 0.04 if each were rounded)
    report = appliance_report(steps, [], T0, T0 + timedelta(days=1), price=FlatPrice(Decimal("0.35")))
    assert report["clusters"][1]["eur"] == 0.07


def test_standby_is_the_quietest_window_without_export() -> None:
    day = int(datetime(2026, 11, 16, tzinfo=ZONE).timestamp())
    windows = [
        PowerWindow(day + 3 * 3600, 600, 600 * 180, 0),
        PowerWindow(day + 4 * 3600, 600, 600 * 160, 0),
        PowerWindow(day + 12 * 3600, 600, 600 * 20, 500),  # exporting: consumption hidden, not standby
        PowerWindow(day + 5 * 3600, 100, 100 * 10, 0),  # too few samples
    ]
    assert list(standby_per_day(windows, tz="Europe/Brussels").values()) == [160]
    midnight = datetime(2026, 11, 16, tzinfo=ZONE)
    report = appliance_report([], windows, midnight, T0 + timedelta(days=1), price=FlatPrice(Decimal("0.30")))
    assert report["standby"]["median_w"] == 160
    assert report["standby"]["kwh_per_year"] == 1401.6  # 160 W x 8760 h
    assert report["standby"]["eur_per_year"] == 420.48
    pw = PowerWindows()
    out = []
    for i in range(1200):
        out += pw.feed(T0 + timedelta(seconds=i), r(200 if i < 600 else -300))
    out += pw.flush()
    assert [(w.samples, w.import_w_sum, w.export_samples) for w in out] == [(600, 120000, 0), (600, 0, 600)]


def test_a_simulated_day_is_found_against_the_ground_truth() -> None:
    meter = Meter("be-1ph", 3, datetime(2026, 3, 2, tzinfo=ZONE))
    det = StepDetector()
    steps = []
    for _ in range(86400):
        meter.step(1)
        steps += det.feed(meter.time, reading_from_values(phase_values(meter)))
    steps += det.flush()
    runs = [x for x in pair_runs(steps) if x.power_w >= 1000]
    truth = appliance_truth(meter, meter.start_ts, meter.ts)
    big = [t for t in truth if t.power_w >= 1000]
    assert big, "the seeded day has appliance runs"

    def same(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
        return abs(a_start - b_start) <= 5 and abs(a_end - b_end) <= 5

    found = [t for t in big if any(same(t.start_ts, t.end_ts, x.start_ts, x.end_ts) for x in runs)]
    real = [x for x in runs if any(same(t.start_ts, t.end_ts, x.start_ts, x.end_ts) for t in truth)]
    assert len(found) >= 0.9 * len(big) and len(real) >= 0.9 * len(runs)
    true_wh = sum(t.energy_wh for t in found)
    got_wh = sum(x.energy_wh for x in real)
    assert abs(got_wh - true_wh) <= 0.1 * true_wh
