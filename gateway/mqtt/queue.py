"""A bounded, persistent FIFO of QoS 1 MQTT messages (quarter-hours, events, prepayment) for broker outages.

Strategy: one SQLite file (WAL, `synchronous=NORMAL`: a committed message survives a crash of the process;
after a power cut the last transactions before the WAL checkpoint may be lost, the file stays consistent).
Every message gets an increasing integer id; the publisher reads the oldest (`peek`), publishes it with
QoS 1 and calls `remove(id)` only after the broker's PUBACK, so a message is never lost and is repeated only
when the process dies between PUBACK and delete (consumers dedupe by the payload's key, see docs/mqtt.md).

Bounds: at most `max_messages` rows and `max_bytes` of payload. When a new message does not fit:
  1. the oldest `event` messages are dropped until it fits;
  2. if it still does not fit and the new message is an `event`, the new event is dropped instead;
  3. otherwise (a quarter-hour or prepayment state) the oldest `prepayment`, then the oldest `quarter_hour`
     messages are dropped: a quarter-hour is lost only when the queue holds nothing but quarter-hours
     (the default 10 000 messages = 104 days of quarter-hours; the store keeps them all anyway).
`prepayment` is a retained state: a new one replaces any older unsent one (counted as `superseded`).
Drop counts per kind are kept in the file, so they survive restarts. Not thread-safe: one owner.

When the file cannot be written (disk full, I/O error), nothing is lost while the process lives: the
message goes to a bounded in-memory *overflow* behind the stored ones (same id sequence, so `peek` still
gives the oldest first and `remove` works wherever the message is), and every later write first retries
writing the overflow (`retry()`; the publisher also calls it every few seconds). Once one message is in the
overflow, newer ones follow it there until it is written, so the order never changes. Ids are allocated here,
not by SQLite, so a message keeps its id when it moves from memory to the file. A delete that cannot be
written (a message already acknowledged) is remembered and retried; the message is hidden from `peek`
meanwhile. The overflow has the same drop order as the file (its own caps); only the overflow is lost if the
process dies before the file can be written again.

Outbox marks: a message may carry a `mark` (key, position), e.g. (meter id, quarter-hour start as Unix
time). The newest position per key is written in the same transaction as the message, so `marks()` tells
exactly what reached the file (then the broker); the gateway re-queues at start-up what its store holds
beyond the mark (lost between the store's commit and this file's). A mark never goes back.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gateway.logs import get_logger
from gateway.logs import log as log_event

log = get_logger("mqtt.queue")
# Lower rank = dropped first when the queue is full.
_RANK = {"event": 0, "prepayment": 1, "quarter_hour": 2}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mark (key TEXT PRIMARY KEY, position REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One stored message. `topic` is relative to the publisher's base topic (`quarter_hour`, `event`)."""

    id: int
    kind: str
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float  # Unix time when queued
    mark: tuple[str, float] | None = None  # (key, position) recorded with the message (not read back)


# SQLite result codes that say "cannot write/open now", not "this file is not a queue": BUSY, LOCKED,
# READONLY, IOERR, FULL, CANTOPEN.
_NOT_CORRUPT = {5, 6, 8, 10, 13, 14}


def _write_failed(exc: BaseException) -> bool:
    """A write the storage refused (full, I/O, read-only, locked), not a programming error."""
    return isinstance(exc, sqlite3.DatabaseError | OSError) and not isinstance(
        exc, sqlite3.ProgrammingError | sqlite3.InterfaceError
    )


