"""Appliances and standby from 1 s per-phase active power.

Strategy:
- `StepDetector` (incremental, time passed in) watches the net power of each phase second by second. The
  changes of the phases that moved by at least `phase_threshold_w` in the same second are summed (a
  single-phase appliance spread over phases, a three-phase heat pump and a one-phase kettle alike); a change
  spread over consecutive seconds in the same direction is one step. Steps of at least `min_step_w` come
  out as `PowerStep`s — a few hundred a day, which is what the store keeps, not the 86 400 telegrams.
- `PowerWindows` keeps the 10-minute mean import power (and whether the home exported) for the standby.
- `pair_runs` pairs each off-step with the latest open on-step of about the same size (within
  `tolerance`) on the same phases: an `ApplianceRun` of power = mean of both sizes, energy = power x time.
- `cluster_runs` groups runs of similar power and phases; a cluster gets a guessed label (kettle, oven,
  washing/dishwasher heating, EV charger, heat pump) from its power, duration and phases.
- Standby per local day = the lowest 10-minute mean import of the day among complete windows without export
  (while the home exports, its own consumption is hidden).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .pricing import EnergyPrice, energy_cost_eur
from .readings import Reading

WINDOW_S = 600
HOURS_PER_YEAR = Decimal(8760)


@dataclass(frozen=True, slots=True)
class PowerStep:
    """A change of `delta_w` watts (positive: something switched on) at Unix second `ts`."""

    ts: int
    delta_w: int
    phases: tuple[int, ...]


class StepDetector:
    """Incremental on/off step detection over per-phase net power.

    Args:
        min_step_w: smallest step reported (sum over the phases that moved).
        phase_threshold_w: a phase moved when its power changed at least this much in one second.
        max_gap_s: a longer silence restarts detection (no step is assumed across missing data).
    """

    def __init__(self, min_step_w: int = 300, phase_threshold_w: int = 60, max_gap_s: int = 5) -> None:
        self.min_step_w = min_step_w
        self.phase_threshold_w = phase_threshold_w
        self.max_gap_s = max_gap_s
        self._last: dict[int, int] = {}
        self._last_ts: int | None = None
        self._pending: PowerStep | None = None

    def feed(self, at: datetime, reading: Reading) -> list[PowerStep]:
        """One second of readings; returns the steps that are complete (usually none)."""
        ts = int(at.timestamp())
        now = {p.phase: p.net_w for p in reading.phases if p.net_w is not None}
        out: list[PowerStep] = []
        if self._last_ts is not None and ts <= self._last_ts:
            return out
        if self._last_ts is None or ts - self._last_ts > self.max_gap_s:
            out += self._emit()
            self._last, self._last_ts = now, ts
            return out
        moved = {k: now[k] - self._last[k] for k in now if k in self._last}
        moved = {k: d for k, d in moved.items() if abs(d) >= self.phase_threshold_w}
        self._last, self._last_ts = now, ts
        delta = sum(moved.values())
        pending = self._pending
        if moved and pending is not None and (delta > 0) == (pending.delta_w > 0) and delta:
            phases = tuple(sorted(set(pending.phases) | set(moved)))
            self._pending = PowerStep(pending.ts, pending.delta_w + delta, phases)
            return out
        out += self._emit()
        if moved and delta:
            self._pending = PowerStep(ts, delta, tuple(sorted(moved)))
        return out

    def flush(self) -> list[PowerStep]:
        """The step still being built (end of a replay)."""
        return self._emit()

    def _emit(self) -> list[PowerStep]:
        pending, self._pending = self._pending, None
        if pending is not None and abs(pending.delta_w) >= self.min_step_w:
            return [pending]
        return []


@dataclass(frozen=True, slots=True)
class PowerWindow:
    """Import power over a 10-minute window: the sum of the seconds' watts, and the seconds exporting."""

    start_ts: int
    samples: int
    import_w_sum: int
    export_samples: int


class PowerWindows:
    """Incremental 10-minute import-power windows (for the standby)."""

    def __init__(self) -> None:
        self._open: list[int] | None = None  # [window_ts, samples, sum, export_samples]
        self._last_ts: int | None = None

    def feed(self, at: datetime, reading: Reading) -> list[PowerWindow]:
        ts = int(at.timestamp())
        if self._last_ts is not None and ts <= self._last_ts:
            return []
        self._last_ts = ts
        window_ts = ts - ts % WINDOW_S
        out = []
        if self._open is not None and self._open[0] != window_ts:
            out = self.flush()
        if self._open is None:
            self._open = [window_ts, 0, 0, 0]
        net = sum(p.net_w for p in reading.phases if p.net_w is not None)
        self._open[1] += 1
        self._open[2] += max(net, 0)
        self._open[3] += reading.exporting
        return out

    def flush(self) -> list[PowerWindow]:
        current, self._open = self._open, None
        return [] if current is None else [PowerWindow(*current)]


@dataclass(frozen=True, slots=True)
class ApplianceRun:
    """An appliance on from `start_ts` to `end_ts` at `power_w` on `phases`."""

    start_ts: int
    end_ts: int
    power_w: int
    phases: tuple[int, ...]

    @property
    def duration_s(self) -> int:
        return self.end_ts - self.start_ts

    @property
    def energy_wh(self) -> int:
        return round(self.power_w * self.duration_s / 3600)


