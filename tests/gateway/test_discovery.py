"""Home Assistant discovery payloads from real example telegrams: the Energy dashboard's sensors (import,
export in kWh total_increasing; gas in m³ device_class gas), device block, topics, the rules for
duplicates, diagnostics and profile buffers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsmr_parser import Telegram, parse_telegram
from gateway.mqtt.discovery import device_info, discovery_messages, topic_safe

TELEGRAMS = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"
LOCAL = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"


def load(name: str) -> Telegram:
    path = TELEGRAMS / name if (TELEGRAMS / name).exists() else LOCAL / name
    return parse_telegram(path.read_bytes())


def configs(telegram: Telegram, **kw: Any) -> dict[str, dict[str, Any]]:
    kw.setdefault("base_topic", "p1gw/M")
    kw.setdefault("availability_topic", "p1gw/M/availability")
    return {topic.split("/")[2]: payload for topic, payload in discovery_messages(telegram, **kw)}


def test_fluvius_energy_dashboard_sensors() -> None:
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


def test_required_fields_and_unique_ids() -> None:
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


def test_device_block_from_header_and_version() -> None:
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


def test_dutch_labels_and_options() -> None:
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


def test_topic_safe() -> None:
    assert topic_safe("FLU5\\253769484_A") == "FLU5_253769484_A"
    assert topic_safe("a/b+c#d e") == "a_b_c_d_e"
    assert topic_safe("///") == "meter"


def render(template: str, value: str) -> str:
    """A discovery value template rendered as Home Assistant does (Jinja2 with its `bitwise_and`)."""
    import jinja2

    env = jinja2.Environment()
    env.filters["bitwise_and"] = lambda a, b: a & b
    return env.from_string(template).render(value=value)


def test_coded_states_are_enum_sensors_with_labelled_options() -> None:
    meter = "1SAG3101021605"
    c = configs(load("fluvius_v171.txt"))
    tariff = c[f"{meter}_tariff_indicator"]
    assert (tariff["device_class"], tariff["options"]) == ("enum", ["day", "night"])
    assert "state_class" not in tariff and "unit_of_measurement" not in tariff
    assert render(tariff["value_template"], "1") == "day" and render(tariff["value_template"], "2") == "night"
    breaker = c[f"{meter}_breaker_state"]
    assert breaker["device_class"] == "enum"
    assert [render(breaker["value_template"], code) for code in "012"] == [
        "disconnected",
        "connected",
        "ready",
    ]
    for code in ("7", ""):
        assert render(breaker["value_template"], code) == "None"  # unknown in HA, never an undeclared option


def test_prepayment_status_enums() -> None:
    from dsmr_parser import StateValue, Value
    from gateway.mqtt.discovery import sensor_config

    def config(name: str, code: str) -> dict[str, Any]:
        state = StateValue(name, code, Value(0), None, None, None)
        found = sensor_config("M", state, base_topic="p1gw/M", availability_topic=None, device={})
        assert found is not None, code  # a coded state is always announced
        return found

    credit = config("prepay_electricity_credit_status", "0-0:19.0.0")
    assert credit["device_class"] == "enum" and set(credit["options"]) >= {"in_credit", "out_of_credit"}
    labels = {bits: render(credit["value_template"], str(bits)) for bits in (0, 1, 3, 5, 33, 64, 66)}
    assert labels == {
        0: "no_credit",
        1: "in_credit",
        3: "low_credit",
        5: "in_credit",
        33: "emergency_credit_in_use",
        64: "out_of_credit",
        66: "out_of_credit",
    }
    assert set(labels.values()) <= set(credit["options"])
    emergency = config("prepay_gas_emergency_status", "0-1:19.11.1")
    assert [render(emergency["value_template"], str(n)) for n in range(5)] == emergency["options"]


def test_thresholds_are_settings_not_statistics() -> None:
    meter = "1SAG3101021605"
    c = configs(load("fluvius_v171.txt"))
    for name in ("limiter_threshold", "fuse_threshold_l1"):
        assert "state_class" not in c[f"{meter}_{name}"], name
        assert c[f"{meter}_{name}"]["device_class"] in ("power", "current")
    assert c[f"{meter}_energy_import_day"]["state_class"] == "total_increasing"
