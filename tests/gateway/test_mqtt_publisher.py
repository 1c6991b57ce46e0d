"""MqttPublisher against a real Mosquitto: the topic contract (ARCHITECTURE §3) as a real subscriber sees it,
discovery at connect and on HA's `online`, the publishing policy, URL and rule parsing."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dsmr_parser import Telegram, Value, parse_telegram, telegram_dict
from gateway.mqtt import (
    BrokerAddress,
    MqttPublisher,
    MqttSettings,
    PublishPolicy,
    TopicRule,
    parse_policy,
    state_text,
)

from ..conftest import Broker, CollectorFactory, Received
from ..telegram_values import moment

TELEGRAMS = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams"
FLUVIUS = "fluvius_v171.txt"
METER = "1SAG3101021605"
BASE = f"p1gw/{METER}"
RECORD = {
    "meter_id": METER,
    "ean": "541449000000000001",
    "start": "2026-11-22T14:00:00+01:00",
    "end": "2026-11-22T14:15:00+01:00",
    "import_day": 0.123,
    "import_night": 0.0,
    "export_day": 0.0,
    "export_night": 0.0,
    "import_kwh": 0.123,
    "export_kwh": 0.0,
    "avg_import_kw": 0.492,
    "avg_export_kw": 0.0,
    "complete": True,
    "estimated": False,
    "telegrams": 900,
}


def fluvius() -> Telegram:
    path = TELEGRAMS / FLUVIUS
    if not path.exists():
        path = Path(__file__).resolve().parents[1] / "dsmr_parser" / "telegrams" / FLUVIUS
    return parse_telegram(path.read_bytes())


def varied(base: Telegram, i: int) -> Telegram:
    """The Fluvius telegram at second i: power and energy change every second, voltage never."""
    values = dict(base.values)
    values["1-0:1.7.0"] = Value(Decimal("0.400") + Decimal(i) / 1000, "kW")
    values["1-0:1.8.1"] = Value(Decimal("100.000") + Decimal(i) / 1000, "kWh")
    values["0-0:1.0.0"] = Value(moment(base.values, "0-0:1.0.0").replace(second=i % 60), None)
    return Telegram(base.header, values, base.crc)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def publisher(broker: Broker, **kw: Any) -> MqttPublisher:
    kw.setdefault("backoff_initial_s", 0.05)
    kw.setdefault("backoff_max_s", 0.5)
    clock = kw.pop("clock", time.monotonic)
    return MqttPublisher(broker.url, MqttSettings(**kw), clock=clock)


async def wait_connected(pub: MqttPublisher, timeout: float = 10) -> None:
    import asyncio

    async with asyncio.timeout(timeout):
        while not pub.status()["connected"]:
            await asyncio.sleep(0.01)


async def test_topic_contract_qos_retain_and_payloads(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    telegram = fluvius()
    async with mqtt_collector(mosquitto, "p1gw/#", "homeassistant/#") as seen:
        async with publisher(mosquitto) as pub:
            assert pub.status()["state"] in ("idle", "waiting_for_meter_id")
            pub.publish_telegram(telegram)
            await wait_connected(pub)
            pub.publish_quarter_hour(RECORD)
            pub.publish_prepayment({"meter_id": METER, "balance_eur": 12.34, "state": "in_credit"})
            pub.publish_event({"type": "low_credit", "balance_eur": 4.5})
            assert await pub.wait_idle()
            await seen.wait_for(lambda m: m.topic == f"{BASE}/event")
            status = pub.status()
        await seen.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.payload == b"offline")

    def one(topic: str) -> Received:
        found = seen.on(topic)
        assert len(found) == 1, (topic, found)
        return found[0]

    avail = seen.on(f"{BASE}/availability")
    assert [(m.payload, m.qos, m.retain) for m in avail] == [(b"online", 1, True), (b"offline", 1, True)]
    tel = one(f"{BASE}/telegram")
    assert (tel.qos, tel.retain) == (0, False)
    assert json.loads(tel.payload) == telegram_dict(telegram)
    from dsmr_parser import telegram_json

    assert tel.payload == telegram_json(telegram).encode()  # the meter's digits, as `p1gw parse` prints them
    day = one(f"{BASE}/state/energy_import_day")
    assert (day.payload, day.qos, day.retain) == (b"0.034", 0, True)
    assert one(f"{BASE}/state/energy_import_tariff1").payload == b"0.034"
    assert one(f"{BASE}/state/gas_volume").payload == b"112.384"
    assert one(f"{BASE}/state/voltage_l1").payload == b"234.7"
    assert one(f"{BASE}/state/breaker_state").payload == b"1"
    assert one(f"{BASE}/state/meter_time").payload == b"2020-05-12T13:54:09+02:00"
    qh = one(f"{BASE}/quarter_hour")
    assert (qh.qos, qh.retain, json.loads(qh.payload)) == (1, True, RECORD)
    pp = one(f"{BASE}/prepayment")
    assert (pp.qos, pp.retain, json.loads(pp.payload)["balance_eur"]) == (1, True, 12.34)
    ev = one(f"{BASE}/event")
    event = json.loads(ev.payload)
    assert (ev.qos, ev.retain, event["type"]) == (1, False, "low_credit")
    assert len(event["id"]) == 32  # idempotency key added when the caller gave none
    disc = one(f"homeassistant/sensor/{METER}_energy_import_day/config")
    config = json.loads(disc.payload)
    assert (disc.qos, disc.retain) == (1, True)
    assert config["state_topic"] == f"{BASE}/state/energy_import_day"
    assert config["availability_topic"] == f"{BASE}/availability"
    # every state topic has its discovery config (profile buffers excepted) and nothing else is published
    states = {m.topic.rsplit("/", 1)[1] for m in seen.matching(lambda m: "/state/" in m.topic)}
    configs = {
        m.topic.split("/")[2].removeprefix(f"{METER}_") for m in seen.matching(lambda m: "config" in m.topic)
    }
    assert configs == states - {"max_demand_13_months"}
    topics = {
        m.topic.removeprefix(BASE + "/").split("/")[0] for m in seen.messages if m.topic.startswith(BASE)
    }
    assert topics == {"availability", "telegram", "state", "quarter_hour", "prepayment", "event"}
    assert status["published"]["quarter_hour"] == 1 and status["published"]["event"] == 1
    assert status["queue_depth"] == 0 and status["connected"]
    assert pub.status()["state"] == "closed"


async def test_profile_buffer_state_is_json(mosquitto: Broker, mqtt_collector: CollectorFactory) -> None:
    async with (
        mqtt_collector(mosquitto, f"{BASE}/state/max_demand_13_months") as seen,
        publisher(mosquitto, discovery=False) as pub,
    ):
        pub.publish_telegram(fluvius())
        m = (await seen.wait_for())[0]
    peaks = json.loads(m.payload)
    assert peaks[0] == {
        "month_start": "2020-05-01T00:00:00+02:00",
        "peak_time": "2020-04-23T19:25:38+02:00",
        "value": 3.695,
        "unit": "kW",
    }


async def test_base_topic_and_discovery_prefix_configurable(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    async with (
        mqtt_collector(mosquitto, "home/#", "ha/#", "p1gw/#", "homeassistant/#") as seen,
        publisher(mosquitto, base_topic="home/meter/{meter_id}/", discovery_prefix="ha") as pub,
    ):
        pub.publish_telegram(fluvius())
        await wait_connected(pub)
        assert await pub.wait_idle()
        await seen.wait_for(lambda m: m.topic.startswith("ha/"))
        await seen.settle(0.1)
    assert seen.on(f"home/meter/{METER}/state/energy_import_day")
    assert not seen.matching(lambda m: m.topic.startswith(("p1gw/", "homeassistant/")))
    config = json.loads(seen.on(f"ha/sensor/{METER}_energy_import_day/config")[0].payload)
    assert config["state_topic"] == f"home/meter/{METER}/state/energy_import_day"


async def test_discovery_again_when_home_assistant_comes_online(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    import aiomqtt

    topic = f"homeassistant/sensor/{METER}_gas_volume/config"
    async with mqtt_collector(mosquitto, "homeassistant/sensor/#") as seen, publisher(mosquitto) as pub:
        pub.publish_telegram(fluvius())
        await seen.wait_for(lambda m: m.topic == topic)
        await seen.settle(0.2)
        assert len(seen.on(topic)) == 1
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as ha:
            await ha.publish("homeassistant/status", b"offline", qos=1)
            await ha.publish("homeassistant/status", b"online", qos=1)
        await seen.wait_for(lambda m: m.topic == topic, count=2)
        await seen.settle(0.2)
        configs = seen.matching(lambda m: m.topic.endswith("/config"))
        assert pub.status()["published"]["discovery"] == len(configs)
    assert len(seen.on(topic)) == 2  # once at connect, once for HA's "online" (not for "offline")


async def test_new_values_get_discovery_later(mosquitto: Broker, mqtt_collector: CollectorFactory) -> None:
    base = fluvius()
    without_gas = Telegram(base.header, {k: v for k, v in base.values.items() if not k.startswith("0-1:")})
    gas_topic = f"homeassistant/sensor/{METER}_gas_volume/config"
    async with mqtt_collector(mosquitto, "homeassistant/#") as seen, publisher(mosquitto) as pub:
        pub.publish_telegram(without_gas)
        await wait_connected(pub)
        assert await pub.wait_idle()
        await seen.settle(0.2)
        first = len(seen.messages)
        assert not seen.on(gas_topic)
        pub.publish_telegram(base)
        await seen.wait_for(lambda m: m.topic == gas_topic)
        assert await pub.wait_idle()
        await seen.settle(0.2)
    # only the new gas-meter sensors were announced the second time
    later = {m.topic for m in seen.messages[first:]}
    assert later and all("_mbus1_" in t or "_gas_volume" in t for t in later)


async def test_policy_throttles_sixty_telegrams_at_one_hertz(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    clock = FakeClock()
    base = fluvius()
    async with mqtt_collector(mosquitto, "p1gw/#") as seen:
        pub = publisher(mosquitto, clock=clock, discovery=False, meter_id=METER)
        async with pub:
            await wait_connected(pub)
            for i in range(60):
                clock.t = 1000.0 + i
                pub.publish_telegram(varied(base, i))
                assert await pub.wait_idle()
            await seen.wait_for(lambda m: m.topic.endswith("/state/power_import"), count=12)
            await seen.settle(0.2)
            held = pub.status()["held_back"]

    def count(suffix: str) -> int:
        return len(seen.on(f"{BASE}/{suffix}"))

    assert count("telegram") == 6  # every 10 s: t = 0, 10, ..., 50
    assert count("state/power_import") == 12  # on change, at most every 5 s
    assert count("state/energy_import_day") == 1  # on change, at most every 60 s
    assert count("state/energy_import_tariff1") == 1
    assert count("state/voltage_l1") == 1  # never changes
    assert count("state/meter_time") == 1  # every 60 s
    n_names = len({m.topic for m in seen.matching(lambda m: "/state/" in m.topic)})
    published_states = len(seen.matching(lambda m: "/state/" in m.topic))
    assert published_states < 60 * n_names / 4  # unthrottled would be one message per value per second
    assert held + published_states + count("telegram") == 60 * (n_names + 1)  # every decision counted
    # the published power values are the latest ones at each 5 s step
    powers = [m.payload for m in seen.on(f"{BASE}/state/power_import")]
    assert powers == [f"{Decimal('0.400') + Decimal(i) / 1000}".encode() for i in range(0, 60, 5)]


async def test_policy_on_change_sends_held_back_change_after_interval() -> None:
    policy = PublishPolicy({"state/x": "on change, at most every 5 s"}, defaults=False)
    assert policy.allow("state/x", b"1", 0)
    assert not policy.allow("state/x", b"2", 1)  # held back by the interval
    assert not policy.allow("state/x", b"1", 6)  # back to the published value: nothing to send
    assert policy.allow("state/x", b"3", 7)
    assert policy.allow("state/x", b"4", 3)  # clock went backwards: publish rather than go silent
    policy2 = PublishPolicy({"state/x": "on change, at most every 5 s"}, defaults=False)
    assert policy2.allow("state/x", b"1", 0)
    assert not policy2.allow("state/x", b"2", 1)
    assert policy2.allow("state/x", b"2", 5)  # the change goes out once the interval passed
    assert not policy2.allow("state/x", b"2", 11)  # unchanged since last published
    assert policy2.allow("state/y", b"z", 0) and policy2.allow("state/y", b"z", 0)  # no rule: every time
    never = PublishPolicy({"telegram": "never"})
    assert not never.allow("telegram", None, 0)


def test_rule_parsing_and_errors() -> None:
    assert TopicRule.parse("every") == TopicRule()
    assert TopicRule.parse("every 10 s") == TopicRule(min_interval_s=10)
    assert TopicRule.parse("at most every 60s") == TopicRule(min_interval_s=60)
    assert TopicRule.parse("On change, at most every 5 s") == TopicRule(on_change=True, min_interval_s=5)
    assert TopicRule.parse("on change") == TopicRule(on_change=True)
    assert TopicRule.parse("every 2 min") == TopicRule(min_interval_s=120)
    assert TopicRule.parse("never") == TopicRule(enabled=False)
    for bad in ("sometimes", "every 5 parsecs", "every -1 s", "on change sometimes"):
        with pytest.raises(ValueError, match="publishing rule"):
            TopicRule.parse(bad)
    assert parse_policy(["telegram = every 30 s  # slower", "", "state/power_* = on change"]) == {
        "telegram": "every 30 s",
        "state/power_*": "on change",
    }
    with pytest.raises(ValueError):
        parse_policy(["no equals sign"])
    with pytest.raises(ValueError):
        parse_policy(["telegram = whenever"])
    user_first = PublishPolicy({"state/power_import": "every"})
    assert user_first.rule_for("state/power_import") == TopicRule()
    assert user_first.rule_for("state/power_export") == TopicRule(on_change=True, min_interval_s=5)
    assert user_first.rule_for("quarter_hour") == TopicRule()


def test_url_parsing() -> None:
    assert BrokerAddress.parse("mqtt://broker") == BrokerAddress("broker", 1883, False)
    assert BrokerAddress.parse("mqtts://u%40x:p%3Aw@h:8884") == BrokerAddress("h", 8884, True, "u@x", "p:w")
    assert BrokerAddress.parse("mqtts://h").port == 8883
    assert BrokerAddress.parse("localhost:1884") == BrokerAddress("localhost", 1884, False)
    assert BrokerAddress.parse("mqtt://u:secret@h").redacted() == "mqtt://u:***@h:1883"
    for bad in ("http://h", "mqtt://", "mqtt://h:notaport"):
        with pytest.raises(ValueError, match="MQTT URL"):
            BrokerAddress.parse(bad)
    for bad in ("http://u:secret@h", "mqtt://u:secret@h:notaport"):  # the error never shows the password
        with pytest.raises(ValueError, match=r"u:\*\*\*@h") as error:
            BrokerAddress.parse(bad)
        assert "secret" not in str(error.value)


def test_state_text() -> None:
    from datetime import datetime, timedelta, timezone

    assert state_text(Decimal("1234.567")) == "1234.567"
    assert state_text(Decimal("1E+3")) == "1000"
    assert state_text(Decimal("0.000")) == "0.000"
    assert state_text(7) == "7"
    assert state_text("1SAG") == "1SAG"
    assert state_text(None) == "None"  # no value: HA shows unknown (an empty retained payload deletes)
    assert state_text("") == "None"
    assert (
        state_text(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == "2026-01-01T00:00:00+01:00"
    )


async def test_bad_payload_is_a_clear_error_and_nothing_breaks(mosquitto: Broker) -> None:
    async with publisher(mosquitto, meter_id=METER) as pub:
        with pytest.raises(TypeError):
            pub.publish_event({"type": "x", "bad": object()})
        assert pub.status()["queue_depth"] == 0
        assert pub.publish_event({"type": "ok"}) is not None
        await wait_connected(pub)
        assert await pub.wait_idle()
        assert pub.status()["published"]["event"] == 1


async def test_no_limit_and_empty_text_are_published_as_no_value(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    """The Fluvius telegram's limiter (999.9 kW), fuse (999 A) and empty text message: `None` (HA: unknown),
    retained, never the "no limit" number (it would pollute statistics) nor an empty payload (it deletes)."""
    telegram = fluvius()
    async with mqtt_collector(mosquitto, "p1gw/#") as seen, publisher(mosquitto) as pub:
        pub.publish_telegram(telegram)
        await seen.wait_for(lambda m: m.topic.endswith("/state/text_message"))
        await seen.wait_for(lambda m: m.topic.endswith("/state/limiter_threshold"))
    for name in ("limiter_threshold", "fuse_threshold_l1", "text_message"):
        found = [m for m in seen.messages if m.topic.endswith(f"/state/{name}")]
        assert found and all(m.payload == b"None" and m.retain for m in found), (name, found)
    voltage = [m for m in seen.messages if m.topic.endswith("/state/voltage_l1")]
    assert voltage and voltage[0].payload != b"None"
