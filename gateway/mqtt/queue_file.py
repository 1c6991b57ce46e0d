"""The SQLite file behind the persistent MQTT queue (`gateway.mqtt.queue`): schema, opening, and every write.

Strategy: WAL with `synchronous=NORMAL` (a committed message survives a crash of the process; after a power
cut the last transactions before the WAL checkpoint may be lost, the file stays consistent). A file that is
not a readable queue is renamed to `<name>.corrupt-<unix time>` and a fresh one started; one that cannot be
opened or written now (full, I/O error, locked) is left where it is. `write` is one transaction: the deletes
and counter increments still pending, then the new messages with the cap policy (drop order in
`gateway.mqtt.queue`), then COMMIT; a write the storage refuses changes nothing and is reported to
`on_write_error`, the caller keeps what it tried to write. A delete that cannot be written (an acknowledged
message) is remembered, hidden from `peek`, and written with the next transaction.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.logs import get_logger
from gateway.logs import log as log_event
from gateway.store.sqlite import connect

log = get_logger("mqtt.queue")
# Lower rank = dropped first when the queue is full.
RANK = {"event": 0, "prepayment": 1, "quarter_hour": 2}
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
# SQLite result codes that say "cannot write/open now", not "this file is not a queue": BUSY, LOCKED,
# READONLY, IOERR, FULL, CANTOPEN.
_NOT_CORRUPT = {5, 6, 8, 10, 13, 14}


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


def write_failed(exc: BaseException) -> bool:
    """A write the storage refused (full, I/O, read-only, locked), not a programming error."""
    return isinstance(exc, sqlite3.DatabaseError | OSError) and not isinstance(
        exc, sqlite3.ProgrammingError | sqlite3.InterfaceError
    )


class QueueFile:
    """The queue's SQLite file (`path=None`: in memory) with its caps.

    Args:
        path: SQLite file; created with its directory.
        max_messages, max_bytes: caps on the stored messages and on the sum of their payload sizes.
        on_write_error: called with every write failure the storage reports (nothing was changed).
    """

    def __init__(
        self,
        path: Path | None,
        *,
        max_messages: int,
        max_bytes: int,
        on_write_error: Callable[[BaseException], None],
    ) -> None:
        self.path = path
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.recovered_from: Path | None = None
        self.unsaved: Counter[str] = Counter()  # counter increments not yet written to the file
        self._gone: dict[int, int] = {}  # acknowledged, delete not yet written: id -> payload size
        self._on_write_error = on_write_error
        self.db = self._open()
        self._resync()

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            db = connect(":memory:", synchronous="NORMAL", busy_timeout_s=5.0, wal=False)
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
        # NORMAL: a power cut may lose the last queued messages, never the file (they are resent anyway)
        db = connect(path, synchronous="NORMAL", busy_timeout_s=5.0)
        try:
            db.executescript(_SCHEMA)
            db.execute(
                "SELECT id, kind, topic, payload, qos, retain, created FROM message LIMIT 1"
            ).fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    # -- state -------------------------------------------------------------------------------------------

    def last_id(self) -> int:
        """The highest message id ever used in this file (0 for a new one)."""
        row = self.db.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'message'), 0),"
            " coalesce((SELECT max(id) FROM message), 0))"
        ).fetchone()
        return int(row[0])

    @property
    def depth(self) -> int:
        """Messages stored and not acknowledged."""
        return self._depth

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def pending(self) -> bool:
        """True while deletes or counter increments wait for the next write."""
        return bool(self._gone or self.unsaved)

    @property
    def pending_deletes(self) -> int:
        return len(self._gone)

    def counters(self) -> dict[str, int]:
        """Persistent counts, plus the increments not yet written."""
        counts = Counter(
            {name: int(value) for name, value in self.db.execute("SELECT name, value FROM counter")}
        )
        counts.update(self.unsaved)
        return dict(counts)

    def marks(self) -> dict[str, float]:
        """The newest `mark` position per key among the messages written."""
        return {
            str(key): float(position) for key, position in self.db.execute("SELECT key, position FROM mark")
        }

    def holds(self, message_id: int) -> bool:
        """True when the message is stored and not acknowledged."""
        row = self.db.execute("SELECT 1 FROM message WHERE id = ?", (message_id,)).fetchone()
        return row is not None and message_id not in self._gone

    def peek(self, limit: int) -> list[QueuedMessage]:
        """The oldest `limit` stored messages not acknowledged, oldest first."""
        rows = self.db.execute(
            "SELECT id, kind, topic, payload, qos, retain, created FROM message ORDER BY id LIMIT ?",
            (limit + len(self._gone),),
        ).fetchall()
        return [
            QueuedMessage(r[0], r[1], r[2], bytes(r[3]), r[4], bool(r[5]), r[6])
            for r in rows
            if r[0] not in self._gone
        ]

    # -- writes ------------------------------------------------------------------------------------------

    def write(self, messages: list[QueuedMessage]) -> bool | None:
        """One transaction: pending deletes and counters, then `messages` in order (with the cap policy).
        True when the last message was stored, False when the policy dropped it, None when the file could
        not be written (nothing changed, the caller keeps everything in memory)."""
        db = self.db
        kept = True
        try:
            db.execute("BEGIN IMMEDIATE")
            for message_id in self._gone:
                db.execute("DELETE FROM message WHERE id = ?", (message_id,))
            for name, n in self.unsaved.items():
                self._count(name, n)
            for message in messages:
                kept = self._insert(message)
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._resync()
            if not write_failed(exc):
                raise
            self._on_write_error(exc)
            return None
        self._gone.clear()
        self.unsaved.clear()
        self._resync()
        return kept

    def remove(self, message_id: int) -> bool:
        """Delete an acknowledged message; False when it was not there. A delete the file refuses is
        remembered (the message is hidden) and written by the next write."""
        if message_id in self._gone:
            return False
        row = self.db.execute("SELECT length(payload) FROM message WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return False
        try:
            self.db.execute("DELETE FROM message WHERE id = ?", (message_id,))
        except BaseException as exc:
            if not write_failed(exc):
                raise
            self._gone[message_id] = int(row[0])
            self._on_write_error(exc)
        self._depth -= 1
        self._bytes -= int(row[0])
        return True

    def close(self) -> None:
        self.db.close()

    def _insert(self, message: QueuedMessage) -> bool:
        size = len(message.payload)
        if message.kind == "prepayment":
            self._delete_where("kind = 'prepayment'", counter="superseded_prepayment")
        if not self._make_room(message.kind, size):
            self._count(f"dropped_{message.kind}")
            return False
        self.db.execute(
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
            self.db.execute(
                "INSERT INTO mark (key, position) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET position = max(position, excluded.position)",
                message.mark,
            )
        return True

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
        row = self.db.execute(
            "SELECT id, length(payload) FROM message WHERE kind = ? ORDER BY id LIMIT 1", (kind,)
        ).fetchone()
        if row is None:
            return False
        self.db.execute("DELETE FROM message WHERE id = ?", (row[0],))
        self._depth -= 1
        self._bytes -= int(row[1])
        self._count(f"dropped_{kind}")
        log_event(log, logging.WARNING, "MQTT queue full: dropped the oldest", kind=kind, id=row[0])
        return True

    def _delete_where(self, where: str, *, counter: str) -> None:
        rows = self.db.execute(f"SELECT id, length(payload) FROM message WHERE {where}").fetchall()
        for row_id, size in rows:
            self.db.execute("DELETE FROM message WHERE id = ?", (row_id,))
            self._depth -= 1
            self._bytes -= int(size)
            self._count(counter)

    def _count(self, name: str, n: int = 1) -> None:
        self.db.execute(
            "INSERT INTO counter (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, n),
        )

    def _resync(self) -> None:
        """Depth and bytes of the file's messages, not counting those acknowledged (delete pending)."""
        row = self.db.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM message").fetchone()
        self._depth = int(row[0]) - len(self._gone)
        self._bytes = int(row[1]) - sum(self._gone.values())


__all__ = ["RANK", "QueueFile", "QueuedMessage", "write_failed"]
