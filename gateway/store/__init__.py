"""Storage: quarter-hours, daily totals, events, downsampled history, prepayment state and checkpoints.

Strategy: one small synchronous `Store` over SQLite (the embedded default, WAL, `synchronous=FULL`) or
PostgreSQL (`postgresql://...`, psycopg 3, for a hub) with the same schema and the same SQL. The async shell
calls it through `asyncio.to_thread`; a lock serialises calls.

Durability without wearing out an SD card:
- `add_quarter_hours(records, checkpoint=...)` writes the closed quarter-hours, their daily totals, the
  aggregator checkpoint and any buffered history / prepayment state in ONE transaction, synchronously
  (fsync'd) — call it before publishing. Inserts are idempotent on (meter_id, start): a replayed
  quarter-hour is ignored (first write wins) and never added to the daily totals twice.
- History points are downsampled in memory (one point per `history_step_s`, power-like values averaged) and
  flushed every `flush_interval_s` or at the next quarter-hour write; prepayment state likewise keeps only
  the latest state per meter until the flush. A crash loses at most `flush_interval_s` of those, never a
  closed quarter-hour.
- The schema is versioned (`schema_version`); migrations in `gateway/store/sql/` run in order at open.
- Retention: `apply_retention(now)` trims history and events; quarter-hours and daily totals stay forever.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

from gateway.logs import log
from metering.quarter_hours import QuarterHour, kwh

CSV_COLUMNS = (
    "meter_id", "ean", "start", "end", "import_day", "import_night", "export_day", "export_night",
    "import_kwh", "export_kwh", "avg_import_kw", "avg_export_kw", "complete", "estimated",
)  # fmt: skip
_QH_COLUMNS = (
    "meter_id, start_ts, end_ts, start_local, end_local, ean, import_day_wh, import_night_wh, "
    "export_day_wh, export_night_wh, complete, estimated, telegrams"
)
_SLOTS = ("import_day", "import_night", "export_day", "export_night")


class WriteOutage:
    """The writes a store refused (a full disk, a lost database server), told as one story per outage.

    Every refusal is counted (`errors`, `last_error`); the first one of an outage logs ONE error line, the
    ones after it go to DEBUG; the outage ends at the first write that succeeds once nothing waits for the
    store any more (the caller says how much waits), with one INFO line. `active` turns with those two
    events, not with a timer: health is `ok` again the moment the waiting data is stored.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.errors = 0
        self.last_error: str | None = None
        self._since: float | None = None
        self._refused = 0

    @property
    def active(self) -> bool:
        """True from the first refused write until the waiting data is stored."""
        return self._since is not None

    def refused(self, exc: BaseException, now: float) -> None:
        """A write failed at `now` (monotonic seconds)."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._refused += 1
        if self._since is None:
            self._since, self._refused = now, 1
            log(
                self.logger,
                logging.ERROR,
                "store write failed; closed quarter-hours wait in memory until it accepts writes",
                error=self.last_error,
            )
        else:
            log(self.logger, logging.DEBUG, "store write failed again", error=self.last_error)

    def accepted(self, now: float, *, waiting: int, **fields: Any) -> None:
        """A write succeeded at `now`; `waiting` items still wait for the store (the outage goes on)."""
        if self._since is None or waiting:
            return
        log(
            self.logger,
            logging.INFO,
            "store writes work again",
            outage_s=round(now - self._since, 1),
            refused_writes=self._refused,
            **fields,
        )
        self._since = None


class StoreError(Exception):
    """A storage problem worth a clear message (bad URL, foreign file, unsupported operation)."""


# -- backends ---------------------------------------------------------------------------------------------
class _Backend(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def close(self) -> None: ...


class _Sqlite:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR): then a ROLLBACK
            # would fail and hide the real error ("database or disk is full") behind its own
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class _Postgres:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dev dependency
            raise StoreError("PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'") from exc
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {_redact(url)}: {exc}") from exc

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.execute(self._sql(sql), tuple(params))
        return cur.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(self._sql(sql), tuple(params)).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def close(self) -> None:
        self.conn.close()


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


# -- migrations -------------------------------------------------------------------------------------------
_DIALECT = {
    "sqlite": {"id_pk": "INTEGER PRIMARY KEY", "without_rowid": "WITHOUT ROWID"},
    "postgresql": {"id_pk": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "without_rowid": ""},
}


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL) of every migration shipped, in order."""
    found = []
    for entry in resources.files("gateway.store.sql").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(sql: str, dialect: str) -> list[str]:
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    text = text.format(**_DIALECT[dialect])
    return [part.strip() for part in text.split(";") if part.strip()]


