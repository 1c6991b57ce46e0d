"""Sizing: how coverage and self-consumption move with added PV/wind capacity and the key.

Strategy: added capacity is one extra virtual producer column whose series is
``floor(pv_kw * pv_unit + wind_kw * wind_unit)`` Wh per quarter-hour, where a *unit* series is the
energy per quarter-hour of 1 kW of that technology. Unit series come from ``meter_sim.profiles``
when that module exists (``series_w`` of a 1 kWp ``pv`` / 1 kW rated ``wind`` profile), else
from the community's existing producers, scaled so their observed peak is 1 kW (members whose name
mentions pv/solar/wind/eol are used for that technology; all producers otherwise). The engine then
runs once per (capacity, key) point -- a year of quarter-hours costs tens of milliseconds for a small
community.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sharing.community import Community, Dataset, Member
from sharing.engine import Role, allocate
from sharing.keys import AllocationKey, IntArray
from sharing.kpis import Rates

FloatArray = npt.NDArray[np.float64]
KEYWORDS = {"pv": ("pv", "solar", "solaire", "photo"), "wind": ("wind", "eol", "éol", "wind")}


@dataclass(frozen=True)
class SizingPoint:
    key: str
    pv_kw: float
    wind_kw: float
    rates: Rates


def unit_series(kind: str, community: Community, data: Dataset, *, seed: int = 1) -> tuple[FloatArray, str]:
    """Wh per quarter-hour of 1 kW of ``kind`` ('pv' | 'wind') and a note saying where it came
    from."""
    grid = data.grid
    try:
        profiles = importlib.import_module("meter_sim.profiles")
        params = {"kwp": 1.0} if kind == "pv" else {"rated_kw": 1.0}
        profile = profiles.make_profile(kind, seed=seed, **params)
        watts = np.asarray(profile.series_w(grid.start_ts, grid.count, 900), dtype=np.float64)
        return watts * 0.25, f"meter_sim.profiles {kind} per kW (seed {seed})"
    except (ImportError, AttributeError, TypeError, ValueError):
        pass
    producers = [m for m, mem in enumerate(community.members) if mem.role is not Role.CONSUMER]
    named = [m for m in producers if any(w in community.members[m].name.lower() for w in KEYWORDS[kind])]
    cols = named or producers
    if not cols:
        raise ValueError("no producer in the community to scale and no meter_sim.profiles")
    series = data.injection_wh[:, cols].sum(axis=1).astype(np.float64)
    peak_kw = float(series.max()) * 4 / 1000
    if peak_kw <= 0:
        raise ValueError(f"existing {kind} producers never inject: cannot scale")
    names = ", ".join(community.members[m].name or community.members[m].ean for m in cols)
    return series / peak_kw, f"existing producer series scaled to 1 kW peak ({names})"


def sweep(
    community: Community,
    data: Dataset,
    keys: Mapping[str, Callable[[Community], AllocationKey]],
    pv_kw: Sequence[float],
    wind_kw: Sequence[float],
    pv_unit: FloatArray,
    wind_unit: FloatArray,
    period: IntArray | None = None,
) -> list[SizingPoint]:
    """Coverage/self-consumption for every (key, pv_kw, wind_kw). ``keys`` maps a name to a
    builder called with the community plus the virtual producer (``added``, weight 0)."""
    virtual = Member("9" * 18, "added capacity", Role.PRODUCER, 0)
    extended = Community((*community.members, virtual))
    roles = extended.roles
    consumption = np.concatenate([data.consumption_wh, np.zeros((data.grid.count, 1), np.int64)], axis=1)
    points: list[SizingPoint] = []
    receives = np.array([r.receives for r in roles])
    total_consumption = int(consumption[:, receives].sum())
    for name, builder in keys.items():
        key = builder(extended)
        for pv in pv_kw:
            for wind in wind_kw:
                added = np.floor(pv * pv_unit + wind * wind_unit).astype(np.int64)
                injection = np.concatenate([data.injection_wh, added[:, None]], axis=1)
                result = allocate(consumption, injection, roles, key, period)
                rates = Rates(int(result.received_wh.sum()), int(result.pool_wh.sum()), total_consumption)
                points.append(SizingPoint(name, pv, wind, rates))
    return points
