"""The QoS 1 side of the publisher: quarter-hours, prepayment and events into the persistent queue, and the
drain task that publishes them, oldest first, while connected.

A message is written to the queue first (`gateway.mqtt.queue`, a sub-millisecond insert), then `drain`
publishes the oldest and deletes it only after `await client.publish(..., qos=1)` returned, i.e. after the
broker's PUBACK: in order, none lost; a duplicate only if the process dies between PUBACK and delete
(consumers dedupe by the payload's key). While the queue file cannot be written (disk full) the queue holds
messages in memory and `retry_loop` retries writing them every `retry_s`; the drain publishes them meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

import aiomqtt

from gateway.logs import get_logger
from gateway.logs import log as log_event
from gateway.mqtt.payloads import Topics
from gateway.mqtt.queue import PersistentQueue
from gateway.mqtt.status import PublisherStatus

log = get_logger("mqtt")


class Outbox:
    """The persistent queue of QoS 1 messages with its drain and write-retry tasks; errors go to `status`."""

    def __init__(self, queue: PersistentQueue, status: PublisherStatus, *, retry_s: float) -> None:
        self.queue = queue
        self._status = status
        self._retry_s = retry_s
        self._wake = asyncio.Event()  # something new to publish (or the publisher closes)
        self._pending_writes = asyncio.Event()  # the queue holds in memory what its file refused
        self._write_error: str | None = None

    def put(
        self, kind: str, payload: bytes, *, retain: bool, mark: tuple[str, float] | None = None
    ) -> int | None:
        """Into the queue: the file, or its in-memory overflow when the file cannot be written. Returns the
        queue id (None: dropped). Never raises: a closed queue or a bug is reported and logged."""
        try:
            message_id = self.queue.put(kind, kind, payload, qos=1, retain=retain, mark=mark)
        except Exception as exc:  # a closed queue (after aclose) or a bug: report, never break the pipeline
            self._status.errors += 1
            self._status.note_error(exc, "internal")
            log_event(log, logging.ERROR, "MQTT message not queued", kind=kind, error=f"{exc!r}")
            return None
        self._written()
        self._wake.set()
        return message_id

    def wake(self) -> None:
        """Wake the drain task (at close, so it notices)."""
        self._wake.set()

    def _written(self) -> None:
        """After a queue operation: note a write failure, wake the retry task while memory holds data."""
        error = self.queue.write_error
        if error is not None and error != self._write_error:
            self._status.errors += 1
            self._status.note_error(error, "queue")
        self._write_error = error
        if self.queue.pending_writes:
            self._pending_writes.set()

    async def retry_loop(self) -> None:
        """While the queue holds messages in memory, retry writing them every `retry_s`."""
        while True:
            await self._pending_writes.wait()
            await asyncio.sleep(self._retry_s)
            try:
                self.queue.retry()
            except Exception as exc:  # pragma: no cover - retry() reports write failures itself
                self._status.note_error(exc, "internal")
                log_event(log, logging.ERROR, "MQTT queue retry failed", error=f"{exc!r}")
            if not self.queue.pending_writes:
                self._pending_writes.clear()

    async def drain(self, client: aiomqtt.Client, topics: Topics) -> None:
        """Publishes queued QoS 1 messages oldest first; deletes each after its PUBACK. Ends only with the
        connection's error (or cancelled)."""
        while True:
            batch = self.queue.peek(1)
            if not batch:
                self._wake.clear()
                await self._wake.wait()
                continue
            message = batch[0]
            await client.publish(
                topics.topic(message.topic), message.payload, qos=message.qos, retain=message.retain
            )
            self.queue.remove(message.id)  # a delete the full disk refuses is kept and retried
            self._written()
            self._status.count(message.kind)


__all__ = ["Outbox"]
