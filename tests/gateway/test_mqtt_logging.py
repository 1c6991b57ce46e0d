"""The publisher logs through the gateway's `p1gw` logger tree (gateway.logs: the configured text/JSON format,
`key=value` fields), one line per state change: a broker that stays unreachable gives one warning and one
"still unreachable" line, not one per attempt; a lost connection, the first reason of the outage and the
reconnection one line each; the password never appears."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from gateway.logs import setup_logging
from gateway.mqtt import MqttPublisher, MqttSettings

from ..conftest import Broker, free_port


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    logging.getLogger("p1gw").handlers.clear()


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_unreachable_broker_logs_json_once_per_state_change(log_stream: io.StringIO) -> None:
    setup_logging("info", "json", stream=log_stream)
    url = f"mqtt://p1gw:top-secret@127.0.0.1:{free_port()}"
    async with MqttPublisher(
        url, MqttSettings(meter_id="LOG0001", backoff_initial_s=0.05, backoff_max_s=0.1)
    ) as pub:
        await until(lambda: pub.status()["connect_attempts"] >= 8)
    text = log_stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line one JSON object
    assert "top-secret" not in text
    mqtt = [r for r in lines if r["logger"].startswith("p1gw.mqtt")]
    failed = [r for r in mqtt if r["msg"] == "MQTT connection failed"]
    assert len(failed) == 1 and failed[0]["level"] == "warning", mqtt
    assert failed[0]["kind"] == "network" and failed[0]["broker"] == url.replace("top-secret", "***")
    assert "refused" in failed[0]["error"].lower() and failed[0]["retry_s"] == 0.05
    capped = [r for r in mqtt if r["msg"] == "MQTT still unreachable"]
    assert len(capped) == 1 and capped[0]["retry_s"] == 0.1
    assert len(mqtt) == 2, mqtt  # eight attempts and more, two lines


async def test_lost_and_reconnected_in_text_format(log_stream: io.StringIO, mosquitto: Broker) -> None:
    setup_logging("info", "text", stream=log_stream)
    pub = MqttPublisher(
        mosquitto.url, MqttSettings(meter_id="LOG0002", discovery=False, backoff_initial_s=0.05)
    )
    async with pub:
        await until(lambda: pub.status()["connected"])
        mosquitto.stop()
        await until(lambda: not pub.status()["connected"])
        await until(lambda: pub.status()["connect_attempts"] >= 4)
        mosquitto.start()
        await until(lambda: pub.status()["connected"] and pub.status()["connects"] == 2)
    lines = [line for line in log_stream.getvalue().splitlines() if " p1gw.mqtt " in line]
    assert [line.split(" p1gw.mqtt ", 1)[1].split(" broker=")[0] for line in lines] == [
        "MQTT connected",
        "MQTT connection lost",
        "MQTT connection failed",  # the reason of the outage (refused), once
        "MQTT connected",
    ], lines
    assert " WARNING p1gw.mqtt MQTT connection lost " in lines[1] and "kind=network" in lines[2]
    attempts = int(lines[3].split(" attempts=")[1].split()[0])
    assert attempts >= 3  # the failed attempts in between were counted, not logged one by one
