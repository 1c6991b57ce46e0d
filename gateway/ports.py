"""What the pipeline needs of its store and of its MQTT publisher: the shell's two ports, as Protocols.

`gateway.store.Store` and `gateway.mqtt.MqttPublisher` implement them; a test may pass anything that does.
The store is synchronous (the pipeline calls it through `asyncio.to_thread`); the publisher never blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from dsmr_parser import Telegram
from gateway.answers import GatewayEvent
from metering.record import QuarterHourRecord


class GatewayStore(Protocol):
    """Quarter-hours with the aggregator checkpoint, history, events, prepayment state, retention."""

    url: str

    @property
    def pending(self) -> int:
        """Buffered items not yet written."""

    def get_checkpoint(self, name: str = "aggregator") -> dict[str, Any] | None: ...

    def set_checkpoint(self, state: Mapping[str, Any], name: str = "aggregator") -> None: ...

    def add_quarter_hours(
        self, records: Iterable[Mapping[str, Any]], checkpoint: Mapping[str, Any] | None = None
    ) -> int:
        """Closed quarter-hours and the checkpoint that follows them, in one transaction: how many new."""

    def quarter_hours(
        self, start: datetime, end: datetime, meter_id: str | None = None
    ) -> list[QuarterHourRecord]: ...

    def add_history(self, meter_id: str, at: datetime, values: Mapping[str, Any]) -> None: ...

    def history(
        self, start: datetime, end: datetime, meter_id: str | None = None
    ) -> list[dict[str, Any]]: ...

    def add_event(self, event: Mapping[str, Any], *, meter_id: str | None = None) -> int: ...

    def events(
        self, limit: int = 50, *, meter_id: str | None = None, since: datetime | None = None
    ) -> list[GatewayEvent]: ...

    def save_prepayment(self, meter_id: str, state: Mapping[str, Any]) -> None: ...

    def prepayment(self, meter_id: str | None = None) -> dict[str, Any] | None: ...

    def apply_retention(self, now: datetime) -> dict[str, int]:
        """Trim history and events relative to `now`: how many rows of each went."""


class QueueCapacity(Protocol):
    """The bound of the publisher's persistent queue."""

    max_messages: int


class GatewayPublisher(Protocol):
    """Non-blocking MQTT publishing (it queues; it never waits for the broker)."""

    @property
    def queue(self) -> QueueCapacity: ...

    def publish_telegram(self, telegram: Telegram) -> None: ...

    def publish_states(self, values: Mapping[str, Any], meter_id: str | None = None) -> None: ...

    def publish_quarter_hour(self, record: Mapping[str, Any]) -> int | None: ...

    def quarter_hours_queued(self) -> dict[str, datetime]:
        """Per meter id, the newest quarter-hour start written to the queue (the outbox mark)."""

    def publish_prepayment(self, state: Mapping[str, Any]) -> int | None: ...

    def publish_event(self, event: Mapping[str, Any]) -> int | None: ...

    def status(self) -> dict[str, Any]:
        """Health: connected, state, queue depth, ..."""
