"""The simulated meter types as data: protocol, header, phases, country, DSO, M-Bus devices, loads.

Strategy: one frozen `MeterKind` per supported meter; `loads_for(kind, seed)` turns it into seeded power
profiles with their phase split (household appliances on one phase, heat pump and 3-phase PV balanced, the
EV charger on L2). Nothing here steps time: `meter_sim.meter.Meter` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .profiles import PowerProfile, hash_u01, make_profile

Protocol = Literal["emucs", "dsmr5", "dsmr22"]


@dataclass(frozen=True, slots=True)
class MeterKind:
    """What a meter type prints and how often."""

    name: str
    protocol: Protocol
    header: str
    phases: int
    country: str
    dso: str  # whose meters print this header: the default contract (calendar, prepayment rules)
    gas: bool
    water: bool
    interval_s: int
    s1: bool
    description: str


KINDS: dict[str, MeterKind] = {
    k.name: k
    for k in (
        MeterKind(
            "be-1ph",
            "emucs",
            "FLU5\\253770234_A",
            1,
            "BE",
            "fluvius",
            gas=True,
            water=False,
            interval_s=1,
            s1=True,
            description="Belgian single-phase e-MUCS 1.7 meter (Fluvius header), gas on M-Bus 1",
        ),
        MeterKind(
            "be-3ph",
            "emucs",
            "FLU5\\253769484_A",
            3,
            "BE",
            "fluvius",
            gas=True,
            water=True,
            interval_s=1,
            s1=True,
            description="Belgian 3-phase e-MUCS 1.7 meter (Fluvius header), heat pump, EV, PV, gas, water",
        ),
        MeterKind(
            "nl-dsmr5",
            "dsmr5",
            "ISk5\\2MT382-1000",
            3,
            "NL",
            "nl",
            gas=True,
            water=False,
            interval_s=1,
            s1=False,
            description="Dutch DSMR 5.0.2 meter, gas with 5-minute capture",
        ),
        MeterKind(
            "dsmr22",
            "dsmr22",
            "ISk5\\2MT382-1004",
            1,
            "NL",
            "nl",
            gas=True,
            water=False,
            interval_s=10,
            s1=False,
            description="Dutch DSMR 2.2 meter: every 10 s, no CRC, hourly gas on two lines (0-1:24.3.0)",
        ),
    )
}


def get_kind(name: str) -> MeterKind:
    """A meter kind by name, with a clear error listing the known ones."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown meter {name!r}; known: {', '.join(KINDS)}") from None


@dataclass(frozen=True, slots=True)
class Load:
    """A profile connected to the meter: its share of power per phase and whether it produces."""

    profile: PowerProfile
    phase_weights: tuple[float, ...]
    production: bool = False


def loads_for(kind: MeterKind, seed: int) -> list[Load]:
    """The seeded loads behind a meter (sizes vary with the seed)."""
    u = [float(x) for x in hash_u01(seed, 901, np.arange(6, dtype=np.int64))]
    house = make_profile("household", seed=seed, scale=0.8 + 0.5 * u[0])
    if kind.phases == 1:
        loads = [Load(house, (1.0,))]
        if kind.name == "be-1ph" or u[1] < 0.5:
            loads.append(Load(make_profile("pv", seed=seed, kwp=round(2.5 + 2 * u[2], 1)), (1.0,), True))
        return loads
    loads = [
        Load(house, (0.6, 0.25, 0.15)),
        Load(make_profile("pv", seed=seed, kwp=round(4.0 + 4 * u[2], 1)), (1 / 3, 1 / 3, 1 / 3), True),
    ]
    if kind.name == "be-3ph":
        loads.append(Load(make_profile("heat_pump", seed=seed), (1 / 3, 1 / 3, 1 / 3)))
        loads.append(Load(make_profile("ev", seed=seed), (0.0, 1.0, 0.0)))
    return loads
