"""Quarter-hours from the meter's cumulative energy registers (pure: no I/O, no clock reads).

Strategy: every accepted telegram is a *reading* — the meter's own timestamp (0-0:1.0.0, as whole UTC
seconds) and the four registers 1.8.1/1.8.2/2.8.1/2.8.2 as integer Wh (kWh x 1000; meters that send Wh are
taken as is). A quarter-hour's energy is the register value at its end boundary minus the value at its start
boundary. A boundary value is the reading taken exactly at the boundary, or else the linear interpolation
(integer Wh, rounded half up) between the last reading before and the first reading after it — never a sum
of instantaneous powers. Each boundary gets ONE value shared by both neighbouring quarter-hours, so the sum of
the quarter-hours always telescopes to the exact register difference: nothing lost, nothing counted twice.

Quarter-hours are clock quarter-hours of the configured zone (Europe/Brussels by default), keyed by their
aware start instant (UTC seconds internally), so the repeated autumn hour gives two distinct quarter-hours
02:00+02:00 and 02:00+01:00, and DST days have 92 / 100 quarter-hours.

Flags: `estimated` = at least one of the two boundary values was interpolated (no telegram stamped exactly
at that boundary), whatever the length of the gap: an interpolated value can be off the meter's own reading
at that instant (by 1 Wh over a 2 s gap, by more over an outage), so only a record read at both boundaries
is the meter's exact delta. `complete` = both boundary values were read exactly (so never with
`estimated`), the start is a real boundary (not a cold start in the middle) and every telegram arrived (no
gap longer than `max_gap_s` touching it). A gap spanning several quarter-hours produces each of them
(estimated). The first quarter-hour after a cold start (no snapshot) only counts energy from the first
reading: `complete=False` (not estimated: nothing was interpolated).

Bad input is returned, not raised: a telegram whose timestamp goes backwards (or repeats), whose register
is not a finite number in range, goes backwards or grows faster than `MAX_POWER_W` allows, is rejected
with a `Rejection` (kind and reason; `metering.readings` reads and screens the registers) and changes
nothing — a meter clock jump back cannot corrupt stored data. `snapshot()` / `restore()` carry the whole
state as JSON, so a restarted gateway continues exactly (replayed telegrams are rejected as going
backwards: no double counting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dsmr_parser import Telegram
from metering.readings import Reading, Registers, Rejection, read, register_codes
from metering.record import QuarterHourRecord, kwh

QUARTER_S = 900
SNAPSHOT_VERSION = 1
KWH = Decimal("0.001")


def quarter_start(ts: int, utc_offset_s: int = 0) -> int:
    """UTC seconds of the start of the clock quarter-hour holding `ts` (UTC seconds) on a clock that runs
    `utc_offset_s` ahead of UTC. The one place a quarter-hour start is computed: a start time is on a
    quarter-hour exactly when `quarter_start(ts) == ts` (every zone's offset is a multiple of 15 minutes
    today, so the UTC grid and the local grid agree; the offset keeps this true for any other)."""
    return ts - (ts + utc_offset_s) % QUARTER_S


# Register slots, in this order everywhere: import day, import night, export day, export night.
SLOTS = ("import_day", "import_night", "export_day", "export_night")


def _wh_to_kw(wh: int, seconds: int) -> Decimal:
    """Average power (kW, 3 decimals) of `wh` over `seconds`."""
    if seconds <= 0:
        return Decimal("0.000")
    return (Decimal(wh) * Decimal(3600) / Decimal(1000) / Decimal(seconds)).quantize(KWH)


@dataclass(frozen=True, slots=True)
class QuarterHour:
    """One clock quarter-hour: energy per register (integer Wh) and how trustworthy it is.

    `as_of` is None for a closed quarter-hour; for the open one (`QuarterHourAggregator.current()`) it is the
    time of the latest reading, and the energies are the energy so far.
    """

    start: datetime
    end: datetime
    import_day_wh: int
    import_night_wh: int
    export_day_wh: int
    export_night_wh: int
    complete: bool
    estimated: bool
    telegrams: int
    as_of: datetime | None = None

    @property
    def import_wh(self) -> int:
        return self.import_day_wh + self.import_night_wh

    @property
    def export_wh(self) -> int:
        return self.export_day_wh + self.export_night_wh

    @property
    def duration_s(self) -> int:
        """Seconds covered: the whole quarter-hour when closed, the elapsed part when open."""
        until = self.as_of if self.as_of is not None else self.end
        return int((until - self.start).total_seconds())

    @property
    def avg_import_kw(self) -> Decimal:
        """Average import power over the quarter-hour (over the elapsed part when still open)."""
        return _wh_to_kw(self.import_wh, self.duration_s)

    @property
    def avg_export_kw(self) -> Decimal:
        return _wh_to_kw(self.export_wh, self.duration_s)

    def to_json(self, meter_id: str, ean: str | None = None) -> QuarterHourRecord:
        """The quarter-hour record of ARCHITECTURE §3 (kWh with 3 decimals, aware ISO times)."""
        out: QuarterHourRecord = {
            "meter_id": meter_id,
            "ean": ean,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "import_day": kwh(self.import_day_wh),
            "import_night": kwh(self.import_night_wh),
            "export_day": kwh(self.export_day_wh),
            "export_night": kwh(self.export_night_wh),
            "import_kwh": kwh(self.import_wh),
            "export_kwh": kwh(self.export_wh),
            "avg_import_kw": float(self.avg_import_kw),
            "avg_export_kw": float(self.avg_export_kw),
            "complete": self.complete,
            "estimated": self.estimated,
            "telegrams": self.telegrams,
        }
        if self.as_of is not None:
            out["as_of"] = self.as_of.isoformat()
        return out


@dataclass(slots=True)
class _Open:
    start: int  # UTC seconds of the quarter-hour start
    wh: Registers  # register values at the start boundary (or the first reading after a cold start)
    start_known: bool  # False after a cold start in the middle of a quarter-hour
    start_estimated: bool  # the start boundary value was interpolated (no telegram stamped on it)
    gap: bool  # a gap longer than max_gap_s touched this quarter-hour
    telegrams: int


def _interpolate(before: Reading, after: Reading, ts: int) -> Registers:
    """Register values at `ts` (before.ts < ts < after.ts), linear, integer Wh rounded half up."""
    span = after.ts - before.ts
    done = ts - before.ts
    a, b = before.wh, after.wh
    return (
        a[0] + ((b[0] - a[0]) * done * 2 + span) // (2 * span),
        a[1] + ((b[1] - a[1]) * done * 2 + span) // (2 * span),
        a[2] + ((b[2] - a[2]) * done * 2 + span) // (2 * span),
        a[3] + ((b[3] - a[3]) * done * 2 + span) // (2 * span),
    )


class Added(list[QuarterHour]):
    """What `QuarterHourAggregator.add` returns: the closed quarter-hours (a list, oldest first), and
    `rejected`, the `Rejection` when the telegram was not used (then the list is empty)."""

    rejected: Rejection | None = None

    def __init__(self, closed: list[QuarterHour] | None = None, rejected: Rejection | None = None) -> None:
        super().__init__(closed or [])
        self.rejected = rejected


class QuarterHourAggregator:
    """Telegrams in, closed clock quarter-hours out (see the module docstring for the guarantees).

    Args:
        tz: the zone whose clock quarter-hours are used (Europe/Brussels).
        tariff_labels: what tariffs 1 and 2 mean (Belgium `{1: "day", 2: "night"}`, the default).
        max_gap_s: a gap between two telegrams longer than this makes the quarter-hours it touches incomplete
            (meters send every 1 s or 10 s). Any interpolated boundary, across a gap of any length, makes
            both quarter-hours sharing it estimated (and so incomplete).
    """

    def __init__(
        self,
        tz: str = "Europe/Brussels",
        *,
        tariff_labels: Mapping[int, str] | None = None,
        max_gap_s: int = 15,
    ) -> None:
        self.tz_name = tz
        self.zone = ZoneInfo(tz)
        self.tariff_labels: dict[int, str] = dict(tariff_labels or {1: "day", 2: "night"})
        self.codes = register_codes(self.tariff_labels)
        self.max_gap_s = max_gap_s
        self._last: Reading | None = None
        self._open: _Open | None = None

    # -- time ------------------------------------------------------------------------------------------
    def quarter_start(self, ts: int) -> int:
        """UTC seconds of the start of the local clock quarter-hour containing `ts` (UTC seconds)."""
        return quarter_start(ts, self._offset_s(ts))

    def _offset_s(self, ts: int) -> int:
        local = datetime.fromtimestamp(ts, UTC).astimezone(self.zone)
        delta = local.utcoffset() or timedelta(0)
        return int(delta.total_seconds())

    def local(self, ts: int) -> datetime:
        """UTC seconds -> local time with a fixed offset (so the repeated autumn hour's two 02:00 compare
        and hash as different instants, which same-zone `ZoneInfo` datetimes do not)."""
        local = datetime.fromtimestamp(ts, UTC).astimezone(self.zone)
        return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))

    # -- input -----------------------------------------------------------------------------------------
    def check(self, telegram: Telegram) -> Rejection | None:
        """Why `add` would reject this telegram (None when it would be used). Changes nothing."""
        parsed = self._read(telegram)
        return parsed if isinstance(parsed, Rejection) else None

    def _read(self, telegram: Telegram) -> Reading | Rejection:
        return read(telegram, self.codes, self._last, self.local)

    def add(self, telegram: Telegram) -> Added:
        """Feed one telegram; returns the quarter-hours it closed (oldest first), or a rejection."""
        reading = self._read(telegram)
        if isinstance(reading, Rejection):
            return Added(rejected=reading)
        closed: list[QuarterHour] = []
        last, current = self._last, self._open
        if last is None or current is None:
            start = self.quarter_start(reading.ts)
            self._open = _Open(start, reading.wh, reading.ts == start, False, False, 1)
            self._last = reading
            return Added()
        gap = reading.ts - last.ts > self.max_gap_s
        boundary = current.start + QUARTER_S
        while boundary <= reading.ts:
            exact = boundary == reading.ts
            wh = reading.wh if exact else _interpolate(last, reading, boundary)
            closed.append(self._close(current, boundary, wh, not exact, gap))
            current = _Open(boundary, wh, True, not exact, gap and not exact, 0)
            boundary += QUARTER_S
        current.telegrams += 1
        if gap and reading.ts > current.start:
            current.gap = True
        self._open, self._last = current, reading
        return Added(closed)

    def _close(self, open_: _Open, end: int, wh: Registers, end_estimated: bool, gap: bool) -> QuarterHour:
        """The closed quarter-hour; `end_estimated`: the end value was interpolated; `gap`: the reading that
        closes it came after a gap longer than `max_gap_s`."""
        start_wh = open_.wh
        estimated = open_.start_estimated or end_estimated
        return QuarterHour(
            start=self.local(open_.start),
            end=self.local(end),
            import_day_wh=wh[0] - start_wh[0],
            import_night_wh=wh[1] - start_wh[1],
            export_day_wh=wh[2] - start_wh[2],
            export_night_wh=wh[3] - start_wh[3],
            complete=open_.start_known and not estimated and not open_.gap and not gap,
            estimated=estimated,
            telegrams=open_.telegrams,
        )

    def current(self) -> QuarterHour | None:
        """The open quarter-hour so far (energy up to the latest reading, `as_of` set), or None."""
        last, open_ = self._last, self._open
        if last is None or open_ is None:
            return None
        return QuarterHour(
            start=self.local(open_.start),
            end=self.local(open_.start + QUARTER_S),
            import_day_wh=last.wh[0] - open_.wh[0],
            import_night_wh=last.wh[1] - open_.wh[1],
            export_day_wh=last.wh[2] - open_.wh[2],
            export_night_wh=last.wh[3] - open_.wh[3],
            complete=False,
            estimated=open_.start_estimated,
            telegrams=open_.telegrams,
            as_of=self.local(last.ts),
        )

    @property
    def last_reading(self) -> tuple[datetime, Registers] | None:
        """The latest accepted reading: (meter time, registers in Wh)."""
        return None if self._last is None else (self.local(self._last.ts), self._last.wh)

    # -- persistence -----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as a JSON-ready dict (store it with the quarter-hours it closed)."""
        last, open_ = self._last, self._open
        return {
            "version": SNAPSHOT_VERSION,
            "tz": self.tz_name,
            "tariff_labels": {str(k): v for k, v in self.tariff_labels.items()},
            "last": None if last is None else {"ts": last.ts, "wh": list(last.wh)},
            "open": None
            if open_ is None
            else {
                "start": open_.start,
                "wh": list(open_.wh),
                "start_known": open_.start_known,
                "start_estimated": open_.start_estimated,
                "gap": open_.gap,
                "telegrams": open_.telegrams,
            },
        }

    def restore(self, snapshot: Mapping[str, Any] | None) -> None:
        """Continue from a `snapshot()` (None: start cold). Raises ValueError on a foreign or broken one."""
        if snapshot is None:
            self._last = self._open = None
            return
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported aggregator snapshot version {snapshot.get('version')!r}")
        if snapshot.get("tz") != self.tz_name:
            raise ValueError(f"snapshot is for zone {snapshot.get('tz')!r}, aggregator uses {self.tz_name!r}")
        try:
            last, open_ = snapshot["last"], snapshot["open"]
            self._last = None if last is None else Reading(int(last["ts"]), _regs(last["wh"]))
            self._open = (
                None
                if open_ is None
                else _Open(
                    int(open_["start"]),
                    _regs(open_["wh"]),
                    bool(open_["start_known"]),
                    bool(open_["start_estimated"]),
                    bool(open_["gap"]),
                    int(open_["telegrams"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            self._last = self._open = None
            raise ValueError(f"broken aggregator snapshot: {exc!r}") from exc


def _regs(values: Any) -> Registers:
    a, b, c, d = (int(v) for v in values)
    return (a, b, c, d)
