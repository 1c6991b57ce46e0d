"""The energy queries: quarter-hours (written with their daily totals), daily totals and quarter-hour peaks.

Functions over an open `Backend`; the caller (`Store`) holds its lock and opens the transaction. A
quarter-hour is stored once per (meter_id, start): a replay is ignored and never added to the daily totals
twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.store.backend import Backend
from metering.record import ROW_COLUMNS, QuarterHourRecord, Row, from_row, kwh

_COLUMNS = ", ".join(ROW_COLUMNS)
_INSERT_QUARTER_HOUR = (
    f"INSERT INTO quarter_hours ({_COLUMNS}) VALUES ({', '.join('?' * len(ROW_COLUMNS))}) "
    "ON CONFLICT (meter_id, start_ts) DO NOTHING RETURNING start_ts"
)
_ADD_TO_DAILY_TOTAL = (
    "INSERT INTO daily_totals VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (meter_id, day) DO "
    "UPDATE SET import_day_wh = daily_totals.import_day_wh + excluded.import_day_wh, "
    "import_night_wh = daily_totals.import_night_wh + excluded.import_night_wh, "
    "export_day_wh = daily_totals.export_day_wh + excluded.export_day_wh, "
    "export_night_wh = daily_totals.export_night_wh + excluded.export_night_wh, "
    "quarter_hours = daily_totals.quarter_hours + 1, "
    "estimated = daily_totals.estimated + excluded.estimated"
)


def _meter_filter(sql: str, params: list[Any], meter_id: str | None) -> str:
    if meter_id is None:
        return sql
    params.append(meter_id)
    return sql + " AND meter_id = ?"


def insert_quarter_hours(db: Backend, rows: Sequence[Row]) -> int:
    """Insert quarter-hour rows (`metering.record.to_row`) and add the new ones to their local day's
    totals; returns how many were new."""
    added = 0
    for row in rows:
        if not db.query(_INSERT_QUARTER_HOUR, row):
            continue
        added += 1
        meter_id, day, wh, estimated = row[0], row[3][:10], row[6:10], row[11]
        db.execute(_ADD_TO_DAILY_TOTAL, (meter_id, day, *wh, estimated))
    return added


def quarter_hours(db: Backend, first_ts: int, end_ts: int, meter_id: str | None) -> list[QuarterHourRecord]:
    """Quarter-hour records with start in [first_ts, end_ts), oldest first."""
    params: list[Any] = [first_ts, end_ts]
    sql = _meter_filter(
        f"SELECT {_COLUMNS} FROM quarter_hours WHERE start_ts >= ? AND start_ts < ?", params, meter_id
    )
    return [from_row(row) for row in db.query(sql + " ORDER BY start_ts, meter_id", params)]


def daily_totals(db: Backend, first_day: str, end_day: str, meter_id: str | None) -> list[dict[str, Any]]:
    """Per meter and local day in [first_day, end_day) (ISO dates): kWh per register, quarter-hours,
    estimated."""
    params: list[Any] = [first_day, end_day]
    sql = _meter_filter("SELECT * FROM daily_totals WHERE day >= ? AND day < ?", params, meter_id)
    out = []
    for meter, day, d_in, n_in, d_out, n_out, count, estimated in db.query(
        sql + " ORDER BY day, meter_id", params
    ):
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
    db: Backend, first_ts: int, end_ts: int, by: str, meter_id: str | None
) -> dict[str, float]:
    """The highest quarter-hour average import power (kW, 3 decimals) per local day (`by="day"`) or month
    (`by="month"`) of the quarter-hours with start in [first_ts, end_ts)."""
    width = {"day": 10, "month": 7}[by]
    params: list[Any] = [first_ts, end_ts]
    sql = _meter_filter(
        f"SELECT substr(start_local, 1, {width}), "
        "MAX((import_day_wh + import_night_wh) * 3600.0 / (end_ts - start_ts)) "
        "FROM quarter_hours WHERE start_ts >= ? AND start_ts < ?",
        params,
        meter_id,
    )
    rows = db.query(sql + f" GROUP BY substr(start_local, 1, {width})", params)
    return {key: round(float(watts) / 1000, 3) for key, watts in rows if watts is not None}
