"""The state queries: checkpoints, events and prepayment state, each stored as a JSON document.

Functions over an open `Backend`; the caller (`Store`) holds its lock and opens the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.store.backend import Backend
from gateway.store.encoding import dumps


# -- checkpoints ------------------------------------------------------------------------------------------
def checkpoint(db: Backend, name: str) -> dict[str, Any] | None:
    """The checkpoint saved under `name`, or None."""
    rows = db.query("SELECT state FROM checkpoints WHERE name = ?", (name,))
    return json.loads(rows[0][0]) if rows else None


def save_checkpoint(db: Backend, name: str, state: Mapping[str, Any], now_ts: int) -> None:
    """Replace the checkpoint `name`."""
    db.execute(
        "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
        "SET updated_ts = excluded.updated_ts, state = excluded.state",
        (name, now_ts, dumps(state)),
    )


# -- events -----------------------------------------------------------------------------------------------
def add_event(db: Backend, ts: int, meter_id: str | None, kind: str, event: Mapping[str, Any]) -> int:
    """Insert one event; returns its id."""
    rows = db.query(
        "INSERT INTO events (ts, meter_id, kind, data) VALUES (?, ?, ?, ?) RETURNING id",
        (ts, meter_id, kind, dumps(event)),
    )
    return int(rows[0][0])


def events(
    db: Backend, limit: int, meter_id: str | None, since_ts: int | None
) -> list[tuple[int, int, str | None, dict[str, Any]]]:
    """The latest events, newest first, as (id, ts, meter_id, stored dict)."""
    sql = "SELECT id, ts, meter_id, data FROM events WHERE 1 = 1"
    params: list[Any] = []
    if meter_id is not None:
        sql += " AND meter_id = ?"
        params.append(meter_id)
    if since_ts is not None:
        sql += " AND ts >= ?"
        params.append(since_ts)
    rows = db.query(sql + " ORDER BY ts DESC, id DESC LIMIT ?", [*params, int(limit)])
    return [(int(event_id), int(ts), meter, json.loads(data)) for event_id, ts, meter, data in rows]


def delete_events_before(db: Backend, ts: int) -> int:
    """Delete events older than `ts`; returns how many went."""
    return max(db.execute("DELETE FROM events WHERE ts < ?", (ts,)), 0)


# -- prepayment state -------------------------------------------------------------------------------------
def save_prepayment(db: Backend, meter_id: str, updated_ts: int, state: Mapping[str, Any]) -> None:
    """Replace the prepayment state of `meter_id`."""
    db.execute(
        "INSERT INTO prepayment VALUES (?, ?, ?) ON CONFLICT (meter_id) DO UPDATE "
        "SET updated_ts = excluded.updated_ts, state = excluded.state",
        (meter_id, updated_ts, dumps(state)),
    )


def prepayment(db: Backend, meter_id: str | None) -> dict[str, Any] | None:
    """The stored prepayment state of `meter_id` (or of the most recently updated meter), or None."""
    sql = "SELECT state FROM prepayment"
    params: list[Any] = []
    if meter_id is not None:
        sql += " WHERE meter_id = ?"
        params.append(meter_id)
    rows = db.query(sql + " ORDER BY updated_ts DESC LIMIT 1", params)
    return json.loads(rows[0][0]) if rows else None
