"""The production aggregator (metering.solar) and the self-consumption figures (metering.solar_history):
exact quarter-hours, interpolated boundaries flagged, a reset or a gap flagged and never invented."""

from __future__ import annotations

import pytest

from metering.solar import ProductionAggregator
from metering.solar_history import solar_figures, with_production

T0 = 1_781_604_000  # 2026-06-16 10:00 UTC, on a quarter-hour


def test_exact_boundaries_give_complete_quarter_hours_that_telescope() -> None:
    agg = ProductionAggregator()
    assert agg.add(T0, 10_000) == []
    assert agg.add(T0 + 300, 10_100) == []
    closed = agg.add(T0 + 900, 10_300)
    assert [(q.start_ts, q.end_ts, q.wh, q.complete, q.estimated) for q in closed] == [
        (T0, T0 + 900, 300, True, False)
    ]
    closed = agg.add(T0 + 1800, 10_700)
    assert closed[0].wh == 400 and closed[0].complete


def test_interpolated_boundary_is_estimated_and_shared() -> None:
    agg = ProductionAggregator()
    agg.add(T0, 0)
    closed = agg.add(T0 + 1000, 1000)  # boundary at 900 s: 900 Wh interpolated
    assert closed[0].wh == 900 and closed[0].estimated and not closed[0].complete
    closed = agg.add(T0 + 1800, 1800)
    assert closed[0].wh == 900 and closed[0].estimated  # shares the interpolated start
    assert sum(q.wh for q in closed) + 900 == 1800  # telescopes to the counter's difference


def test_a_gap_is_flagged_and_a_cold_start_is_incomplete() -> None:
    agg = ProductionAggregator(max_gap_s=120)
    agg.add(T0 + 60, 0)  # cold start mid-quarter
    closed = agg.add(T0 + 900, 50)
    assert closed[0].wh == 50 and not closed[0].complete and not closed[0].estimated
    closed = agg.add(T0 + 2700, 250)  # a 30-minute silence: two quarter-hours, both flagged
    assert [q.wh for q in closed] == [100, 100]
    assert all(q.estimated and not q.complete for q in closed)


def test_a_counter_reset_is_flagged_and_nothing_is_invented() -> None:
    agg = ProductionAggregator()
    agg.add(T0, 5_000)
    agg.add(T0 + 300, 5_200)
    assert agg.add(T0 + 400, 10) == []  # the inverter restarted at 0
    closed = agg.add(T0 + 900, 60)
    assert closed[0].wh == 200 + 50 and closed[0].reset and not closed[0].complete
    agg.add(T0 + 1000, 100)
    closed = agg.add(T0 + 2000, 3)  # a reset across a boundary: the seen part only, then a new baseline
    assert [(q.wh, q.reset) for q in closed] == [(40, True)]
    closed = agg.add(T0 + 2700, 33)
    assert [(q.start_ts, q.wh, q.reset, q.complete) for q in closed] == [(T0 + 1800, 30, True, False)]


def test_readings_that_go_back_in_time_or_are_not_counters_are_rejected() -> None:
    agg = ProductionAggregator()
    agg.add(T0, 100)
    rejected = agg.add(T0, 120).rejected
    assert rejected is not None and rejected.kind == "clock_backwards"
    bad = agg.add(T0 + 10, -1).rejected
    assert bad is not None and bad.kind == "bad_value"
    assert agg.last_reading == (T0, 100)


def test_snapshot_continues_exactly() -> None:
    agg = ProductionAggregator()
    agg.add(T0, 1000)
    agg.add(T0 + 500, 1400)
    again = ProductionAggregator()
    again.restore(agg.snapshot())
    assert again.add(T0 + 900, 1500)[0].wh == 500
    with pytest.raises(ValueError):
        again.restore({"version": 99})


def test_self_consumption_is_production_minus_export_never_below_zero() -> None:
    assert solar_figures(1000, 2000, 3000) == {
        "production_kwh": 3.0,
        "self_consumption_kwh": 1.0,
        "self_sufficiency": 0.5,
    }
    assert solar_figures(0, 500, 400)["self_consumption_kwh"] == 0.0  # never below 0
    assert solar_figures(0, 0, 0)["self_sufficiency"] == 0.0


def test_view_without_a_source_or_without_readings_has_no_numbers() -> None:
    view = {
        "buckets": [
            {"key": "12:00", "has_data": True, "import_kwh": 0.1, "export_kwh": 0.4},
            {"key": "12:15", "has_data": True, "import_kwh": 0.2, "export_kwh": 0.0},
            {"key": "12:30", "has_data": False, "import_kwh": 0.0, "export_kwh": 0.0},
        ],
        "totals": {"key": "total", "import_kwh": 0.3, "export_kwh": 0.4},
    }
    off = with_production(view, {"12:00": 900}, configured=False)
    assert off["production_configured"] is False and "production_kwh" not in off["buckets"][0]
    on = with_production(view, {"12:00": 900, "12:30": 10}, configured=True)
    assert [b["self_consumption_kwh"] for b in on["buckets"]] == [0.5, None, None]
    assert on["totals"]["production_kwh"] == 0.9 and on["totals"]["self_consumption_kwh"] == 0.5
    assert on["totals"]["self_sufficiency"] == pytest.approx(0.5 / 0.6, abs=0.001)
