"""Every Home Assistant discovery payload checked against HA's MQTT sensor discovery schema, as the oldest
release we support (2024.3) and the current ones read it: known keys only; `default_entity_id` (2025.10+) a
valid entity id, `object_id` (older releases) the same id; device classes that 2024.3 knows, with a unit
and state class the class allows (current releases refuse the whole payload otherwise).

The tables here are HA's documented sensor schema, written out independently of `gateway.mqtt.discovery`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dsmr_parser import Telegram, TelegramParser, parse_telegram
from gateway.mqtt.discovery import discovery_messages
from meter_sim import PrepaymentOptions, Simulation

TELEGRAMS = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"

# homeassistant/core: helpers/config_validation.py valid_entity_id
VALID_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
SENSOR_KEYS = {
    "availability", "availability_mode", "availability_template", "availability_topic", "default_entity_id",
    "device", "device_class", "enabled_by_default", "encoding", "entity_category", "entity_picture",
    "expire_after", "force_update", "icon", "json_attributes_template", "json_attributes_topic",
    "last_reset_value_template", "name", "object_id", "options", "origin", "payload_available",
    "payload_not_available", "platform", "qos", "state_class", "state_topic", "suggested_display_precision",
    "unique_id", "unit_of_measurement", "value_template",
}  # fmt: skip
DEVICE_KEYS = {
    "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model", "model_id",
    "name", "serial_number", "suggested_area", "sw_version", "via_device",
}  # fmt: skip
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
# device class -> (units it allows, state classes it allows); the classes of HA 2024.3 we can meet
DEVICE_CLASSES: dict[str, tuple[set[str | None] | None, set[str | None]]] = {
    "energy": ({"Wh", "kWh", "MWh", "MJ", "GJ"}, {"total", "total_increasing"}),
    "gas": ({"m³", "ft³", "CCF", None}, {"total", "total_increasing"}),
    "water": ({"m³", "ft³", "CCF", "L", "gal", None}, {"total", "total_increasing"}),
    "power": ({"W", "kW"}, {"measurement", None}),
    "voltage": ({"V", "mV"}, {"measurement", None}),
    "current": ({"A", "mA"}, {"measurement", None}),
    "frequency": ({"Hz", "kHz", "MHz", "GHz"}, {"measurement", None}),
    "reactive_power": ({"var", "kvar"}, {"measurement", None}),
    "power_factor": ({"%", None}, {"measurement", None}),
    "duration": ({"s", "min", "h", "d", "ms"}, {"measurement", "total", "total_increasing", None}),
    "monetary": (None, {"total", None}),
    "timestamp": ({None}, {None}),
    "enum": ({None}, {None}),
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}


def _simulated(kind: str, prepayment: bool = False) -> Telegram:
    start = datetime.fromisoformat("2026-11-22T14:00:00+01:00")
    options = PrepaymentOptions() if prepayment else None
    _, frame = next(iter(Simulation(kind, 2, start, count=1, prepayment=options)))
    return TelegramParser().parse(frame)


def _telegrams() -> list[tuple[str, Telegram]]:
    out = [(path.name, parse_telegram(path.read_bytes())) for path in sorted(TELEGRAMS.glob("*.txt"))]
    out += [(f"sim:{kind}", _simulated(kind)) for kind in ("be-1ph", "be-3ph", "nl-dsmr5", "dsmr22")]
    out.append(("sim:be-3ph prepayment", _simulated("be-3ph", prepayment=True)))
    return out


def check_payload(config: dict[str, Any]) -> None:
    """Raise AssertionError where HA's sensor discovery schema would refuse or misread `config`."""
    assert set(config) <= SENSOR_KEYS, set(config) - SENSOR_KEYS
    assert set(config["device"]) <= DEVICE_KEYS and set(config["origin"]) <= ORIGIN_KEYS
    entity_id = config["default_entity_id"]
    assert VALID_ENTITY_ID.match(entity_id) and entity_id.startswith("sensor."), entity_id
    assert config["object_id"] == entity_id.removeprefix("sensor.")
    state_class = config.get("state_class")
    assert state_class is None or state_class in STATE_CLASSES
    device_class = config.get("device_class")
    if device_class is not None:
        assert device_class in DEVICE_CLASSES, f"HA 2024.3 refuses device_class {device_class!r}"
        units, state_classes = DEVICE_CLASSES[device_class]
        unit = config.get("unit_of_measurement")
        assert units is None or unit in units, f"{unit!r} is not a unit of {device_class}"
        assert state_class in state_classes, f"{state_class!r} is not a state class of {device_class}"


