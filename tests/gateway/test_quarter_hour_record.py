"""The quarter-hour record contract (`metering.record`): JSON dict <-> database row, and one CSV.

`p1gw db export` writes exactly the bytes `metering.record.csv_text` produces for the same records (the
HTTP API's `format=csv` is the same contract): RFC 4180 CRLF line ends, kWh and kW exact to 3 decimals.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main as p1gw
from gateway.store import open_store
from metering.quarter_hours import QuarterHour
from metering.record import CSV_COLUMNS, ROW_COLUMNS, csv_cell, csv_lines, csv_text, from_row, to_row


def record(start: str, import_day: Any, **extra: Any) -> dict[str, Any]:
    begin = datetime.fromisoformat(start)
    return {
        "meter_id": "M1",
        "ean": "541449000000000001",
        "start": start,
        "end": (begin + timedelta(minutes=15)).isoformat(),
        "import_day": import_day,
        "import_night": 0.0,
        "export_day": 0.0,
        "export_night": 0.012,
        "complete": True,
        "estimated": False,
        "telegrams": 900,
        **extra,
    }


def test_a_record_survives_the_database_row_exactly() -> None:
    row = to_row(record("2026-11-22T14:00:00+01:00", "0.123"))
    assert len(row) == len(ROW_COLUMNS)
    assert row[6:10] == (123, 0, 0, 12)
    back = from_row(row)
    assert back["import_day"] == 0.123 and back["import_kwh"] == 0.123 and back["export_kwh"] == 0.012
    assert back["avg_import_kw"] == 0.492 and back["avg_export_kw"] == 0.048
    assert back["start"] == "2026-11-22T14:00:00+01:00" and back["complete"] is True
    assert set(back) >= set(CSV_COLUMNS)


def test_a_quarter_hour_object_needs_its_meter_id() -> None:
    start = datetime(2026, 11, 22, 13, tzinfo=UTC)
    qh = QuarterHour(start, start + timedelta(minutes=15), 100, 0, 0, 0, True, False, 900)
    with pytest.raises(ValueError, match="meter_id"):
        to_row(qh)
    assert to_row(qh, "M1")[:3] == ("M1", int(start.timestamp()), int(start.timestamp()) + 900)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"import_day": "0.0001"}, "more than 3 decimals"),
        ({"import_day": -1}, "negative"),
        ({"import_day": "many"}, "not a number"),
        ({"import_day": None}, "without import_day"),
        ({"start": "2026-11-22T14:00:00"}, "naive"),
        ({"end": "2026-11-22T13:00:00+01:00"}, "before it starts"),
    ],
)
def test_a_record_the_database_must_not_hold_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_row({**record("2026-11-22T14:00:00+01:00", 0.1), **change})


def test_csv_cells_are_exact_and_rows_end_in_crlf() -> None:
    assert csv_cell("import_kwh", 0.1) == "0.100" and csv_cell("avg_import_kw", "2") == "2.000"
    assert csv_cell("import_day", 123456.789) == "123456.789"
    assert csv_cell("complete", True) == "true" and csv_cell("ean", None) == ""
    lines = list(csv_lines([record("2026-11-22T14:00:00+01:00", 0.1, ean=None, meter_id="a,b")]))
    assert lines[0] == ",".join(CSV_COLUMNS) + "\r\n"
    assert lines[1].startswith('"a,b",,2026-11-22T14:00:00+01:00,') and lines[1].endswith(",true,false\r\n")
    assert csv_text([]) == ",".join(CSV_COLUMNS) + "\r\n"


def test_db_export_writes_exactly_the_record_module_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "p1gw.db"
    with open_store(db) as store:
        store.add_quarter_hours(
            [
                record("2026-11-22T14:00:00+01:00", 0.123),
                record("2026-11-22T14:15:00+01:00", 1.5, estimated=True, ean=None),
            ]
        )
        stored = store.quarter_hours(
            datetime.fromisoformat("2026-11-22T00:00:00+01:00"),
            datetime.fromisoformat("2026-11-23T00:00:00+01:00"),
        )
    out = tmp_path / "q.csv"
    args = ["db", "export", "--db", str(db), "--from", "2026-11-22", "--to", "2026-11-23"]
    assert p1gw([*args, "--out", str(out)]) == 0
    assert out.read_bytes() == csv_text(stored).encode("utf-8")
    capsys.readouterr()
    assert p1gw(args) == 0
    assert capsys.readouterr().out == csv_text(stored)
    rows = list(csv.DictReader(io.StringIO(csv_text(stored))))
    assert [r["import_day"] for r in rows] == ["0.123", "1.500"] and rows[1]["ean"] == ""
