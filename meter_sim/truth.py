"""Ground truth of the appliances behind a simulated meter: every run, its power, phases and energy.

Strategy: the household's appliances, the heat pump's hot-water boost and the EV charger are drawn by
the profiles (`meter_sim.profiles`) as on/off events; here each one is evaluated alone on the same 1 s grid
the meter steps on (the middle of each second), so a run is exactly the seconds that appliance added its
power to the registers. Overlapping events of the same appliance are one run, as the meter sees them. Runs
are cut at the period's edges; the heat pump's modulating compressor makes no runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from .kinds import Load
from .meter import Meter
from .profiles import _APPLIANCES, FloatArray, _appliance_events, _bump, _Clock

APPLIANCE_NAMES = {
    11: "kettle",
    12: "kettle",
    13: "oven",
    14: "washing_machine",
    15: "dishwasher",
    16: "shower_pump",
    17: "iron_vacuum",
}
_DAY = 86400


@dataclass(frozen=True, slots=True)
class ApplianceTruth:
    """One run: the seconds [start_ts, end_ts) an appliance drew `power_w` on `phases`."""

    appliance: str
    start_ts: int
    end_ts: int
    power_w: float
    phases: tuple[int, ...]

    @property
    def energy_wh(self) -> float:
        return self.power_w * (self.end_ts - self.start_ts) / 3600

    def to_json(self) -> dict[str, object]:
        return {
            "appliance": self.appliance,
            "start_ts": self.start_ts,
            "end_ts": self.end_ts,
            "power_w": round(self.power_w, 1),
            "phases": list(self.phases),
            "energy_wh": round(self.energy_wh, 1),
        }


def _runs(on: np.ndarray, t0: int) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], on.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(t0 + int(a), t0 + int(b)) for a, b in zip(starts, stops, strict=True)]


def _load_runs(load: Load, phases: int, start_ts: int, end_ts: int) -> list[ApplianceTruth]:
    profile = load.profile
    on_phases = tuple(k + 1 for k, w in enumerate(load.phase_weights[:phases]) if w)
    share = sum(load.phase_weights[:phases])
    out = []
    for t0 in range(start_ts, end_ts, _DAY):
        n = min(_DAY, end_ts - t0)
        ts: FloatArray = t0 + 0.5 + np.arange(n, dtype=np.float64)
        if profile.kind == "household":
            scale = float(profile.params.get("scale", 1.0))
            clock = _Clock(ts)
            for stream, *spec in _APPLIANCES:
                power = _appliance_events(profile.seed, stream, clock, tuple(spec))
                for a, b in _runs(power > 0, t0):
                    out.append(
                        ApplianceTruth(APPLIANCE_NAMES[stream], a, b, spec[0] * scale * share, on_phases)
                    )
        elif profile.kind == "heat_pump":  # the hot-water boost at dawn (the compressor modulates: no runs)
            boost = _bump(_Clock(ts).hour, 6.5, 0.35) > 0.6
            for a, b in _runs(boost, t0):
                out.append(ApplianceTruth("heat_pump_hot_water", a, b, 1800.0 * share, on_phases))
        elif profile.kind == "ev":
            power = profile.block_w(t0, n)
            for a, b in _runs(power > 0, t0):
                out.append(ApplianceTruth("ev_charger", a, b, float(power[a - t0]) * share, on_phases))
    return _join_midnight(out)


def _join_midnight(runs: list[ApplianceTruth]) -> list[ApplianceTruth]:
    """Runs cut by the daily evaluation chunks are joined again."""
    runs.sort(key=lambda r: (r.appliance, r.start_ts))
    out: list[ApplianceTruth] = []
    for r in runs:
        last = out[-1] if out else None
        if last is not None and last.appliance == r.appliance and last.end_ts == r.start_ts:
            out[-1] = ApplianceTruth(r.appliance, last.start_ts, r.end_ts, r.power_w, r.phases)
        else:
            out.append(r)
    return out


def appliance_truth(meter: Meter, start_ts: int, end_ts: int) -> list[ApplianceTruth]:
    """Every appliance run of the meter's loads in [start_ts, end_ts), oldest first."""
    runs = []
    for load in meter.loads:
        if not load.production:
            runs += _load_runs(load, meter.phases, start_ts, end_ts)
    return sorted(runs, key=lambda r: (r.start_ts, r.appliance))


def phase_values(meter: Meter) -> dict[str, Decimal | int]:
    """The meter's per-phase lines of the current second as a parsed telegram gives them (OBIS -> V, kW,
    counts): for driving the analyses straight from the model, fast, without building telegrams."""
    volts, net = meter.phase_state()
    out: dict[str, Decimal | int] = {}
    for k in range(meter.phases):
        v, p, x = ("32", "21", "22"), ("52", "41", "42"), ("72", "61", "62")
        code_v, code_in, code_out = (v, p, x)[k]
        out[f"1-0:{code_v}.7.0"] = Decimal(volts[k]).scaleb(-1)
        out[f"1-0:{code_in}.7.0"] = Decimal(max(net[k], 0)).scaleb(-3)
        out[f"1-0:{code_out}.7.0"] = Decimal(max(-net[k], 0)).scaleb(-3)
        if meter.grid.counts_events:
            out[f"1-0:{code_v}.32.0"] = meter.sags[k]
            out[f"1-0:{code_v}.36.0"] = meter.swells[k]
    out["1-0:2.7.0"] = Decimal(meter.power_export_w).scaleb(-3)
    return out


def write_appliance_truth(path: str | Path, meter: Meter, start_ts: int, end_ts: int) -> int:
    """Write the runs as JSON Lines; returns how many."""
    runs = appliance_truth(meter, start_ts, end_ts)
    with open(path, "w", encoding="utf-8") as out:
        for run in runs:
            out.write(json.dumps(run.to_json()) + "\n")
    return len(runs)