def _migrate(db: _Backend, target: int | None = None) -> tuple[int, int]:
    """Apply pending migrations (up to `target`); returns (version before, version after)."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ts BIGINT)")
    before = _version(db)
    for version, _name, sql in migrations():
        if target is not None and version > target:
            break
        with db.transaction():
            if db.dialect == "postgresql":
                db.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
            if _version(db) >= version:
                continue
            for statement in _statements(sql, db.dialect):
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, int(time.time())))
    return before, _version(db)


def _version(db: _Backend) -> int:
    rows = db.query("SELECT max(version) FROM schema_version")
    return int(rows[0][0] or 0)


# -- values -----------------------------------------------------------------------------------------------
def _ts(moment: datetime | str) -> int:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give an aware time (with its offset)")
    return int(moment.timestamp())


def _wh(value: Any, name: str) -> int:
    """A record's kWh (number or text, 3 decimals) -> exact integer Wh."""
    try:
        wh = Decimal(str(value)) * 1000
    except ArithmeticError as exc:
        raise ValueError(f"{name} is not a number: {value!r}") from exc
    if wh != wh.to_integral_value():
        raise ValueError(f"{name}={value} has more than 3 decimals (kWh)")
    if wh < 0:
        raise ValueError(f"{name}={value} is negative")
    return int(wh)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _dumps(data: Any) -> str:
    return json.dumps(data, default=_json_default, separators=(",", ":"), sort_keys=True)


def _qh_row(record: Mapping[str, Any] | QuarterHour, meter_id: str | None) -> tuple[Any, ...]:
    if isinstance(record, QuarterHour):
        if meter_id is None:
            raise ValueError("a QuarterHour needs meter_id= (or pass QuarterHour.to_json(meter_id) records)")
        record = record.to_json(meter_id)
    missing = [k for k in ("meter_id", "start", "end", *_SLOTS) if record.get(k) is None]
    if missing:
        raise ValueError(f"quarter-hour record without {', '.join(missing)}: {dict(record)!r}")
    start, end = str(record["start"]), str(record["end"])
    start_ts, end_ts = _ts(start), _ts(end)
    if end_ts <= start_ts:
        raise ValueError(f"quarter-hour ends ({end}) before it starts ({start})")
    wh = [_wh(record[k], k) for k in _SLOTS]
    return (
        str(record["meter_id"]),
        start_ts,
        end_ts,
        start,
        end,
        record.get("ean"),
        *wh,
        int(bool(record.get("complete", False))),
        int(bool(record.get("estimated", False))),
        int(record.get("telegrams", 0)),
    )


def _qh_record(row: Sequence[Any]) -> dict[str, Any]:
    meter_id, start_ts, end_ts, start, end, ean, d_in, n_in, d_out, n_out, complete, estimated, tel = row
    seconds = end_ts - start_ts
    imp, exp = d_in + n_in, d_out + n_out
    return {
        "meter_id": meter_id,
        "ean": ean,
        "start": start,
        "end": end,
        "import_day": kwh(d_in),
        "import_night": kwh(n_in),
        "export_day": kwh(d_out),
        "export_night": kwh(n_out),
        "import_kwh": kwh(imp),
        "export_kwh": kwh(exp),
        "avg_import_kw": float((Decimal(imp) * Decimal("3.6") / seconds).quantize(Decimal("0.001"))),
        "avg_export_kw": float((Decimal(exp) * Decimal("3.6") / seconds).quantize(Decimal("0.001"))),
        "complete": bool(complete),
        "estimated": bool(estimated),
        "telegrams": tel,
    }


