"""One second of a meter, as the analyses need it: per-phase voltage, net power and the sag/swell counters.

Strategy: `reading_from_values` reads the OBIS codes of a P1 telegram (numbers already parsed: kV/kW as
Decimal or float, V, counters as int) into scaled integers — deci-volts and watts — so every later sum is
exact. A phase the telegram does not carry is None, never zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

PHASES = (1, 2, 3)
_VOLTAGE = {1: "1-0:32.7.0", 2: "1-0:52.7.0", 3: "1-0:72.7.0"}
_IMPORT_KW = {1: "1-0:21.7.0", 2: "1-0:41.7.0", 3: "1-0:61.7.0"}
_EXPORT_KW = {1: "1-0:22.7.0", 2: "1-0:42.7.0", 3: "1-0:62.7.0"}
_SAGS = {1: "1-0:32.32.0", 2: "1-0:52.32.0", 3: "1-0:72.32.0"}
_SWELLS = {1: "1-0:32.36.0", 2: "1-0:52.36.0", 3: "1-0:72.36.0"}

Number = int | float | Decimal


@dataclass(frozen=True, slots=True)
class PhaseReading:
    """One phase at one second. `net_w` is import minus export (W); None where the telegram says nothing."""

    phase: int
    voltage_dv: int | None
    net_w: int | None
    sags: int | None = None
    swells: int | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One second of a meter: its phases and whether the home exported (total `2.7.0` > 0)."""

    phases: tuple[PhaseReading, ...]
    exporting: bool


def _scaled(value: Number | None, factor: int) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int((Decimal(str(value)) * factor).to_integral_value())


def reading_from_values(values: Mapping[str, Number | None]) -> Reading:
    """A `Reading` from OBIS code -> number (V for voltages, kW for powers, counts for sags/swells)."""
    phases = []
    for k in PHASES:
        volts = _scaled(values.get(_VOLTAGE[k]), 10)
        imp = _scaled(values.get(_IMPORT_KW[k]), 1000)
        exp = _scaled(values.get(_EXPORT_KW[k]), 1000)
        if volts is None and imp is None and exp is None:
            continue
        net = None if imp is None and exp is None else (imp or 0) - (exp or 0)
        sags, swells = _scaled(values.get(_SAGS[k]), 1), _scaled(values.get(_SWELLS[k]), 1)
        phases.append(PhaseReading(k, volts, net, sags, swells))
    export = _scaled(values.get("1-0:2.7.0"), 1000)
    if export is None:
        export = sum(-p.net_w for p in phases if p.net_w is not None and p.net_w < 0)
    return Reading(tuple(phases), export > 0)


def reading_from_s1(values: Mapping[str, Number]) -> Reading:
    """A `Reading` from one second of S1 values (`s1_voltage_l1` V RMS, `s1_power_l1` W, `s1_power` W)."""
    phases = []
    for k in PHASES:
        volts = _scaled(values.get(f"s1_voltage_l{k}"), 10)
        power = _scaled(values.get(f"s1_power_l{k}"), 1)
        if volts is None and power is None:
            continue
        phases.append(PhaseReading(k, volts, power))
    total = _scaled(values.get("s1_power"), 1)
    if total is None:
        total = sum(p.net_w for p in phases if p.net_w is not None)
    return Reading(tuple(phases), total < 0)
