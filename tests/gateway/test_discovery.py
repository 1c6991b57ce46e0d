"""Home Assistant discovery payloads from real example telegrams: the Energy dashboard's sensors (import,
export in kWh total_increasing; gas in m³ device_class gas), device block, topics, the rules for
duplicates, diagnostics and profile buffers."""

from __future__ import annotations

from pathlib import Path

from dsmr_parser import parse_telegram
from gateway.discovery import device_info, discovery_messages, topic_safe

TELEGRAMS = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"
LOCAL = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"


def load(name: str):
    path = TELEGRAMS / name if (TELEGRAMS / name).exists() else LOCAL / name
    return parse_telegram(path.read_bytes())


def configs(telegram, **kw):
    kw.setdefault("base_topic", "p1gw/M")
    kw.setdefault("availability_topic", "p1gw/M/availability")
    return {topic.split("/")[2]: payload for topic, payload in discovery_messages(telegram, **kw)}


def test_fluvius_energy_dashboard_sensors():
    t = load("fluvius_v171.txt")
    c = configs(t)
    meter = "1SAG3101021605"
    for name in ("energy_import_day", "energy_import_night", "energy_export_day", "energy_export_night"):
        cfg = c[f"{meter}_{name}"]
        assert (cfg["device_class"], cfg["state_class"], cfg["unit_of_measurement"]) == (
            "energy",
            "total_increasing",
            "kWh",
        )
        assert "enabled_by_default" not in cfg and "entity_category" not in cfg
    gas = c[f"{meter}_gas_volume"]
    assert (gas["device_class"], gas["state_class"], gas["unit_of_measurement"]) == (
        "gas",
        "total_increasing",
        "m³",
    )
    assert c[f"{meter}_water_volume"]["device_class"] == "water"
    power = c[f"{meter}_power_import"]
    assert (power["device_class"], power["state_class"], power["unit_of_measurement"]) == (
        "power",
        "measurement",
        "kW",
    )
    assert c[f"{meter}_voltage_l1"]["unit_of_measurement"] == "V"
    assert c[f"{meter}_energy_import_tariff1"]["enabled_by_default"] is False  # same register as _day
    assert c[f"{meter}_equipment_id"]["entity_category"] == "diagnostic"
    assert c[f"{meter}_meter_time"]["device_class"] == "timestamp"
    assert f"{meter}_max_demand_13_months" not in c  # profile buffer: not a sensor


def test_required_fields_and_unique_ids():
    t = load("fluvius_v171.txt")
    msgs = discovery_messages(
        t, base_topic="p1gw/1SAG3101021605", availability_topic="p1gw/1SAG3101021605/availability"
    )
    unique = set()
    for topic, cfg in msgs:
        name = topic.split("/")[2].removeprefix("1SAG3101021605_")
        assert topic == f"homeassistant/sensor/1SAG3101021605_{name}/config"
        assert cfg["state_topic"] == f"p1gw/1SAG3101021605/state/{name}"
        assert cfg["availability_topic"] == "p1gw/1SAG3101021605/availability"
        assert cfg["unique_id"] == f"p1gw_1sag3101021605_{name}"
        assert (
            cfg["default_entity_id"] == f"sensor.{cfg['unique_id']}" and cfg["object_id"] == cfg["unique_id"]
        )
        assert cfg["name"] and cfg["device"]["identifiers"] == ["p1gw_1SAG3101021605"]
        assert cfg["origin"]["name"] == "p1-gateway"
        unique.add(cfg["unique_id"])
    assert len(unique) == len(msgs) > 30


def test_device_block_from_header_and_version():
    be = device_info(load("fluvius_v171.txt"))
    assert be["manufacturer"] == "Fluvius" and be["sw_version"] == "e-MUCS 50217"
    assert be["model"] == "53769484_A" and be["serial_number"] == "1SAG3101021605"
    nl = load("v5.txt")
    dev = device_info(nl)
    assert (
        dev["manufacturer"] == "Iskraemeco"
        and dev["model"] == "MT382-1000"
        and dev["sw_version"] == "DSMR 5.0"
    )


def test_dutch_labels_and_options():
    t = load("v5.txt")
    c = configs(t, discovery_prefix="ha", availability_topic=None)
    meter = topic_safe(t.meter_id)
    # NL: tariff 1 is the night (low) tariff
    assert c[f"{meter}_energy_import_night"]["state_topic"].endswith("/state/energy_import_night")
    assert all("availability_topic" not in cfg for cfg in c.values())
    topics = [topic for topic, _ in discovery_messages(t, base_topic="b", discovery_prefix="ha")]
    assert all(topic.startswith("ha/sensor/") for topic in topics)
    only = discovery_messages(t, base_topic="b", names={"gas_volume", "power_import"})
    assert sorted(cfg["state_topic"] for _, cfg in only) == ["b/state/gas_volume", "b/state/power_import"]


def test_topic_safe():
    assert topic_safe("FLU5\\253769484_A") == "FLU5_253769484_A"
    assert topic_safe("a/b+c#d e") == "a_b_c_d_e"
    assert topic_safe("///") == "meter"
