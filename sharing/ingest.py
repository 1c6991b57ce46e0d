"""Quarter-hour data files -> columnar frames (polars), in bounded batches, with file:line:column errors.

Strategy: the format is recognised from the header (or Parquet's magic bytes): the sharing contract
``start,ean,consumption_kwh,injection_kwh``, the gateway's quarter-hour CSV (``start``,
``import_kwh``, ``export_kwh`` and ``ean`` or ``meter_id``), a DSO long format
``start;ean;register;kwh`` and the Fluvius export (``Van Datum;Van Tijdstip;...;Register;Volume``).
CSV bytes come from :func:`sharing.textfile.chunks` (bounded lines, encoding decided, no binary) and
each chunk is read by polars as one text column per line, so line numbers are exact; fields are split
and validated with vectorised regexes: plain decimals only, converted exactly to integer Wh (half-even
beyond three decimals). Rows that fail are not emitted; they are counted in :class:`Problems`, which
keeps the first lines of each kind and raises one :class:`InputError` naming them at the end.

Public API (also for other packages reading the same inputs)::

    load_quarter_hours(path, tz="Europe/Brussels") -> polars.DataFrame
    iter_quarter_hours(path, tz=..., problems=None) -> Iterator[polars.DataFrame]  # batches

Frame columns: ``line`` (Int64, 1-based line; row number for Parquet), ``ean`` (String, null when
a gateway row only has a meter id), ``meter_id`` (String or null), ``start_ts`` (Int64, Unix seconds
of the quarter-hour start), ``register`` (String or null: the DSO/Fluvius register as written, e.g.
``Afname Nacht``), ``consumption_wh`` and ``injection_wh`` (Int64, one of them 0 on register
rows), ``member`` (Int32: the row's index in ``members``, the EAN/meter id -> index mapping a
caller may pass; rows not in it are bad rows; null when no mapping was given).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from metering.quarter_hours import QUARTER_S
from sharing.clock import DEFAULT_TZ
from sharing.csvio import MAX_DECIMALS, MAX_KWH_DIGITS, PLAIN_DECIMAL_HELP
from sharing.textfile import MAX_LINE_BYTES, Chunk, InputError, chunks, where

ABSURD_KWH_PER_QUARTER = 10_000  # 40 MW for a quarter-hour: far beyond any community member
EXAMPLES = 5
DERIVED = "missing quarter-hours"

CONSUMPTION_REGISTERS = frozenset(
    {"consumption", "offtake", "import", "afname", "prelevement", "prélèvement",
     "afname dag", "afname nacht",
     "1.8.0", "1.8.1", "1.8.2", "1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2"}
)  # fmt: skip
INJECTION_REGISTERS = frozenset(
    {"injection", "export", "injectie", "injectie dag", "injectie nacht",
     "2.8.0", "2.8.1", "2.8.2", "1-0:2.8.0", "1-0:2.8.1", "1-0:2.8.2"}
)  # fmt: skip
FRAME_SCHEMA = {
    "line": pl.Int64,
    "ean": pl.String,
    "meter_id": pl.String,
    "start_ts": pl.Int64,
    "register": pl.String,
    "consumption_wh": pl.Int64,
    "injection_wh": pl.Int64,
    "member": pl.Int32,
}
FLUVIUS_COLUMNS = ("van datum", "van tijdstip", "ean", "register", "volume")
PARQUET_MAGIC = b"PAR1"


@dataclass
class _Kind:
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Problems:
    """Bad rows by kind: a count and the first :data:`EXAMPLES` ``file:line:column: message``."""

    kinds: dict[str, _Kind] = field(default_factory=dict)

    def add(self, kind: str, count: int, examples: list[str]) -> None:
        entry = self.kinds.setdefault(kind, _Kind())
        entry.count += count
        entry.examples += examples[: EXAMPLES - len(entry.examples)]

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def message(self, path: Path | str) -> str:
        total = sum(k.count for k in self.kinds.values())
        lines = [f"{path}: {total} problem(s) in the data:"]
        derived = [k for k in self.kinds if k.startswith(DERIVED)]
        for kind, entry in self.kinds.items():
            if kind in derived and len(derived) < len(self.kinds):  # mostly the bad rows' own cells
                lines.append(f"  and {entry.count} {kind} (some for the rows above)")
                continue
            lines += entry.examples
            if entry.count > len(entry.examples):
                lines.append(f"  ... {entry.count} rows in all: {kind}")
        return "\n".join(lines)

    def raise_if_any(self, path: Path | str) -> None:
        if self:
            raise InputError(self.message(path))


@dataclass(frozen=True)
class Layout:
    """A data file's format, field separator and lower-cased header."""

    fmt: str
    delimiter: str
    header: tuple[str, ...]

    def index(self, name: str) -> int:
        return self.header.index(name)


