"""The quarter-hour record, one contract in its three forms: the JSON dict, the CSV rows and the database row.

- JSON dict (ARCHITECTURE §3, MQTT, the HTTP API): kWh and kW as numbers with 3 decimals, aware ISO times.
- CSV (`p1gw db export`, `GET /api/v1/quarter-hours?format=csv`): header `CSV_COLUMNS`, RFC 4180 (CRLF line
  ends), kWh and kW printed exactly with 3 decimals (through `Decimal`, never binary float formatting),
  flags `true`/`false`, an unknown EAN empty.
- Database row (`ROW_COLUMNS`): integer Wh per register, times as UTC seconds and as the local ISO text
  they came with.

`QuarterHourRecord` types the JSON dict wherever a record crosses modules (the aggregator's
`QuarterHour.to_json`, the store's queries, the HTTP API, MQTT); `kwh` is its number format.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NotRequired, Protocol, TypedDict

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


class QuarterHourRecord(TypedDict):
    """The quarter-hour record of ARCHITECTURE §3: kWh and kW numbers with 3 decimals, aware ISO times."""

    meter_id: str
    ean: str | None
    start: str
    end: str
    import_day: float
    import_night: float
    export_day: float
    export_night: float
    import_kwh: float
    export_kwh: float
    avg_import_kw: float
    avg_export_kw: float
    complete: bool
    estimated: bool
    telegrams: int
    as_of: NotRequired[str]  # the open quarter-hour only: the time of the latest reading


class Recordable(Protocol):
    """What turns itself into a record with its meter id (`metering.quarter_hours.QuarterHour`)."""

    def to_json(self, meter_id: str, ean: str | None = None) -> QuarterHourRecord: ...


def kwh(wh: int) -> float:
    """Integer Wh -> kWh with exactly 3 decimals (as a JSON number)."""
    return float(Decimal(wh) * _THOUSANDTH)


# -- record <-> database row ------------------------------------------------------------------------------
def _seconds(moment: str) -> int:
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: give an aware time (with its offset)")
    return int(parsed.timestamp())


def _wh(value: object, name: str) -> int:
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


Row = tuple[str, int, int, str, str, str | None, int, int, int, int, int, int, int]  # in `ROW_COLUMNS` order


def to_row(record: Mapping[str, object] | Recordable, meter_id: str | None = None) -> Row:
    """A record dict (or a `QuarterHour` with its `meter_id`) -> the database row, values in `ROW_COLUMNS`
    order. Raises ValueError for a record the database must not hold (missing field, bad number, end not
    after start, naive time)."""
    if not isinstance(record, Mapping):
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
        _text_or_none(record.get("ean")),
        _wh(record["import_day"], "import_day"),
        _wh(record["import_night"], "import_night"),
        _wh(record["export_day"], "export_day"),
        _wh(record["export_night"], "export_night"),
        int(bool(record.get("complete", False))),
        int(bool(record.get("estimated", False))),
        _count(record.get("telegrams", 0)),
    )


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _count(value: object) -> int:
    if isinstance(value, int | float | str | Decimal):
        return int(value)
    raise ValueError(f"telegrams is not a number: {value!r}")


def _avg_kw(wh: int, seconds: int) -> float:
    return float((Decimal(wh) * Decimal("3.6") / seconds).quantize(_THOUSANDTH))


def from_row(row: Sequence[Any]) -> QuarterHourRecord:
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
def csv_cell(column: str, value: object) -> str:
    """One CSV cell: kWh and kW exactly with 3 decimals, flags `true`/`false`, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.endswith(("_kw", "_kwh")) or column in ENERGY_FIELDS:
        return f"{Decimal(str(value)):.3f}"
    return str(value)


def csv_row(record: Mapping[str, object]) -> list[str]:
    """The cells of one record, in `CSV_COLUMNS` order."""
    return [csv_cell(column, record.get(column)) for column in CSV_COLUMNS]


def csv_lines(records: Iterable[Mapping[str, object]]) -> Iterator[str]:
    """The CSV text line by line, header first, each line ending in CRLF (quoted where RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=CSV_LINE_END)
    for cells in _with_header(records):
        writer.writerow(cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(records: Iterable[Mapping[str, object]]) -> Iterator[Sequence[str]]:
    yield CSV_COLUMNS
    for record in records:
        yield csv_row(record)


def csv_text(records: Iterable[Mapping[str, object]]) -> str:
    """The whole CSV document: header and one row per record (what the HTTP API answers)."""
    return "".join(csv_lines(records))
