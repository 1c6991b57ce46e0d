"""Home Assistant MQTT discovery built from the OBIS registry (pure: a telegram in, config payloads out).

Strategy: every value `dsmr_parser.registry.state_values` names becomes one sensor at
`<prefix>/sensor/<meter_id>_<name>/config` whose `state_topic` is the publisher's `state/<name>`, with the
registry's device_class / state_class / unit, so the Energy dashboard offers import/export (kWh,
total_increasing) and gas (m³, device_class gas) with no YAML. One device per meter: identifiers from the
meter id, manufacturer from the header's FLAG id, model from the header, sw_version from 0-0:96.1.4 (e-MUCS)
or 1-3:0.2.8 (DSMR). Tariff registers exist twice (`energy_import_tariff1` and the country's
`energy_import_day`): the honest tariffN names are created disabled in HA to avoid duplicates on screens.
Profile buffers (13-month peaks, power-failure log) are not sensors (their state would exceed HA's
255 characters); identification and counters go to the diagnostic category. Coded states (tariff, breaker,
credit status, emergency credit) are enum sensors with labelled options (`gateway.states`), mapped from the
meter's code by a value template; thresholds (limiter, fuse) are settings, not measurements (no
`state_class`, so no long-term statistics), and their "no limit" value is published as no value.
255 characters); identification and counters go to the diagnostic category.
Every payload suits HA 2024.3 and current releases alike (checked in tests/gateway/test_discovery_schema.py):
`default_entity_id` (2025.10+) and `object_id` (before; ignored from 2026.4) carry the same valid entity id,
`unique_id` keeps the meter id as it always was, and a device class is sent only when every supported
release accepts it with that unit (`HA_DEVICE_CLASS_UNITS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from dsmr_parser import StateValue, Telegram, Value, lookup, state_values
from dsmr_parser.registry import TARIFF_LABELS, detect_country
from gateway.states import (
    CREDIT_STATUS_BITS,
    EMERGENCY_STATES,
    NO_CREDIT,
    NO_VALUE,
    SUPPLY_STATES,
    is_threshold,
)


def _version() -> str:
    try:
        return metadata.version("p1-gateway")
    except metadata.PackageNotFoundError:
        return "unknown"


ORIGIN = {"name": "p1-gateway", "sw_version": _version()}

# DSMR/e-MUCS headers start with the manufacturer's 3-letter FLAG id (FLAG association register).
FLAG_MANUFACTURERS = {
    "FLU": "Fluvius",
    "ISK": "Iskraemeco",
    "KFM": "Kaifa",
    "KAI": "Kaifa",
    "SAG": "Sagemcom",
    "ESY": "EasyMeter",
    "EST": "Sagemcom",
    "LGF": "Landis+Gyr",
    "XMX": "Xemex",
    "KMP": "Kamstrup",
    "KAM": "Kamstrup",
    "ZIV": "ZIV",
    "ELS": "Elster",
    "NWA": "NWA",
}

# HA wants the superscript cube for volumes; the meter sends "m3".
HA_UNITS = {"m3": "m³"}

_DIAGNOSTIC = re.compile(
    r"^(emucs_version|dsmr_version|equipment_id.*|meter_serial|logical_device_name|meter_time|text_message.*"
    r"|mbus\d_.*|limiter_threshold|fuse_threshold_.*|power_failures|long_power_failures|voltage_sags_.*"
    r"|voltage_swells_.*|prepay_.*_credit_status|prepay_.*_emergency_status)$"
)
_TARIFF_NAME = re.compile(r"_tariff\d$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_IN_ENTITY_ID = re.compile(r"[^a-z0-9]+")

# The sensor device classes HA's MQTT discovery accepts in every release we support (2024.3 onwards) and,
# for each, the units it accepts with it (None: any unit). HA refuses a whole discovery payload with a
# device class it does not know (`reactive_energy` came in 2025.6) or, in current releases, a unit the class
# does not allow (a DSMR 3 limiter in A is not `power`); such a sensor goes without a device class.
HA_DEVICE_CLASS_UNITS: dict[str, frozenset[str | None] | None] = {
    "energy": frozenset({"Wh", "kWh", "MWh", "MJ", "GJ"}),
    "power": frozenset({"W", "kW"}),
    "voltage": frozenset({"V", "mV"}),
    "current": frozenset({"A", "mA"}),
    "frequency": frozenset({"Hz", "kHz"}),
    "gas": frozenset({"m³", "ft³", "CCF", None}),
    "water": frozenset({"m³", "ft³", "CCF", "L", "gal", None}),
    "reactive_power": frozenset({"var", "kvar"}),
    "power_factor": frozenset({"%", None}),
    "duration": frozenset({"s", "min", "h", "d"}),
    "timestamp": frozenset({None}),
    "enum": frozenset({None}),
    "monetary": None,
}


def topic_safe(text: str) -> str:
    """A meter id usable as one MQTT topic level and HA object id (`/`, `+`, `#`, spaces -> `_`)."""
    return _UNSAFE.sub("_", text).strip("_") or "meter"


def entity_object_id(text: str) -> str:
    """The object id part of an HA entity id: `[a-z0-9_]`, no leading, trailing or double `_` (HA refuses
    a `default_entity_id` that breaks these rules, and with it the whole discovery payload)."""
    return _NOT_IN_ENTITY_ID.sub("_", text.lower()).strip("_") or "meter"


def ha_device_class(device_class: str | None, unit: str | None) -> str | None:
    """`device_class` when every supported HA release accepts it with this unit, else None."""
    if device_class is None or device_class not in HA_DEVICE_CLASS_UNITS:
        return None
    allowed = HA_DEVICE_CLASS_UNITS[device_class]
    return device_class if allowed is None or unit in allowed else None


def device_info(telegram: Telegram) -> dict[str, Any]:
    """The HA device block of a meter: identifiers, name, manufacturer, model, sw_version, serial."""
    meter_id = telegram.meter_id
    header = telegram.header
    flag = header[:3].upper()
    model = re.sub(r"^\\\d", "", header[4:]) if len(header) > 4 else header
    device: dict[str, Any] = {
        "identifiers": [f"p1gw_{topic_safe(meter_id)}"],
        "name": f"P1 meter {meter_id}",
        "manufacturer": FLAG_MANUFACTURERS.get(flag, flag or "unknown"),
        "model": model or header,
        "serial_number": meter_id,
    }
    if "0-0:96.1.4" in telegram.values:
        device["sw_version"] = f"e-MUCS {telegram.values['0-0:96.1.4'].value}"
    elif "1-3:0.2.8" in telegram.values:
        raw = str(telegram.values["1-3:0.2.8"].value)
        device["sw_version"] = (
            f"DSMR {raw[0]}.{raw[1:]}" if raw.isdigit() and len(raw) >= 2 else f"DSMR {raw}"
        )
    return device


def _friendly(name: str) -> str:
    words = name.replace("_", " ")
    for short, long in (
        ("l1", "L1"),
        ("l2", "L2"),
        ("l3", "L3"),
        ("mbus", "M-Bus "),
        ("prepay", "Prepayment"),
    ):
        words = re.sub(rf"\b{short}", long, words)
    return words[:1].upper() + words[1:]


def _mapping_template(labels: Mapping[int, str]) -> str:
    table = ", ".join(f"'{code}': '{label}'" for code, label in labels.items())
    return f"{{{{ {{{table}}}.get(value, '{NO_VALUE}') }}}}"


def _credit_template() -> str:
    chain = " else ".join(f"'{label}' if b | bitwise_and({bit})" for bit, label in CREDIT_STATUS_BITS)
    return f"{{% set b = value | int(0) %}}{{{{ {chain} else '{NO_CREDIT}' }}}}"


def enum_sensor(name: str, country: str = "BE") -> tuple[list[str], str] | None:
    """(options, value template) of a coded state shown as an HA enum sensor, or None for other names."""
    if name == "tariff_indicator":
        labels = TARIFF_LABELS.get(country, {1: "day", 2: "night"})
        return list(labels.values()), _mapping_template(labels)
    if name == "breaker_state" or name.endswith("valve_state"):
        return list(SUPPLY_STATES.values()), _mapping_template(SUPPLY_STATES)
    if name.startswith("prepay_") and name.endswith("_emergency_status"):
        return list(EMERGENCY_STATES.values()), _mapping_template(EMERGENCY_STATES)
    if name.startswith("prepay_") and name.endswith("_credit_status"):
        return [label for _, label in CREDIT_STATUS_BITS] + [NO_CREDIT], _credit_template()
    return None


def sensor_config(
    meter_id: str,
    state: StateValue,
    *,
    base_topic: str,
    availability_topic: str | None,
    device: Mapping[str, Any],
    country: str = "BE",
) -> dict[str, Any] | None:
    """The discovery payload of one state value, or None when it is not a sensor (profile buffers)."""
    if isinstance(state.value.value, tuple):
        return None
    unique_id = f"p1gw_{topic_safe(meter_id)}_{state.name}".lower()
    object_id = entity_object_id(unique_id)
    config: dict[str, Any] = {
        "name": _friendly(state.name),
        "unique_id": unique_id,
        "object_id": object_id,  # HA before 2025.10 (ignored from 2026.4)
        "default_entity_id": f"sensor.{object_id}",  # HA 2025.10 and later
        "state_topic": f"{base_topic.rstrip('/')}/state/{state.name}",
        "device": dict(device),
        "origin": ORIGIN,
    }
    if availability_topic:
        config["availability_topic"] = availability_topic
        config["payload_available"] = "online"
        config["payload_not_available"] = "offline"
    unit = HA_UNITS.get(state.unit, state.unit) if state.unit else None
    device_class = ha_device_class(state.device_class, unit)
    if device_class:
        config["device_class"] = device_class
    if state.state_class:
        config["state_class"] = state.state_class
    if unit:
        config["unit_of_measurement"] = unit
    obj = lookup(state.code)
    if obj is not None and obj.decimals and obj.kind in ("decimal", "timestamped", "legacy_gas"):
        config["suggested_display_precision"] = obj.decimals
    if _DIAGNOSTIC.match(state.name):
        config["entity_category"] = "diagnostic"
    if _TARIFF_NAME.search(state.name):
        config["enabled_by_default"] = False
    if is_threshold(state.name):
        config.pop("state_class", None)  # a setting: no long-term statistics of it
    enum = enum_sensor(state.name, country)
    if enum is not None:
        for key in ("state_class", "unit_of_measurement", "suggested_display_precision"):
            config.pop(key, None)
        config["device_class"] = "enum"
        config["options"], config["value_template"] = enum
    return config


def discovery_messages(
    telegram: Telegram,
    *,
    base_topic: str,
    discovery_prefix: str = "homeassistant",
    availability_topic: str | None = None,
    country: str | None = None,
    names: set[str] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) of every sensor of this telegram (only `names` when given), in registry order.

    Args:
        base_topic: the meter's base topic (`p1gw/<meter_id>`); state topics are `<base>/state/<name>`.
        discovery_prefix: HA's discovery prefix (`homeassistant` unless changed in HA).
        availability_topic: `<base>/availability`, or None when the publisher has no last will.
        country: `BE`/`NL` tariff labels; detected from the telegram when None.
        names: restrict to these state names (new values appearing in a later telegram).
    """
    meter = topic_safe(telegram.meter_id)
    device = device_info(telegram)
    out: list[tuple[str, dict[str, Any]]] = []
    country = country or detect_country(telegram)
    for name, state in state_values(telegram, country).items():
        if names is not None and name not in names:
            continue
        config = sensor_config(
            telegram.meter_id,
            state,
            base_topic=base_topic,
            availability_topic=availability_topic,
            device=device,
            country=country,
        )
        if config is not None:
            out.append((f"{discovery_prefix.rstrip('/')}/sensor/{meter}_{name}/config", config))
    return out


