"""The community's members file (read into :mod:`sharing.community`'s types) and exact kWh text.

Strategy: the members file is small, so it is read row by row with stdlib ``csv`` (EANs stay text,
leading zeros intact) after :func:`sharing.textfile.scan` checked its bytes (bounded lines,
encoding, no binary); every error names file, line and column. kWh texts are plain decimals turned
into integer Wh once (half-even beyond three decimals): :func:`parse_kwh` for one value, the
vectorised twin in :mod:`sharing.ingest`. Data files in every format are read by
:mod:`sharing.ingest`; :func:`sharing.assemble.read_data` returns a whole period as one complete grid.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sharing.clock import DEFAULT_TZ, parse_start
from sharing.community import Community, Dataset, Member
from sharing.engine import Role
from sharing.keys import pct_to_ppm
from sharing.textfile import InputError, field_column, read_lines, scan, where

MEMBERS_HEADER = ("ean", "name", "role", "weight")
PERIOD_WEIGHT_COLUMNS = ("weight_day", "weight_night", "weight_weekend")
__all__ = ["Community", "Dataset", "InputError", "Member"]


def _valid_ean(ean: str) -> bool:
    return len(ean) == 18 and ean.isdigit()


def _open_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    """(lower-cased header, iterator of (line number, row), delimiter); sniffs ``;`` vs ``,``.

    The bytes are checked first (:func:`sharing.textfile.scan`: bounded lines, encoding, no
    binary), so every row is one line and no field can be larger than a line.
    """
    lines = read_lines(scan(path))
    number, first = next(lines, (1, ""))
    if number != 1:
        raise InputError(f"{where(path, 1)}: the first line must be the header, not blank")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter), [])]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for line, text in lines:
            row = next(csv.reader([text], delimiter=delimiter), [])
            if row and any(cell.strip() for cell in row):
                yield line, row

    return header, rows(), delimiter


def _field_error(
    path: Path, line: int, row: list[str], delimiter: str, index: int, message: str
) -> InputError:
    """An error at the start of field ``index`` of a row read by :func:`_open_rows`."""
    column = field_column(delimiter.join(row), delimiter, index)
    return InputError(f"{where(path, line, column)}: {message}")


def read_members(path: Path | str) -> Community:
    """Read ``ean,name,role,weight[,meter_id][,weight_day,weight_night,weight_weekend]``."""
    path = Path(path)
    header, rows, delimiter = _open_rows(path)
    missing = [c for c in MEMBERS_HEADER if c not in header]
    if missing:
        raise InputError(f"{path}:1: members header lacks {', '.join(missing)} (got {header})")
    col = {name: header.index(name) for name in header}
    has_periods = all(c in col for c in PERIOD_WEIGHT_COLUMNS)
    members: list[Member] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise InputError(f"{where(path, line, 1)}: expected {len(header)} fields ({delimiter!r} "
                             f"separated, as the header), got {len(row)}")  # fmt: skip

        def error(name: str, message: str, row: list[str] = row, line: int = line) -> InputError:
            return _field_error(path, line, row, delimiter, col[name], message)

        ean = row[col["ean"]].strip()
        if not _valid_ean(ean):
            raise error("ean", f"EAN {ean[:40]!r} is not 18 digits (format the column as text in "
                        "the spreadsheet, or Excel writes 5.41449E+17)")  # fmt: skip
        if ean in seen:
            raise error("ean", f"EAN {ean} already on line {seen[ean]}: one line per member")
        seen[ean] = line
        try:
            role = Role(row[col["role"]].strip().lower())
        except ValueError:
            raise error(
                "role", f"role {row[col['role']][:40]!r} is not consumer, producer or prosumer"
            ) from None
        try:
            weight = pct_to_ppm(row[col["weight"]] or "0")
            periods = (
                tuple(pct_to_ppm(row[col[c]] or "0") for c in PERIOD_WEIGHT_COLUMNS) if has_periods else None
            )
        except ValueError as exc:
            raise error("weight", f"{exc} (weights are percentages such as 12.5)") from None
        meter_id = row[col["meter_id"]].strip() or None if "meter_id" in col else None
        members.append(
            Member(
                ean=ean,
                name=row[col["name"]].strip(),
                role=role,
                weight_ppm=weight,
                meter_id=meter_id,
                period_weights_ppm=periods,  # type: ignore[arg-type]
            )
        )
    if not members:
        raise InputError(f"{path}: no members")
    return Community(tuple(members))


def parse_bound(text: str | None, tz: str = DEFAULT_TZ) -> int | None:
    """--from/--to: ISO datetime with offset, or a date (local midnight in ``tz``)."""
    if text is None:
        return None
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return int(datetime.combine(day, time(0), ZoneInfo(tz)).timestamp())
    return parse_start(text)
