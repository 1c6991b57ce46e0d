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

This module reads the lines (fast CSV path or line by line) and joins the parts: the formats and frame
schema (:mod:`sharing.ingest_formats`), the field converters (:mod:`sharing.ingest_fields`) and the
problem report (:mod:`sharing.ingest_problems`); it names their public names too.

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
from pathlib import Path

import polars as pl

from metering.quarter_hours import QUARTER_S
from sharing.clock import DEFAULT_TZ
from sharing.ingest_fields import (
    ABSURD_KWH_PER_QUARTER,
    field_text,
    iso_start,
    kwh_columns,
    kwh_to_wh,
    per_run,
)
from sharing.ingest_formats import (
    CONSUMPTION_REGISTERS,
    FRAME_SCHEMA,
    INJECTION_REGISTERS,
    Layout,
    Members,
    detect_layout,
    field_columns,
    is_parquet,
    member_index,
)
from sharing.ingest_problems import DERIVED, EXAMPLES, Problems, report
from sharing.textfile import MAX_LINE_BYTES, Chunk, InputError, chunks

__all__ = [
    "ABSURD_KWH_PER_QUARTER",
    "DERIVED",
    "EXAMPLES",
    "FRAME_SCHEMA",
    "InputError",
    "Layout",
    "Members",
    "Problems",
    "detect_layout",
    "iso_start",
    "iter_quarter_hours",
    "kwh_to_wh",
    "load_quarter_hours",
]


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


def _fields(chunk: Chunk, layout: Layout) -> pl.DataFrame:
    """A chunk's lines as ``line``, ``n_fields`` and one text column per header field.

    Fast path: polars' own CSV reader, when the chunk cannot make it lose track of lines (no quote,
    no blank line, exactly ``fields - 1`` separators per line on average and no line with more, which
    it refuses). Otherwise each line is read whole and split, which names any wrong line exactly.
    """
    n = len(layout.header)
    names = field_columns(n)
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
    ts, ts_problem = iso_start(field_text(start))
    split = per_run(split, start, {"_ts": ts, "_ts_problem": ts_problem})
    values["start_ts"] = pl.col("_ts")
    checks.append((pl.col("_ts_problem"), layout.index("start"), start))
    for name in ("ean", "meter_id"):
        values[name] = field_text(col[name]) if name in col else pl.lit(None, pl.String)
    if layout.fmt == "dso":
        register = field_text(col["register"])
        split = kwh_columns(split, col["kwh"], "_kwh", decimal_comma)
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
            split = kwh_columns(split, col[name], f"_{out}", decimal_comma)
            values[out] = pl.col(f"_{out}")
            checks.append((pl.col(f"_{out}_problem"), layout.index(name), col[name]))
    _member_check(values, checks, layout, col, members)
    return _finish(split, values, checks, path, layout, problems)


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
        by_ean = member_index(values["ean"], members.by_ean)
    member = by_ean
    if "meter_id" in col:
        by_meter = member_index(values["meter_id"], members.by_meter_id)
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
    local_text = field_text(col["van datum"]) + " " + field_text(col["van tijdstip"])
    local = local_text.str.to_datetime("%d-%m-%Y %H:%M:%S", strict=False, time_unit="us")
    ean, register = field_text(col["ean"]), field_text(col["register"])
    meter = field_text(col["meter"]) if "meter" in col else pl.lit("")
    occurrence = pl.int_range(pl.len()).over(ean, meter, register, local)
    zoned = local.dt.replace_time_zone(
        tz,
        ambiguous=pl.when(occurrence == 0).then(pl.lit("earliest")).otherwise(pl.lit("latest")),
        non_existent="null",
    )
    ts = zoned.dt.epoch("s")
    status = field_text(col["validatiestatus"]) if "validatiestatus" in col else pl.lit("")
    volume = field_text(col["volume"])
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
    unit = field_text(col["eenheid"]).str.to_lowercase() if "eenheid" in col else pl.lit("kwh")
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
