"""Supply-voltage quality after EN 50160 (low voltage), from 1 s P1 telegrams or S1 RMS samples.

Strategy: `VoltageAggregator` is fed one `Reading` at a time with its instant (time is passed in) and keeps,
per phase, the running sums of the current 10-minute window (Unix multiples of 600 s: Belgian offsets are
whole hours, so these are local clock windows) in deci-volts, plus the over-voltage (> 253 V) and dip
(< 207 V) episode under way. It returns what closed: `VoltageWindow`s (exact sum, min, max, sample count,
seconds with export, the meter's sag/swell counters) and `VoltageEpisode`s, and announces an episode when it
starts (the crossing an MQTT event reports). A gap longer than `max_gap_s` ends an episode: nothing is
assumed across missing data.

`weekly_compliance` judges each local week (Monday 00:00 Europe/Brussels; a DST week has 167 or 169 hours)
per phase from the stored windows: 95 % of the 10-minute means within 230 V ± 10 % and all within +10 % /
−15 %. The limits are inclusive and compared in exact integers. Missing windows are counted as such: a
criterion is `pass` only if it holds whatever the missing windows were, `fail` only if it fails whatever
they were, `undetermined` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .readings import Reading

WINDOW_S = 600
NOMINAL_DV = 2300
UPPER_DV = 2530  # +10 %
LOWER_DV = 2070  # -10 %: the 95 % criterion, and the dip threshold
LOWEST_DV = 1955  # -15 %: every 10-minute mean
SHARE_PERCENT = 95

Verdict = Literal["pass", "fail", "undetermined"]
EpisodeKind = Literal["over_voltage", "dip"]


@dataclass(frozen=True, slots=True)
class VoltageWindow:
    """One phase over one 10-minute window [start, start + 600 s)."""

    start_ts: int
    phase: int
    samples: int
    sum_dv: int
    min_dv: int
    max_dv: int
    export_samples: int = 0
    sags: int | None = None
    swells: int | None = None
    source: str = "p1"

    def mean_inside(self, low_dv: int, high_dv: int) -> bool:
        """Exactly: low <= sum / samples <= high."""
        return low_dv * self.samples <= self.sum_dv <= high_dv * self.samples

    @property
    def mean_v(self) -> float:
        return round(self.sum_dv / self.samples / 10, 2)


@dataclass(frozen=True, slots=True)
class VoltageEpisode:
    """An over-voltage or a dip on one phase: [start_ts, end_ts), its extreme and the seconds exporting."""

    phase: int
    kind: EpisodeKind
    start_ts: int
    end_ts: int
    extreme_dv: int
    export_s: int = 0
    source: str = "p1"

    @property
    def duration_s(self) -> int:
        return self.end_ts - self.start_ts

    @property
    def with_export(self) -> bool:
        """The home exported during at least half of the episode (the typical PV inverter trip)."""
        return 2 * self.export_s >= self.duration_s


@dataclass
class VoltageUpdate:
    """What one `feed` closed or started."""

    windows: list[VoltageWindow] = field(default_factory=list)
    started: list[VoltageEpisode] = field(default_factory=list)  # end_ts = start_ts: under way
    ended: list[VoltageEpisode] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.windows or self.started or self.ended)


@dataclass
class _Open:
    window_ts: int
    samples: int = 0
    sum_dv: int = 0
    min_dv: int = 10**9
    max_dv: int = -1
    export_samples: int = 0
    sags: int | None = None
    swells: int | None = None


class VoltageAggregator:
    """Incremental 10-minute windows and episodes per phase.

    Args:
        source: `p1` or `s1`, copied into what it returns.
        max_gap_s: a longer silence between two samples ends an episode at the last sample seen.
    """

    def __init__(self, source: str = "p1", max_gap_s: int = 5) -> None:
        self.source = source
        self.max_gap_s = max_gap_s
        self._open: dict[int, _Open] = {}
        self._episodes: dict[int, VoltageEpisode] = {}
        self._last_ts: dict[int, int] = {}

    def feed(self, at: datetime, reading: Reading) -> VoltageUpdate:
        """One sample at `at` (aware). Samples must come in time order; an older one is ignored."""
        ts = int(at.timestamp())
        out = VoltageUpdate()
        for p in reading.phases:
            if p.voltage_dv is None:
                continue
            last = self._last_ts.get(p.phase)
            if last is not None and ts <= last:
                continue
            self._episode(p.phase, ts, p.voltage_dv, reading.exporting, last, out)
            self._last_ts[p.phase] = ts
            window_ts = ts - ts % WINDOW_S
            current = self._open.get(p.phase)
            if current is not None and current.window_ts != window_ts:
                out.windows.append(self._close(p.phase, current))
                current = None
            if current is None:
                current = self._open[p.phase] = _Open(window_ts)
            current.samples += 1
            current.sum_dv += p.voltage_dv
            current.min_dv = min(current.min_dv, p.voltage_dv)
            current.max_dv = max(current.max_dv, p.voltage_dv)
            current.export_samples += reading.exporting
            if p.sags is not None:
                current.sags = p.sags
            if p.swells is not None:
                current.swells = p.swells
        return out

    def flush(self) -> VoltageUpdate:
        """Close the open windows and episodes (end of a replay; a stopping gateway)."""
        out = VoltageUpdate()
        for phase, current in sorted(self._open.items()):
            out.windows.append(self._close(phase, current))
        self._open.clear()
        for phase, episode in sorted(self._episodes.items()):
            out.ended.append(replace(episode, end_ts=self._last_ts[phase] + 1))
        self._episodes.clear()
        return out

    def _close(self, phase: int, w: _Open) -> VoltageWindow:
        return VoltageWindow(
            w.window_ts, phase, w.samples, w.sum_dv, w.min_dv, w.max_dv, w.export_samples,
            w.sags, w.swells, self.source,
        )  # fmt: skip

    def _episode(
        self, phase: int, ts: int, dv: int, exporting: bool, last: int | None, out: VoltageUpdate
    ) -> None:
        kind: EpisodeKind | None = "over_voltage" if dv > UPPER_DV else "dip" if dv < LOWER_DV else None
        current = self._episodes.get(phase)
        if current is not None and last is not None:
            gap = ts - last > self.max_gap_s
            if gap or current.kind != kind:
                out.ended.append(replace(current, end_ts=last + 1))
                del self._episodes[phase]
                current = None
            else:
                extreme = (
                    max(current.extreme_dv, dv) if kind == "over_voltage" else min(current.extreme_dv, dv)
                )
                self._episodes[phase] = replace(
                    current, extreme_dv=extreme, export_s=current.export_s + (ts - last) * exporting
                )
        if current is None and kind is not None:
            episode = VoltageEpisode(phase, kind, ts, ts, dv, int(exporting), self.source)
            self._episodes[phase] = episode
            out.started.append(episode)


# -- the weekly judgement ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PhaseWeek:
    """One phase over one week: the EN 50160 criteria and what happened."""

    phase: int
    windows_expected: int
    windows_valid: int
    windows_inside: int  # valid means within 230 V +-10 %
    windows_outside_all: int  # valid means outside +10 % / -15 %
    share_inside_percent: float | None  # of the valid windows
    criterion_95: Verdict
    criterion_all: Verdict
    verdict: Verdict
    min_mean_v: float | None
    max_mean_v: float | None
    over_voltages: int
    over_voltage_s: int
    over_voltages_with_export: int
    dips: int
    dip_s: int
    meter_sags: int | None  # counter increase over the week; None: the meter does not report it
    meter_swells: int | None
    worst: tuple[VoltageEpisode, ...]

    def to_json(self, zone: ZoneInfo) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "worst"}
        out["windows_missing"] = self.windows_expected - self.windows_valid
        out["worst"] = [episode_json(e, zone) for e in self.worst]
        return out


@dataclass(frozen=True, slots=True)
class Week:
    """A local week [start, end) and its phases."""

    start: datetime
    end: datetime
    phases: tuple[PhaseWeek, ...]

    @property
    def verdict(self) -> Verdict:
        verdicts = {p.verdict for p in self.phases}
        if "fail" in verdicts:
            return "fail"
        return "pass" if verdicts == {"pass"} else "undetermined"

    @property
    def over_voltage_flagged(self) -> bool:
        """Any phase failed a criterion on the high side or had an over-voltage episode."""
        return any(
            p.over_voltages or (p.verdict == "fail" and (p.max_mean_v or 0) > 253) for p in self.phases
        )

    def to_json(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "verdict": self.verdict,
            "over_voltage_flagged": self.over_voltage_flagged,
            "phases": [p.to_json(zone) for p in self.phases],
        }


def episode_json(e: VoltageEpisode, zone: ZoneInfo) -> dict[str, Any]:
    def local(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).isoformat()

    return {
        "phase": e.phase,
        "kind": e.kind,
        "start": local(e.start_ts),
        "end": local(e.end_ts),
        "duration_s": e.duration_s,
        "extreme_v": e.extreme_dv / 10,
        "with_export": e.with_export,
        "source": e.source,
    }


def week_start(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of the Monday of `day`'s week."""
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=zone)


