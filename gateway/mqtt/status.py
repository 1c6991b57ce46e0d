"""The publisher's health: connection state, the last error and its kind, counts (for `status()`).

`error_kind` sorts a connection failure into `auth` (the broker refused the credentials), `refused` (any other
CONNACK refusal), `tls`, `network` (any other MQTT error) or `internal` (a bug: logged with its traceback).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from gateway.mqtt.queue import PersistentQueue

_AUTH_REASON_CODES = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorised, MQTT 5 the same


def error_kind(exc: BaseException) -> str:
    """`auth`, `refused`, `tls`, `network` or `internal`."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    if isinstance(exc, MqttConnectError):
        rc = getattr(exc, "rc", None)
        value = getattr(rc, "value", rc)
        if value in _AUTH_REASON_CODES or "not authori" in text or "username or password" in text:
            return "auth"
        return "refused"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    if isinstance(exc, aiomqtt.MqttError):
        return "network"
    return "internal"


class QueueSnapshot(NamedTuple):
    """The QoS 1 queue's figures: messages and bytes waiting (of which in memory), dropped per kind."""

    depth: int
    size_bytes: int
    dropped: dict[str, int]
    overflow_depth: int
    overflow_bytes: int

    @classmethod
    def of(cls, queue: PersistentQueue) -> QueueSnapshot:
        return cls(queue.depth, queue.size_bytes, queue.dropped(), queue.overflow_depth, queue.overflow_bytes)


@dataclass
class PublisherStatus:
    """Mutable counters of one publisher, updated by its tasks, reported by `MqttPublisher.status()`."""

    connected: bool = False
    state: str = "idle"  # idle, waiting_for_meter_id, connecting, connected, backoff, closed
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: float | None = None  # Unix time
    connected_since: float | None = None
    attempts: int = 0
    connects: int = 0
    published: dict[str, int] = field(default_factory=dict)
    dropped_live: int = 0  # telegrams and states dropped because the publisher lagged
    errors: int = 0

    def note_error(self, exc: BaseException | str, kind: str | None = None) -> None:
        """Remember the last error (an exception, or a text with its `kind`)."""
        if isinstance(exc, BaseException):
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.last_error_kind = kind or error_kind(exc)
        else:
            self.last_error, self.last_error_kind = exc, kind
        self.last_error_at = time.time()

    def count(self, kind: str, n: int = 1) -> None:
        """`n` more messages of `kind` published."""
        self.published[kind] = self.published.get(kind, 0) + n

    def report(
        self, *, broker: str, meter_id: str | None, queue: QueueSnapshot, held_back: int
    ) -> dict[str, Any]:
        """The `status()` dict (docs/mqtt.md): these counters with the broker (redacted), the meter id, the
        queue's figures and the messages the policy held back."""
        return {
            "broker": broker,
            "connected": self.connected,
            "state": self.state,
            "meter_id": meter_id,
            "last_error": self.last_error,
            "last_error_kind": self.last_error_kind,
            "last_error_at": self.last_error_at,
            "connected_since": self.connected_since,
            "connect_attempts": self.attempts,
            "connects": self.connects,
            "reconnects": max(0, self.connects - 1),
            "queue_depth": queue.depth,
            "queue_bytes": queue.size_bytes,
            "queue_overflow": queue.overflow_depth,
            "queue_overflow_bytes": queue.overflow_bytes,
            "dropped": {
                "quarter_hour": 0,
                "prepayment": 0,
                "event": 0,
                **queue.dropped,
                "telegram_backlog": self.dropped_live,
            },
            "published": dict(self.published),
            "held_back": held_back,
            "errors": self.errors,
        }


__all__ = ["PublisherStatus", "QueueSnapshot", "error_kind"]
