"""The persistent QoS 1 queue on a real SQLite file: FIFO ids, caps by count and bytes with the documented
drop order, prepayment superseding, persistence across reopen, recovery from a corrupt file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.mqtt.queue import PersistentQueue


def kinds(q: PersistentQueue) -> list[tuple[str, bytes]]:
    return [(m.kind, m.payload) for m in q.peek(1000)]


def test_fifo_ids_and_remove_after_ack(tmp_path: Path) -> None:
    with PersistentQueue(tmp_path / "q.sqlite") as q:
        a = q.put("quarter_hour", "quarter_hour", b"a", retain=True)
        b = q.put("event", "event", b"b")
        assert a is not None and b is not None and b > a
        first = q.peek()[0]
        assert (first.id, first.payload, first.qos, first.retain, first.topic) == (
            a,
            b"a",
            1,
            True,
            "quarter_hour",
        )
        assert q.remove(a) and not q.remove(a)  # second removal: already gone
        assert [m.payload for m in q.peek(10)] == [b"b"]
        assert (q.depth, q.size_bytes) == (1, 1)


def test_survives_reopen_with_counters(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "q.sqlite"
    with PersistentQueue(path, max_messages=2) as q:
        for payload in (b"e1", b"e2", b"e3"):
            q.put("event", "event", payload)
        q.put("quarter_hour", "quarter_hour", b"qh")
    with PersistentQueue(path, max_messages=2) as q:
        assert kinds(q) == [("event", b"e3"), ("quarter_hour", b"qh")]
        assert (q.depth, q.size_bytes) == (2, 4)
        assert q.dropped() == {"event": 2}
        assert q.put("event", "event", b"e4") is not None  # drops e3, the oldest event
        assert kinds(q) == [("quarter_hour", b"qh"), ("event", b"e4")]


def test_event_dropped_itself_when_only_quarter_hours_remain(tmp_path: Path) -> None:
    with PersistentQueue(tmp_path / "q.sqlite", max_messages=3) as q:
        for i in range(3):
            q.put("quarter_hour", "quarter_hour", b"qh%d" % i)
        assert q.put("event", "event", b"late") is None
        assert kinds(q) == [("quarter_hour", b"qh0"), ("quarter_hour", b"qh1"), ("quarter_hour", b"qh2")]
        assert q.dropped() == {"event": 1}
        # only quarter-hours left and another one comes: the oldest quarter-hour goes (documented last resort)
        assert q.put("quarter_hour", "quarter_hour", b"qh3") is not None
        assert [p for _, p in kinds(q)] == [b"qh1", b"qh2", b"qh3"]
        assert q.dropped() == {"event": 1, "quarter_hour": 1}


def test_byte_cap_and_too_large(tmp_path: Path) -> None:
    with PersistentQueue(tmp_path / "q.sqlite", max_bytes=10) as q:
        q.put("event", "event", b"12345")
        q.put("quarter_hour", "quarter_hour", b"12345")
        q.put("quarter_hour", "quarter_hour", b"123")  # 13 bytes > 10: the event goes
        assert [p for _, p in kinds(q)] == [b"12345", b"123"] and q.size_bytes == 8
        assert q.put("event", "event", b"x" * 11) is None  # larger than the whole queue
        assert q.counters()["too_large"] == 1
        assert q.put("event", "event", b"abc") is None  # 11 bytes, only quarter-hours: the event is dropped
        assert q.size_bytes == 8


def test_prepayment_supersedes_unsent_state(tmp_path: Path) -> None:
    with PersistentQueue(tmp_path / "q.sqlite") as q:
        q.put("prepayment", "prepayment", b"p1", retain=True)
        q.put("event", "event", b"e")
        q.put("prepayment", "prepayment", b"p2", retain=True)
        assert kinds(q) == [("event", b"e"), ("prepayment", b"p2")]
        assert q.counters()["superseded_prepayment"] == 1
        assert q.dropped() == {}


def test_bad_input_and_memory_queue(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown message kind"):
        PersistentQueue(None).put("telegram", "telegram", b"x")
    with pytest.raises(ValueError):
        PersistentQueue(None, max_messages=0)
    q = PersistentQueue(None, max_messages=1)
    q.put("event", "event", b"1")
    q.put("event", "event", b"2")
    assert kinds(q) == [("event", b"2")]


def test_corrupt_file_is_kept_aside_and_a_new_queue_starts(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with PersistentQueue(path) as q:
        assert q.recovered_from is not None and q.recovered_from.read_bytes() == garbage  # nothing lost
        assert q.depth == 0
        q.put("event", "event", b"ok")
    with PersistentQueue(path) as q:
        assert kinds(q) == [("event", b"ok")] and q.recovered_from is None


def test_foreign_sqlite_schema_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE message (something_else TEXT)")
    db.commit()
    db.close()
    with PersistentQueue(path) as q:
        assert q.recovered_from is not None and q.recovered_from.exists()
        assert q.put("event", "event", b"x") is not None


def test_marks_keep_the_newest_position_per_key_with_the_message_across_reopen(tmp_path: Path) -> None:
    with PersistentQueue(tmp_path / "q.sqlite", max_bytes=4) as q:
        q.put("quarter_hour", "quarter_hour", b"a", mark=("M1", 200.0))
        q.put("quarter_hour", "quarter_hour", b"b", mark=("M1", 100.0))  # older: the mark never goes back
        q.put("quarter_hour", "quarter_hour", b"c", mark=("M2", 50.0))
        assert q.put("quarter_hour", "quarter_hour", b"too large", mark=("M2", 900.0)) is None
        q.remove(q.peek()[0].id)  # sent: the mark stays
    with PersistentQueue(tmp_path / "q.sqlite") as q:
        assert q.marks() == {"M1": 200.0, "M2": 50.0}  # the dropped message marked nothing