class PersistentQueue:
    """FIFO of QoS 1 messages in SQLite (`path=None` keeps it in memory: bounded, not persistent).

    Args:
        path: SQLite file; created with its directory. A file that is not a readable queue is renamed
            to `<name>.corrupt-<unix time>` (kept for inspection) and a fresh queue is started.
        max_messages: cap on the number of stored messages.
        max_bytes: cap on the sum of payload sizes in bytes.
        overflow_max_messages, overflow_max_bytes: caps of the in-memory overflow used while the file
            cannot be written (same drop order as the file).
    """

    def __init__(
        self,
        path: str | Path | None,
        *,
        max_messages: int = 10_000,
        max_bytes: int = 16 * 1024 * 1024,
        overflow_max_messages: int = 1_000,
        overflow_max_bytes: int = 1024 * 1024,
    ) -> None:
        if min(max_messages, max_bytes, overflow_max_messages, overflow_max_bytes) < 1:
            raise ValueError("max_messages, max_bytes and the overflow caps must be positive")
        self.path = Path(path) if path is not None else None
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.overflow_max_messages = overflow_max_messages
        self.overflow_max_bytes = overflow_max_bytes
        self.recovered_from: Path | None = None
        self.write_error: str | None = None  # the last write failure while the overflow is in use
        self._overflow: list[QueuedMessage] = []
        self._overflow_bytes = 0
        self._unsaved: Counter[str] = Counter()  # counter increments not yet written to the file
        self._gone: dict[int, int] = {}  # acknowledged, delete not yet written: id -> payload size
        self._db = self._open()
        self._resync()
        row = self._db.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'message'), 0),"
            " coalesce((SELECT max(id) FROM message), 0))"
        ).fetchone()
        self._next_id = int(row[0]) + 1

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(_SCHEMA)
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect(self.path)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _NOT_CORRUPT:
                raise  # disk full, I/O error, locked: the file is fine, keep it where it is for later
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.rename(aside.with_name(aside.name + suffix))
            log_event(
                log,
                logging.ERROR,
                "MQTT queue unreadable: kept aside, starting a new queue",
                path=str(self.path),
                error=str(exc),
                kept_as=str(aside),
            )
            self.recovered_from = aside
            return self._connect(self.path)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.execute(
                "SELECT id, kind, topic, payload, qos, retain, created FROM message LIMIT 1"
            ).fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    # -- state -------------------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Messages waiting (in the file and in the in-memory overflow)."""
        return self._depth + len(self._overflow)

    @property
    def size_bytes(self) -> int:
        """Sum of the waiting payloads, in bytes."""
        return self._bytes + self._overflow_bytes

    @property
    def overflow_depth(self) -> int:
        """Messages waiting only in memory because the file could not be written."""
        return len(self._overflow)

    @property
    def overflow_bytes(self) -> int:
        return self._overflow_bytes

    @property
    def pending_writes(self) -> bool:
        """True while something is held in memory (overflow, deletes, counters) for `retry()`."""
        return bool(self._overflow or self._gone or self._unsaved)

    def counters(self) -> dict[str, int]:
        """Persistent counts: `dropped_<kind>`, `superseded_prepayment`, `too_large` (plus the increments
        not yet written while the file cannot be written)."""
        counts = Counter(
            {name: int(value) for name, value in self._db.execute("SELECT name, value FROM counter")}
        )
        counts.update(self._unsaved)
        return dict(counts)

    def marks(self) -> dict[str, float]:
        """The newest `mark` position per key among the messages that reached the file (sent or not);
        marks of messages only in the in-memory overflow are not included (not durable yet)."""
        return {
            str(key): float(position) for key, position in self._db.execute("SELECT key, position FROM mark")
        }

    def dropped(self) -> dict[str, int]:
        """Messages dropped because the queue was full, per kind."""
        return {
            name.removeprefix("dropped_"): value
            for name, value in self.counters().items()
            if name.startswith("dropped_")
        }

    # -- operations --------------------------------------------------------------------------------------

    def put(
        self,
        kind: str,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        mark: tuple[str, float] | None = None,
    ) -> int | None:
        """Append a message; returns its id, or None when it was dropped (too large, or an event that
        does not fit in a queue full of quarter-hours). May drop older messages (see module docstring).
        `mark` (key, position) is recorded with the message when it reaches the file (see `marks()`).
        Never raises for a file that cannot be written: the message is kept in the overflow."""
        if kind not in _RANK:
            raise ValueError(f"unknown message kind {kind!r} (expected one of {sorted(_RANK)})")
        if len(payload) > self.max_bytes:
            self._unsaved.update(("too_large", f"dropped_{kind}"))
            log_event(
                log,
                logging.WARNING,
                "MQTT message larger than the queue cap: dropped",
                kind=kind,
                bytes=len(payload),
                max_bytes=self.max_bytes,
            )
            self._write([])
            return None
        message = QueuedMessage(self._next_id, kind, topic, payload, qos, retain, time.time(), mark)
        self._next_id += 1
        if self._overflow:
            self._hold(message)  # behind the older overflow: order first; retry() moves them all
            self.retry()
            return message.id if self._holds(message) else None
        kept = self._write([message])
        if kept is None:
            self._hold(message)
            return message.id if self._holds(message) else None
        return message.id if kept else None

    def retry(self) -> int:
        """Try again to write what is held in memory (overflow, deletes, counters); returns the number of
        overflow messages now in the file. Never raises for a write failure."""
        if not self.pending_writes:
            return 0
        moved = list(self._overflow)
        if self._write(moved) is None:
            return 0
        self._overflow.clear()
        self._overflow_bytes = 0
        if moved:
            log_event(
                log,
                logging.INFO,
                "MQTT queue file writable again: overflow stored",
                path=str(self.path),
                messages=len(moved),
            )
        return len(moved)

    def _holds(self, message: QueuedMessage) -> bool:
        return any(m.id == message.id for m in self._overflow) or self._stored(message.id)

    def _stored(self, message_id: int) -> bool:
        row = self._db.execute("SELECT 1 FROM message WHERE id = ?", (message_id,)).fetchone()
        return row is not None and message_id not in self._gone

    def _write(self, messages: list[QueuedMessage]) -> bool | None:
        """One transaction: pending deletes and counters, then `messages` in order (with the cap policy).
        True when the last message was stored, False when the policy dropped it, None when the file could
        not be written (nothing changed, the caller keeps everything in memory)."""
        db = self._db
        kept = True
        try:
            db.execute("BEGIN IMMEDIATE")
            for message_id in self._gone:
                db.execute("DELETE FROM message WHERE id = ?", (message_id,))
            for name, n in self._unsaved.items():
                self._count(name, n)
            for message in messages:
                kept = self._insert(message)
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._resync()
            if not _write_failed(exc):
                raise
            self._note_write_error(exc)
            return None
        self._gone.clear()
        self._unsaved.clear()
        self.write_error = None
        self._resync()
        return kept

    def _insert(self, message: QueuedMessage) -> bool:
        size = len(message.payload)
        if message.kind == "prepayment":
            self._delete_where("kind = 'prepayment'", counter="superseded_prepayment")
        if not self._make_room(message.kind, size):
            self._count(f"dropped_{message.kind}")
            return False
        self._db.execute(
            "INSERT INTO message (id, kind, topic, payload, qos, retain, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                message.id,
                message.kind,
                message.topic,
                message.payload,
                message.qos,
                int(message.retain),
                message.created,
            ),
        )
        self._depth += 1
        self._bytes += size
        if message.mark is not None:
            self._db.execute(
                "INSERT INTO mark (key, position) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET position = max(position, excluded.position)",
                message.mark,
            )
        return True

    def _note_write_error(self, exc: BaseException) -> None:
        first = self.write_error is None
        self.write_error = f"{type(exc).__name__}: {exc}"
        if first:
            log_event(
                log,
                logging.WARNING,
                "MQTT queue file not writable: holding messages in memory until it is",
                path=str(self.path),
                error=self.write_error,
                overflow_max_messages=self.overflow_max_messages,
            )

    def _hold(self, message: QueuedMessage) -> None:
        """Append to the in-memory overflow, with the file's drop order against its own caps."""
        size = len(message.payload)
        if message.kind == "prepayment":
            for old in [m for m in self._overflow if m.kind == "prepayment"]:
                self._forget(old, "superseded_prepayment")
        while (
            len(self._overflow) + 1 > self.overflow_max_messages
            or self._overflow_bytes + size > self.overflow_max_bytes
        ):
            victim = self._oldest_in_overflow("event")
            if victim is None and message.kind != "event":
                victim = self._oldest_in_overflow("prepayment") or self._oldest_in_overflow("quarter_hour")
            if victim is None:
                self._unsaved[f"dropped_{message.kind}"] += 1
                log_event(log, logging.WARNING, "MQTT overflow full: new message dropped", kind=message.kind)
                return
            self._forget(victim, f"dropped_{victim.kind}")
            log_event(log, logging.WARNING, "MQTT overflow full: dropped the oldest", kind=victim.kind)
        self._overflow.append(message)
        self._overflow_bytes += size

    def _oldest_in_overflow(self, kind: str) -> QueuedMessage | None:
        return next((m for m in self._overflow if m.kind == kind), None)

    def _forget(self, message: QueuedMessage, counter: str) -> None:
        self._overflow.remove(message)
        self._overflow_bytes -= len(message.payload)
        self._unsaved[counter] += 1

    def _fits(self, size: int) -> bool:
        return self._depth + 1 <= self.max_messages and self._bytes + size <= self.max_bytes

    def _make_room(self, kind: str, size: int) -> bool:
        while not self._fits(size):
            if self._drop_oldest("event"):
                continue
            if kind == "event":
                return False
            if self._drop_oldest("prepayment") or self._drop_oldest("quarter_hour"):
                continue
            return False  # pragma: no cover - an empty queue always fits (size <= max_bytes)
        return True

    def _drop_oldest(self, kind: str) -> bool:
        row = self._db.execute(
            "SELECT id, length(payload) FROM message WHERE kind = ? ORDER BY id LIMIT 1", (kind,)
        ).fetchone()
        if row is None:
            return False
        self._db.execute("DELETE FROM message WHERE id = ?", (row[0],))
        self._depth -= 1
        self._bytes -= int(row[1])
        self._count(f"dropped_{kind}")
        log_event(log, logging.WARNING, "MQTT queue full: dropped the oldest", kind=kind, id=row[0])
        return True

    def _delete_where(self, where: str, *, counter: str) -> None:
        rows = self._db.execute(f"SELECT id, length(payload) FROM message WHERE {where}").fetchall()
        for row_id, size in rows:
            self._db.execute("DELETE FROM message WHERE id = ?", (row_id,))
            self._depth -= 1
            self._bytes -= int(size)
            self._count(counter)

    def _count(self, name: str, n: int = 1) -> None:
        self._db.execute(
            "INSERT INTO counter (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, n),
        )

    def _resync(self) -> None:
        """Depth and bytes of the file's messages, not counting those acknowledged (delete pending)."""
        row = self._db.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM message").fetchone()
        self._depth = int(row[0]) - len(self._gone)
        self._bytes = int(row[1]) - sum(self._gone.values())

    def peek(self, limit: int = 1) -> list[QueuedMessage]:
        """The oldest `limit` messages, oldest first (not removed): the file's, then the overflow's."""
        rows = self._db.execute(
            "SELECT id, kind, topic, payload, qos, retain, created FROM message ORDER BY id LIMIT ?",
            (limit + len(self._gone),),
        ).fetchall()
        stored = [
            QueuedMessage(r[0], r[1], r[2], bytes(r[3]), r[4], bool(r[5]), r[6])
            for r in rows
            if r[0] not in self._gone
        ]
        return (stored + self._overflow)[:limit]

    def remove(self, message_id: int) -> bool:
        """Delete a message after its PUBACK; False when it was no longer there (dropped meanwhile).
        A delete the file refuses is remembered (the message is hidden) and written by the next write."""
        for message in self._overflow:
            if message.id == message_id:
                self._overflow.remove(message)
                self._overflow_bytes -= len(message.payload)
                return True
        if message_id in self._gone:
            return False
        row = self._db.execute("SELECT length(payload) FROM message WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return False
        try:
            self._db.execute("DELETE FROM message WHERE id = ?", (message_id,))
        except BaseException as exc:
            if not _write_failed(exc):
                raise
            self._gone[message_id] = int(row[0])
            self._note_write_error(exc)
        self._depth -= 1
        self._bytes -= int(row[0])
        return True

    def close(self) -> None:
        """Close the file; what only the overflow holds is lost (logged with its count per kind)."""
        self.retry()
        if self._overflow or self._gone:
            log_event(
                log,
                logging.ERROR,
                "MQTT queue closed while its file cannot be written: in-memory messages lost",
                path=str(self.path),
                lost=len(self._overflow),
                **{f"lost_{kind}": n for kind, n in sorted(Counter(m.kind for m in self._overflow).items())},
                acknowledged_resent_at_next_start=len(self._gone),
            )
        self._db.close()

    def __enter__(self) -> PersistentQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
