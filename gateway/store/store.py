"""The `Store`: one lock, the write buffers and the transactions around the queries; `open_store(url)`.

Durability without wearing out an SD card:
- `add_quarter_hours(records, checkpoint=...)` writes the closed quarter-hours, their daily totals, the
  aggregator checkpoint and any buffered history / prepayment state in ONE transaction, synchronously
  (fsync'd) - call it before publishing.
- History points are downsampled in memory (one point per `history_step_s`) and flushed every
  `flush_interval_s` or at the next quarter-hour write; prepayment state likewise keeps only the latest
  state per meter until the flush. A crash loses at most `flush_interval_s` of those, never a closed
  quarter-hour.
- Retention: `apply_retention(now)` trims history and events; quarter-hours and daily totals stay forever.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from gateway.answers import GatewayEvent
from gateway.store import energy, history
from gateway.store import state as saved
from gateway.store.backend import Backend, open_backend
from gateway.store.backup import backup_sqlite
from gateway.store.encoding import seconds
from gateway.store.errors import StoreError
from gateway.store.schema import apply_migrations, has_schema, latest_version, version
from gateway.store.sqlite import SqliteBackend
from metering.quarter_hours import QuarterHour
from metering.record import QuarterHourRecord, to_row

_TABLES = ("quarter_hours", "daily_totals", "events", "history", "prepayment", "checkpoints")


class Store:
    """Quarter-hours, daily totals, events, history, prepayment state and checkpoints in one database.

    Args:
        tz: zone used to print history and event times (quarter-hours keep the offsets they came with).
        history_step_s: one history point per step (60: one per minute).
        history_retention: how long history is kept by `apply_retention`.
        events_retention: how long events are kept by `apply_retention`.
        flush_interval_s: buffered history and prepayment state are written at least this often.
        monotonic: the clock deciding when to flush (injectable for tests).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        url: str,
        tz: str = "Europe/Brussels",
        history_step_s: int = 60,
        history_retention: timedelta = timedelta(days=35),
        events_retention: timedelta = timedelta(days=400),
        flush_interval_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = backend
        self.url = url
        self.dialect = backend.dialect
        self.zone = ZoneInfo(tz)
        self.history_step_s = history_step_s
        self.history_retention = history_retention
        self.events_retention = events_retention
        self.flush_interval_s = flush_interval_s
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._history: dict[tuple[str, int], history.Bucket] = {}
        self._prepayment: dict[str, tuple[int, dict[str, Any]]] = {}
        self._last_flush = monotonic()
        self.migrated_from, self.schema_version = apply_migrations(backend)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush what is buffered and close the connection."""
        with self._lock:
            if self._db is None:
                return
            with contextlib.suppress(Exception):
                self.flush()
            self._db.close()
            self._db = None  # type: ignore[assignment]

    def _local(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).astimezone(self.zone).isoformat()

    # -- quarter-hours and daily totals ------------------------------------------------------------------
    def add_quarter_hours(
        self,
        records: Iterable[Mapping[str, Any] | QuarterHour],
        checkpoint: Mapping[str, Any] | None = None,
        *,
        meter_id: str | None = None,
        checkpoint_name: str = "aggregator",
    ) -> int:
        """Store closed quarter-hours (record dicts, or `QuarterHour`s with `meter_id=`) and, in the same
        transaction, their daily totals, the checkpoint and everything buffered. Idempotent on
        (meter_id, start): returns how many were new. Raises ValueError (storing nothing) on a bad record."""
        rows = [to_row(record, meter_id) for record in records]
        with self._lock, self._db.transaction():
            added = energy.insert_quarter_hours(self._db, rows)
            if checkpoint is not None:
                saved.save_checkpoint(self._db, checkpoint_name, checkpoint, int(time.time()))
            self._flush_buffers()
        return added

    def quarter_hours(
        self, start: datetime, end: datetime, meter_id: str | None = None
    ) -> list[QuarterHourRecord]:
        """Quarter-hour records with start in [start, end), oldest first (all meters unless meter_id)."""
        first, last = seconds(start), seconds(end)
        with self._lock:
            return energy.quarter_hours(self._db, first, last, meter_id)

    def daily_totals(
        self, start: date | datetime, end: date | datetime, meter_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Per meter and local day in [start, end): kWh per register, number of quarter-hours, estimated."""
        first = (start.astimezone(self.zone).date() if isinstance(start, datetime) else start).isoformat()
        last = (end.astimezone(self.zone).date() if isinstance(end, datetime) else end).isoformat()
        with self._lock:
            return energy.daily_totals(self._db, first, last, meter_id)

    def quarter_hour_peaks(
        self, start: datetime, end: datetime, *, by: str = "day", meter_id: str | None = None
    ) -> dict[str, float]:
        """The highest quarter-hour average import power (kW, 3 decimals) per local day (`by="day"`,
        keys `YYYY-MM-DD`) or month (`by="month"`, keys `YYYY-MM`) of the quarter-hours in [start, end)."""
        first, last = seconds(start), seconds(end)
        with self._lock:
            return energy.quarter_hour_peaks(self._db, first, last, by, meter_id)

    # -- checkpoints -------------------------------------------------------------------------------------
    def get_checkpoint(self, name: str = "aggregator") -> dict[str, Any] | None:
        """The last checkpoint saved under `name` (e.g. the aggregator's snapshot), or None."""
        with self._lock:
            return saved.checkpoint(self._db, name)

    def set_checkpoint(self, state: Mapping[str, Any], name: str = "aggregator") -> None:
        """Save a checkpoint now (synchronously)."""
        with self._lock, self._db.transaction():
            saved.save_checkpoint(self._db, name, state, int(time.time()))

    # -- events ------------------------------------------------------------------------------------------
    def add_event(self, event: Mapping[str, Any], *, meter_id: str | None = None) -> int:
        """Store one event dict (written at once; events are rare). Its time is `event["at"]` (aware ISO
        text or datetime; now when absent), its kind `event["type"]` (or `"kind"`). Returns its id."""
        at = event.get("at")
        ts = seconds(at) if isinstance(at, str | datetime) else int(time.time())
        kind = str(event.get("type") or event.get("kind") or "event")
        meter = meter_id if meter_id is not None else event.get("meter_id")
        with self._lock, self._db.transaction():
            return saved.add_event(self._db, ts, meter, kind, event)

    def events(
        self, limit: int = 50, *, meter_id: str | None = None, since: datetime | None = None
    ) -> list[GatewayEvent]:
        """The latest events, newest first; each is the stored dict plus `id` and `at`."""
        since_ts = seconds(since) if since is not None else None
        with self._lock:
            rows = saved.events(self._db, limit, meter_id, since_ts)
        out = []
        for event_id, ts, meter, event in rows:
            event.setdefault("at", self._local(ts))
            if meter is not None:
                event.setdefault("meter_id", meter)
            event["id"] = event_id
            out.append(cast(GatewayEvent, event))  # the JSON of an event the gateway stored
        return out

    # -- history -----------------------------------------------------------------------------------------
    def add_history(self, meter_id: str, at: datetime, values: Mapping[str, Any]) -> None:
        """Buffer one point (e.g. every telegram): kept one per `history_step_s`, flushed in batches."""
        ts = seconds(at)
        bucket_ts = ts - ts % self.history_step_s
        with self._lock:
            self._history.setdefault((meter_id, bucket_ts), history.Bucket()).add(values)
            self._flush_when_due()

    def history(self, start: datetime, end: datetime, meter_id: str | None = None) -> list[dict[str, Any]]:
        """Downsampled points with time in [start, end), oldest first, including those not yet flushed."""
        first, last = seconds(start), seconds(end)
        with self._lock:
            points = history.points(self._db, first, last, meter_id)
            for (m, ts), bucket in self._history.items():
                if first <= ts < last and (meter_id is None or m == meter_id):
                    points[(m, ts)] = bucket.data()
        ordered = sorted(points.items(), key=lambda item: (item[0][1], item[0][0]))
        return [{"meter_id": m, "at": self._local(ts), **data} for (m, ts), data in ordered]

    # -- prepayment --------------------------------------------------------------------------------------
    def save_prepayment(self, meter_id: str, state: Mapping[str, Any]) -> None:
        """Keep the latest prepayment state JSON of a meter (written with the next flush)."""
        with self._lock:
            self._prepayment[meter_id] = (int(time.time()), dict(state))
            self._flush_when_due()

    def prepayment(self, meter_id: str | None = None) -> dict[str, Any] | None:
        """The latest prepayment state (of `meter_id`, or of the most recently updated meter)."""
        with self._lock:
            if meter_id is not None and meter_id in self._prepayment:
                return dict(self._prepayment[meter_id][1])
            if meter_id is None and self._prepayment:
                return dict(max(self._prepayment.values(), key=lambda item: item[0])[1])
            return saved.prepayment(self._db, meter_id)

    # -- flushing, retention, backup ---------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered history points and prepayment state now."""
        with self._lock, self._db.transaction():
            self._flush_buffers()

    def _flush_when_due(self) -> None:
        if self._monotonic() - self._last_flush >= self.flush_interval_s:
            with self._db.transaction():
                self._flush_buffers()

    def _flush_buffers(self) -> None:
        for (meter, ts), bucket in self._history.items():
            history.save_point(self._db, meter, ts, bucket.data())
        for meter, (updated, prepayment) in self._prepayment.items():
            saved.save_prepayment(self._db, meter, updated, prepayment)
        # Keep each meter's newest bucket: later points of the same step still average into it.
        newest: dict[str, int] = {}
        for meter, ts in self._history:
            newest[meter] = max(ts, newest.get(meter, ts))
        self._history = {key: b for key, b in self._history.items() if newest[key[0]] == key[1]}
        self._prepayment.clear()
        self._last_flush = self._monotonic()

    @property
    def pending(self) -> int:
        """Buffered items not yet written (history buckets + prepayment states)."""
        return len(self._history) + len(self._prepayment)

    def apply_retention(self, now: datetime) -> dict[str, int]:
        """Delete history older than `history_retention` and events older than `events_retention`."""
        ts = seconds(now)
        history_cutoff = ts - int(self.history_retention.total_seconds())
        with self._lock, self._db.transaction():
            self._flush_buffers()
            # a meter's newest bucket stays buffered after a flush: an old one would be written back later
            self._history = {key: b for key, b in self._history.items() if key[1] >= history_cutoff}
            deleted_history = history.delete_before(self._db, history_cutoff)
            deleted_events = saved.delete_events_before(
                self._db, ts - int(self.events_retention.total_seconds())
            )
        return {"history": deleted_history, "events": deleted_events}

    def backup(self, to: str | os.PathLike[str]) -> Path:
        """A consistent copy of a SQLite store (online backup API; safe while the gateway writes)."""
        if not isinstance(self._db, SqliteBackend):
            raise StoreError("backup() is for SQLite; back a PostgreSQL hub up with pg_dump")
        with self._lock:
            with self._db.transaction():
                self._flush_buffers()
            return backup_sqlite(self._db.conn, Path(to))

    def counts(self) -> dict[str, int]:
        """Row counts per table (for `p1gw db` and health pages)."""
        with self._lock:
            return {table: int(self._db.query(f"SELECT count(*) FROM {table}")[0][0]) for table in _TABLES}


def open_store(url: str | os.PathLike[str], *, migrate: bool = True, **options: Any) -> Store:
    """Open (creating and migrating) a store: a SQLite path (or `sqlite:///path`) or `postgresql://...`.

    Options are `Store`'s keyword arguments (tz, history_step_s, history_retention, flush_interval_s, ...).
    `migrate=False` only refuses a database that is not up to date (no schema change).
    """
    text = os.fspath(url)
    backend = open_backend(text)
    if not migrate:
        current = version(backend) if has_schema(backend) else 0
        latest = latest_version()
        if current != latest:
            backend.close()
            raise StoreError(f"schema version {current}, expected {latest}: run `p1gw db migrate`")
    try:
        return Store(backend, url=text, **options)
    except sqlite3.DatabaseError as exc:
        backend.close()
        raise StoreError(f"{text} is not a p1gw SQLite database: {exc}") from exc
    except Exception:
        backend.close()
        raise
