"""Text fields -> exact values, as vectorised polars expressions paired with the problem text of each row
that fails: plain-decimal kWh -> integer Wh (half-even beyond three decimals), ISO 8601 starts -> Unix
seconds on a quarter-hour."""

from __future__ import annotations

import polars as pl

from metering.quarter_hours import QUARTER_S
from sharing.kwh import MAX_DECIMALS, MAX_KWH_DIGITS, PLAIN_DECIMAL_HELP

ABSURD_KWH_PER_QUARTER = 10_000  # 40 MW for a quarter-hour: far beyond any community member


def field_text(name: str) -> pl.Expr:
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


def per_run(frame: pl.DataFrame, column: str, outputs: dict[str, pl.Expr]) -> pl.DataFrame:
    """Add ``outputs`` computed once per run of equal values of ``column``: start times come in runs
    (every member's row of a quarter-hour in turn), so a year is parsed 35,040 times, not once per
    row; data in any other order is still right, only slower."""
    runs = frame.select(pl.col(column).rle().struct.field("value").alias(column)).with_columns(**outputs)
    ids = frame.select(pl.col(column).rle_id()).to_series()
    return frame.with_columns(**{name: runs[name].gather(ids) for name in outputs})


def kwh_columns(frame: pl.DataFrame, column: str, out: str, decimal_comma: bool) -> pl.DataFrame:
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
        wh, problem = kwh_to_wh(field_text(column), decimal_comma)
        fixed = frame.filter(pl.col(out).is_null()).select(
            "line", wh.alias(out), problem.alias(f"{out}_problem")
        )
        frame = frame.update(fixed, on="line")
    return frame
