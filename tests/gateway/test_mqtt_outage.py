"""Broker outages, process death and credentials, with real Mosquitto brokers and real subscribers:
QoS 1 messages published while the broker is down arrive after its restart exactly once and in order, the
persistent queue survives a publisher restart, the last will says `offline` when the process is killed,
wrong passwords and bad certificates are reported in status() without crashing, TLS works."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.mqtt import MqttPublisher, MqttSettings

from ..conftest import Broker, Collector, CollectorFactory

ROOT = Path(__file__).resolve().parents[2]
METER = "OUTAGE0001"
BASE = f"p1gw/{METER}"


def qh(i: int) -> dict[str, Any]:
    minute = 15 * i
    return {
        "meter_id": METER,
        "start": f"2026-11-22T{14 + minute // 60:02d}:{minute % 60:02d}:00+01:00",
        "import_kwh": round(0.1 * i, 3),
        "complete": True,
        "estimated": False,
    }


async def until(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.02) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(step)


def fast(url: str, **kw: Any) -> MqttPublisher:
    kw.setdefault("meter_id", METER)
    kw.setdefault("discovery", False)
    kw.setdefault("backoff_initial_s", 0.05)
    kw.setdefault("backoff_max_s", 0.3)
    kw.setdefault("timeout_s", 3)
    return MqttPublisher(url, MqttSettings(**kw))


def qos1(seen: Collector) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m.topic.rsplit("/", 1)[1], json.loads(m.payload))
        for m in seen.messages
        if m.topic in (f"{BASE}/quarter_hour", f"{BASE}/event")
    ]


async def test_broker_restart_delivers_everything_once_in_order(
    mosquitto_persistent: Broker, mqtt_collector: CollectorFactory, tmp_path: Path
) -> None:
    broker = mosquitto_persistent
    sent: list[tuple[str, dict[str, Any]]] = []
    pub = fast(broker.url, queue_path=tmp_path / "q.sqlite")
    async with mqtt_collector(broker, f"{BASE}/#", session="outage") as before, pub:
        await until(lambda: pub.status()["connected"])
        for i in range(2):
            record = qh(i)
            pub.publish_quarter_hour(record)
            sent.append(("quarter_hour", record))
        await before.wait_for(lambda m: m.topic.endswith("/quarter_hour"), count=2)
        await before.settle(0.2)  # let the subscriber's own PUBACKs reach the broker (else: DUP redelivery)

        broker.stop()
        await until(lambda: not pub.status()["connected"])
        for i in range(2, 8):  # while the broker is away
            record = qh(i)
            pub.publish_quarter_hour(record)
            sent.append(("quarter_hour", record))
            event = {"id": f"ev-{i}", "type": "peak_warning", "n": i}
            pub.publish_event(event)
            sent.append(("event", event))
        down = pub.status()
        assert (down["connected"], down["queue_depth"]) == (False, 12)
        assert down["last_error_kind"] == "network" and down["last_error"]
        # it keeps trying while the broker is down (an upper bound on the wait, not a timing assertion)
        await until(lambda: pub.status()["connect_attempts"] > down["connects"] + 1)

        broker.start()
        await until(lambda: pub.status()["connected"] and pub.status()["queue_depth"] == 0)
        status = pub.status()
        assert status["reconnects"] == 1 and status["published"]["quarter_hour"] == 8
        assert status["published"]["event"] == 6 and status["dropped"]["event"] == 0
    # the persistent session got whatever the broker queued for it, whoever reconnected first
    async with mqtt_collector(broker, session="outage", subscribe=False) as after:
        await after.wait_for(lambda m: m.topic.endswith(("/quarter_hour", "/event")), count=12)
        await after.settle(0.3)
    received = qos1(before) + qos1(after)
    assert received == sent  # all of them, in order, none twice


async def test_queue_survives_publisher_restart(
    mosquitto: Broker, mqtt_collector: CollectorFactory, tmp_path: Path
) -> None:
    queue = tmp_path / "state" / "mqtt-queue.sqlite"
    dead_port = mosquitto.port
    mosquitto.stop()
    first = fast(f"mqtt://127.0.0.1:{dead_port}", queue_path=queue)
    async with first:
        for i in range(3):
            first.publish_quarter_hour(qh(i))
        first.publish_event({"id": "e1", "type": "low_credit"})
        first.publish_prepayment({"meter_id": METER, "balance_eur": 5.0})
        first.publish_prepayment({"meter_id": METER, "balance_eur": 4.0})  # replaces the unsent 5.0
        await asyncio.sleep(0.2)
        assert not first.status()["connected"]
    assert first.status()["queue_depth"] == 5
    mosquitto.start()
    async with mqtt_collector(mosquitto, f"{BASE}/#") as seen:
        second = fast(mosquitto.url, queue_path=queue)
        assert second.status()["queue_depth"] == 5
        async with second:
            await seen.wait_for(
                lambda m: m.topic.endswith(("/quarter_hour", "/event", "/prepayment")), count=5
            )
            await until(lambda: second.status()["queue_depth"] == 0)
        await seen.settle(0.2)
    kinds = [m.topic.rsplit("/", 1)[1] for m in seen.messages if not m.topic.endswith("/availability")]
    assert kinds == ["quarter_hour"] * 3 + ["event", "prepayment"]
    assert [json.loads(m.payload)["start"] for m in seen.on(f"{BASE}/quarter_hour")] == [
        qh(i)["start"] for i in range(3)
    ]
    assert json.loads(seen.on(f"{BASE}/prepayment")[0].payload)["balance_eur"] == 4.0
    third = fast(mosquitto.url, queue_path=queue)
    assert third.status()["queue_depth"] == 0  # delivered messages are gone for good
    await third.aclose()


async def test_queue_cap_drops_oldest_events_never_quarter_hours(
    mosquitto_persistent: Broker, mqtt_collector: CollectorFactory, tmp_path: Path
) -> None:
    mosquitto = mosquitto_persistent
    # a persistent subscription made before the outage gets what the publisher flushes on reconnect,
    # even when it reconnects before the collector does (as it may on a loaded machine)
    async with mqtt_collector(mosquitto, f"{BASE}/#", session="cap"):
        pass
    port = mosquitto.port
    mosquitto.stop()
    pub = fast(f"mqtt://127.0.0.1:{port}", queue_path=tmp_path / "q.sqlite", queue_max_messages=5)
    async with pub:
        for i in range(3):
            pub.publish_event({"id": f"old-{i}"})
        for i in range(4):
            pub.publish_quarter_hour(qh(i))
        assert pub.status()["dropped"]["event"] == 2  # old-0, old-1 made room for quarter-hours
        assert pub.publish_event({"id": "late"}) is not None  # old-2, the oldest event, makes room
        status = pub.status()
        assert status["queue_depth"] == 5 and status["dropped"]["event"] == 3
        assert status["dropped"]["quarter_hour"] == 0
        mosquitto.start()
        async with mqtt_collector(mosquitto, session="cap", subscribe=False) as seen:
            await seen.wait_for(lambda m: m.topic.endswith(("/quarter_hour", "/event")), count=5)
            await seen.settle(0.2)
    got = qos1(seen)
    assert [k for k, _ in got] == ["quarter_hour"] * 4 + ["event"]
    assert [p["start"] for _, p in got[:4]] == [qh(i)["start"] for i in range(4)]
    assert got[4][1]["id"] == "late"


async def test_last_will_offline_when_the_process_is_killed(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    script = (
        "import asyncio, sys\n"
        "from gateway.mqtt import MqttPublisher, MqttSettings\n"
        "async def main():\n"
        "    settings = MqttSettings(meter_id='KILLED01', discovery=False)\n"
        "    async with MqttPublisher(sys.argv[1], settings) as pub:\n"
        "        while not pub.status()['connected']:\n"
        "            await asyncio.sleep(0.01)\n"
        "        print('connected', flush=True)\n"
        "        await asyncio.sleep(120)\n"
        "asyncio.run(main())\n"
    )
    topic = "p1gw/KILLED01/availability"
    async with mqtt_collector(mosquitto, topic) as seen:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, mosquitto.url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env=dict(os.environ),
        )
        try:
            assert proc.stdout is not None  # stdout=PIPE
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
            assert line.strip() == b"connected"
            await seen.wait_for(lambda m: m.payload == b"online")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            offline = (await seen.wait_for(lambda m: m.payload == b"offline"))[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (offline.qos, offline.retain) == (1, True)
    async with mqtt_collector(mosquitto, topic) as later:  # and it stays retained for newcomers
        assert (await later.wait_for())[0].payload == b"offline"


async def test_wrong_password_is_reported_not_raised(
    mosquitto_auth: Broker, mqtt_collector: CollectorFactory
) -> None:
    broker = mosquitto_auth
    bad = fast(f"mqtt://p1gw:wrong@127.0.0.1:{broker.port}")
    async with bad:
        bad.publish_event({"type": "x"})
        await until(lambda: bad.status()["connect_attempts"] >= 3)
        status = bad.status()
    assert status["connected"] is False and status["connects"] == 0
    assert status["last_error_kind"] == "auth", status["last_error"]
    assert "wrong" not in json.dumps(status)  # never leak the password
    assert bad.status()["queue_depth"] == 1  # kept for later, not lost
    async with mqtt_collector(broker, f"{BASE}/#") as seen:
        async with fast(broker.url) as good:  # user:pass from the URL
            await seen.wait_for(lambda m: m.payload == b"online")
            assert good.status()["connected"]
        anonymous = fast(broker.anonymous_url, username="p1gw", password="broker-secret")  # from config
        async with anonymous:
            await until(lambda: anonymous.status()["connected"])


async def test_tls_with_ca_file_and_client_certificate(
    mosquitto_tls: Broker, mosquitto_tls_client_cert: Broker, mqtt_collector: CollectorFactory
) -> None:
    tls = mosquitto_tls.tls
    assert tls is not None  # the TLS broker has its certificates
    async with (
        mqtt_collector(mosquitto_tls, f"{BASE}/#") as seen,
        fast(mosquitto_tls.url, ca_file=tls.ca_cert) as pub,
    ):
        pub.publish_quarter_hour(qh(0))
        await seen.wait_for(lambda m: m.topic.endswith("/quarter_hour"))
        assert pub.status()["broker"].startswith("mqtts://")
    untrusted = fast(mosquitto_tls.url)  # the system CAs do not know our test CA
    async with untrusted:
        await until(lambda: untrusted.status()["last_error"] is not None)
        assert untrusted.status()["last_error_kind"] == "tls", untrusted.status()["last_error"]
        assert not untrusted.status()["connected"]
    async with fast(mosquitto_tls.url, tls_insecure=True) as insecure:
        await until(lambda: insecure.status()["connected"])
    cc = mosquitto_tls_client_cert
    async with fast(cc.url, ca_file=tls.ca_cert, cert_file=tls.client_cert, key_file=tls.client_key) as pub:
        await until(lambda: pub.status()["connected"])
    no_cert = fast(cc.url, ca_file=tls.ca_cert)
    async with no_cert:
        await until(lambda: no_cert.status()["connect_attempts"] >= 2)
        assert not no_cert.status()["connected"]
