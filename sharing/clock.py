"""Quarter-hour grid: Unix start times, local months and tariff periods.

Strategy: a community's data lives on a grid of consecutive quarter-hours given by the UTC start of
the first one and a count (no clock reads; the time zone is an input). Local calendar facts --
month label and the pilot's period (weekday day 7-22 h, night 22-7 h, weekend day) -- are derived
once per quarter-hour into small arrays the engine and the KPIs index with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from metering.quarter_hours import QUARTER_S, quarter_start
from sharing.keys import PERIOD_NIGHT, PERIOD_WEEKDAY_DAY, PERIOD_WEEKEND_DAY

DEFAULT_TZ = "Europe/Brussels"


def period_of(local: datetime) -> int:
    """The pilot's period of a local start time: night 22-7 h every day, else weekday/weekend day."""
    if local.hour >= 22 or local.hour < 7:
        return PERIOD_NIGHT
    return PERIOD_WEEKEND_DAY if local.weekday() >= 5 else PERIOD_WEEKDAY_DAY


@dataclass(frozen=True, eq=False)
class Grid:
    """``count`` quarter-hours from ``start_ts`` (Unix seconds, multiple of 900) in ``tz``."""

    start_ts: int
    count: int
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if quarter_start(self.start_ts) != self.start_ts:
            raise ValueError("grid start must be aligned on a quarter-hour")
        if self.count < 0:
            raise ValueError("grid count must not be negative")

    def ts(self, index: int) -> int:
        return self.start_ts + QUARTER_S * index

    def local(self, index: int) -> datetime:
        return datetime.fromtimestamp(self.ts(index), ZoneInfo(self.tz))

    def iso(self, index: int) -> str:
        return self.local(index).isoformat()

    def index_of(self, ts: int) -> int:
        """Row of a Unix start time; raises ValueError when off-grid."""
        offset = ts - self.start_ts
        if offset % QUARTER_S or not 0 <= offset // QUARTER_S < self.count:
            raise ValueError("start time outside the grid or not on a quarter-hour")
        return offset // QUARTER_S

    def calendar(self) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(month labels ``YYYY-MM``, month index per row, period per row)."""
        zone = ZoneInfo(self.tz)
        months: list[str] = []
        month_idx = np.zeros(self.count, dtype=np.int64)
        period = np.zeros(self.count, dtype=np.int64)
        first = datetime.fromtimestamp(self.start_ts, UTC)
        for i in range(self.count):
            local = (first + timedelta(seconds=QUARTER_S * i)).astimezone(zone)
            label = f"{local.year:04d}-{local.month:02d}"
            if not months or months[-1] != label:
                months.append(label)
            month_idx[i] = len(months) - 1
            period[i] = period_of(local)
        return months, month_idx, period


def parse_start(text: str) -> int:
    """ISO 8601 start with offset -> Unix seconds; raises ValueError if naive or off-quarter."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError(f"start {text!r} has no UTC offset")
    ts = int(moment.timestamp())
    if quarter_start(ts) != ts or moment.microsecond:
        raise ValueError(f"start {text!r} is not on a quarter-hour boundary")
    return ts