def write_quarter_hours_csv(records: Iterable[Mapping[str, Any]], out: IO[str]) -> int:
    """Quarter-hour records -> CSV with `CSV_COLUMNS` (header included); returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in records:
        row = []
        for column in CSV_COLUMNS:
            value = record.get(column)
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, float):
                value = f"{value:.3f}"
            row.append("" if value is None else value)
        writer.writerow(row)
        count += 1
    return count


# -- history downsampling ---------------------------------------------------------------------------------
def _averaged(name: str) -> bool:
    """Power-like values are averaged over a history step; everything else keeps its last value."""
    return name.endswith(("_kw", "_w", "_v", "_a")) or name.startswith(("power_", "voltage_", "current_"))


@dataclass
class _Bucket:
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)

    def add(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if _averaged(name) and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                self.sums[name] = self.sums.get(name, 0.0) + float(value)
                self.counts[name] = self.counts.get(name, 0) + 1
            else:
                self.last[name] = value

    def data(self) -> dict[str, Any]:
        out = dict(self.last)
        for name, total in self.sums.items():
            out[name] = round(total / self.counts[name], 4)
        return out


# -- the store --------------------------------------------------------------------------------------------
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
        backend: _Backend,
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
        self._history: dict[tuple[str, int], _Bucket] = {}
        self._prepayment: dict[str, tuple[int, dict[str, Any]]] = {}
        self._last_flush = monotonic()
        self.migrated_from, self.schema_version = _migrate(backend)

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

    # -- quarter-hours -----------------------------------------------------------------------------------
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
        rows = [_qh_row(record, meter_id) for record in records]
        with self._lock, self._db.transaction():
            added = 0
            for row in rows:
                inserted = self._db.query(
                    f"INSERT INTO quarter_hours ({_QH_COLUMNS}) VALUES ({', '.join('?' * 13)}) "
                    "ON CONFLICT (meter_id, start_ts) DO NOTHING RETURNING start_ts",
                    row,
                )
                if not inserted:
                    continue
                added += 1
                self._db.execute(
                    "INSERT INTO daily_totals VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (meter_id, day) DO "
                    "UPDATE SET import_day_wh = daily_totals.import_day_wh + excluded.import_day_wh, "
                    "import_night_wh = daily_totals.import_night_wh + excluded.import_night_wh, "
                    "export_day_wh = daily_totals.export_day_wh + excluded.export_day_wh, "
                    "export_night_wh = daily_totals.export_night_wh + excluded.export_night_wh, "
                    "quarter_hours = daily_totals.quarter_hours + 1, "
                    "estimated = daily_totals.estimated + excluded.estimated",
                    (row[0], row[3][:10], *row[6:10], row[11]),
                )
            if checkpoint is not None:
                self._set_checkpoint(checkpoint_name, checkpoint)
            self._flush_buffers()
        return added

    def quarter_hours(
        self, start: datetime, end: datetime, meter_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Quarter-hour records with start in [start, end), oldest first (all meters unless meter_id)."""
        sql = f"SELECT {_QH_COLUMNS} FROM quarter_hours WHERE start_ts >= ? AND start_ts < ?"
        params: list[Any] = [_ts(start), _ts(end)]
        if meter_id is not None:
            sql += " AND meter_id = ?"
            params.append(meter_id)
        with self._lock:
            rows = self._db.query(sql + " ORDER BY start_ts, meter_id", params)
        return [_qh_record(row) for row in rows]

    def daily_totals(
        self, start: date | datetime, end: date | datetime, meter_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Per meter and local day in [start, end): kWh per register, number of quarter-hours, estimated."""
        first = (start.astimezone(self.zone).date() if isinstance(start, datetime) else start).isoformat()
        last = (end.astimezone(self.zone).date() if isinstance(end, datetime) else end).isoformat()
        sql = "SELECT * FROM daily_totals WHERE day >= ? AND day < ?"
        params: list[Any] = [first, last]
        if meter_id is not None:
            sql += " AND meter_id = ?"
            params.append(meter_id)
        with self._lock:
            rows = self._db.query(sql + " ORDER BY day, meter_id", params)
        out = []
        for meter, day, d_in, n_in, d_out, n_out, count, estimated in rows:
            out.append(
                {
                    "meter_id": meter,
                    "day": day,
                    "import_day": kwh(d_in),
                    "import_night": kwh(n_in),
                    "export_day": kwh(d_out),
                    "export_night": kwh(n_out),
                    "import_kwh": kwh(d_in + n_in),
                    "export_kwh": kwh(d_out + n_out),
                    "quarter_hours": count,
                    "estimated": estimated,
                }
            )
        return out

    def quarter_hour_peaks(
        self, start: datetime, end: datetime, *, by: str = "day", meter_id: str | None = None
    ) -> dict[str, float]:
        """The highest quarter-hour average import power (kW, 3 decimals) per local day (`by="day"`,
        keys `YYYY-MM-DD`) or month (`by="month"`, keys `YYYY-MM`) of the quarter-hours in [start, end)."""
        width = {"day": 10, "month": 7}[by]
        sql = (
            f"SELECT substr(start_local, 1, {width}), "
            "MAX((import_day_wh + import_night_wh) * 3600.0 / (end_ts - start_ts)) "
            "FROM quarter_hours WHERE start_ts >= ? AND start_ts < ?"
        )
        params: list[Any] = [_ts(start), _ts(end)]
        if meter_id is not None:
            sql += " AND meter_id = ?"
            params.append(meter_id)
        with self._lock:
            rows = self._db.query(sql + f" GROUP BY substr(start_local, 1, {width})", params)
        return {key: round(float(watts) / 1000, 3) for key, watts in rows if watts is not None}

    # -- checkpoints -------------------------------------------------------------------------------------
    def get_checkpoint(self, name: str = "aggregator") -> dict[str, Any] | None:
        """The last checkpoint saved under `name` (e.g. the aggregator's snapshot), or None."""
        with self._lock:
            rows = self._db.query("SELECT state FROM checkpoints WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def set_checkpoint(self, state: Mapping[str, Any], name: str = "aggregator") -> None:
        """Save a checkpoint now (synchronously)."""
        with self._lock, self._db.transaction():
            self._set_checkpoint(name, state)

    def _set_checkpoint(self, name: str, state: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET updated_ts = excluded.updated_ts, state = excluded.state",
            (name, int(time.time()), _dumps(state)),
        )

    # -- events ------------------------------------------------------------------------------------------
    def add_event(self, event: Mapping[str, Any], *, meter_id: str | None = None) -> int:
        """Store one event dict (written at once; events are rare). Its time is `event["at"]` (aware ISO
        text or datetime; now when absent), its kind `event["type"]` (or `"kind"`). Returns its id."""
        at = event.get("at")
        ts = _ts(at) if isinstance(at, str | datetime) else int(time.time())
        kind = str(event.get("type") or event.get("kind") or "event")
        meter = meter_id if meter_id is not None else event.get("meter_id")
        with self._lock, self._db.transaction():
            rows = self._db.query(
                "INSERT INTO events (ts, meter_id, kind, data) VALUES (?, ?, ?, ?) RETURNING id",
                (ts, meter, kind, _dumps(event)),
            )
        return int(rows[0][0])

    def events(
        self, limit: int = 50, *, meter_id: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The latest events, newest first; each is the stored dict plus `id` and `at`."""
        sql = "SELECT id, ts, meter_id, data FROM events WHERE 1 = 1"
        params: list[Any] = []
        if meter_id is not None:
            sql += " AND meter_id = ?"
            params.append(meter_id)
        if since is not None:
            sql += " AND ts >= ?"
            params.append(_ts(since))
        with self._lock:
            rows = self._db.query(sql + " ORDER BY ts DESC, id DESC LIMIT ?", [*params, int(limit)])
        out = []
        for event_id, ts, meter, data in rows:
            event = json.loads(data)
            event.setdefault("at", self._local(ts))
            if meter is not None:
                event.setdefault("meter_id", meter)
            event["id"] = event_id
            out.append(event)
        return out

    # -- history -----------------------------------------------------------------------------------------
    def add_history(self, meter_id: str, at: datetime, values: Mapping[str, Any]) -> None:
        """Buffer one point (e.g. every telegram): kept one per `history_step_s`, flushed in batches."""
        ts = _ts(at)
        bucket_ts = ts - ts % self.history_step_s
        with self._lock:
            self._history.setdefault((meter_id, bucket_ts), _Bucket()).add(values)
            if self._monotonic() - self._last_flush >= self.flush_interval_s:
                with self._db.transaction():
                    self._flush_buffers()

    def history(self, start: datetime, end: datetime, meter_id: str | None = None) -> list[dict[str, Any]]:
        """Downsampled points with time in [start, end), oldest first, including those not yet flushed."""
        first, last = _ts(start), _ts(end)
        sql = "SELECT meter_id, ts, data FROM history WHERE ts >= ? AND ts < ?"
        params: list[Any] = [first, last]
        if meter_id is not None:
            sql += " AND meter_id = ?"
            params.append(meter_id)
        with self._lock:
            points = {(m, ts): json.loads(data) for m, ts, data in self._db.query(sql, params)}
            for (m, ts), bucket in self._history.items():
                if first <= ts < last and (meter_id is None or m == meter_id):
                    points[(m, ts)] = bucket.data()
        return [
            {"meter_id": m, "at": self._local(ts), **data}
            for (m, ts), data in sorted(points.items(), key=_by_ts)
        ]

    # -- prepayment --------------------------------------------------------------------------------------
    def save_prepayment(self, meter_id: str, state: Mapping[str, Any]) -> None:
        """Keep the latest prepayment state JSON of a meter (written with the next flush)."""
        with self._lock:
            self._prepayment[meter_id] = (int(time.time()), dict(state))
            if self._monotonic() - self._last_flush >= self.flush_interval_s:
                with self._db.transaction():
                    self._flush_buffers()

    def prepayment(self, meter_id: str | None = None) -> dict[str, Any] | None:
        """The latest prepayment state (of `meter_id`, or of the most recently updated meter)."""
        with self._lock:
            if meter_id is not None and meter_id in self._prepayment:
                return dict(self._prepayment[meter_id][1])
            if meter_id is None and self._prepayment:
                return dict(max(self._prepayment.values(), key=lambda item: item[0])[1])
            sql = "SELECT state FROM prepayment"
            params: list[Any] = []
            if meter_id is not None:
                sql += " WHERE meter_id = ?"
                params.append(meter_id)
            rows = self._db.query(sql + " ORDER BY updated_ts DESC LIMIT 1", params)
        return json.loads(rows[0][0]) if rows else None

    # -- flushing, retention, backup ---------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered history points and prepayment state now."""
        with self._lock, self._db.transaction():
            self._flush_buffers()

    def _flush_buffers(self) -> None:
        for (meter, ts), bucket in self._history.items():
            self._db.execute(
                "INSERT INTO history VALUES (?, ?, ?) "
                "ON CONFLICT (meter_id, ts) DO UPDATE SET data = excluded.data",
                (meter, ts, _dumps(bucket.data())),
            )
        for meter, (updated, state) in self._prepayment.items():
            self._db.execute(
                "INSERT INTO prepayment VALUES (?, ?, ?) ON CONFLICT (meter_id) DO UPDATE "
                "SET updated_ts = excluded.updated_ts, state = excluded.state",
                (meter, updated, _dumps(state)),
            )
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
        ts = _ts(now)
        history_cutoff = ts - int(self.history_retention.total_seconds())
        with self._lock, self._db.transaction():
            self._flush_buffers()
            # a meter's newest bucket stays buffered after a flush: an old one would be written back later
            self._history = {key: b for key, b in self._history.items() if key[1] >= history_cutoff}
            history = self._db.execute("DELETE FROM history WHERE ts < ?", (history_cutoff,))
            events = self._db.execute(
                "DELETE FROM events WHERE ts < ?", (ts - int(self.events_retention.total_seconds()),)
            )
        return {"history": max(history, 0), "events": max(events, 0)}

    def backup(self, to: str | os.PathLike[str]) -> Path:
        """A consistent copy of a SQLite store (online backup API; safe while the gateway writes)."""
        if not isinstance(self._db, _Sqlite):
            raise StoreError("backup() is for SQLite; back a PostgreSQL hub up with pg_dump")
        target = Path(to)
        tmp = target.with_name(target.name + ".partial")
        tmp.unlink(missing_ok=True)
        with self._lock:
            with self._db.transaction():
                self._flush_buffers()
            dest = sqlite3.connect(tmp)
            try:
                self._db.conn.backup(dest)
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
        os.replace(tmp, target)
        return target

    def counts(self) -> dict[str, int]:
        """Row counts per table (for `p1gw db` and health pages)."""
        with self._lock:
            return {
                table: int(self._db.query(f"SELECT count(*) FROM {table}")[0][0])
                for table in (
                    "quarter_hours",
                    "daily_totals",
                    "events",
                    "history",
                    "prepayment",
                    "checkpoints",
                )
            }


def _by_ts(item: tuple[tuple[str, int], Any]) -> tuple[int, str]:
    return item[0][1], item[0][0]


def open_store(url: str | os.PathLike[str], *, migrate: bool = True, **options: Any) -> Store:
    """Open (creating and migrating) a store: a SQLite path (or `sqlite:///path`) or `postgresql://...`.

    Options are `Store`'s keyword arguments (tz, history_step_s, history_retention, flush_interval_s, ...).
    `migrate=False` only refuses a database that is not up to date (no schema change).
    """
    text = os.fspath(url)
    if text.startswith(("postgresql://", "postgres://")):
        backend: _Backend = _Postgres(text)
    else:
        path = text.removeprefix("sqlite:///").removeprefix("sqlite://")
        if path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"directory {parent} does not exist (for database {path})")
            path = str(Path(path).expanduser())
        try:
            backend = _Sqlite(path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc
    if not migrate:
        current = _version(backend) if _has_schema(backend) else 0
        latest = migrations()[-1][0]
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


def _has_schema(db: _Backend) -> bool:
    try:
        db.query("SELECT max(version) FROM schema_version")
    except Exception:
        return False
    return True


def migrate(url: str | os.PathLike[str], target: int | None = None) -> tuple[int, int]:
    """Apply migrations up to `target` (all by default) without opening a full `Store`."""
    text = os.fspath(url)
    backend: _Backend = _Postgres(text) if text.startswith("postgres") else _Sqlite(text)
    try:
        return _migrate(backend, target)
    finally:
        backend.close()


def restore_sqlite(backup: str | os.PathLike[str], db_path: str | os.PathLike[str]) -> tuple[int, int]:
    """Replace the SQLite database at `db_path` by a backup (stop the gateway first), then migrate it.

    The backup is checked first (integrity, our schema), so a wrong file never overwrites the database.
    Returns (schema version of the backup, version after migrating).
    """
    source_path = Path(backup)
    if not source_path.is_file():
        raise StoreError(f"backup {source_path} does not exist")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        try:
            ok = source.execute("PRAGMA integrity_check").fetchone()[0]
            version = source.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            source.execute("SELECT count(*) FROM quarter_hours").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{source_path} is not a p1gw database backup: {exc}") from exc
        if ok != "ok":
            raise StoreError(f"{source_path} is damaged: {ok}")
        dest = _Sqlite(os.fspath(db_path))
        try:
            source.backup(dest.conn)
            after = _migrate(dest)[1]
        finally:
            dest.close()
    finally:
        source.close()
    return int(version or 0), after
