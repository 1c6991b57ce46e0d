"""Reading the community's CSV inputs into integer-Wh matrices, with errors that name file and line.

Strategy: stdlib ``csv`` and NumPy only (no pandas: EANs stay text, leading zeros intact). kWh texts
are parsed with ``Decimal`` and turned into integer Wh once (half-even if a file has more than three
decimals). The data format is recognised from the header: the sharing contract
(``start,ean,consumption_kwh,injection_kwh``), the gateway's quarter-hour CSV (``start``,
``import_kwh``, ``export_kwh`` and ``ean`` or ``meter_id``), or a DSO long format
(``start;ean;register;kwh``, ``;`` or ``,`` separated, decimal comma accepted). Rows are checked as
they are read; the grid (first..last quarter-hour, or --from/--to) must then be complete for every
member.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from sharing.clock import DEFAULT_TZ, QUARTER_S, Grid, parse_start
from sharing.engine import Role
from sharing.keys import IntArray, pct_to_ppm
from sharing.textfile import InputError, field_column, read_lines, scan, where

DATA_HEADER = ("start", "ean", "consumption_kwh", "injection_kwh")
MEMBERS_HEADER = ("ean", "name", "role", "weight")
PERIOD_WEIGHT_COLUMNS = ("weight_day", "weight_night", "weight_weekend")
CONSUMPTION_REGISTERS = frozenset(
    {"consumption", "offtake", "import", "afname", "prelevement", "prélèvement",
     "1.8.0", "1.8.1", "1.8.2", "1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2"}
)  # fmt: skip
INJECTION_REGISTERS = frozenset(
    {"injection", "export", "injectie", "2.8.0", "2.8.1", "2.8.2",
     "1-0:2.8.0", "1-0:2.8.1", "1-0:2.8.2"}
)  # fmt: skip


MAX_KWH_DIGITS = 9  # integer digits of a kWh value: 999,999,999 kWh in one quarter-hour is already absurd
MAX_DECIMALS = 20
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")
PLAIN_DECIMAL_HELP = "write plain decimal numbers such as 1.234 (no exponent, digit groups or signs)"
__all__ = ["InputError"]


@dataclass(frozen=True)
class Member:
    """One row of the members CSV."""

    ean: str
    name: str
    role: Role
    weight_ppm: int
    meter_id: str | None = None
    period_weights_ppm: tuple[int, int, int] | None = None


@dataclass(frozen=True, eq=False)
class Community:
    """Members in file order, with look-ups by EAN and meter id."""

    members: tuple[Member, ...]
    by_ean: dict[str, int] = field(init=False)
    by_meter_id: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_ean", {m.ean: i for i, m in enumerate(self.members)})
        object.__setattr__(
            self,
            "by_meter_id",
            {m.meter_id: i for i, m in enumerate(self.members) if m.meter_id},
        )

    @property
    def roles(self) -> list[Role]:
        return [m.role for m in self.members]

    @property
    def eans(self) -> list[str]:
        return [m.ean for m in self.members]

    def weights_ppm(self) -> IntArray:
        return np.array([m.weight_ppm for m in self.members], dtype=np.int64)

    def period_weights_ppm(self) -> IntArray:
        """(3, M) weights for the static-period key; members without them use ``weight``."""
        rows = [m.period_weights_ppm or (m.weight_ppm,) * 3 for m in self.members]
        return np.array(rows, dtype=np.int64).T.copy()


@dataclass(frozen=True, eq=False)
class Dataset:
    """A complete grid of quarter-hours for every member, in integer Wh."""

    grid: Grid
    consumption_wh: IntArray
    injection_wh: IntArray


def parse_kwh(text: str, *, decimal_comma: bool = False) -> int:
    """Plain decimal kWh text -> integer Wh (half-even beyond 3 decimals).

    Only ASCII digits with at most one decimal point (or comma when ``decimal_comma``) and a
    leading ``-`` are numbers here: no exponent, digit groups, ``_``, other scripts' digits, NaN or
    infinity. ValueError says what is wrong.
    """
    raw = text.strip()
    if not _PLAIN_DECIMAL.fullmatch(raw) or ("," in raw and not decimal_comma):
        raise ValueError(f"not a plain decimal number: {text[:40]!r}: {PLAIN_DECIMAL_HELP}")
    negative = raw.startswith("-")
    whole, _, frac = raw.lstrip("-").replace(",", ".").partition(".")
    whole = whole.lstrip("0") or "0"
    if len(whole) > MAX_KWH_DIGITS:
        raise ValueError(f"kWh value {text[:20]!r}... has {len(whole)} digits before the decimal point "
                         f"(at most {MAX_KWH_DIGITS}): is this the right column?")  # fmt: skip
    if len(frac) > MAX_DECIMALS:
        raise ValueError(f"kWh value {text[:30]!r}... has {len(frac)} decimals (at most {MAX_DECIMALS})")
    wh = int(whole) * 1000 + int((frac + "000")[:3])
    rest = frac[3:]
    if rest and (rest[0] > "5" or (rest[0] == "5" and (rest[1:].strip("0") or wh % 2))):
        wh += 1  # half-even
    return -wh if negative else wh


def format_kwh(wh: int) -> str:
    """Integer Wh -> exact kWh text with 3 decimals."""
    sign = "-" if wh < 0 else ""
    whole, frac = divmod(abs(int(wh)), 1000)
    return f"{sign}{whole}.{frac:03d}"


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


def detect_format(header: Sequence[str]) -> str:
    """``sharing`` | ``gateway`` | ``dso`` from a lower-cased header."""
    if all(c in header for c in DATA_HEADER):
        return "sharing"
    gateway_columns = ("start", "import_kwh", "export_kwh")
    if all(c in header for c in gateway_columns) and ("ean" in header or "meter_id" in header):
        return "gateway"
    if all(c in header for c in ("start", "ean", "register", "kwh")):
        return "dso"
    raise InputError(
        "unrecognised data header: expected start,ean,consumption_kwh,injection_kwh (sharing), "
        "start,...,import_kwh,export_kwh with ean or meter_id (gateway) or start;ean;register;kwh"
        f" (DSO); got {list(header)}"
    )


def read_data(
    path: Path | str,
    community: Community,
    *,
    start_ts: int | None = None,
    end_ts: int | None = None,
    tz: str = DEFAULT_TZ,
) -> Dataset:
    """Read a data CSV in any supported format into a complete grid (rows in [start, end))."""
    path = Path(path)
    header, rows, delimiter = _open_rows(path)
    try:
        fmt = detect_format(header)
    except InputError as exc:
        raise InputError(f"{path}:1: {exc}") from None
    col = {name: i for i, name in enumerate(header)}
    n_members = len(community.members)
    records: list[tuple[int, int, int, int, int]] = []  # ts, member, cons, inj, line
    seen: dict[tuple[int, int, str], int] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise InputError(f"{where(path, line, 1)}: expected {len(header)} fields ({delimiter!r} "
                             f"separated, as the header), got {len(row)}")  # fmt: skip
        try:
            ts = parse_start(row[col["start"]])
        except ValueError as exc:
            hint = "write ISO 8601 with offset, e.g. 2026-03-01T00:15:00+01:00"
            raise _field_error(path, line, row, delimiter, col["start"], f"{exc} ({hint})") from None
        if (start_ts is not None and ts < start_ts) or (end_ts is not None and ts >= end_ts):
            continue
        try:
            member = _member_of(row, col, community, fmt)
        except ValueError as exc:
            field = col["ean"] if "ean" in col else col["meter_id"]
            raise _field_error(path, line, row, delimiter, field, str(exc)) from None
        if fmt == "dso":
            register = row[col["register"]].strip().lower()
            amount = _kwh_field(path, line, row, delimiter, col["kwh"])
            if register in CONSUMPTION_REGISTERS:
                cons, inj = amount, 0
            elif register in INJECTION_REGISTERS:
                cons, inj = 0, amount
            else:
                raise _field_error(path, line, row, delimiter, col["register"],
                                   f"unknown register {register!r}")  # fmt: skip
        else:
            names = ("consumption_kwh", "injection_kwh") if fmt == "sharing" else ("import_kwh", "export_kwh")
            register = ""
            cons = _kwh_field(path, line, row, delimiter, col[names[0]])
            inj = _kwh_field(path, line, row, delimiter, col[names[1]])
        if cons < 0 or inj < 0:
            raise InputError(f"{where(path, line, 1)}: negative energy is not allowed (offtake and "
                             "injection are separate columns, both positive)")  # fmt: skip
        dup_key = (ts, member, register)
        if dup_key in seen:
            raise InputError(
                f"{where(path, line, 1)}: duplicate quarter-hour {row[col['start']].strip()} for EAN "
                f"{community.members[member].ean} (first on line {seen[dup_key]}): keep one of them"
            )
        seen[dup_key] = line
        records.append((ts, member, cons, inj, line))
    if not records:
        raise InputError(f"{path}: no quarter-hours in the selected period")
    first = start_ts if start_ts is not None else min(r[0] for r in records)
    last_end = end_ts if end_ts is not None else max(r[0] for r in records) + QUARTER_S
    if first % QUARTER_S or last_end % QUARTER_S:
        raise InputError(f"{path}: --from/--to must be on quarter-hour boundaries")
    grid = Grid(first, (last_end - first) // QUARTER_S, tz)
    arr = np.array(records, dtype=np.int64)
    rows_idx = (arr[:, 0] - first) // QUARTER_S
    consumption = np.zeros((grid.count, n_members), dtype=np.int64)
    injection = np.zeros((grid.count, n_members), dtype=np.int64)
    present = np.zeros((grid.count, n_members), dtype=bool)
    np.add.at(consumption, (rows_idx, arr[:, 1]), arr[:, 2])
    np.add.at(injection, (rows_idx, arr[:, 1]), arr[:, 3])
    present[rows_idx, arr[:, 1]] = True
    if not present.all():
        missing_rows, missing_cols = np.nonzero(~present)
        examples = "; ".join(
            f"EAN {community.members[int(c)].ean} at {grid.iso(int(r))}"
            for r, c in zip(missing_rows[:5], missing_cols[:5], strict=True)
        )
        raise InputError(
            f"{path}: {missing_rows.size} missing quarter-hours between {grid.iso(0)} and "
            f"{grid.iso(grid.count - 1)} (first: {examples})"
        )
    return Dataset(grid, consumption, injection)


def _kwh_field(path: Path, line: int, row: list[str], delimiter: str, index: int) -> int:
    try:
        return parse_kwh(row[index], decimal_comma=delimiter == ";")
    except ValueError as exc:
        raise _field_error(path, line, row, delimiter, index, str(exc)) from None


def _member_of(row: list[str], col: dict[str, int], community: Community, fmt: str) -> int:
    """The member column of a row; ValueError (the caller adds where) when unknown."""
    ean = row[col["ean"]].strip() if "ean" in col else ""
    if ean:
        if ean not in community.by_ean:
            raise ValueError(
                f"unknown EAN {ean[:40]} (not in the members file: add the member or fix the EAN)"
            )
        return community.by_ean[ean]
    if fmt == "gateway" and "meter_id" in col:
        meter_id = row[col["meter_id"]].strip()
        if meter_id in community.by_meter_id:
            return community.by_meter_id[meter_id]
        raise ValueError(f"unknown meter_id {meter_id[:40]!r} (add it to the members file's meter_id column)")
    raise ValueError("row has no EAN")
