"""A queue file that cannot be written (disk full) loses nothing while the process lives: the messages wait
in a bounded in-memory overflow behind the stored ones, in order, with stable ids; they are written to the
file when it accepts writes again and published once, in order, whoever comes first (broker or disk).

Two real ways to refuse writes: SQLite's own page limit (`PRAGMA max_page_count`, the same SQLITE_FULL a full
disk gives; runs anywhere) and, as root, a real 16 MB tmpfs filled to the last byte (tests/soak/harness.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.logs import setup_logging
from gateway.mqtt import MqttPublisher, MqttSettings
from gateway.mqtt.queue import PersistentQueue

from ..conftest import Broker, Collector, CollectorFactory

METER = "OVERFLOW0001"
BASE = f"p1gw/{METER}"
BIG = 5000  # bytes: every such payload needs new pages, so a full file refuses it


def refuse_writes(q: PersistentQueue) -> None:
    pages = q.file.db.execute("PRAGMA page_count").fetchone()[0]
    q.file.db.execute(f"PRAGMA max_page_count = {pages}")


def allow_writes(q: PersistentQueue) -> None:
    q.file.db.execute("PRAGMA max_page_count = 1073741823")


def payload(tag: str) -> bytes:
    return tag.encode() + b"." * BIG


def stored(path: Path) -> list[tuple[int, bytes]]:
    """What a fresh process would find in the file (a second connection)."""
    db = sqlite3.connect(path)
    try:
        return [(i, bytes(p)[:4]) for i, p in db.execute("SELECT id, payload FROM message ORDER BY id")]
    finally:
        db.close()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    setup_logging("debug", "json", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger("p1gw").handlers.clear()


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]  # one JSON object per line


def test_unwritable_file_keeps_messages_in_memory_in_order_then_stores_them(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    path = tmp_path / "q.sqlite"
    with PersistentQueue(path) as q:
        a = q.put("quarter_hour", "quarter_hour", payload("qh-a"), retain=True)
        refuse_writes(q)
        b = q.put("quarter_hour", "quarter_hour", payload("qh-b"), retain=True)
        e = q.put("event", "event", b"ev-e")  # small enough to fit: it still waits behind qh-b (order)
        c = q.put("quarter_hour", "quarter_hour", payload("qh-c"), retain=True)
        assert a is not None and b is not None and e is not None and c is not None and a < b < e < c
        assert (q.depth, q.overflow_depth) == (4, 3) and q.write_error and "full" in q.write_error
        assert [m.id for m in q.peek(10)] == [a, b, e, c]
        assert stored(path) == [(a, b"qh-a")]  # only a survives a crash now
        assert q.retry() == 0 and q.overflow_depth == 3  # still refused: nothing moves, nothing lost

        assert q.remove(b)  # published from memory (broker up, disk full)
        allow_writes(q)
        assert q.retry() == 2 and q.overflow_depth == 0 and q.write_error is None
        assert stored(path) == [(a, b"qh-a"), (e, b"ev-e"), (c, b"qh-c")]  # same ids: an in-flight one still
        assert q.remove(c) and stored(path) == [(a, b"qh-a"), (e, b"ev-e")]  # gets removed after its PUBACK
    lines = records(json_log)
    full = [r for r in lines if r["msg"].startswith("MQTT queue file not writable")]
    assert len(full) == 1 and full[0]["logger"] == "p1gw.mqtt.queue" and full[0]["path"] == str(path)
    assert any(r["msg"].startswith("MQTT queue file writable again") and r["messages"] == 2 for r in lines)


def test_acknowledged_delete_refused_is_hidden_and_written_later(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with PersistentQueue(path) as q:
        ids: list[int] = []
        for i in range(3):
            new_id = q.put("quarter_hour", "quarter_hour", payload(f"qh-{i}"))
            assert new_id is not None  # kept, with its id
            ids.append(new_id)
        refuse_writes(q)
        for _ in range(8):  # fill the last free pages so that even a DELETE's WAL frame is refused
            q.put("event", "event", payload("fill"))
        q.remove(ids[0])
        if q.write_error is None:  # pragma: no cover - depends on SQLite's page reuse
            pytest.skip("this SQLite wrote the delete in place")
        assert [m.id for m in q.peek(1)] == [ids[1]]  # acknowledged: never offered again
        assert not q.remove(ids[0])
        allow_writes(q)
        q.retry()
        assert [i for i, _ in stored(path)][:2] == ids[1:]  # the delete reached the file


def test_overflow_caps_drop_events_first_and_counts_survive(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with PersistentQueue(path, overflow_max_messages=3) as q:
        q.put("quarter_hour", "quarter_hour", b"stored")
        refuse_writes(q)
        q.put("quarter_hour", "quarter_hour", payload("qh-1"))
        q.put("event", "event", payload("ev-1"))
        q.put("prepayment", "prepayment", payload("pp-1"))
        q.put("prepayment", "prepayment", payload("pp-2"))  # replaces the unsent pp-1
        q.put("quarter_hour", "quarter_hour", payload("qh-2"))
        q.put("quarter_hour", "quarter_hour", payload("qh-3"))  # full: the event goes, then pp-2
        assert [m.payload[:4] for m in q.peek(10)] == [b"stor", b"qh-1", b"qh-2", b"qh-3"]
        assert q.dropped() == {"event": 1, "prepayment": 1}
        assert q.put("event", "event", payload("ev-2")) is None  # only quarter-hours left: the event goes
        allow_writes(q)
        q.retry()
    with PersistentQueue(path) as q:
        assert [m.payload[:4] for m in q.peek(10)] == [b"stor", b"qh-1", b"qh-2", b"qh-3"]
        assert q.dropped() == {"event": 2, "prepayment": 1}
        assert q.counters()["superseded_prepayment"] == 1


def test_closing_while_unwritable_logs_what_is_lost(tmp_path: Path, json_log: io.StringIO) -> None:
    path = tmp_path / "q.sqlite"
    q = PersistentQueue(path)
    q.put("quarter_hour", "quarter_hour", b"kept")
    refuse_writes(q)
    q.put("quarter_hour", "quarter_hour", payload("qh-x"))
    q.put("event", "event", payload("ev-x"))
    q.close()
    lost = [r for r in records(json_log) if r["level"] == "error"]
    assert len(lost) == 1 and lost[0]["lost"] == 2
    assert (lost[0]["lost_quarter_hour"], lost[0]["lost_event"]) == (1, 1)
    assert [p for _, p in stored(path)] == [b"kept"]  # what the documentation says survives


# -- the publisher on a real full disk (root: a tmpfs filled to the last byte) ----------------------------


def qh(i: int) -> dict[str, Any]:
    return {"meter_id": METER, "start": f"2026-03-02T{7 + i // 4:02d}:{15 * (i % 4):02d}:00+01:00", "n": i}


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def publisher(url: str, queue_path: Path) -> MqttPublisher:
    return MqttPublisher(
        url,
        MqttSettings(
            meter_id=METER,
            discovery=False,
            queue_path=queue_path,
            queue_retry_s=0.1,
            backoff_initial_s=0.05,
            backoff_max_s=0.3,
            timeout_s=3,
        ),
    )


def qos1(seen: Collector) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m.topic.rsplit("/", 1)[1], json.loads(m.payload))
        for m in seen.messages
        if m.topic in (f"{BASE}/quarter_hour", f"{BASE}/event")
    ]


async def test_disk_full_and_broker_away_then_disk_back_then_broker_back(
    full_disk: Any, mosquitto_persistent: Broker, mqtt_collector: CollectorFactory
) -> None:
    broker, path = mosquitto_persistent, full_disk.path / "q.sqlite"
    sent: list[tuple[str, dict[str, Any]]] = []
    pub = publisher(broker.url, path)
    async with mqtt_collector(broker, f"{BASE}/#", session="overflow") as before, pub:
        await until(lambda: pub.status()["connected"])
        broker.stop()
        await until(lambda: not pub.status()["connected"])
        for i in range(2):
            pub.publish_quarter_hour(qh(i))
            sent.append(("quarter_hour", qh(i)))
        full_disk.fill(os.getpid())
        for i in range(2, 5):
            pub.publish_quarter_hour(qh(i))
            sent.append(("quarter_hour", qh(i)))
            event = {"id": f"ev-{i}", "type": "peak_warning"}
            pub.publish_event(event)
            sent.append(("event", event))
        status = pub.status()
        assert (status["queue_depth"], status["queue_overflow"]) == (8, 6), status
        assert status["dropped"]["quarter_hour"] == 0 and status["dropped"]["event"] == 0
        assert len(stored(path)) == 2  # a crash now loses the 6 in memory (documented)

        full_disk.free()
        await until(lambda: pub.status()["queue_overflow"] == 0)  # written without waiting for a new message
        assert len(stored(path)) == 8  # now a crash loses nothing

        broker.start()
        await until(lambda: pub.status()["connected"] and pub.status()["queue_depth"] == 0)
    async with mqtt_collector(broker, session="overflow", subscribe=False) as after:
        await after.wait_for(lambda m: m.topic.endswith(("/quarter_hour", "/event")), count=8)
        await after.settle(0.3)
    assert qos1(before) + qos1(after) == sent  # all, in order, none twice


async def test_disk_full_with_broker_up_delivers_from_memory_and_nothing_is_resent(
    full_disk: Any, mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    path = full_disk.path / "q.sqlite"
    sent = [("quarter_hour", qh(i)) for i in range(4)]
    async with mqtt_collector(mosquitto, f"{BASE}/#") as seen:
        async with publisher(mosquitto.url, path) as pub:
            await until(lambda: pub.status()["connected"])
            pub.publish_quarter_hour(qh(0))
            await seen.wait_for(lambda m: m.topic.endswith("/quarter_hour"))
            full_disk.fill(os.getpid())
            for i in range(1, 4):
                pub.publish_quarter_hour(qh(i))
            await seen.wait_for(lambda m: m.topic.endswith("/quarter_hour"), count=4)
            await until(lambda: pub.status()["queue_depth"] == 0)  # PUBACKs reach the publisher after us
            assert pub.status()["queue_overflow"] == 0
            full_disk.free()
            await until(lambda: not pub.queue.pending_writes)
            await seen.settle(0.3)
        assert qos1(seen) == sent
    assert stored(path) == []  # nothing left to be sent again at the next start


def test_opening_on_a_full_disk_keeps_the_queue_file(full_disk: Any) -> None:
    path = full_disk.path / "q.sqlite"
    with PersistentQueue(path) as q:
        q.put("quarter_hour", "quarter_hour", b"pending")
    full_disk.fill(os.getpid())
    with pytest.raises(sqlite3.OperationalError):  # a clear error, not "corrupt": nothing is moved aside
        PersistentQueue(path)
    assert not list(full_disk.path.glob("*.corrupt-*"))
    full_disk.free()
    with PersistentQueue(path) as q:
        assert [m.payload for m in q.peek(5)] == [b"pending"] and q.recovered_from is None