# S1 (Fluvius' fast port) values published by the gateway beside the P1 ones: `s1_<kind>[_lN]`.
S1_SENSORS: dict[str, tuple[str | None, str]] = {
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "power": ("power", "W"),
    "frequency": ("frequency", "Hz"),
    "thd": (None, "%"),
}


def extra_discovery_messages(
    meter_id: str,
    names: set[str],
    *,
    base_topic: str,
    discovery_prefix: str = "homeassistant",
    availability_topic: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Discovery for values that come from outside a telegram (the S1 port's `s1_*` measurements).

    They join the meter's device (same identifiers as the P1 sensors), as measurements.
    """
    meter = topic_safe(meter_id)
    device = {"identifiers": [f"p1gw_{meter}"], "name": f"P1 meter {meter_id}"}
    out: list[tuple[str, dict[str, Any]]] = []
    for name in sorted(names):
        device_class, unit = S1_SENSORS.get(name.removeprefix("s1_").split("_")[0], (None, ""))
        state = StateValue(name, "", Value(None), unit or None, device_class, "measurement")
        config = sensor_config(
            meter_id, state, base_topic=base_topic, availability_topic=availability_topic, device=device
        )
        if config is not None:
            out.append((f"{discovery_prefix.rstrip('/')}/sensor/{meter}_{name}/config", config))
    return out
