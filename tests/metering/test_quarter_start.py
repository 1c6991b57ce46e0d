"""`quarter_start`, the one function that computes the start of a quarter-hour, and its users."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metering.quarter_hours import QUARTER_S, QuarterHourAggregator, quarter_start
from sharing.clock import Grid, parse_start


@given(st.integers(0, 2**40), st.sampled_from([0, 3600, 7200, -18000, 19800, 20700]))
def test_quarter_start_is_the_latest_local_quarter_boundary(ts: int, offset: int) -> None:
    start = quarter_start(ts, offset)
    assert start <= ts < start + QUARTER_S
    assert (start + offset) % QUARTER_S == 0
    assert quarter_start(start, offset) == start


def test_the_aggregator_and_the_sharing_grid_agree_with_it() -> None:
    brussels = datetime(2026, 3, 29, 3, 7, 12, tzinfo=ZoneInfo("Europe/Brussels"))  # just after the DST jump
    ts = int(brussels.timestamp())
    assert QuarterHourAggregator().quarter_start(ts) == quarter_start(ts) == ts - 432
    assert parse_start("2026-03-29T03:00:00+02:00") == quarter_start(ts)
    with pytest.raises(ValueError, match="quarter-hour boundary"):
        parse_start("2026-03-29T03:07:00+02:00")
    with pytest.raises(ValueError, match="aligned on a quarter-hour"):
        Grid(ts, 4)
