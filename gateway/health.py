"""The gateway's health: one JSON dict built on demand from the pipeline's counters (no background work).

`status` sums it up: `ok` (telegrams arriving, everything connected), `degraded` (running, but something
needs attention: MQTT away, store errors, clock skew, the last `REJECTING_STREAK` or more telegrams all
rejected), `down` (no telegram for `STALE_S` seconds, the source is not connected, or the pipeline task
stopped on an error). The HTTP API serves it at
`/api/v1/health` and turns its numbers into Prometheus gauges at `/api/v1/metrics`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.pipeline import Gateway

STALE_S = 60.0
REJECTING_STREAK = 3  # this many telegrams rejected in a row: the source's data is not being used


def build_health(gw: Gateway) -> dict[str, Any]:
    """The `/api/v1/health` JSON of a running `Gateway` (fields documented in docs/gateway.md)."""
    now = time.monotonic()
    received = gw._received_monotonic
    age = None if received is None else round(now - received, 3)
    source = gw.source.status()
    errors = sum(gw.framing_errors.values())
    mqtt: dict[str, Any] = {"enabled": False}
    if gw.publisher is not None:
        mqtt = {"enabled": True, **gw.publisher.status()}
    store: dict[str, Any] = {"enabled": gw.store is not None}
    if gw.store is not None:
        store.update(
            {
                "url": _redact(str(getattr(gw.store, "url", ""))),
                "pending": getattr(gw.store, "pending", None),
                "errors": gw.store_errors,
                "last_error": gw.store_last_error,
                "failing": gw.store_outage.active,
            }
        )
    skew_ok = gw.skew_s is None or abs(gw.skew_s) <= gw.skew_warn_s
    ended = source["state"] == "ended"  # a finished file replay is not a fault
    problems: list[str] = []
    if age is None or (age > STALE_S and not ended):
        problems.append("no recent telegram")
    if source["state"] not in ("connected", "ended"):
        problems.append(f"source {source['state']}")
    if gw.failure is not None:
        problems.append(f"pipeline stopped: {gw.failure}")
    down = bool(problems)
    if mqtt.get("enabled") and not mqtt.get("connected"):
        problems.append("MQTT not connected")
    if gw.rejected_streak >= REJECTING_STREAK and gw.last_rejection is not None:
        problems.append(f"every telegram rejected ({gw.last_rejection['kind']})")
    if gw.store_outage.active:  # from the first refused write until what waited is stored
        problems.append("store errors")
    if not skew_ok:
        problems.append("system clock off the meter clock")
    status = "down" if down else ("degraded" if problems else "ok")
    current = gw.aggregator.current()
    return {
        "status": status,
        "problems": problems,
        "meter_id": gw.meter_id,
        "uptime_s": round(now - gw.started_monotonic, 1),
        "source": source,
        "last_telegram_age_s": age,
        "last_meter_time": gw.last_meter_time.isoformat() if gw.last_meter_time else None,
        "telegrams": gw.telegrams,
        "accepted": gw.accepted,
        "frames": {
            "ok": gw.telegrams,
            "errors": errors,
            "crc_errors": gw.framing_errors.get("bad_crc", 0),
            "by_reason": dict(gw.framing_errors),
        },
        "rejected": dict(gw.rejected),
        "rejecting": {
            "streak": gw.rejected_streak,
            "last": gw.last_rejection["kind"] if gw.last_rejection else None,
        },
        "last_rejections": list(gw.last_rejections),  # a list: kept out of the Prometheus metrics
        "clock": {
            "skew_s": gw.skew_s,
            "ok": skew_ok,
            "measured": gw.skew_s is not None,
            "meter_without_clock": gw.clockless,
        },
        "quarter_hours": {
            "closed": gw.quarter_hours_closed,
            "stored": gw.quarter_hours_stored,
            "restored_from": gw.restored_from,
            "open_start": current.start.isoformat() if current else None,
        },
        "mqtt": mqtt,
        "queue_depth": mqtt.get("queue_depth"),
        "store": store,
        "live": {"subscribers": len(gw._subscribers), "dropped": gw.live_dropped},
        "s1": gw.s1.status() if gw.s1 is not None else None,
    }


def _redact(url: str) -> str:
    """`postgresql://user:secret@host/db` -> `postgresql://user:***@host/db`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    cred, _, host = rest.rpartition("@")
    user = cred.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
