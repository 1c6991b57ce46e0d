"""A seeded synthetic community (members, consumption, injection) for tests, demos and benches.

Strategy: closed-form daily/seasonal shapes plus seeded noise, vectorised over (T, M), rounded to
integer Wh. Consumers are households and a few large sites; a PV park follows a clipped sine over
the day with seasonal amplitude and cloud noise; a wind park follows a smoothed random walk. It is
not a weather model -- just varied enough that every key behaves differently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metering.quarter_hours import QUARTER_S
from sharing.clock import Grid
from sharing.community import Community, Dataset, Member
from sharing.engine import Role
from sharing.keys import IntArray
from sharing.kwh import format_kwh


def community(n_consumers: int, *, pv: bool = True, wind: bool = True) -> Community:
    """EANs ``5414490000000000NN``; consumers share 100 % of the fixed key in equal parts."""
    members: list[Member] = []
    base, rest = divmod(1_000_000, max(1, n_consumers))
    for i in range(n_consumers):
        weight = base + (1 if i < rest else 0)
        members.append(Member(f"5414490{i:011d}", f"member {i + 1}", Role.CONSUMER, weight, f"SIM{i:05d}"))
    extra = [("PV park", "PVPARK"), ("Wind park", "WINDPARK")]
    for j, (name, meter) in enumerate(extra):
        if (pv, wind)[j]:
            ean = f"5414491{j:011d}"
            members.append(Member(ean, name, Role.PRODUCER, 0, meter))
    return Community(tuple(members))


def generate(comm: Community, grid: Grid, *, seed: int = 7) -> Dataset:
    """Consumption and injection for ``grid`` (UTC-based shapes, deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    n, m = grid.count, len(comm.members)
    ts = grid.start_ts + QUARTER_S * np.arange(n, dtype=np.int64)
    hour = (ts % 86_400) / 3600.0
    day = ts / 86_400.0
    season = np.cos(2 * np.pi * (day - 172) / 365.25)  # 1 mid-winter, -1 mid-summer
    consumption = np.zeros((n, m), dtype=np.int64)
    injection = np.zeros((n, m), dtype=np.int64)
    consumers = [i for i, mem in enumerate(comm.members) if mem.role is Role.CONSUMER]
    if consumers:
        size_kw = rng.lognormal(0.0, 1.0, len(consumers)) * 0.6
        size_kw[:: max(1, len(consumers) // 3)] *= 40  # a few large sites
        daily = 0.55 + 0.45 * np.exp(-((hour - 19) ** 2) / 6) + 0.3 * np.exp(-((hour - 8) ** 2) / 4)
        shape = (daily * (1 + 0.25 * season))[:, None]
        noise = rng.gamma(4.0, 0.25, (n, len(consumers)))
        kw = shape * noise * size_kw[None, :]
        consumption[:, consumers] = np.floor(kw * 250).astype(np.int64)  # kW -> Wh per 15 min
    total_peak_kw = float(consumption.sum(axis=1).max()) * 4 / 1000 if consumers else 100.0
    for i, mem in enumerate(comm.members):
        if mem.role is Role.CONSUMER:
            continue
        if "pv" in mem.name.lower():
            sun = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None) * (0.6 - 0.4 * season)
            clouds = np.clip(rng.normal(0.8, 0.25, n), 0.05, 1.0)
            kw = 0.5 * total_peak_kw * sun * clouds
        else:
            steps = rng.normal(0, 0.05, n)
            level = np.clip(0.35 + np.cumsum(steps) % 1.3 - 0.3, 0, 1)
            kw = 0.6 * total_peak_kw * level**2 * (1.1 + 0.3 * season)
        injection[:, i] = np.floor(kw * 250).astype(np.int64)
    return Dataset(grid, consumption, injection)


def from_profiles(comm: Community, grid: Grid, *, seed: int = 7) -> Dataset:
    """Like :func:`generate` but with ``meter_sim.profiles`` (households, one hospital-size site
    per ten members, a PV park and a wind park sized to the community); ImportError without it."""
    from meter_sim.profiles import make_profile  # optional: the simulator's profiles

    n, m = grid.count, len(comm.members)
    consumption = np.zeros((n, m), dtype=np.int64)
    injection = np.zeros((n, m), dtype=np.int64)
    for i, mem in enumerate(comm.members):
        if mem.role is Role.CONSUMER:
            kind, params = ("hospital", {"peak_kw": 60.0}) if i % 10 == 0 else ("household", {})
            watts = make_profile(kind, seed=seed * 1000 + i, **params).series_w(grid.start_ts, n, QUARTER_S)
            consumption[:, i] = np.floor(np.asarray(watts) * 0.25).astype(np.int64)
    peak_kw = float(consumption.sum(axis=1).max()) * 4 / 1000
    for i, mem in enumerate(comm.members):
        if mem.role is Role.CONSUMER:
            continue
        kind, params = (
            ("pv", {"kwp": 0.8 * peak_kw}) if "pv" in mem.name.lower()
            else ("wind", {"rated_kw": 0.5 * peak_kw})
        )  # fmt: skip
        watts = make_profile(kind, seed=seed * 1000 + i, **params).series_w(grid.start_ts, n, QUARTER_S)
        injection[:, i] = np.floor(np.asarray(watts) * 0.25).astype(np.int64)
    return Dataset(grid, consumption, injection)


def write_members_csv(path: Path, comm: Community) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("ean,name,role,weight,meter_id\n")
        for mem in comm.members:
            weight = f"{mem.weight_ppm // 10_000}.{mem.weight_ppm % 10_000:04d}"
            handle.write(f"{mem.ean},{mem.name},{mem.role.value},{weight},{mem.meter_id or ''}\n")


def write_data_csv(path: Path, comm: Community, data: Dataset) -> None:
    """The sharing data contract: ``start,ean,consumption_kwh,injection_kwh``."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("start,ean,consumption_kwh,injection_kwh\n")
        eans = comm.eans
        for t in range(data.grid.count):
            start = data.grid.iso(t)
            cons: list[int] = data.consumption_wh[t].tolist()
            inj: list[int] = data.injection_wh[t].tolist()
            handle.writelines(
                f"{start},{e},{format_kwh(c)},{format_kwh(i)}\n"
                for e, c, i in zip(eans, cons, inj, strict=True)
            )


def as_int32(a: IntArray) -> np.ndarray:
    """Compact storage for large communities (Wh per quarter-hour fits easily)."""
    return a.astype(np.int32)
