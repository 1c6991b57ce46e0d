"""The gateway's health: one JSON dict built on demand from the pipeline's counters (no background work).

`status` sums it up: `ok` (telegrams arriving, everything connected), `degraded` (running, but something
needs attention: MQTT away, store errors, clock skew, the last `REJECTING_STREAK` or more telegrams all
rejected), `down` (no telegram for `STALE_S` seconds, the source is not connected, or the pipeline task
stopped on an error). The HTTP API serves it at `/api/v1/health` and turns its numbers into Prometheus
gauges at `/api/v1/metrics`. Fields are documented in docs/gateway.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from gateway.ports import GatewayPublisher
from gateway.sources import Source
from gateway.urls import redact

from .counters import MeterClock, QuarterHourCounts, Rejected, TelegramCounts
from .live import LiveStream
from .persistence import PipelineStore, RetentionRun

if TYPE_CHECKING:
    from gateway.sources.s1 import S1Reader

STALE_S = 60.0
REJECTING_STREAK = 3  # this many telegrams rejected in a row: the source's data is not being used


class FramesHealth(TypedDict):
    ok: int
    errors: int
    crc_errors: int
    by_reason: dict[str, int]


class RejectingHealth(TypedDict):
    streak: int
    last: str | None


class ClockHealth(TypedDict):
    skew_s: float | None
    ok: bool
    measured: bool
    meter_without_clock: int


class QuarterHourHealth(TypedDict):
    closed: int
    stored: int
    restored_from: str | None
    open_start: str | None
    unstored: int
    dropped: int


class StoreHealth(TypedDict):
    enabled: bool
    url: NotRequired[str]
    pending: NotRequired[int | None]
    errors: NotRequired[int]
    last_error: NotRequired[str | None]
    failing: NotRequired[bool]
    retention: NotRequired[RetentionRun | None]


class LiveHealth(TypedDict):
    subscribers: int
    dropped: int


class Health(TypedDict):
    status: str  # ok | degraded | down
    problems: list[str]
    meter_id: str | None
    uptime_s: float
    source: dict[str, Any]
    last_telegram_age_s: float | None
    last_meter_time: str | None
    telegrams: int
    accepted: int
    frames: FramesHealth
    rejected: dict[str, int]
    rejecting: RejectingHealth
    last_rejections: list[Rejected]
    clock: ClockHealth
    quarter_hours: QuarterHourHealth
    mqtt: dict[str, Any]
    queue_depth: int | None
    store: StoreHealth
    live: LiveHealth
    s1: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class HealthInputs:
    """What the health report reads of a running `Gateway`."""

    meter_id: str | None
    source: Source
    publisher: GatewayPublisher | None
    store: PipelineStore | None
    counts: TelegramCounts
    clock: MeterClock
    quarter_hours: QuarterHourCounts
    open_start: datetime | None  # of the open quarter-hour
    live: LiveStream
    s1: S1Reader | None


def build_health(gw: HealthInputs) -> Health:
    """The `/api/v1/health` JSON."""
    now = time.monotonic()
    counts, clock = gw.counts, gw.clock
    received = clock.received_monotonic
    age = None if received is None else round(now - received, 3)
    source = gw.source.status()
    mqtt: dict[str, Any] = {"enabled": False}
    if gw.publisher is not None:
        mqtt = {"enabled": True, **gw.publisher.status()}
    store = _store_health(gw.store)
    skew_ok = clock.skew_s is None or abs(clock.skew_s) <= clock.warn_s
    ended = source["state"] == "ended"  # a finished file replay is not a fault
    problems: list[str] = []
    if age is None or (age > STALE_S and not ended):
        problems.append("no recent telegram")
    if source["state"] not in ("connected", "ended"):
        problems.append(f"source {source['state']}")
    if counts.failure is not None:
        problems.append(f"pipeline stopped: {counts.failure}")
    down = bool(problems)
    if mqtt.get("enabled") and not mqtt.get("connected"):
        problems.append("MQTT not connected")
    if counts.rejected_streak >= REJECTING_STREAK and counts.last_rejection is not None:
        problems.append(f"every telegram rejected ({counts.last_rejection['kind']})")
    if gw.store is not None and gw.store.outage.active:  # from the first refused write until all is stored
        problems.append("store errors")
    if not skew_ok:
        problems.append("system clock off the meter clock")
    status = "down" if down else ("degraded" if problems else "ok")
    quarter_hours = gw.quarter_hours
    return {
        "status": status,
        "problems": problems,
        "meter_id": gw.meter_id,
        "uptime_s": round(now - clock.started_monotonic, 1),
        "source": source,
        "last_telegram_age_s": age,
        "last_meter_time": clock.last_meter_time.isoformat() if clock.last_meter_time else None,
        "telegrams": counts.telegrams,
        "accepted": counts.accepted,
        "frames": {
            "ok": counts.telegrams,
            "errors": sum(counts.framing_errors.values()),
            "crc_errors": counts.framing_errors.get("bad_crc", 0),
            "by_reason": dict(counts.framing_errors),
        },
        "rejected": dict(counts.rejected),
        "rejecting": {
            "streak": counts.rejected_streak,
            "last": counts.last_rejection["kind"] if counts.last_rejection else None,
        },
        "last_rejections": list(counts.last_rejections),  # a list: kept out of the Prometheus metrics
        "clock": {
            "skew_s": clock.skew_s,
            "ok": skew_ok,
            "measured": clock.skew_s is not None,
            "meter_without_clock": counts.clockless,
        },
        "quarter_hours": {
            "closed": quarter_hours.closed,
            "stored": quarter_hours.stored,
            "restored_from": quarter_hours.restored_from,
            "open_start": gw.open_start.isoformat() if gw.open_start else None,
            "unstored": 0 if gw.store is None else len(gw.store.unstored),
            "dropped": quarter_hours.dropped,
        },
        "mqtt": mqtt,
        "queue_depth": mqtt.get("queue_depth"),
        "store": store,
        "live": {"subscribers": len(gw.live.subscribers), "dropped": gw.live.dropped},
        "s1": gw.s1.status() if gw.s1 is not None else None,
    }


def _store_health(store: PipelineStore | None) -> StoreHealth:
    if store is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "url": redact(str(getattr(store.store, "url", ""))),
        "pending": getattr(store.store, "pending", None),
        "errors": store.outage.errors,
        "last_error": store.outage.last_error,
        "failing": store.outage.active,
        "retention": store.retention_last,
    }
