"""Storage of the voltage and appliance aggregates (migration 0003) next to the quarter-hours.

Strategy: thin functions over an open `gateway.store.Store`, sharing its connection and lock: the pipeline
writes what the pure aggregators of `analysis` closed in one transaction (idempotent on their keys, so a
replay after a restart writes nothing twice); the CLI and the HTTP API read them back as the same value
classes, for the pure reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from analysis.appliances import PowerStep, PowerWindow
from analysis.voltage import VoltageEpisode, VoltageWindow
from gateway.store import Store


def _db(store: Store) -> Any:
    return store._db  # the store's own connection: one transaction for everything written together


def add_analysis(
    store: Store,
    meter_id: str,
    *,
    windows: Iterable[VoltageWindow] = (),
    episodes: Iterable[VoltageEpisode] = (),
    steps: Iterable[PowerStep] = (),
    power_windows: Iterable[PowerWindow] = (),
) -> None:
    """Write closed aggregates in one transaction; rows already stored are kept (first write wins)."""
    db = _db(store)
    with store._lock, db.transaction():
        for w in windows:
            db.execute(
                "INSERT INTO voltage_windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (meter_id, w.source, w.start_ts, w.phase, w.samples, w.sum_dv, w.min_dv, w.max_dv,
                 w.export_samples, w.sags, w.swells),
            )  # fmt: skip
        for e in episodes:
            db.execute(
                "INSERT INTO voltage_episodes VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (meter_id, e.source, e.start_ts, e.phase, e.kind, e.end_ts, e.extreme_dv, e.export_s),
            )
        for s in steps:
            db.execute(
                "INSERT INTO power_steps VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (meter_id, s.ts, s.delta_w, ",".join(map(str, s.phases))),
            )
        for p in power_windows:
            db.execute(
                "INSERT INTO power_windows VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (meter_id, p.start_ts, p.samples, p.import_w_sum, p.export_samples),
            )


def _range(start: datetime, end: datetime, meter_id: str | None, column: str) -> tuple[str, list[Any]]:
    sql = f" WHERE {column} >= ? AND {column} < ?"
    params: list[Any] = [int(start.timestamp()), int(end.timestamp())]
    if meter_id is not None:
        sql += " AND meter_id = ?"
        params.append(meter_id)
    return sql, params


def voltage_data(
    store: Store, start: datetime, end: datetime, meter_id: str | None = None, source: str | None = None
) -> tuple[list[VoltageWindow], list[VoltageEpisode]]:
    """Windows and episodes starting in [start, end): S1 data when there is any (RMS of every period,
    better than P1's one value a second), else P1 — unless `source` says which."""
    db = _db(store)
    where, params = _range(start, end, meter_id, "start_ts")
    with store._lock:
        if source is None:
            has_s1 = db.query(f"SELECT 1 FROM voltage_windows{where} AND source = 's1' LIMIT 1", params)
            source = "s1" if has_s1 else "p1"
        rows = db.query(
            "SELECT start_ts, phase, samples, sum_dv, min_dv, max_dv, export_samples, sags, swells, source "
            f"FROM voltage_windows{where} AND source = ? ORDER BY start_ts, phase",
            [*params, source],
        )
        ep_rows = db.query(
            "SELECT phase, kind, start_ts, end_ts, extreme_dv, export_s, source "
            f"FROM voltage_episodes{where} AND source = ? ORDER BY start_ts, phase",
            [*params, source],
        )
    return [VoltageWindow(*row) for row in rows], [VoltageEpisode(*row) for row in ep_rows]


def appliance_data(
    store: Store, start: datetime, end: datetime, meter_id: str | None = None
) -> tuple[list[PowerStep], list[PowerWindow]]:
    """Power steps at [start, end) and the 10-minute power windows starting in it."""
    db = _db(store)
    where, params = _range(start, end, meter_id, "ts")
    wwhere, wparams = _range(start, end, meter_id, "start_ts")
    with store._lock:
        rows = db.query(f"SELECT ts, delta_w, phases FROM power_steps{where} ORDER BY ts", params)
        wrows = db.query(
            "SELECT start_ts, samples, import_w_sum, export_samples "
            f"FROM power_windows{wwhere} ORDER BY start_ts",
            wparams,
        )
    steps = [
        PowerStep(ts, delta, tuple(int(p) for p in phases.split(",") if p)) for ts, delta, phases in rows
    ]
    return steps, [PowerWindow(*row) for row in wrows]


def stored_period(store: Store, meter_id: str | None = None) -> tuple[datetime, datetime] | None:
    """The first and last instants of stored voltage/power windows (the default report period)."""
    db = _db(store)
    sql = "SELECT min(start_ts), max(start_ts) FROM {table}"
    params: list[Any] = []
    if meter_id is not None:
        sql += " WHERE meter_id = ?"
        params.append(meter_id)
    lo, hi = None, None
    with store._lock:
        for table in ("voltage_windows", "power_windows"):
            first, last = db.query(sql.format(table=table), params)[0]
            if first is not None:
                lo = first if lo is None else min(lo, first)
                hi = last if hi is None else max(hi, last)
    if lo is None or hi is None:
        return None
    return datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi + 600, UTC)


def meter_identity(store: Store, meter_id: str | None = None) -> dict[str, str | None]:
    """The meter id and EAN a DSO complaint asks for (from the stored quarter-hours and windows)."""
    db = _db(store)
    with store._lock:
        if meter_id is None:
            rows = db.query("SELECT meter_id FROM voltage_windows ORDER BY start_ts DESC LIMIT 1")
            rows = rows or db.query("SELECT meter_id FROM power_windows ORDER BY start_ts DESC LIMIT 1")
            meter_id = rows[0][0] if rows else None
        ean_rows = db.query(
            "SELECT ean FROM quarter_hours WHERE meter_id = ? AND ean IS NOT NULL "
            "ORDER BY start_ts DESC LIMIT 1",
            (meter_id,),
        )
    return {"meter_id": meter_id, "ean": ean_rows[0][0] if ean_rows else None}
