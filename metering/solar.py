"""Quarter-hours of PV production from one cumulative production counter (pure: no I/O, no clock reads).

Strategy: the same rules as the meter's registers (`metering.quarter_hours`), for one counter in Wh that an
inverter, a Shelly or Home Assistant reports. A reading is (UTC seconds, Wh); the caller gives the time
(the simulated meter's clock, or when an MQTT message arrived). A quarter-hour's production is the counter
at its end boundary minus the counter at its start boundary; a boundary value is the reading taken exactly
there or the linear interpolation (integer Wh, rounded half up) between its neighbours, shared by both
quarter-hours, so the quarter-hours telescope to the counter's difference.

Flags, never invented energy: `estimated` = a boundary was interpolated; `complete` = both boundaries read
exactly, a real start (not a cold start mid-quarter), no gap longer than `max_gap_s` and no reset; `reset`
= the counter went backwards inside this quarter-hour (an inverter that restarted at 0): the energy before
the reset and after it is counted, the unseen part is not, and the new value is the new baseline.
A reading whose time does not move forward, or whose value is not a whole number of Wh in range, is
rejected and changes nothing. `snapshot()` / `restore()` carry the state as JSON across restarts.

Example:
    agg = ProductionAggregator()
    agg.add(1_700_000_100, 5_000); closed = agg.add(1_700_001_000, 5_400)   # the 22:15 quarter closes
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from metering.quarter_hours import QUARTER_S, quarter_start

SNAPSHOT_VERSION = 1
MAX_COUNTER_WH = 10**12
DEFAULT_MAX_GAP_S = 900  # inverters and Shellies publish every 10 s to 5 min
ProductionRejectionKind = Literal["clock_backwards", "bad_value"]


@dataclass(frozen=True, slots=True)
class ProductionRejection:
    """Why a reading was not used: `kind` and a sentence for logs."""

    kind: ProductionRejectionKind
    reason: str


@dataclass(frozen=True, slots=True)
class ProductionQuarter:
    """One clock quarter-hour [start_ts, end_ts) of production (Wh) and how trustworthy it is."""

    start_ts: int
    end_ts: int
    wh: int
    estimated: bool
    complete: bool
    reset: bool
    readings: int


@dataclass(slots=True)
class _Open:
    start: int
    start_wh: int  # counter at the start boundary (or first reading, or the baseline after a reset)
    counted_wh: int  # energy seen before a reset inside this quarter-hour
    start_known: bool
    start_estimated: bool
    gap: bool
    reset: bool
    readings: int


class ProductionAdded(list[ProductionQuarter]):
    """What `ProductionAggregator.add` returns: the closed quarter-hours (oldest first) and `rejected`."""

    rejected: ProductionRejection | None = None

    def __init__(
        self, closed: list[ProductionQuarter] | None = None, rejected: ProductionRejection | None = None
    ) -> None:
        super().__init__(closed or [])
        self.rejected = rejected


def _interpolate(ts_a: int, wh_a: int, ts_b: int, wh_b: int, ts: int) -> int:
    span = ts_b - ts_a
    return wh_a + ((wh_b - wh_a) * (ts - ts_a) * 2 + span) // (2 * span)


class ProductionAggregator:
    """Counter readings in, closed quarter-hours of production out (see the module docstring).

    Args:
        max_gap_s: a silence longer than this between two readings makes the quarter-hours it touches
            incomplete (their boundaries are interpolated, so also estimated).
    """

    def __init__(self, *, max_gap_s: int = DEFAULT_MAX_GAP_S) -> None:
        self.max_gap_s = max_gap_s
        self._last: tuple[int, int] | None = None
        self._open: _Open | None = None

    @property
    def last_reading(self) -> tuple[int, int] | None:
        """The latest accepted reading (UTC seconds, Wh), or None."""
        return self._last

    def add(self, ts: int, wh: int) -> ProductionAdded:
        """Feed one reading; returns the quarter-hours it closed, or a rejection."""
        if isinstance(wh, bool) or not isinstance(wh, int) or not 0 <= wh <= MAX_COUNTER_WH:
            return ProductionAdded(
                rejected=ProductionRejection("bad_value", f"counter {wh!r} Wh out of range")
            )
        last, current = self._last, self._open
        if last is None or current is None:
            start = quarter_start(ts)
            self._open = _Open(start, wh, 0, ts == start, False, False, False, 1)
            self._last = (ts, wh)
            return ProductionAdded()
        last_ts, last_wh = last
        if ts <= last_ts:
            what = "repeats" if ts == last_ts else "goes backwards"
            reason = f"reading time {ts} {what} (last accepted {last_ts})"
            return ProductionAdded(rejected=ProductionRejection("clock_backwards", reason))
        if wh < last_wh:  # a reset: keep what was seen, the new value is the new baseline
            current.counted_wh += last_wh - current.start_wh
            current.reset = True
            return self._reset_to(ts, wh, current)
        gap = ts - last_ts > self.max_gap_s
        closed: list[ProductionQuarter] = []
        boundary = current.start + QUARTER_S
        while boundary <= ts:
            exact = boundary == ts
            value = wh if exact else _interpolate(last_ts, last_wh, ts, wh, boundary)
            closed.append(self._close(current, boundary, value, not exact, gap))
            current = _Open(boundary, value, 0, True, not exact, gap and not exact, False, 0)
            boundary += QUARTER_S
        current.readings += 1
        if gap and ts > current.start:
            current.gap = True
        self._open, self._last = current, (ts, wh)
        return ProductionAdded(closed)

    def _reset_to(self, ts: int, wh: int, current: _Open) -> ProductionAdded:
        """After a reset: the open quarter-hour closes at its end with what was seen before the reset; the
        energy between the last reading and the reset reading is unknown: not counted, and the quarter-hours
        wholly inside it are not produced (a hole, not zeros)."""
        closed: list[ProductionQuarter] = []
        boundary = current.start + QUARTER_S
        if boundary <= ts:
            current.start_wh = 0
            closed.append(self._close(current, boundary, 0, False, True))
            start = quarter_start(ts)
            current = _Open(start, wh, 0, ts == start, False, False, ts != start, 1)
        else:
            current.start_wh = wh
            current.readings += 1
        self._open, self._last = current, (ts, wh)
        return ProductionAdded(closed)

    def _close(self, open_: _Open, end: int, value: int, end_estimated: bool, gap: bool) -> ProductionQuarter:
        estimated = open_.start_estimated or end_estimated
        return ProductionQuarter(
            start_ts=open_.start,
            end_ts=end,
            wh=open_.counted_wh + max(0, value - open_.start_wh),
            estimated=estimated,
            complete=open_.start_known and not estimated and not open_.gap and not gap and not open_.reset,
            reset=open_.reset,
            readings=open_.readings,
        )

    def snapshot(self) -> dict[str, Any]:
        """The whole state as a JSON-ready dict."""
        open_ = self._open
        return {
            "version": SNAPSHOT_VERSION,
            "last": None if self._last is None else list(self._last),
            "open": None
            if open_ is None
            else {
                "start": open_.start,
                "start_wh": open_.start_wh,
                "counted_wh": open_.counted_wh,
                "start_known": open_.start_known,
                "start_estimated": open_.start_estimated,
                "gap": open_.gap,
                "reset": open_.reset,
                "readings": open_.readings,
            },
        }

    def restore(self, snapshot: Mapping[str, Any] | None) -> None:
        """Continue from a `snapshot()` (None: start cold). Raises ValueError on a broken one."""
        self._last = self._open = None
        if snapshot is None:
            return
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported production snapshot version {snapshot.get('version')!r}")
        try:
            last, open_ = snapshot["last"], snapshot["open"]
            if last is None or open_ is None:
                return
            self._last = (int(last[0]), int(last[1]))
            self._open = _Open(
                int(open_["start"]),
                int(open_["start_wh"]),
                int(open_["counted_wh"]),
                bool(open_["start_known"]),
                bool(open_["start_estimated"]),
                bool(open_["gap"]),
                bool(open_["reset"]),
                int(open_["readings"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            self._last = self._open = None
            raise ValueError(f"broken production snapshot: {exc!r}") from exc