def pair_runs(
    steps: Iterable[PowerStep],
    *,
    tolerance: float = 0.2,
    tolerance_w: int = 150,
    max_duration_s: int = 16 * 3600,
) -> list[ApplianceRun]:
    """Pair on- and off-steps into runs (oldest first); unpaired steps are left out."""
    open_steps: list[PowerStep] = []
    runs = []
    for step in sorted(steps, key=lambda s: s.ts):
        open_steps = [s for s in open_steps if step.ts - s.ts <= max_duration_s]
        if step.delta_w > 0:
            open_steps.append(step)
            continue
        size = -step.delta_w
        for i in range(len(open_steps) - 1, -1, -1):
            on = open_steps[i]
            if abs(on.delta_w - size) <= max(tolerance_w, tolerance * on.delta_w) and set(on.phases) & set(
                step.phases
            ):
                del open_steps[i]
                phases = tuple(sorted(set(on.phases) | set(step.phases)))
                runs.append(ApplianceRun(on.ts, step.ts, (on.delta_w + size) // 2, phases))
                break
    return sorted(runs, key=lambda r: r.start_ts)


@dataclass
class ApplianceCluster:
    """Recurring runs of similar power on the same phases; `label` is a guess from power and duration."""

    label: str
    runs: list[ApplianceRun] = field(default_factory=list)

    @property
    def power_w(self) -> int:
        return int(statistics.median(r.power_w for r in self.runs))

    @property
    def duration_s(self) -> int:
        return int(statistics.median(r.duration_s for r in self.runs))

    @property
    def energy_wh(self) -> int:
        return sum(r.energy_wh for r in self.runs)


def guess_label(power_w: int, duration_s: int, phases: Sequence[int]) -> str:
    """A label key (see `analysis.texts`) for runs of this median power, duration and phases."""
    if len(phases) == 3 and power_w >= 1000:
        return "heat_pump"
    if power_w >= 3500 and duration_s >= 1800:
        return "ev_charger"
    if power_w >= 1500 and duration_s <= 360:
        return "kettle"
    if power_w >= 1500 and duration_s >= 2400:
        return "washing_heating"
    if power_w >= 1500:
        return "oven"
    return "other"


def cluster_runs(runs: Iterable[ApplianceRun], *, spread: float = 0.15) -> list[ApplianceCluster]:
    """Group runs by phases, then by power (a new group when power exceeds the group's first by `spread`);
    biggest energy first."""
    by_phases: dict[tuple[int, ...], list[ApplianceRun]] = {}
    for run in runs:
        by_phases.setdefault(run.phases, []).append(run)
    clusters = []
    for _phases, group in sorted(by_phases.items()):
        group.sort(key=lambda r: r.power_w)
        current: list[ApplianceRun] = []
        for run in group:
            if current and run.power_w > current[0].power_w * (1 + spread):
                clusters.append(ApplianceCluster("", current))
                current = []
            current.append(run)
        if current:
            clusters.append(ApplianceCluster("", current))
    for c in clusters:
        c.label = guess_label(c.power_w, c.duration_s, c.runs[0].phases)
    return sorted(clusters, key=lambda c: -c.energy_wh)


def standby_per_day(
    windows: Iterable[PowerWindow], *, tz: str = "Europe/Brussels", min_samples: int = 300
) -> dict[date, int]:
    """Per local day, the lowest 10-minute mean import (W) among windows with enough samples and no export."""
    zone = ZoneInfo(tz)
    out: dict[date, int] = {}
    for w in windows:
        if w.samples < min_samples or w.export_samples:
            continue
        day = datetime.fromtimestamp(w.start_ts, UTC).astimezone(zone).date()
        mean = w.import_w_sum // w.samples
        out[day] = min(out.get(day, mean), mean)
    return dict(sorted(out.items()))


def appliance_report(
    steps: Iterable[PowerStep],
    windows: Iterable[PowerWindow],
    start: datetime,
    end: datetime,
    *,
    price: EnergyPrice | None = None,
    tz: str = "Europe/Brussels",
    min_power_w: int = 1000,
    min_samples: int = 300,
) -> dict[str, Any]:
    """Runs of at least `min_power_w`, clustered, with kWh and euros; and the standby per day and per year."""
    zone = ZoneInfo(tz)
    lo, hi = int(start.timestamp()), int(end.timestamp())
    runs = [r for r in pair_runs(steps) if lo <= r.start_ts < hi and r.power_w >= min_power_w]

    def local(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone)

    clusters = []
    for c in cluster_runs(runs):
        kwh = Decimal(c.energy_wh) / 1000
        cost = energy_cost_eur(
            price, [(Decimal(r.energy_wh) / 1000, local(r.start_ts), local(r.end_ts)) for r in c.runs]
        )
        clusters.append(
            {
                "label": c.label,
                "runs": len(c.runs),
                "kwh": float(kwh),
                "eur": None if cost is None else float(cost),
                "median_power_w": c.power_w,
                "median_duration_s": c.duration_s,
                "phases": list(c.runs[0].phases),
                "last_run": local(c.runs[-1].start_ts).isoformat(),
            }
        )
    days = standby_per_day((w for w in windows if lo <= w.start_ts < hi), tz=tz, min_samples=min_samples)
    standby_w = int(statistics.median(days.values())) if days else None
    year_kwh = None if standby_w is None else Decimal(standby_w) * HOURS_PER_YEAR / 1000
    year_eur = (
        None if year_kwh is None else energy_cost_eur(price, [(year_kwh, start, start + timedelta(days=365))])
    )
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "min_power_w": min_power_w,
        "runs": len(runs),
        "clusters": clusters,
        "standby": {
            "days": [{"day": d.isoformat(), "watts": w} for d, w in days.items()],
            "median_w": standby_w,
            "kwh_per_year": None if year_kwh is None else float(year_kwh),
            "eur_per_year": None if year_eur is None else float(year_eur),
        },
    }