def weeks_between(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The local weeks touching [start, end), each [Monday 00:00, next Monday 00:00)."""
    out = []
    first = week_start(start.astimezone(zone).date(), zone)
    while first < end:
        nxt_day = first.date() + timedelta(days=7)
        nxt = datetime(nxt_day.year, nxt_day.month, nxt_day.day, tzinfo=zone)
        out.append((first, nxt))
        first = nxt
    return out


def _criterion_95(inside: int, valid: int, expected: int) -> Verdict:
    if 100 * inside >= SHARE_PERCENT * expected:
        return "pass"  # holds even if every missing window was outside
    if 100 * (inside + expected - valid) < SHARE_PERCENT * expected:
        return "fail"  # fails even if every missing window was inside
    return "undetermined"


def _phase_week(
    phase: int,
    windows: Sequence[VoltageWindow],
    episodes: Sequence[VoltageEpisode],
    expected: int,
    min_samples: int,
    worst: int,
) -> PhaseWeek:
    valid = [w for w in windows if w.samples >= min_samples]
    inside = sum(w.mean_inside(LOWER_DV, UPPER_DV) for w in valid)
    outside_all = sum(not w.mean_inside(LOWEST_DV, UPPER_DV) for w in valid)
    c95 = _criterion_95(inside, len(valid), expected)
    call: Verdict = "fail" if outside_all else "pass" if len(valid) >= expected else "undetermined"
    verdict: Verdict = (
        "fail" if "fail" in (c95, call) else "pass" if c95 == call == "pass" else "undetermined"
    )
    means = [w.sum_dv / w.samples / 10 for w in valid]
    over = [e for e in episodes if e.kind == "over_voltage"]
    dips = [e for e in episodes if e.kind == "dip"]

    def counter_delta(values: list[int | None]) -> int | None:
        seen = [v for v in values if v is not None]
        return seen[-1] - seen[0] if seen else None

    ranked = sorted(
        episodes, key=lambda e: (-abs(e.extreme_dv - NOMINAL_DV) * max(e.duration_s, 1), e.start_ts)
    )
    return PhaseWeek(
        phase=phase,
        windows_expected=expected,
        windows_valid=len(valid),
        windows_inside=inside,
        windows_outside_all=outside_all,
        share_inside_percent=round(100 * inside / len(valid), 2) if valid else None,
        criterion_95=c95,
        criterion_all=call,
        verdict=verdict,
        min_mean_v=round(min(means), 2) if means else None,
        max_mean_v=round(max(means), 2) if means else None,
        over_voltages=len(over),
        over_voltage_s=sum(e.duration_s for e in over),
        over_voltages_with_export=sum(e.with_export for e in over),
        dips=len(dips),
        dip_s=sum(e.duration_s for e in dips),
        meter_sags=counter_delta([w.sags for w in windows]),
        meter_swells=counter_delta([w.swells for w in windows]),
        worst=tuple(ranked[:worst]),
    )


def weekly_compliance(
    windows: Iterable[VoltageWindow],
    episodes: Iterable[VoltageEpisode],
    start: datetime,
    end: datetime,
    *,
    tz: str = "Europe/Brussels",
    phases: Sequence[int] | None = None,
    min_samples: int = 300,
    worst: int = 5,
) -> list[Week]:
    """EN 50160 per local week touching [start, end) and per phase (those seen, unless `phases`).

    Args:
        min_samples: a 10-minute window with fewer samples is missing data (300: half of 1 s telegrams).
        worst: how many episodes to list per phase, the largest deviation x duration first.
    """
    zone = ZoneInfo(tz)
    all_windows = sorted(windows, key=lambda w: (w.start_ts, w.phase))
    all_episodes = sorted(episodes, key=lambda e: (e.start_ts, e.phase))
    seen = sorted(phases or {w.phase for w in all_windows} | {e.phase for e in all_episodes} or {1})
    out = []
    for first, nxt in weeks_between(start, end, zone):
        lo, hi = int(first.timestamp()), int(nxt.timestamp())
        expected = (hi - lo) // WINDOW_S
        week_windows = [w for w in all_windows if lo <= w.start_ts < hi]
        week_episodes = [e for e in all_episodes if lo <= e.start_ts < hi]
        out.append(
            Week(
                first,
                nxt,
                tuple(
                    _phase_week(
                        k,
                        [w for w in week_windows if w.phase == k],
                        [e for e in week_episodes if e.phase == k],
                        expected,
                        min_samples,
                        worst,
                    )
                    for k in seen
                ),
            )
        )
    return out
