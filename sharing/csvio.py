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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from sharing.clock import DEFAULT_TZ, QUARTER_S, Grid, parse_start
from sharing.engine import Role
from sharing.keys import IntArray, pct_to_ppm

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


class InputError(ValueError):
    """Bad input; the message names the file and, where there is one, the line."""


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


def _where(path: Path | str, line: int | None = None) -> str:
    return f"{path}:{line}" if line is not None else str(path)


def parse_kwh(text: str, *, decimal_comma: bool = False) -> int:
    """kWh text -> integer Wh (half-even beyond 3 decimals); ValueError if not a finite number."""
    raw = text.strip()
    if decimal_comma:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return int((value * 1000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_kwh(wh: int) -> str:
    """Integer Wh -> exact kWh text with 3 decimals."""
    sign = "-" if wh < 0 else ""
    whole, frac = divmod(abs(int(wh)), 1000)
    return f"{sign}{whole}.{frac:03d}"


def _valid_ean(ean: str) -> bool:
    return len(ean) == 18 and ean.isdigit()


def _open_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    """(lower-cased header, iterator of (line number, row), delimiter); sniffs ``;`` vs ``,``."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from None
    first = handle.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter), [])]

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            for offset, row in enumerate(csv.reader(handle, delimiter=delimiter)):
                if row and any(cell.strip() for cell in row):
                    yield offset + 2, row

    return header, rows(), delimiter


def read_members(path: Path | str) -> Community:
    """Read ``ean,name,role,weight[,meter_id][,weight_day,weight_night,weight_weekend]``."""
    path = Path(path)
    header, rows, _ = _open_rows(path)
    missing = [c for c in MEMBERS_HEADER if c not in header]
    if missing:
        raise InputError(f"{path}:1: members header lacks {', '.join(missing)} (got {header})")
    col = {name: header.index(name) for name in header}
    has_periods = all(c in col for c in PERIOD_WEIGHT_COLUMNS)
    members: list[Member] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise InputError(f"{_where(path, line)}: expected {len(header)} fields, got {len(row)}")
        ean = row[col["ean"]].strip()
        if not _valid_ean(ean):
            raise InputError(f"{_where(path, line)}: EAN {ean!r} is not 18 digits")
        if ean in seen:
            raise InputError(f"{_where(path, line)}: EAN {ean} already on line {seen[ean]}")
        seen[ean] = line
        try:
            role = Role(row[col["role"]].strip().lower())
        except ValueError:
            raise InputError(
                f"{_where(path, line)}: role {row[col['role']]!r} is not consumer, producer or prosumer"
            ) from None
        try:
            weight = pct_to_ppm(row[col["weight"]] or "0")
            periods = (
                tuple(pct_to_ppm(row[col[c]] or "0") for c in PERIOD_WEIGHT_COLUMNS) if has_periods else None
            )
        except ValueError as exc:
            raise InputError(f"{_where(path, line)}: {exc}") from None
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
    decimal_comma = delimiter == ";"
    n_members = len(community.members)
    records: list[tuple[int, int, int, int, int]] = []  # ts, member, cons, inj, line
    seen: dict[tuple[int, int, str], int] = {}
    for line, row in rows:
        where = _where(path, line)
        if len(row) != len(header):
            raise InputError(f"{where}: expected {len(header)} fields, got {len(row)}")
        try:
            ts = parse_start(row[col["start"]])
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        if (start_ts is not None and ts < start_ts) or (end_ts is not None and ts >= end_ts):
            continue
        member = _member_of(row, col, community, where, fmt)
        try:
            if fmt == "dso":
                register = row[col["register"]].strip().lower()
                amount = parse_kwh(row[col["kwh"]], decimal_comma=decimal_comma)
                if register in CONSUMPTION_REGISTERS:
                    cons, inj = amount, 0
                elif register in INJECTION_REGISTERS:
                    cons, inj = 0, amount
                else:
                    raise ValueError(f"unknown register {register!r}")
            else:
                names = (
                    ("consumption_kwh", "injection_kwh") if fmt == "sharing" else ("import_kwh", "export_kwh")
                )
                register = ""
                cons = parse_kwh(row[col[names[0]]], decimal_comma=decimal_comma)
                inj = parse_kwh(row[col[names[1]]], decimal_comma=decimal_comma)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        if cons < 0 or inj < 0:
            raise InputError(f"{where}: negative energy is not allowed")
        dup_key = (ts, member, register)
        if dup_key in seen:
            raise InputError(
                f"{where}: duplicate quarter-hour {row[col['start']].strip()} for EAN "
                f"{community.members[member].ean} (first on line {seen[dup_key]})"
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


def _member_of(row: list[str], col: dict[str, int], community: Community, where: str, fmt: str) -> int:
    ean = row[col["ean"]].strip() if "ean" in col else ""
    if ean:
        if ean not in community.by_ean:
            raise InputError(f"{where}: unknown EAN {ean} (not in the members file)")
        return community.by_ean[ean]
    if fmt == "gateway" and "meter_id" in col:
        meter_id = row[col["meter_id"]].strip()
        if meter_id in community.by_meter_id:
            return community.by_meter_id[meter_id]
        raise InputError(f"{where}: unknown meter_id {meter_id!r} (add a meter_id column)")
    raise InputError(f"{where}: row has no EAN")
