"""Completing the year: 12 whole local months, gaps filled from the nearest same-weekday day, and said so."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from tariffs.series import Usage, last_twelve_months, local_fields
from tests.tariffs.helpers import flat_year, local_ts


def test_a_complete_calendar_year_is_kept_as_is() -> None:
    year = flat_year(import_wh=7, export_wh=3)
    usage, completion = last_twelve_months(year)
    assert completion.complete and completion.empty_months == ()
    assert (completion.window_start, completion.window_end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert np.array_equal(usage.import_wh, year.import_wh) and usage.start_ts.size == 35040


def test_a_missing_day_is_filled_from_the_same_weekday_a_week_away() -> None:
    year = flat_year(import_wh=0)
    day, slot = local_fields(year.start_ts)
    weekday = (day + 0) % 7  # proleptic ordinal: Monday = 1 mod 7
    imp = np.where(weekday == date(2026, 6, 10).toordinal() % 7, slot + 1, 0).astype(np.int64)  # Wednesdays
    gap = (year.start_ts >= local_ts(2026, 6, 10)) & (year.start_ts < local_ts(2026, 6, 11))
    recorded = Usage(year.start_ts, imp, year.export_wh).select(~gap)
    usage, completion = last_twelve_months(recorded)
    assert completion.filled_quarter_hours == 96
    filled = usage.select(
        (usage.start_ts >= local_ts(2026, 6, 10)) & (usage.start_ts < local_ts(2026, 6, 11))
    )
    assert filled.import_wh.tolist() == list(range(1, 97))  # a Wednesday's profile, not a Tuesday's zeros


def test_a_partial_year_names_the_empty_months() -> None:
    year = flat_year(import_wh=5)
    recorded = year.between(local_ts(2026, 5, 1), local_ts(2026, 8, 15))
    usage, completion = last_twelve_months(recorded)
    assert (completion.window_start, completion.window_end) == (date(2025, 9, 1), date(2026, 9, 1))
    assert completion.empty_months == (
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
    )
    assert completion.first_recorded == date(2026, 5, 1) and completion.last_recorded == date(2026, 8, 14)
    assert completion.recorded_quarter_hours + completion.filled_quarter_hours == usage.start_ts.size
    assert int(usage.import_wh.sum()) == 5 * usage.start_ts.size  # every quarter-hour filled (DST days too)


def test_nothing_to_price_is_a_clear_error() -> None:
    empty = Usage(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="nothing to price"):
        last_twelve_months(empty)
    one = flat_year().select(np.arange(35040) < 10)  # ten quarter-hours: no complete day
    with pytest.raises(ValueError, match="no complete recorded day"):
        last_twelve_months(one)
