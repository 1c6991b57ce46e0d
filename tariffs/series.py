"""One household's quarter-hours, and how a year is completed when data is missing.

Strategy: `Usage` holds three aligned int64 arrays (quarter-hour start in Unix s, import Wh, export Wh).
`last_twelve_months` lays the data on the grid of the 12 whole local calendar months that end with the
month of the last recorded quarter-hour, then fills every missing quarter-hour from the nearest
complete recorded day of the same weekday (same local time of day), falling back to the nearest complete
day. What was filled is returned as a `Completion`, so the advice can say how the year was made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from tariffs.bands import ZONE, IntArray

QUARTER_S = 900


@dataclass(frozen=True, eq=False)
class Usage:
    """Quarter-hours of one meter: ``start_ts`` (Unix s, sorted, on quarter-hours), import/export Wh."""

    start_ts: IntArray
    import_wh: IntArray
    export_wh: IntArray

    def __post_init__(self) -> None:
        n = self.start_ts.size
        if self.import_wh.shape != (n,) or self.export_wh.shape != (n,):
            raise ValueError("start_ts, import_wh and export_wh must have the same length")
        if n and (bool(np.any(self.start_ts % QUARTER_S)) or bool(np.any(np.diff(self.start_ts) <= 0))):
            raise ValueError("quarter-hour starts must be on quarter-hours, sorted and unique")
        if n and (int(self.import_wh.min()) < 0 or int(self.export_wh.min()) < 0):
            raise ValueError("energies must not be negative")

    def select(self, mask: np.ndarray) -> Usage:
        return Usage(self.start_ts[mask], self.import_wh[mask], self.export_wh[mask])

    def between(self, start_ts: int, end_ts: int) -> Usage:
        """Quarter-hours with start in [start_ts, end_ts)."""
        return self.select((self.start_ts >= start_ts) & (self.start_ts < end_ts))


@dataclass(frozen=True)
class Completion:
    """How the 12 months were made up from the recorded data."""

    window_start: date
    window_end: date  # exclusive
    recorded_quarter_hours: int
    filled_quarter_hours: int
    first_recorded: date | None
    last_recorded: date | None
    empty_months: tuple[str, ...]  # YYYY-MM with no recorded data at all

    @property
    def complete(self) -> bool:
        return self.filled_quarter_hours == 0

    def to_json(self) -> dict[str, object]:
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "recorded_quarter_hours": self.recorded_quarter_hours,
            "filled_quarter_hours": self.filled_quarter_hours,
            "first_recorded": self.first_recorded.isoformat() if self.first_recorded else None,
            "last_recorded": self.last_recorded.isoformat() if self.last_recorded else None,
            "empty_months": list(self.empty_months),
            "method": "nearest complete recorded day of the same weekday, same local time of day",
        }


def local_midnight_ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())


def local_fields(start_ts: IntArray) -> tuple[IntArray, IntArray]:
    """(local day ordinal, local quarter-hour of the day 0..95) for each start; zone resolved per hour."""
    if start_ts.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    hours, inverse = np.unique(start_ts // 3600, return_inverse=True)
    offsets = np.array(
        [
            int(
                (
                    datetime.fromtimestamp(int(h) * 3600, UTC).astimezone(ZONE).utcoffset() or timedelta()
                ).total_seconds()
            )
            for h in hours
        ],
        dtype=np.int64,
    )
    local = start_ts + offsets[inverse.reshape(-1)]
    epoch_ordinal = date(1970, 1, 1).toordinal()
    day: IntArray = local // 86400 + epoch_ordinal
    slot: IntArray = (local % 86400) // QUARTER_S
    return day, slot


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def last_twelve_months(usage: Usage) -> tuple[Usage, Completion]:
    """The 12 whole local months ending with the month of the last record, gaps filled."""
    if usage.start_ts.size == 0:
        raise ValueError("no quarter-hours: nothing to price")
    last_local = datetime.fromtimestamp(int(usage.start_ts[-1]), UTC).astimezone(ZONE).date()
    window_end = _add_months(last_local.replace(day=1), 1)
    window_start = _add_months(window_end, -12)
    lo, hi = local_midnight_ts(window_start), local_midnight_ts(window_end)
    grid = np.arange(lo, hi, QUARTER_S, dtype=np.int64)
    inside = usage.between(lo, hi)
    rows = (inside.start_ts - lo) // QUARTER_S
    imp = np.zeros(grid.size, dtype=np.int64)
    exp = np.zeros(grid.size, dtype=np.int64)
    present = np.zeros(grid.size, dtype=bool)
    imp[rows], exp[rows], present[rows] = inside.import_wh, inside.export_wh, True
    day, slot = local_fields(grid)
    filled = int((~present).sum())
    if filled:
        _fill(imp, exp, present, day, slot)
    recorded_days = np.unique(day[present]) if present.any() else np.zeros(0, dtype=np.int64)
    months_seen = {(date.fromordinal(int(d)).year, date.fromordinal(int(d)).month) for d in recorded_days}
    empty = tuple(
        f"{m.year:04d}-{m.month:02d}"
        for m in (_add_months(window_start, k) for k in range(12))
        if (m.year, m.month) not in months_seen
    )
    completion = Completion(
        window_start=window_start,
        window_end=window_end,
        recorded_quarter_hours=int(inside.start_ts.size),
        filled_quarter_hours=filled,
        first_recorded=date.fromordinal(int(recorded_days[0])) if recorded_days.size else None,
        last_recorded=date.fromordinal(int(recorded_days[-1])) if recorded_days.size else None,
        empty_months=empty,
    )
    return Usage(grid, imp, exp), completion


def _fill(imp: IntArray, exp: IntArray, present: np.ndarray, day: IntArray, slot: IntArray) -> None:
    """Fill missing rows in place from the nearest complete day (same weekday first)."""
    days = np.unique(day)
    missing_per_day = np.bincount(np.searchsorted(days, day[~present]), minlength=days.size)
    rows_per_day = np.bincount(np.searchsorted(days, day), minlength=days.size)
    complete = days[(missing_per_day == 0) & (rows_per_day > 0)]
    if complete.size == 0:
        raise ValueError("no complete recorded day in the last 12 months: cannot complete the year")
    for d in np.unique(day[~present]):
        same = complete[(complete - d) % 7 == 0]
        pool = same if same.size else complete
        source = int(pool[np.argmin(np.abs(pool - d) * 2 + (pool > d))])
        src_rows = np.flatnonzero(day == source)
        by_slot = dict(zip(slot[src_rows].tolist(), src_rows.tolist(), strict=True))
        for row in np.flatnonzero((day == d) & ~present):
            src = by_slot.get(int(slot[row]))
            if src is not None:
                imp[row], exp[row] = imp[src], exp[src]
