"""Storage of PV production quarter-hours (migration 0004) and the production aggregator's checkpoint.

Strategy: thin functions over an open `gateway.store.Store`, sharing its connection and lock (as
`gateway.store.analysis`): the production input writes the quarter-hours `metering.solar` closed and its
aggregator snapshot in one transaction (a quarter-hour is stored once: a replay writes nothing twice);
the dashboard reads sums per local quarter-hour, day or month. The checkpoint also tells the dashboard a
production source feeds this database (`production_source`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.store import Store
from gateway.store.state import save_checkpoint
from metering.solar import ProductionQuarter

CHECKPOINT = "solar"


def _db(store: Store) -> Any:
    return store._db  # the store's own connection: one transaction for everything written together


def add_production(
    store: Store, quarters: Iterable[ProductionQuarter], snapshot: Mapping[str, Any], source: str
) -> int:
    """Write closed production quarter-hours and the aggregator `snapshot` (with the `source` it reads)
    in one transaction; returns how many quarter-hours were new."""
    db = _db(store)
    added = 0
    with store._lock, db.transaction():
        for q in quarters:
            local = datetime.fromtimestamp(q.start_ts, UTC).astimezone(store.zone).isoformat()
            rows = db.query(
                "INSERT INTO solar_quarter_hours VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING "
                "RETURNING start_ts",
                (q.start_ts, q.end_ts, local, q.wh, int(q.estimated), int(q.complete), int(q.reset),
                 q.readings),
            )  # fmt: skip
            added += len(rows)
        state = {"source": source, "aggregator": dict(snapshot)}
        save_checkpoint(db, CHECKPOINT, state, int(time.time()))
    return added


def production_source(store: Store) -> str | None:
    """The production source that last fed this database (None: never one)."""
    saved = store.get_checkpoint(CHECKPOINT)
    return str(saved["source"]) if saved and saved.get("source") else None


def saved_aggregator(store: Store, source: str) -> dict[str, Any] | None:
    """The aggregator snapshot saved by the same `source` (None: none, or another source's)."""
    saved = store.get_checkpoint(CHECKPOINT)
    if not saved or saved.get("source") != source:
        return None
    aggregator = saved.get("aggregator")
    return dict(aggregator) if isinstance(aggregator, Mapping) else None


def production_quarters(store: Store, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Stored production quarter-hours with start in [start, end), oldest first."""
    with store._lock:
        rows = _db(store).query(
            "SELECT start_ts, end_ts, start_local, production_wh, estimated, complete, reset, readings "
            "FROM solar_quarter_hours WHERE start_ts >= ? AND start_ts < ? ORDER BY start_ts",
            (int(start.timestamp()), int(end.timestamp())),
        )
    keys = ("start_ts", "end_ts", "start", "production_wh", "estimated", "complete", "reset", "readings")
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        for flag in ("estimated", "complete", "reset"):
            item[flag] = bool(item[flag])
        out.append(item)
    return out


def production_sums(store: Store, start: datetime, end: datetime, by: str) -> dict[str, int]:
    """Production (Wh) per local `HH:MM` quarter-hour (`by="quarter"`), `YYYY-MM-DD` day or `YYYY-MM`
    month of the quarter-hours with start in [start, end)."""
    first, width = {"quarter": (12, 5), "day": (1, 10), "month": (1, 7)}[by]
    with store._lock:
        rows = _db(store).query(
            f"SELECT substr(start_local, {first}, {width}), SUM(production_wh) FROM solar_quarter_hours "
            f"WHERE start_ts >= ? AND start_ts < ? GROUP BY substr(start_local, {first}, {width})",
            (int(start.timestamp()), int(end.timestamp())),
        )
    return {str(key): int(wh) for key, wh in rows}


def production_by_bucket(
    store: Any, view: str, first: datetime, end: datetime
) -> tuple[dict[str, int], bool]:
    """Production (Wh) per bucket key of a history view (`HH:MM`, `YYYY-MM-DD`, `YYYY-MM`) in [first, end),
    and whether a production source feeds this store (False, no sums: the view says none is configured)."""
    if store is None or not hasattr(store, "get_checkpoint") or production_source(store) is None:
        return {}, False
    by = {"day": "quarter", "week": "day", "month": "day", "year": "month"}[view]
    return production_sums(store, first, end, by), True
