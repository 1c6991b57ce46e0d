"""The quarter-hour record, one contract in its three forms: the JSON dict, the CSV rows and the database row.

- JSON dict (ARCHITECTURE §3, MQTT, the HTTP API): kWh and kW as numbers with 3 decimals, aware ISO times.
- CSV (`p1gw db export`, `GET /api/v1/quarter-hours?format=csv`): header `CSV_COLUMNS`, RFC 4180 (CRLF line
  ends), kWh and kW printed exactly with 3 decimals (through `Decimal`, never binary float formatting),
  flags `true`/`false`, an unknown EAN empty.
- Database row (`ROW_COLUMNS`): integer Wh per register, times as UTC seconds and as the local ISO text
  they came with.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from metering.quarter_hours import QuarterHour, kwh

ENERGY_FIELDS = ("import_day", "import_night", "export_day", "export_night")
CSV_COLUMNS = (
    "meter_id", "ean", "start", "end", *ENERGY_FIELDS,
    "import_kwh", "export_kwh", "avg_import_kw", "avg_export_kw", "complete", "estimated",
)  # fmt: skip
ROW_COLUMNS = (
    "meter_id", "start_ts", "end_ts", "start_local", "end_local", "ean",
    "import_day_wh", "import_night_wh", "export_day_wh", "export_night_wh",
    "complete", "estimated", "telegrams",
)  # fmt: skip
CSV_LINE_END = "\r\n"  # RFC 4180
_THOUSANDTH = Decimal("0.001")


# -- record <-> database row ------------------------------------------------------------------------------
def _seconds(moment: str) -> int:
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: give an aware time (with its offset)")
    return int(parsed.timestamp())


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


def to_row(record: Mapping[str, Any] | QuarterHour, meter_id: str | None = None) -> tuple[Any, ...]:
    """A record dict (or a `QuarterHour` with its `meter_id`) -> the database row, values in `ROW_COLUMNS`
    order. Raises ValueError for a record the database must not hold (missing field, bad number, end not
    after start, naive time)."""
    if isinstance(record, QuarterHour):
        if meter_id is None:
            raise ValueError("a QuarterHour needs meter_id= (or pass QuarterHour.to_json(meter_id) records)")
        record = record.to_json(meter_id)
    missing = [k for k in ("meter_id", "start", "end", *ENERGY_FIELDS) if record.get(k) is None]
    if missing:
        raise ValueError(f"quarter-hour record without {', '.join(missing)}: {dict(record)!r}")
    start, end = str(record["start"]), str(record["end"])
    start_ts, end_ts = _seconds(start), _seconds(end)
    if end_ts <= start_ts:
        raise ValueError(f"quarter-hour ends ({end}) before it starts ({start})")
    return (
        str(record["meter_id"]),
        start_ts,
        end_ts,
        start,
        end,
        record.get("ean"),
        *(_wh(record[k], k) for k in ENERGY_FIELDS),
        int(bool(record.get("complete", False))),
        int(bool(record.get("estimated", False))),
        int(record.get("telegrams", 0)),
    )


def _avg_kw(wh: int, seconds: int) -> float:
    return float((Decimal(wh) * Decimal("3.6") / seconds).quantize(_THOUSANDTH))


def from_row(row: Sequence[Any]) -> dict[str, Any]:
    """A database row (values in `ROW_COLUMNS` order) -> the record dict."""
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
        "avg_import_kw": _avg_kw(imp, seconds),
        "avg_export_kw": _avg_kw(exp, seconds),
        "complete": bool(complete),
        "estimated": bool(estimated),
        "telegrams": tel,
    }


# -- record -> CSV ----------------------------------------------------------------------------------------
def csv_cell(column: str, value: Any) -> str:
    """One CSV cell: kWh and kW exactly with 3 decimals, flags `true`/`false`, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.endswith(("_kw", "_kwh")) or column in ENERGY_FIELDS:
        return f"{Decimal(str(value)):.3f}"
    return str(value)


def csv_row(record: Mapping[str, Any]) -> list[str]:
    """The cells of one record, in `CSV_COLUMNS` order."""
    return [csv_cell(column, record.get(column)) for column in CSV_COLUMNS]


def csv_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The CSV text line by line, header first, each line ending in CRLF (quoted where RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=CSV_LINE_END)
    for cells in _with_header(records):
        writer.writerow(cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(records: Iterable[Mapping[str, Any]]) -> Iterator[Sequence[str]]:
    yield CSV_COLUMNS
    for record in records:
        yield csv_row(record)


def csv_text(records: Iterable[Mapping[str, Any]]) -> str:
    """The whole CSV document: header and one row per record (what the HTTP API answers)."""
    return "".join(csv_lines(records))
