"""The OBIS registry: the one table of every object we know, used by the parser, the builder, MQTT state
topics and Home Assistant discovery.

Each `ObisObject` says how a line is read (`kind`), how the builder prints it (`digits`, `decimals`), its
registry name (names never lie about tariffs: `energy_import_tariff1`; the country's day/night label is a
separate mapping, `TARIFF_LABELS`), and its Home Assistant metadata. Codes with `n` in group B are M-Bus (or
prepayment account) channels and are expanded to channels 0..4 at import time, so a lookup is one dict access.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal, NamedTuple

from .values import Raw, Telegram, Value

Kind = Literal[
    "decimal",  # (123.456*kWh)
    "int",  # (0001) or (00005)
    "str",  # (50217) kept as text
    "hex",  # hex-encoded ASCII, decoded (equipment ids, text messages)
    "timestamp",  # (YYMMDDhhmmssX)
    "timestamped",  # (YYMMDDhhmmssX)(value*unit)
    "peaks",  # e-MUCS 98.1.0 buffer of monthly maximum demand
    "failures",  # 99.97.0 power failure event log
    "legacy_gas",  # DSMR 2.2/3: (ts)(00)(60)(1)(0-1:24.2.1)(m3) + next line (value)
]


class ObisObject(NamedTuple):
    """One COSEM object as it appears on P1 (a NamedTuple: importing `dataclasses` would cost `p1gw parse`
    a tenth of its start-up)."""

    code: str
    name: str
    kind: Kind
    unit: str | None = None
    digits: int = 0  # integer digits printed by the builder (zero-padded)
    decimals: int = 0
    device_class: str | None = None
    state_class: str | None = None
    description: str = ""


def _o(
    code: str,
    name: str,
    kind: Kind,
    unit: str | None = None,
    fmt: tuple[int, int] = (0, 0),
    ha: tuple[str | None, str | None] = (None, None),
    description: str = "",
) -> ObisObject:
    return ObisObject(code, name, kind, unit, fmt[0], fmt[1], ha[0], ha[1], description)


ENERGY = ("energy", "total_increasing")
POWER = ("power", "measurement")
VOLTAGE = ("voltage", "measurement")
CURRENT = ("current", "measurement")
MONEY = ("monetary", "total")
REACTIVE_E = ("reactive_energy", "total_increasing")
REACTIVE_P = ("reactive_power", "measurement")

_OBJECTS: list[ObisObject] = [
    # Identification and clock
    _o("1-3:0.2.8", "dsmr_version", "str", description="DSMR version (42, 50)"),
    _o("0-0:96.1.4", "emucs_version", "str", description="e-MUCS version (50217 = 1.7.1)"),
    _o("0-0:1.0.0", "meter_time", "timestamp", ha=("timestamp", None), description="meter clock"),
    _o("0-0:96.1.1", "equipment_id", "hex", description="electricity meter id"),
    _o("0-0:96.1.0", "equipment_id_alt", "hex", description="meter id (DSMR 2.2, HU, IE)"),
    _o("0-0:42.0.0", "logical_device_name", "hex", description="logical device name (HU)"),
    _o("1-0:0.0.0", "meter_serial", "str", description="meter serial (IE, EasyMeter)"),
    # Active energy registers: tariff 1 / 2 meaning depends on the country (TARIFF_LABELS)
    _o("1-0:1.8.0", "energy_import_total", "decimal", "kWh", (6, 3), ENERGY, "import, all tariffs"),
    _o("1-0:1.8.1", "energy_import_tariff1", "decimal", "kWh", (6, 3), ENERGY, "import tariff 1"),
    _o("1-0:1.8.2", "energy_import_tariff2", "decimal", "kWh", (6, 3), ENERGY, "import tariff 2"),
    _o("1-0:1.8.3", "energy_import_tariff3", "decimal", "kWh", (6, 3), ENERGY, "import tariff 3"),
    _o("1-0:1.8.4", "energy_import_tariff4", "decimal", "kWh", (6, 3), ENERGY, "import tariff 4"),
    _o("1-0:2.8.0", "energy_export_total", "decimal", "kWh", (6, 3), ENERGY, "export, all tariffs"),
    _o("1-0:2.8.1", "energy_export_tariff1", "decimal", "kWh", (6, 3), ENERGY, "export tariff 1"),
    _o("1-0:2.8.2", "energy_export_tariff2", "decimal", "kWh", (6, 3), ENERGY, "export tariff 2"),
    _o("1-0:2.8.3", "energy_export_tariff3", "decimal", "kWh", (6, 3), ENERGY, "export tariff 3"),
    _o("1-0:2.8.4", "energy_export_tariff4", "decimal", "kWh", (6, 3), ENERGY, "export tariff 4"),
    _o("1-0:15.8.0", "energy_absolute_total", "decimal", "kWh", (6, 3), ENERGY, "|import|+|export|"),
    _o("1-0:3.8.0", "reactive_energy_import", "decimal", "kvarh", (6, 3), REACTIVE_E),
    _o("1-0:4.8.0", "reactive_energy_export", "decimal", "kvarh", (6, 3), REACTIVE_E),
    _o("1-0:5.8.0", "reactive_energy_q1", "decimal", "kvarh", (6, 3), REACTIVE_E),
    _o("1-0:6.8.0", "reactive_energy_q2", "decimal", "kvarh", (6, 3), REACTIVE_E),
    _o("1-0:7.8.0", "reactive_energy_q3", "decimal", "kvarh", (6, 3), REACTIVE_E),
    _o("1-0:8.8.0", "reactive_energy_q4", "decimal", "kvarh", (6, 3), REACTIVE_E),
    _o("0-0:96.14.0", "tariff_indicator", "int", None, (4, 0), description="active tariff (1, 2)"),
    # Capacity tariff (e-MUCS)
    _o("1-0:1.4.0", "current_average_demand", "decimal", "kW", (2, 3), POWER, "running 15-min avg"),
    _o("1-0:1.6.0", "max_demand_month", "timestamped", "kW", (2, 3), POWER, "this month's peak"),
    _o("0-0:98.1.0", "max_demand_13_months", "peaks", "kW", (2, 3), description="13-month peaks"),
    # Instantaneous power, voltage, current
    _o("1-0:1.7.0", "power_import", "decimal", "kW", (2, 3), POWER, "import power"),
    _o("1-0:2.7.0", "power_export", "decimal", "kW", (2, 3), POWER, "export power"),
    _o("1-0:21.7.0", "power_import_l1", "decimal", "kW", (2, 3), POWER),
    _o("1-0:41.7.0", "power_import_l2", "decimal", "kW", (2, 3), POWER),
    _o("1-0:61.7.0", "power_import_l3", "decimal", "kW", (2, 3), POWER),
    _o("1-0:22.7.0", "power_export_l1", "decimal", "kW", (2, 3), POWER),
    _o("1-0:42.7.0", "power_export_l2", "decimal", "kW", (2, 3), POWER),
    _o("1-0:62.7.0", "power_export_l3", "decimal", "kW", (2, 3), POWER),
    _o("1-0:3.7.0", "reactive_power_import", "decimal", "kvar", (2, 3), REACTIVE_P),
    _o("1-0:4.7.0", "reactive_power_export", "decimal", "kvar", (2, 3), REACTIVE_P),
    _o("1-0:5.7.0", "reactive_power_q1", "decimal", "kvar", (2, 3), REACTIVE_P),
    _o("1-0:6.7.0", "reactive_power_q2", "decimal", "kvar", (2, 3), REACTIVE_P),
    _o("1-0:7.7.0", "reactive_power_q3", "decimal", "kvar", (2, 3), REACTIVE_P),
    _o("1-0:8.7.0", "reactive_power_q4", "decimal", "kvar", (2, 3), REACTIVE_P),
    _o("1-0:32.7.0", "voltage_l1", "decimal", "V", (3, 1), VOLTAGE),
    _o("1-0:52.7.0", "voltage_l2", "decimal", "V", (3, 1), VOLTAGE),
    _o("1-0:72.7.0", "voltage_l3", "decimal", "V", (3, 1), VOLTAGE),
    _o("1-0:31.7.0", "current_l1", "decimal", "A", (3, 2), CURRENT),
    _o("1-0:51.7.0", "current_l2", "decimal", "A", (3, 2), CURRENT),
    _o("1-0:71.7.0", "current_l3", "decimal", "A", (3, 2), CURRENT),
    _o("1-0:91.7.0", "current_neutral", "decimal", "A", (3, 2), CURRENT),
    _o("1-0:13.7.0", "power_factor", "decimal", None, (1, 3), ("power_factor", "measurement")),
    _o("1-0:33.7.0", "power_factor_l1", "decimal", None, (1, 3), ("power_factor", "measurement")),
    _o("1-0:53.7.0", "power_factor_l2", "decimal", None, (1, 3), ("power_factor", "measurement")),
    _o("1-0:73.7.0", "power_factor_l3", "decimal", None, (1, 3), ("power_factor", "measurement")),
    _o("1-0:14.7.0", "frequency", "decimal", "Hz", (2, 2), ("frequency", "measurement")),
    # Breaker, limiter, fuse supervision
    _o("0-0:96.3.10", "breaker_state", "int", None, (1, 0), description="0 off, 1 on, 2 ready"),
    _o("0-0:17.0.0", "limiter_threshold", "decimal", "kW", (3, 1), POWER, "power limiter"),
    _o("1-0:31.4.0", "fuse_threshold_l1", "decimal", "A", (3, 0), CURRENT, "fuse supervision"),
    _o("1-0:51.4.0", "fuse_threshold_l2", "decimal", "A", (3, 0), CURRENT),
    _o("1-0:71.4.0", "fuse_threshold_l3", "decimal", "A", (3, 0), CURRENT),
    # Power quality and failures
    _o("0-0:96.7.21", "power_failures", "int", None, (5, 0), (None, "total_increasing")),
    _o("0-0:96.7.9", "long_power_failures", "int", None, (5, 0), (None, "total_increasing")),
    _o("1-0:99.97.0", "power_failure_log", "failures", "s", (10, 0)),
    _o("1-0:32.32.0", "voltage_sags_l1", "int", None, (5, 0), (None, "total_increasing")),
    _o("1-0:52.32.0", "voltage_sags_l2", "int", None, (5, 0), (None, "total_increasing")),
    _o("1-0:72.32.0", "voltage_sags_l3", "int", None, (5, 0), (None, "total_increasing")),
    _o("1-0:32.36.0", "voltage_swells_l1", "int", None, (5, 0), (None, "total_increasing")),
    _o("1-0:52.36.0", "voltage_swells_l2", "int", None, (5, 0), (None, "total_increasing")),
    _o("1-0:72.36.0", "voltage_swells_l3", "int", None, (5, 0), (None, "total_increasing")),
    _o("0-0:96.13.0", "text_message", "hex", description="text message (decoded)"),
    _o("0-0:96.13.1", "text_message_code", "hex", description="numeric message (DSMR 3/4)"),
    # M-Bus channels n = 1..4: gas, water, heat
    _o("0-n:24.1.0", "mbus_device_type", "int", None, (3, 0), description="3 gas, 7 water, 4 heat"),
    _o("0-n:96.1.0", "mbus_equipment_id", "hex"),
    _o("0-n:96.1.1", "mbus_equipment_id", "hex"),
    _o("0-n:24.2.1", "mbus_reading", "timestamped", "m3", (5, 3), description="M-Bus reading"),
    _o("0-n:24.2.3", "mbus_reading", "timestamped", "m3", (5, 3), description="gas (e-MUCS)"),
    _o("0-n:24.3.0", "mbus_reading", "legacy_gas", "m3", (5, 3), description="gas (DSMR 2.2/3)"),
    _o("0-n:24.4.0", "mbus_valve_state", "int", None, (1, 0), description="0 off, 1 on, 2 ready"),
    # Prepayment (our documented extension: DLMS Account/Credit/Charge, B = 0 electricity, n = gas)
    _o("0-n:19.0.0", "prepay_credit_status", "int", None, (3, 0), description="DLMS bits"),
    _o("0-n:19.10.0", "prepay_balance", "decimal", "EUR", (4, 2), MONEY, "available credit"),
    _o("0-n:19.10.1", "prepay_emergency_credit", "decimal", "EUR", (4, 2), MONEY),
    _o("0-n:19.10.2", "prepay_debt", "decimal", "EUR", (4, 2), MONEY),
    _o("0-n:19.11.1", "prepay_emergency_status", "int", None, (1, 0), description="0..4"),
    _o("0-n:19.20.0", "prepay_start_credit_due", "decimal", "EUR", (4, 2), MONEY),
]


def _expand(objects: Iterable[ObisObject]) -> dict[str, ObisObject]:
    table: dict[str, ObisObject] = {}
    for obj in objects:
        if "-n:" in obj.code:
            first = 0 if ":19." in obj.code else 1
            for channel in range(first, 5):
                code = obj.code.replace("-n:", f"-{channel}:")
                table.setdefault(code, obj._replace(code=code))
        else:
            table[obj.code] = obj
    return table


REGISTRY: Mapping[str, ObisObject] = _expand(_OBJECTS)
"""Every known code (M-Bus channels expanded) -> its `ObisObject`."""


def lookup(code: str) -> ObisObject | None:
    """The registry entry of an OBIS code `A-B:C.D.E`, or None."""
    return REGISTRY.get(code)


# Country conventions for what tariff 1 and 2 mean. Belgium: 1 = day (peak), 2 = night (off-peak);
# the Netherlands: 1 = low (night), 2 = normal (day). Contracts differ: this is data, override it.
TARIFF_LABELS: dict[str, dict[int, str]] = {
    "BE": {1: "day", 2: "night"},
    "NL": {1: "night", 2: "day"},
}

MBUS_KINDS: dict[int, tuple[str, str | None, str | None]] = {
    3: ("gas_volume", "gas", "total_increasing"),
    7: ("water_volume", "water", "total_increasing"),
    6: ("heat_energy", "energy", "total_increasing"),
    4: ("heat_energy", "energy", "total_increasing"),
    12: ("heat_energy", "energy", "total_increasing"),
    10: ("cooling_energy", "energy", "total_increasing"),
}

_SCALE_TO: dict[tuple[str, str], tuple[str, Decimal]] = {
    ("Wh", "kWh"): ("kWh", Decimal("0.001")),
    ("W", "kW"): ("kW", Decimal("0.001")),
    ("varh", "kvarh"): ("kvarh", Decimal("0.001")),
    ("var", "kvar"): ("kvar", Decimal("0.001")),
}


class StateValue(NamedTuple):
    """One value under its state name, with the metadata MQTT and Home Assistant need."""

    name: str
    code: str
    value: Value
    unit: str | None
    device_class: str | None
    state_class: str | None


def detect_country(telegram: Telegram) -> str:
    """BE when the telegram carries e-MUCS markers (96.1.4 or a FLU header), else NL."""
    if "0-0:96.1.4" in telegram.values or telegram.header.upper().startswith("FLU"):
        return "BE"
    return "NL"


def tariff_alias(name: str, country: str) -> str | None:
    """`energy_import_tariff1` -> `energy_import_day` in Belgium (None when not a tariff register)."""
    labels = TARIFF_LABELS.get(country)
    if labels is None or "_tariff" not in name:
        return None
    base, _, number = name.rpartition("_tariff")
    label = labels.get(int(number)) if number.isdigit() else None
    return f"{base}_{label}" if label else None


def state_values(telegram: Telegram, country: str | None = None) -> dict[str, StateValue]:
    """Every known value of a telegram under its state name (`state/<name>` on MQTT).

    Tariff registers appear twice: under their honest name (`energy_import_tariff1`) and under the
    country's label (`energy_import_day`). Units are normalised to the registry's (Wh -> kWh). M-Bus readings
    are named by device type (`gas_volume`, `water_volume`; a channel suffix when two share one); prepayment
    values are prefixed by their energy (`prepay_electricity_balance`, `prepay_gas_balance`). A value kept
    as `Raw` text (`NaN`, a broken buffer) has no state.
    """
    country = country or detect_country(telegram)
    device_types: dict[str, int] = {}
    for channel in "1234":
        found = telegram.values.get(f"0-{channel}:24.1.0")
        if found is not None and isinstance(found.value, int):
            device_types[channel] = found.value
    seen_kinds: dict[str, int] = {}
    out: dict[str, StateValue] = {}
    for code, value in telegram.values.items():
        obj = REGISTRY.get(code)
        if obj is None or isinstance(value.value, Raw):
            continue  # unknown codes have no state name; raw text is no state
        name, unit = obj.name, value.unit
        device_class, state_class = obj.device_class, obj.state_class
        if unit is not None and obj.unit is not None and unit != obj.unit:
            scaled = _SCALE_TO.get((unit, obj.unit))
            if scaled is not None and isinstance(value.value, Decimal):
                unit = scaled[0]
                value = value._replace(value=value.value * scaled[1], unit=unit)
        channel = code[2]
        if name.startswith("prepay_"):
            energy = "electricity" if channel == "0" else "gas"
            name = name.replace("prepay_", f"prepay_{energy}_", 1)
        elif name.startswith("mbus_"):
            kind = MBUS_KINDS.get(device_types.get(channel, -1))
            if name == "mbus_reading" and kind is not None:
                name, device_class, state_class = kind
                seen_kinds[name] = seen_kinds.get(name, 0) + 1
                if seen_kinds[name] > 1:
                    name = f"{name}_{channel}"
                if unit == "GJ":
                    device_class = "energy"
            else:
                name = name.replace("mbus_", f"mbus{channel}_", 1)
        out[name] = StateValue(name, code, value, unit, device_class, state_class)
        alias = tariff_alias(name, country)
        if alias is not None:
            out[alias] = StateValue(alias, code, value, unit, device_class, state_class)
    return out