def _clean_header(cell: str) -> str:
    return cell.strip().strip('"').strip().lower()


def detect_layout(path: Path, first_line: str) -> Layout:
    """The :class:`Layout` from a file's first line; InputError naming line 1 otherwise."""
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = tuple(_clean_header(c) for c in first_line.rstrip("\r\n").split(delimiter))
    if all(c in header for c in ("start", "ean", "consumption_kwh", "injection_kwh")):
        return Layout("sharing", delimiter, header)
    if all(c in header for c in ("start", "import_kwh", "export_kwh")) and (
        "ean" in header or "meter_id" in header
    ):
        return Layout("gateway", delimiter, header)
    if all(c in header for c in ("start", "ean", "register", "kwh")):
        return Layout("dso", delimiter, header)
    if all(c in header for c in FLUVIUS_COLUMNS):
        return Layout("fluvius", delimiter, header)
    raise InputError(
        f"{where(path, 1, 1)}: unrecognised data header: expected start,ean,consumption_kwh,"
        "injection_kwh (sharing), start,...,import_kwh,export_kwh with ean or meter_id (gateway), "
        "start;ean;register;kwh (DSO), the Fluvius export (Van Datum;Van Tijdstip;...;EAN;...;"
        f"Register;Volume;...) or a Parquet file; got {list(header)[:12]}"
    )


def _text(name: str) -> pl.Expr:
    """A field without surrounding blanks, quotes or the spreadsheet guard ``="..."``."""
    return pl.col(name).str.strip_chars(' \t="')


def kwh_to_wh(text: pl.Expr, decimal_comma: bool) -> tuple[pl.Expr, pl.Expr]:
    """(integer Wh, problem text or null) of plain decimal kWh text, exactly, half-even."""
    pattern = r"^-?[0-9]+(?:[.,][0-9]+)?$" if decimal_comma else r"^-?[0-9]+(?:\.[0-9]+)?$"
    body = text.str.strip_prefix("-").str.replace(",", ".", literal=True)
    parts = body.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").str.strip_chars_start("0")
    frac = parts.struct.field("field_1").fill_null("")
    base = whole.cast(pl.Int64, strict=False).fill_null(0) * 1000 + (frac + "000").str.slice(0, 3).cast(
        pl.Int64, strict=False
    )
    rest = frac.str.slice(3)
    first = rest.str.slice(0, 1)
    up = (first > "5") | ((first == "5") & (rest.str.slice(1).str.contains("[1-9]") | (base % 2 == 1)))
    magnitude = base + up.cast(pl.Int64)
    wh = pl.when(text.str.starts_with("-")).then(-magnitude).otherwise(magnitude)
    problem = (
        pl.when(text.is_null() | (text == ""))
        .then(pl.lit("empty kWh value"))
        .when(~text.str.contains(pattern))
        .then(pl.lit(f"not a plain decimal number: {PLAIN_DECIMAL_HELP}"))
        .when(whole.str.len_chars() > MAX_KWH_DIGITS)
        .then(
            pl.lit(
                f"kWh value has more than {MAX_KWH_DIGITS} digits before the decimal point: "
                "is this the right column?"
            )
        )
        .when(frac.str.len_chars() > MAX_DECIMALS)
        .then(pl.lit(f"kWh value has more than {MAX_DECIMALS} decimals"))
        .when(text.str.starts_with("-"))
        .then(pl.lit("negative energy is not allowed (offtake and injection are separate, both positive)"))
        .when(magnitude > ABSURD_KWH_PER_QUARTER * 1000)
        .then(
            pl.lit(
                f"more than {ABSURD_KWH_PER_QUARTER} kWh in one quarter-hour is absurd: check the "
                "unit (kWh, not Wh)"
            )
        )
    )
    return wh, problem


_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})$"
_ISO_NAIVE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?$"
START_HELP = "write ISO 8601 with offset, e.g. 2026-03-01T00:15:00+01:00"


