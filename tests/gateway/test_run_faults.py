"""`p1gw run` as a real process: SIGKILL mid-quarter-hour and restart, SIGTERM, a broker restarted mid-run.

The meter is a simulation behind a TCP server (as ser2net) running on at high speed while the gateway is
dead; the store and MQTT are compared with the simulator's own quarter-hours. The kill test runs on both
stores: a SQLite file and PostgreSQL (a throwaway schema; skipped with the reason when unreachable).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gateway.pipeline import Gateway
from gateway.sources import make_source
from gateway.store import open_store
from metering.record import QuarterHourRecord

from ..conftest import free_port
from .test_pipeline import START, record_wh, sim_server, truth_by_start, until
from .test_store import store_url  # noqa: F401  (the sqlite/postgresql fixture)

ROOT = Path(__file__).resolve().parents[2]
START_DT = datetime.fromisoformat(START)


def p1gw_run(port: int, db: Path | str, http_port: int, mqtt_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "run",
            "--port",
            f"socket://127.0.0.1:{port}",
            "--db",
            str(db),
            "--http",
            f"127.0.0.1:{http_port}",
            "--mqtt",
            mqtt_url,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "P1GW_SOURCE__RECONNECT_MAX_S": "0.5"},
    )


async def health(http_port: int) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await client.get(f"http://127.0.0.1:{http_port}/api/v1/health")
            return dict(response.json())
    except httpx.HTTPError:
        return None


async def wait_health(http_port: int, predicate: Any, timeout: float = 60.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            found = await health(http_port)
            if found is not None and predicate(found):
                return found
            await asyncio.sleep(0.05)


def stored_records(db: Path | str) -> list[QuarterHourRecord]:
    with open_store(db) as store:
        start = datetime.fromisoformat(START)
        return store.quarter_hours(start - timedelta(hours=1), start + timedelta(hours=6))


async def test_sigkill_mid_quarter_hour_then_restart(
    store_url: str,  # noqa: F811
    mosquitto: Any,
    mqtt_collector: Any,
) -> None:
    db = store_url
    http_port = free_port()
    async with sim_server(speed=300.0) as meter, mqtt_collector(mosquitto, "p1gw/#") as mqtt:
        gateway = p1gw_run(meter.port, db, http_port, mosquitto.url)
        try:
            await wait_health(http_port, lambda h: h["quarter_hours"]["stored"] >= 1, timeout=120)
            await asyncio.sleep(1.2)  # well inside the next quarter-hour (3 s of wall time each)
            gateway.send_signal(signal.SIGKILL)
            gateway.wait(10)
            await asyncio.sleep(0.5)  # the meter runs on: 150 s of telegrams are never read
            gateway = p1gw_run(meter.port, db, http_port, mosquitto.url)
            restarted = await wait_health(http_port, lambda h: h["quarter_hours"]["stored"] >= 3, timeout=120)
            assert restarted["quarter_hours"]["restored_from"] is not None
            # however long the restart took (a loaded machine: several quarter-hours of meter time, all
            # estimated), run on until a quarter-hour after it was seen whole
            async with asyncio.timeout(120):
                while not any(r["complete"] for r in stored_records(db)[1:]):
                    await asyncio.sleep(0.1)
                # and until MQTT carried what is stored (a slow start may still have it queued on disk)
                while not {r["start"] for r in stored_records(db)} <= {
                    json.loads(m.payload)["start"] for m in mqtt.messages if m.topic.endswith("/quarter_hour")
                }:
                    await asyncio.sleep(0.1)
            gateway.send_signal(signal.SIGTERM)
            assert gateway.wait(20) == 0, gateway.stderr.read() if gateway.stderr else ""
        finally:
            if gateway.poll() is None:
                gateway.kill()
        await mqtt.wait_for(lambda m: m.topic.endswith("/availability") and m.payload == b"offline")
        truth = truth_by_start(meter.simulation.drain_quarter_hours())
    records = stored_records(db)
    starts = [r["start"] for r in records]
    assert len(starts) == len(set(starts)) >= 3
    moments = [datetime.fromisoformat(s) for s in starts]
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(moments))
    exact = 0
    for record in records:
        if record["complete"]:  # every telegram of it arrived: equal to the meter's own deltas
            assert record_wh(record) == truth[record["start"]], record
            exact += 1
    assert exact >= 1
    assert any(not r["complete"] for r in records)  # the one the kill cut through says so
    # MQTT saw the same quarter-hours (a re-send after the kill is allowed, consumers dedupe by start)
    published = [json.loads(m.payload) for m in mqtt.messages if m.topic.endswith("/quarter_hour")]
    assert {r["start"] for r in published} == set(starts)
    assert len(published) - len({r["start"] for r in published}) <= 1
    for record in published:
        assert record_wh(record) == record_wh(records[starts.index(record["start"])])
    with open_store(db) as store:  # the checkpoint was written at the clean stop
        checkpoint = store.get_checkpoint()
    assert checkpoint is not None


async def test_broker_stopped_and_restarted_mid_run(
    tmp_path: Path, mosquitto: Any, mqtt_collector: Any
) -> None:
    from gateway.mqtt import MqttPublisher, MqttSettings

    source = make_source(f"sim:be-3ph?seed=5&speed=300&start={START}")
    store = open_store(tmp_path / "p1gw.sqlite")
    async with MqttPublisher(
        mosquitto.url,
        MqttSettings(queue_path=tmp_path / "q.sqlite", backoff_initial_s=0.1, backoff_max_s=0.3),
    ) as publisher:
        gateway = Gateway(source, store=store, publisher=publisher)
        async with gateway:
            async with mqtt_collector(mosquitto, "p1gw/#") as before:
                await before.wait_for(lambda m: m.topic.endswith("/quarter_hour"), timeout=60)
            mosquitto.stop()
            closed = gateway.quarter_hours_closed
            await until(lambda: gateway.quarter_hours_closed >= closed + 1)  # closed while the broker is away
            assert gateway.health()["mqtt"]["connected"] is False
            assert "MQTT not connected" in gateway.health()["problems"]
            missed = gateway.quarter_hours_closed
            mosquitto.start()
            async with mqtt_collector(mosquitto, "p1gw/#") as after:
                await after.wait_for(lambda m: m.topic.endswith("/availability") and m.payload == b"online")
                retained = await after.wait_for(lambda m: m.topic.endswith("/quarter_hour") and m.retain)
            # every quarter-hour closed so far was acknowledged by the broker (PUBACK), once, in order
            await until(lambda: publisher.status()["published"].get("quarter_hour", 0) >= missed)
            await until(lambda: publisher.status()["queue_depth"] == 0)
            status = publisher.status()
            assert status["published"]["quarter_hour"] == gateway.quarter_hours_closed
            assert status["reconnects"] >= 1
            latest = json.loads(retained[-1].payload)
            stored = {
                r["start"]: r
                for r in gateway.quarter_hours(START_DT - timedelta(hours=1), START_DT + timedelta(hours=9))
            }
            assert record_wh(latest) == record_wh(stored[latest["start"]])
            assert gateway.health()["mqtt"]["connected"] is True
    # the broker's own log (kept across its restart): one QoS 1 PUBLISH per closed quarter-hour
    received = [
        line
        for line in mosquitto.log().splitlines()
        if "Received PUBLISH" in line and "/quarter_hour'" in line and "q1" in line
    ]
    assert len(received) >= gateway.quarter_hours_closed
    store.close()
