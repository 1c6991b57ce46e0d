"""CapacityGuard: running demand and projection, deduplicated warnings, month peaks, the Flanders capacity
figure, and the cross-check against the meter's own 1.4.0 / 1.6.0 / 98.1.0."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dsmr_parser import MonthlyPeak, Value, parse_telegram
from metering.peaks import CapacityGuard, PeakWarningEvent
from metering.quarter_hours import QuarterHour
from tests.gateway.test_quarter_hours import make_telegram, utc

TELEGRAMS = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"


def run_power(
    guard: CapacityGuard, start: datetime, seconds: int, kw: int, base_wh: int = 0
) -> list[PeakWarningEvent]:
    """One telegram per second at a constant import power `kw` (registers exact), with 1.7.0."""
    events: list[PeakWarningEvent] = []
    for offset in range(seconds):
        wh = base_wh + offset * kw * 1000 // 3600
        extra = {"1-0:1.7.0": Value(Decimal(kw), "kW")}
        events += guard.update(make_telegram(start + timedelta(seconds=offset), (wh, 0, 0, 0), extra=extra))
    return events


def test_running_average_demand_and_projection() -> None:
    guard = CapacityGuard()
    run_power(guard, utc("2026-11-22T14:00:00"), 301, 6)
    state = guard.state()
    quarter = state["quarter_hour"]
    assert quarter["elapsed_s"] == 300 and quarter["import_kwh"] == 0.5
    assert quarter["average_kw"] == 6.0  # 0.5 kWh over 5 minutes
    assert quarter["demand_kw"] == 2.0  # 0.5 kWh counted over the whole quarter-hour (like 1.4.0)
    assert quarter["projected_kw"] == 6.0  # 6 kW going on for the remaining 10 minutes
    assert json.loads(json.dumps(state)) == state


def test_threshold_and_new_peak_warnings_fire_once_per_quarter_hour() -> None:
    guard = CapacityGuard(threshold_kw="5", warn_after_s=60)
    t0 = utc("2026-11-22T14:00:00")
    first = run_power(guard, t0, 900, 4)  # 4 kW: a new month peak (above 2.5 kW), below the threshold
    assert [e["kind"] for e in first] == ["new_month_peak"]
    assert (
        first[0]["at"] == "2026-11-22T14:01:00+01:00"
        and first[0]["quarter_start"] == "2026-11-22T14:00:00+01:00"
    )
    second = run_power(guard, t0 + timedelta(seconds=900), 900, 6, base_wh=1000)
    assert sorted(e["kind"] for e in second) == ["new_month_peak", "threshold"]
    assert all(e["type"] == "peak_warning" and e["projected_kw"] > 4 for e in second)
    third = run_power(guard, t0 + timedelta(seconds=1800), 901, 3, base_wh=2500)  # below the 6 kW peak
    assert third == []
    assert guard.state()["month"]["peak_kw"] == 6.0


def test_month_peaks_13_month_history_and_capacity_tariff() -> None:
    guard = CapacityGuard()
    start = datetime.fromisoformat("2025-01-10T12:00:00+01:00")
    peaks_kw = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5]  # Jan 2025 .. Feb 2026
    for index, kw in enumerate(peaks_kw):
        moment = start.replace(year=2025 + index // 12, month=index % 12 + 1)
        quarter = QuarterHour(moment, moment + timedelta(minutes=15), kw * 250, 0, 0, 0, True, False, 900)
        guard.add_quarter_hour(quarter)
        smaller = QuarterHour(
            moment + timedelta(hours=1), moment + timedelta(minutes=75), kw * 100, 0, 0, 0, True, False, 900
        )
        guard.add_quarter_hour(smaller)
    history = guard.history()
    assert len(history) == 13 and history[0]["month"] == "2026-02" and history[-1]["month"] == "2025-02"
    assert history[0]["peak_kw"] == 5.0 and history[0]["source"] == "gateway"
    tariff = guard.capacity_tariff("2026-02")
    billed = [max(kw, 2.5) for kw in peaks_kw[2:]]  # March 2025 .. February 2026, each at least 2.5 kW
    assert [m["billed_kw"] for m in tariff["months"]] == list(reversed(billed))
    assert tariff["average_kw"] == float((Decimal(str(sum(billed))) / 12).quantize(Decimal("0.001")))
    assert CapacityGuard().capacity_tariff("2026-02")["average_kw"] == 2.5


def test_cross_check_against_the_meters_own_figures() -> None:
    guard = CapacityGuard()
    t0 = utc("2023-11-22T14:00:00")
    iso = datetime.fromisoformat
    peaks = (
        MonthlyPeak(iso("2023-11-01T00:00:00+01:00"), iso("2023-10-16T13:00:00+02:00"), Decimal("4.927")),
        MonthlyPeak(iso("2023-10-01T00:00:00+02:00"), None, Decimal("0")),
    )
    meter = {
        "1-0:1.4.0": Value(Decimal("1.100"), "kW"),
        "1-0:1.6.0": Value(Decimal("3.000"), "kW", datetime.fromisoformat("2023-11-05T18:15:00+01:00")),
        "0-0:98.1.0": Value(peaks, "kW"),
    }
    for offset in range(0, 1201, 10):
        wh = offset * 2  # 7.2 kW
        guard.update(make_telegram(t0 + timedelta(seconds=offset), (wh, 0, 0, 0), extra=meter))
    state = guard.state()
    assert state["meter"]["current_average_kw"] == 1.1
    assert state["month"]["gateway"]["peak_kw"] == 7.2 and state["month"]["meter"]["peak_kw"] == 3.0
    assert state["month"]["peak_kw"] == 3.0  # billing follows the meter when it reports one
    assert state["differences"]["month_peak_kw"] == 4.2
    assert state["differences"]["current_average_kw"] == round(600 / 1000 * 4 - 1.1, 3)  # 0.6 kWh so far
    months = {row["month"]: row for row in state["history"]}
    assert months["2023-10"]["meter_peak_kw"] == 4.927 and months["2023-10"]["source"] == "meter"
    assert months["2023-09"]["meter_peak_kw"] == 0.0


def test_real_fluvius_telegram_fills_the_meter_side() -> None:
    guard = CapacityGuard()
    assert guard.update(parse_telegram((TELEGRAMS / "fluvius_v171.txt").read_bytes())) == []
    state = guard.state()
    assert state["meter"]["current_average_kw"] == 2.351
    assert [m["month"] for m in state["meter"]["history"]] == ["2020-04", "2020-03", "2020-02"]
    assert state["meter"]["month_peak"]["peak_kw"] == 2.589


def test_snapshot_restore_keeps_peaks_and_deduplication() -> None:
    guard = CapacityGuard(threshold_kw=1)
    t0 = utc("2026-11-22T14:00:00")
    assert run_power(guard, t0, 200, 4)
    copy = CapacityGuard(threshold_kw=1)
    copy.restore(json.loads(json.dumps(guard.snapshot())))
    assert run_power(copy, t0 + timedelta(seconds=200), 100, 4, base_wh=222) == []  # already warned
    assert copy.state()["quarter_hour"]["start"] == guard.state()["quarter_hour"]["start"]
    seeded = CapacityGuard()
    seeded.load([{"start": "2026-11-03T08:00:00+01:00", "avg_import_kw": 3.25}])
    assert seeded.history()[0] == {**seeded.history()[0], "month": "2026-11", "peak_kw": 3.25}