SOURCES = _telegrams()


@pytest.mark.parametrize(("source", "telegram"), SOURCES, ids=[name for name, _ in SOURCES])
def test_every_payload_fits_the_ha_sensor_schema(source: str, telegram: Telegram) -> None:
    messages = discovery_messages(telegram, base_topic="p1gw/m", availability_topic="p1gw/m/availability")
    assert messages
    for _, config in messages:
        check_payload(config)
    entity_ids = [config["default_entity_id"] for _, config in messages]
    unique_ids = [config["unique_id"] for _, config in messages]
    assert len(set(entity_ids)) == len(entity_ids) and len(set(unique_ids)) == len(unique_ids)


def test_a_meter_known_only_by_its_header_gets_valid_entity_ids() -> None:
    """DSMR 2.2 meters without an equipment id get a derived id (`p1-<hash of the header>`, issue 9: never
    the header itself): the entity id drops what HA does not allow (`-`); the unique id (what HA keys its
    registry on) keeps the meter id as it is."""
    telegram = parse_telegram((TELEGRAMS / "v2_2.txt").read_bytes())
    meter_id = telegram.meter_id
    assert meter_id.startswith("p1-") and "\\" not in meter_id and " " not in meter_id
    configs = {c["unique_id"]: c for _, c in discovery_messages(telegram, base_topic="p1gw/m")}
    config = configs[f"p1gw_{meter_id.lower()}_energy_import_day"]
    assert (
        config["default_entity_id"] == f"sensor.p1gw_{meter_id.lower().replace('-', '_')}_energy_import_day"
    )


def test_energy_dashboard_sensors_keep_their_classes() -> None:
    """Grid import/export per tariff (kWh, total_increasing, energy) and gas (m³, gas): what the Energy
    dashboard offers; a limiter sent in A (DSMR 3) and reactive energy lose only their device class."""
    fluvius = {
        c["unique_id"].split("_", 2)[2]: c
        for _, c in discovery_messages(
            parse_telegram((TELEGRAMS / "fluvius_v171.txt").read_bytes()), base_topic="m"
        )
    }
    for name in ("energy_import_day", "energy_import_night", "energy_export_day", "energy_export_night"):
        assert (fluvius[name]["device_class"], fluvius[name]["state_class"]) == ("energy", "total_increasing")
        assert fluvius[name]["unit_of_measurement"] == "kWh"
    assert (fluvius["gas_volume"]["device_class"], fluvius["gas_volume"]["unit_of_measurement"]) == (
        "gas",
        "m³",
    )
    v3 = {
        c["unique_id"]: c
        for _, c in discovery_messages(parse_telegram((TELEGRAMS / "v3.txt").read_bytes()), base_topic="m")
    }
    limiter = next(c for uid, c in v3.items() if uid.endswith("_limiter_threshold"))
    assert "device_class" not in limiter and limiter["unit_of_measurement"] == "A"
    hu = parse_telegram((TELEGRAMS / "v5_eon_hu.txt").read_bytes())
    reactive = next(
        c
        for _, c in discovery_messages(hu, base_topic="m")
        if c["unique_id"].endswith("_reactive_energy_import")
    )
    assert "device_class" not in reactive and reactive["state_class"] == "total_increasing"