def iso_start(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(Unix seconds, problem text or null) of ISO 8601 start times with an offset."""
    normal = text.str.replace("Z$", "+00:00").str.replace(" ", "T", literal=True)
    ts = normal.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", strict=False, time_unit="us").dt.epoch("s")
    problem = (
        pl.when(text.str.contains(_ISO_NAIVE))
        .then(pl.lit(f"start has no UTC offset ({START_HELP})"))
        .when(~text.str.contains(_ISO) | ts.is_null())
        .then(pl.lit(f"start is not an ISO 8601 time ({START_HELP})"))
        .when(ts % QUARTER_S != 0)
        .then(pl.lit("start is not on a quarter-hour boundary (:00, :15, :30, :45)"))
    )
    return ts, problem


def _field_columns(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


def _split(frame: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Lines -> one text column per header field plus ``n_fields`` (blank lines dropped)."""
    n = len(layout.header)
    lines = pl.col("text").str.strip_suffix("\r")
    split = frame.filter(lines.str.strip_chars() != "").with_columns(
        lines.str.split_exact(layout.delimiter, n).alias("parts"),
        (lines.str.count_matches(layout.delimiter, literal=True) + 1).alias("n_fields"),
    )
    fields = pl.col("parts").struct
    return split.select(
        "line", "text", "n_fields", *[fields.field(f"field_{i}").alias(f"f{i}") for i in range(n)]
    )


def _column_of(row: dict[str, object], layout: Layout, index: int) -> int:
    text = str(row["text"])
    column = 1
    for part in text.split(layout.delimiter)[:index]:
        column += len(part) + 1
    return column


def report(
    problems: Problems,
    path: Path,
    layout: Layout,
    bad: pl.DataFrame,
    kind_column: str,
    field_index: dict[str, int],
    value_column: str | None = None,
) -> None:
    """Add rows of ``bad`` (with ``line``, ``text`` and a problem column) to ``problems``."""
    if "text" not in bad.columns:  # read by the fast path: the line is its fields joined again
        fields = [pl.col(c).fill_null("") for c in _field_columns(len(layout.header))]
        bad = bad.with_columns(text=pl.concat_str(fields, separator=layout.delimiter))
    for (kind,), group in bad.group_by(kind_column, maintain_order=True):
        first = group.sort("line").head(EXAMPLES).to_dicts()
        examples = []
        for row in first:
            index = field_index.get(str(kind), 0)
            value = f": {str(row[value_column])[:40]!r}" if value_column and row.get(value_column) else ""
            examples.append(f"{where(path, int(row['line']), _column_of(row, layout, index))}: {kind}{value}")
        problems.add(str(kind), group.height, examples)


@dataclass(frozen=True)
class Members:
    """Who may appear in the data: EAN -> member index, and meter id -> member index."""

    by_ean: dict[str, int]
    by_meter_id: dict[str, int] = field(default_factory=dict)


def _fields(chunk: Chunk, layout: Layout) -> pl.DataFrame:
    """A chunk's lines as ``line``, ``n_fields`` and one text column per header field.

    Fast path: polars' own CSV reader, when the chunk cannot make it lose track of lines (no quote,
    no blank line, exactly ``fields - 1`` separators per line on average and no line with more, which
    it refuses). Otherwise each line is read whole and split, which names any wrong line exactly.
    """
    n = len(layout.header)
    names = _field_columns(n)
    if (
        b'"' not in chunk.text
        and not chunk.blank_lines
        and chunk.text.count(layout.delimiter.encode()) == chunk.lines * (n - 1)
    ):
        try:
            frame = pl.read_csv(
                chunk.text, separator=layout.delimiter, has_header=False, quote_char=None,
                schema=dict.fromkeys(names, pl.String),
            )  # fmt: skip
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and frame.height == chunk.lines:
            return frame.with_columns(
                pl.col(names).fill_null(""),
                line=pl.int_range(chunk.first_line, chunk.first_line + frame.height, dtype=pl.Int64),
                n_fields=pl.lit(n, pl.UInt32),
            )
    return _split(_lines_frame(chunk), layout)


def _parse_lines(
    chunk: Chunk, path: Path, layout: Layout, tz: str, problems: Problems, members: Members | None
) -> pl.DataFrame:
    """One chunk of lines -> the frame of :data:`FRAME_SCHEMA`."""
    n = len(layout.header)
    split = _fields(chunk, layout)
    decimal_comma = layout.delimiter == ";"
    count_problem = (
        f"expected {n} fields ({layout.delimiter!r} separated, as the header; no separator inside quotes)"
    )
    wrong = split.filter(pl.col("n_fields") != n)
    if wrong.height:
        report(problems, path, layout, wrong.with_columns(pl.lit(count_problem).alias("p")), "p", {})
        split = split.filter(pl.col("n_fields") == n)
    col = {name: f"f{i}" for i, name in enumerate(layout.header)}
    checks: list[tuple[pl.Expr, int, str]] = []  # (problem, field index, value column)
    values: dict[str, pl.Expr] = {"line": pl.col("line")}
    if layout.fmt == "fluvius":
        return _parse_fluvius(split, path, layout, tz, problems, members)
    start = col["start"]
    ts, ts_problem = iso_start(_text(start))
    split = _per_run(split, start, {"_ts": ts, "_ts_problem": ts_problem})
    values["start_ts"] = pl.col("_ts")
    checks.append((pl.col("_ts_problem"), layout.index("start"), start))
    for name in ("ean", "meter_id"):
        values[name] = _text(col[name]) if name in col else pl.lit(None, pl.String)
    if layout.fmt == "dso":
        register = _text(col["register"])
        split = _kwh_columns(split, col["kwh"], "_kwh", decimal_comma)
        lower = register.str.to_lowercase()
        is_cons = lower.is_in(list(CONSUMPTION_REGISTERS))
        is_inj = lower.is_in(list(INJECTION_REGISTERS))
        values["register"] = register
        values["consumption_wh"] = pl.when(is_cons).then(pl.col("_kwh")).otherwise(0)
        values["injection_wh"] = pl.when(is_inj).then(pl.col("_kwh")).otherwise(0)
        checks.append((pl.col("_kwh_problem"), layout.index("kwh"), col["kwh"]))
        unknown = pl.when(~is_cons & ~is_inj).then(pl.lit("unknown register (use e.g. offtake or injection)"))
        checks.append((unknown, layout.index("register"), col["register"]))
    else:
        names = (
            ("consumption_kwh", "injection_kwh") if layout.fmt == "sharing" else ("import_kwh", "export_kwh")
        )
        values["register"] = pl.lit(None, pl.String)
        for name, out in zip(names, ("consumption_wh", "injection_wh"), strict=True):
            split = _kwh_columns(split, col[name], f"_{out}", decimal_comma)
            values[out] = pl.col(f"_{out}")
            checks.append((pl.col(f"_{out}_problem"), layout.index(name), col[name]))
    _member_check(values, checks, layout, col, members)
    return _finish(split, values, checks, path, layout, problems)


def _per_run(frame: pl.DataFrame, column: str, outputs: dict[str, pl.Expr]) -> pl.DataFrame:
    """Add ``outputs`` computed once per run of equal values of ``column``: start times come in runs
    (every member's row of a quarter-hour in turn), so a year is parsed 35,040 times, not once per
    row; data in any other order is still right, only slower."""
    runs = frame.select(pl.col(column).rle().struct.field("value").alias(column)).with_columns(**outputs)
    ids = frame.select(pl.col(column).rle_id()).to_series()
    return frame.with_columns(**{name: runs[name].gather(ids) for name in outputs})


def _kwh_columns(frame: pl.DataFrame, column: str, out: str, decimal_comma: bool) -> pl.DataFrame:
    """Add ``out`` (Wh) and ``out_problem`` for a kWh field. Readings with exactly three decimals
    (how meters, the gateway and most exports write them) are the digits without the point; only
    the other rows go through the full plain-decimal parse."""
    text = pl.col(column)
    point = r"[.,]" if decimal_comma else r"\."
    fast = text.str.contains(rf"^[0-9]{{1,{MAX_KWH_DIGITS}}}{point}[0-9]{{3}}$")
    digits = text.str.replace(point, "") if decimal_comma else text.str.replace(".", "", literal=True)
    frame = frame.with_columns(
        pl.when(fast).then(digits.cast(pl.Int64, strict=False)).alias(out),
        pl.lit(None, pl.String).alias(f"{out}_problem"),
    )
    if frame.select(pl.col(out).null_count()).item():  # some readings are not in the usual form
        wh, problem = kwh_to_wh(_text(column), decimal_comma)
        fixed = frame.filter(pl.col(out).is_null()).select(
            "line", wh.alias(out), problem.alias(f"{out}_problem")
        )
        frame = frame.update(fixed, on="line")
    return frame


def _member_check(
    values: dict[str, pl.Expr],
    checks: list[tuple[pl.Expr, int, str]],
    layout: Layout,
    col: dict[str, str],
    members: Members | None,
) -> None:
    """Add ``member`` (index in ``members``) and the unknown-member check."""
    if members is None:
        values["member"] = pl.lit(None, pl.Int32)
        return
    by_ean = pl.lit(None, pl.Int32)
    if "ean" in col:
        by_ean = values["ean"].replace_strict(members.by_ean, default=None, return_dtype=pl.Int32)
    member = by_ean
    if "meter_id" in col:
        by_meter = values["meter_id"].replace_strict(members.by_meter_id, default=None, return_dtype=pl.Int32)
        member = pl.when((values["ean"].is_null()) | (values["ean"] == "")).then(by_meter).otherwise(by_ean)
    values["member"] = member
    name = "ean" if "ean" in col else "meter_id"
    problem = pl.when(member.is_null()).then(
        pl.lit("unknown EAN or meter id (not in the members file: add the member or fix the EAN)")
    )
    checks.append((problem, layout.index(name), col[name]))


def _finish(
    split: pl.DataFrame,
    values: dict[str, pl.Expr],
    checks: list[tuple[pl.Expr, int, str]],
    path: Path,
    layout: Layout,
    problems: Problems,
) -> pl.DataFrame:
    problem_names = [f"p{i}" for i in range(len(checks))]
    parsed = split.with_columns(
        *[problem.alias(name) for (problem, _, _), name in zip(checks, problem_names, strict=True)]
    )
    any_problem = pl.any_horizontal(pl.col(problem_names).is_not_null()) if checks else pl.lit(False)
    result = parsed.select(**values, _bad=any_problem)
    if result.select(pl.col("_bad").any()).item():  # the rare path: name the bad rows
        bad = parsed.filter(result["_bad"])
        for (_, index, value_column), name in zip(checks, problem_names, strict=True):
            rows = bad.filter(pl.col(name).is_not_null())
            if rows.height:
                kinds = rows.select(pl.col(name).unique()).to_series().to_list()
                report(problems, path, layout, rows, name, dict.fromkeys(kinds, index), value_column)
        result = result.filter(~pl.col("_bad"))
    return result.select(
        [pl.col(c).cast(t) if c in values else pl.lit(None, t).alias(c) for c, t in FRAME_SCHEMA.items()]
    )


def _parse_fluvius(
    split: pl.DataFrame, path: Path, layout: Layout, tz: str, problems: Problems, members: Members | None
) -> pl.DataFrame:
    """Fluvius: local ``dd-mm-yyyy`` + ``HH:MM:SS`` (a repeated autumn hour is told apart by its
    order in the file), ``="EAN"``, decimal comma, ``Geen verbruik`` rows with an empty volume."""
    col = {name: f"f{i}" for i, name in enumerate(layout.header)}
    local_text = _text(col["van datum"]) + " " + _text(col["van tijdstip"])
    local = local_text.str.to_datetime("%d-%m-%Y %H:%M:%S", strict=False, time_unit="us")
    ean, register = _text(col["ean"]), _text(col["register"])
    meter = _text(col["meter"]) if "meter" in col else pl.lit("")
    occurrence = pl.int_range(pl.len()).over(ean, meter, register, local)
    zoned = local.dt.replace_time_zone(
        tz,
        ambiguous=pl.when(occurrence == 0).then(pl.lit("earliest")).otherwise(pl.lit("latest")),
        non_existent="null",
    )
    ts = zoned.dt.epoch("s")
    status = _text(col["validatiestatus"]) if "validatiestatus" in col else pl.lit("")
    volume = _text(col["volume"])
    no_use = (volume == "") & status.str.to_lowercase().str.starts_with("geen verbruik")
    amount, amount_problem = kwh_to_wh(pl.when(no_use).then(pl.lit("0")).otherwise(volume), True)
    lower = register.str.to_lowercase()
    is_cons = lower.is_in(list(CONSUMPTION_REGISTERS))
    is_inj = lower.is_in(list(INJECTION_REGISTERS))
    time_problem = (
        pl.when(local.is_null())
        .then(pl.lit("not a dd-mm-yyyy date and HH:MM:SS time"))
        .when(ts.is_null())
        .then(pl.lit("this local time does not exist (the spring DST change skips 02:00-03:00)"))
        .when(ts % QUARTER_S != 0)
        .then(pl.lit("not on a quarter-hour boundary"))
    )
    unit = _text(col["eenheid"]).str.to_lowercase() if "eenheid" in col else pl.lit("kwh")
    checks = [
        (time_problem, layout.index("van tijdstip"), col["van tijdstip"]),
        (amount_problem, layout.index("volume"), col["volume"]),
        (pl.when(~is_cons & ~is_inj).then(pl.lit("unknown register (Afname/Injectie Dag/Nacht expected)")),
         layout.index("register"), col["register"]),
        (pl.when(unit != "kwh").then(pl.lit("unit is not kWh")),
         layout.index("eenheid") if "eenheid" in col else 0, col.get("eenheid", "f0")),
    ]  # fmt: skip
    values = {
        "line": pl.col("line"),
        "ean": ean,
        "meter_id": meter,
        "start_ts": ts,
        "register": register,
        "consumption_wh": pl.when(is_cons).then(amount).otherwise(0),
        "injection_wh": pl.when(is_inj).then(amount).otherwise(0),
    }
    _member_check(values, checks, layout, {"ean": col["ean"]}, members)
    return _finish(split, values, checks, path, layout, problems)


def _lines_frame(chunk: Chunk) -> pl.DataFrame:
    frame = pl.read_csv(
        chunk.text, separator="\x1f", has_header=False, quote_char=None, schema={"text": pl.String}
    )
    return frame.with_columns(
        text=pl.col("text").fill_null(""),
        line=pl.int_range(chunk.first_line, chunk.first_line + frame.height, dtype=pl.Int64),
    )


def is_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def iter_quarter_hours(
    path: Path | str,
    *,
    tz: str = DEFAULT_TZ,
    members: Members | None = None,
    problems: Problems | None = None,
    chunk_bytes: int = 32 << 20,
    on_bytes: Callable[[int, int], None] | None = None,
) -> Iterator[pl.DataFrame]:
    """Batches of a data file as frames of :data:`FRAME_SCHEMA`, in file order.

    Bad rows are left out and added to ``problems``; without a ``problems`` of the caller's, an
    :class:`InputError` listing them is raised after the last batch. Hostile bytes (binary, overlong
    lines, wrong encoding) raise at once.
    """
    path = Path(path)
    own = problems is None
    problems = Problems() if problems is None else problems
    if path.is_dir() or is_parquet(path):
        from sharing.parquetio import iter_parquet

        yield from iter_parquet(path, problems, members)
    else:
        yield from _iter_csv(path, tz, problems, members, chunk_bytes, on_bytes)
    if own:
        problems.raise_if_any(path)


def _iter_csv(
    path: Path,
    tz: str,
    problems: Problems,
    members: Members | None,
    chunk_bytes: int,
    on_bytes: Callable[[int, int], None] | None,
) -> Iterator[pl.DataFrame]:
    layout: Layout | None = None
    held: list[Chunk] = []
    size, done = path.stat().st_size, 0
    for _, chunk in chunks(path, chunk_bytes):
        done += len(chunk.text)
        if on_bytes is not None:
            on_bytes(min(done, size), size)
        if layout is None:
            end = chunk.text.find(b"\n")
            first = chunk.text[: end if end >= 0 else MAX_LINE_BYTES].decode("utf-8")
            layout = detect_layout(path, first)
            chunk = Chunk(chunk.text[end + 1 :] if end >= 0 else b"", 2, chunk.lines - 1, chunk.blank_lines)
            if not chunk.text:
                continue
        if layout.fmt == "fluvius":  # one household's file: its repeated autumn hour stays in one batch
            held.append(chunk)
            continue
        yield _parse_lines(chunk, path, layout, tz, problems, members)
    if layout is None:
        raise InputError(f"{path}: empty file (expected a header line)")
    if held:
        whole = Chunk(b"".join(c.text for c in held), held[0].first_line, sum(c.lines for c in held), [])
        yield _parse_lines(whole, path, layout, tz, problems, members)


def load_quarter_hours(
    path: Path | str, *, tz: str = DEFAULT_TZ, members: Members | None = None
) -> pl.DataFrame:
    """A whole data file (any supported format, recognised by its header) as one frame of
    :data:`FRAME_SCHEMA`; raises :class:`InputError` listing bad rows by file, line and column."""
    frames = list(iter_quarter_hours(path, tz=tz, members=members))
    if not frames:
        return pl.DataFrame(schema=FRAME_SCHEMA)
    return pl.concat(frames)
