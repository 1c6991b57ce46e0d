"""The S1 source: simulated S1 frames (meter_sim.s1) -> S1Reader -> per-second values in the pipeline."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from gateway.pipeline import Gateway
from gateway.sources import make_source, parse_spec
from gateway.sources.s1 import S1Reader
from meter_sim.meter import Meter
from meter_sim.s1 import S1Generator

from ..conftest import Broker, CollectorFactory

START = datetime.fromisoformat("2026-11-22T14:14:00+01:00")


def test_reader_gives_one_set_of_values_per_second_in_any_chunking() -> None:
    meter = Meter("be-3ph", 3, START)
    generator = S1Generator(meter)
    data = b"".join(generator.second() for _ in range(3))
    whole = S1Reader().feed(data)
    reader = S1Reader()
    chunked = [v for i in range(0, len(data), 1000) for v in reader.feed(data[i : i + 1000])]
    assert len(whole) == 3 and chunked == whole
    truth = generator.last
    assert truth is not None
    last = whole[-1]
    assert abs(last["s1_frequency"] - 50) < 0.1
    for phase in (1, 2, 3):
        assert 200 < last[f"s1_voltage_l{phase}"] < 260
    # the 3rd and 5th harmonics of the simulated current (15 % and 8 %): THD = sqrt(.15^2 + .08^2) = 17 %
    loaded = [p for p in (1, 2, 3) if last[f"s1_current_l{p}"] > 0.5]
    for phase in loaded:
        assert abs(last[f"s1_thd_l{phase}"] - 17.0) < 1.0


def test_corrupted_bytes_are_counted_and_skipped() -> None:
    generator = S1Generator(Meter("be-3ph", 3, START))
    data = bytearray(generator.second() + generator.second())
    data[100] ^= 0xFF  # one frame's FCS no longer matches
    reader = S1Reader()
    values = reader.feed(bytes(data))
    assert reader.errors["fcs"] >= 1 or reader.errors["junk"] >= 1
    assert len(values) >= 1


async def test_s1_sim_through_the_gateway() -> None:
    assert parse_spec("s1+sim:be-3ph").s1
    source = make_source(f"s1+sim:be-3ph?seed=3&speed=4&start={START.isoformat()}")
    gateway = Gateway(source)
    async with gateway:
        async with asyncio.timeout(15):
            while gateway.s1 is None or gateway.s1.seconds < 3:
                await asyncio.sleep(0.05)
    states = gateway.states()
    voltage = states["s1_voltage_l1"]["value"]
    assert states["s1_voltage_l1"]["unit"] == "V" and isinstance(voltage, float | int) and 200 < voltage < 260
    assert states["s1_power"]["unit"] == "W"
    health = gateway.health()
    assert health["s1"]["seconds"] >= 3 and health["source"]["kind"] == "s1+sim"


async def test_s1_values_are_published_like_p1_values(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    """S1 seconds reach MQTT as `state/s1_*` (retained) with Home Assistant discovery, over a real broker."""
    from gateway.mqtt import MqttPublisher, MqttSettings

    source = make_source(f"s1+sim:be-3ph?seed=3&speed=4&start={START.isoformat()}")
    async with (
        mqtt_collector(mosquitto, "p1gw/#", "homeassistant/#") as seen,
        MqttPublisher(mosquitto.url, MqttSettings(backoff_initial_s=0.05)) as publisher,
        Gateway(source, publisher=publisher),
        asyncio.timeout(20),
    ):
        while not any(m.topic.endswith("/state/s1_voltage_l1") for m in seen.messages):
            await asyncio.sleep(0.05)
    states = [m for m in seen.messages if "/state/s1_" in m.topic]
    voltage = next(m for m in states if m.topic.endswith("/state/s1_voltage_l1"))
    assert voltage.retain and 200 < float(voltage.payload) < 260
    names = {m.topic.rsplit("/", 1)[1] for m in states}
    assert {"s1_voltage_l1", "s1_current_l1", "s1_frequency"} <= names
    configs = {m.topic: json.loads(m.payload) for m in seen.messages if m.topic.endswith("/config")}
    config = next(c for t, c in configs.items() if t.endswith("_s1_voltage_l1/config"))
    assert config["device_class"] == "voltage" and config["unit_of_measurement"] == "V"
    assert config["state_topic"] == voltage.topic
