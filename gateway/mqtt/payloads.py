"""What goes on the wire: the topics under the base topic and the payloads built from a telegram, a
quarter-hour record, a prepayment state and an event.

Topics (relative to `p1gw/<meter_id>`): `availability` (`online` / `offline`), `telegram` (the telegram's
JSON, the meter's digits kept), `state/<name>` (the bare value as text), `quarter_hour`, `prepayment` and
`event` (compact UTF-8 JSON; an event gets a unique `id`, its dedupe key). Pure functions, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from dsmr_parser import Telegram, state_values, telegram_json
from gateway.jsonenc import dumps
from gateway.mqtt.discovery import topic_safe
from gateway.states import NO_VALUE, published_value

AVAILABILITY = "availability"
ONLINE = b"online"
OFFLINE = b"offline"
TELEGRAM = "telegram"


class Topics:
    """The base topic, from a template whose `{meter_id}` is filled in once the meter id is known."""

    def __init__(self, template: str, meter_id: str | None = None) -> None:
        self.template = template.rstrip("/")
        self.meter_id = meter_id

    @property
    def waiting_for_meter_id(self) -> bool:
        """True while the template needs a meter id that no telegram or record gave yet."""
        return "{meter_id}" in self.template and self.meter_id is None

    def learn(self, meter_id: object) -> bool:
        """Keep the first usable meter id; True when `meter_id` is the one just learnt."""
        if self.meter_id is None and isinstance(meter_id, str) and meter_id:
            self.meter_id = meter_id
            return True
        return False

    @property
    def base(self) -> str:
        """`p1gw/<meter_id>` (without the trailing slash); needs the meter id when the template uses it."""
        if self.waiting_for_meter_id:
            raise RuntimeError("the base topic needs the meter id: no telegram or record seen yet")
        return self.template.replace("{meter_id}", topic_safe(self.meter_id or ""))

    def topic(self, suffix: str) -> str:
        return f"{self.base}/{suffix}"


def state_topic(name: str) -> str:
    return f"state/{name}"


def state_text(value: object) -> str:
    """The `state/<name>` payload: the bare value as text (`1234.567`, `1`, ISO time; buffers as JSON);
    no value (None, an empty text) is `None`, which Home Assistant shows as unknown."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or value == "":
        return NO_VALUE  # an empty retained payload would delete the retained state
    if isinstance(value, tuple):
        return dumps(jsonable(value))
    return str(value)


def telegram_payload(telegram: Telegram) -> bytes:
    """The `telegram` payload: the meter's digits kept (`5.980`, a JSON number), as `p1gw parse` prints."""
    return telegram_json(telegram).encode()


def telegram_states(telegram: Telegram, country: str | None) -> dict[str, Any]:
    """The values of a telegram's `state/<name>` topics, by name."""
    states = state_values(telegram, country)
    return {name: published_value(name, state.value.value) for name, state in states.items()}


def jsonable(value: object) -> Any:
    """`value` with named tuples (a month peak) as objects, the shape the payloads promise; numbers, times and
    the rest are left to `gateway.jsonenc`, the shell's one JSON encoding (Decimals keep their digits)."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def json_bytes(payload: Mapping[str, Any] | str | bytes) -> bytes:
    """Compact UTF-8 JSON of a mapping; text and bytes are taken as already encoded. TypeError when a
    value cannot be serialised (a programming error: nothing is queued)."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return dumps(jsonable(payload)).encode()


def quarter_hour_mark(record: Mapping[str, Any]) -> tuple[str, float] | None:
    """(meter id, start as Unix time) of a quarter-hour record; None without a usable meter id or start."""
    meter_id, start = record.get("meter_id"), record.get("start")
    if not meter_id or not isinstance(start, str):
        return None
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        return None
    return (str(meter_id), moment.timestamp()) if moment.tzinfo is not None else None


def with_event_id(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event with an `id` (its dedupe key): a new unique one unless it has one."""
    return event if "id" in event else {"id": uuid.uuid4().hex, **event}


__all__ = [
    "AVAILABILITY",
    "OFFLINE",
    "ONLINE",
    "TELEGRAM",
    "Topics",
    "json_bytes",
    "jsonable",
    "quarter_hour_mark",
    "state_text",
    "state_topic",
    "telegram_payload",
    "telegram_states",
    "with_event_id",
]
