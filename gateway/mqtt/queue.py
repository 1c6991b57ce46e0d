"""A bounded, persistent FIFO of QoS 1 MQTT messages (quarter-hours, events, prepayment) for broker outages.

Strategy: one SQLite file (`gateway.mqtt.queue_file`: a committed message survives a crash of the process).
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
import time
from collections import Counter
from pathlib import Path

from gateway.logs import get_logger
from gateway.logs import log as log_event
from gateway.mqtt.queue_file import RANK, QueuedMessage, QueueFile

log = get_logger("mqtt.queue")


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
        self.write_error: str | None = None  # the last write failure while the overflow is in use
        self._overflow: list[QueuedMessage] = []
        self._overflow_bytes = 0
        self.file = QueueFile(
            self.path, max_messages=max_messages, max_bytes=max_bytes, on_write_error=self._note_write_error
        )
        self.recovered_from = self.file.recovered_from
        self._next_id = self.file.last_id() + 1

    # -- state -------------------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Messages waiting (in the file and in the in-memory overflow)."""
        return self.file.depth + len(self._overflow)

    @property
    def size_bytes(self) -> int:
        """Sum of the waiting payloads, in bytes."""
        return self.file.size_bytes + self._overflow_bytes

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
        return bool(self._overflow) or self.file.pending

    def counters(self) -> dict[str, int]:
        """Persistent counts: `dropped_<kind>`, `superseded_prepayment`, `too_large` (plus the increments
        not yet written while the file cannot be written)."""
        return self.file.counters()

    def marks(self) -> dict[str, float]:
        """The newest `mark` position per key among the messages that reached the file (sent or not);
        marks of messages only in the in-memory overflow are not included (not durable yet)."""
        return self.file.marks()

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
        if kind not in RANK:
            raise ValueError(f"unknown message kind {kind!r} (expected one of {sorted(RANK)})")
        if len(payload) > self.max_bytes:
            self.file.unsaved.update(("too_large", f"dropped_{kind}"))
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

    def peek(self, limit: int = 1) -> list[QueuedMessage]:
        """The oldest `limit` messages, oldest first (not removed): the file's, then the overflow's."""
        return (self.file.peek(limit) + self._overflow)[:limit]

    def remove(self, message_id: int) -> bool:
        """Delete a message after its PUBACK; False when it was no longer there (dropped meanwhile).
        A delete the file refuses is remembered (the message is hidden) and written by the next write."""
        for message in self._overflow:
            if message.id == message_id:
                self._overflow.remove(message)
                self._overflow_bytes -= len(message.payload)
                return True
        return self.file.remove(message_id)

    def close(self) -> None:
        """Close the file; what only the overflow holds is lost (logged with its count per kind)."""
        self.retry()
        if self._overflow or self.file.pending_deletes:
            log_event(
                log,
                logging.ERROR,
                "MQTT queue closed while its file cannot be written: in-memory messages lost",
                path=str(self.path),
                lost=len(self._overflow),
                **{f"lost_{kind}": n for kind, n in sorted(Counter(m.kind for m in self._overflow).items())},
                acknowledged_resent_at_next_start=self.file.pending_deletes,
            )
        self.file.close()

    def __enter__(self) -> PersistentQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the file and the in-memory overflow -------------------------------------------------------------

    def _write(self, messages: list[QueuedMessage]) -> bool | None:
        """`QueueFile.write`; a success ends the write error."""
        kept = self.file.write(messages)
        if kept is not None:
            self.write_error = None
        return kept

    def _holds(self, message: QueuedMessage) -> bool:
        return any(m.id == message.id for m in self._overflow) or self.file.holds(message.id)

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
                self.file.unsaved[f"dropped_{message.kind}"] += 1
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
        self.file.unsaved[counter] += 1


__all__ = ["PersistentQueue", "QueuedMessage"]
