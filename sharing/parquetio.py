"""Parquet in: quarter-hour data as integer Wh, read in row batches into the ingest frame.

Strategy: a Parquet input is a file or a folder of ``*.parquet`` files (read in name order, e.g. one
per month as ``p1gw share --parquet`` writes them). Columns: ``start`` (a time-zone aware timestamp)
or ``start_ts`` (Unix seconds), ``ean`` (text) and ``consumption_wh``/``injection_wh`` (integers).
Typed columns need no text parsing; values are still checked (nulls, negatives, off-quarter starts,
unknown EANs) and bad rows are named by file, row and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from metering.quarter_hours import QUARTER_S
from sharing.ingest_fields import ABSURD_KWH_PER_QUARTER
from sharing.ingest_formats import FRAME_SCHEMA, Members, member_index
from sharing.ingest_problems import EXAMPLES, Problems
from sharing.textfile import InputError

BATCH_ROWS = 500_000


def parquet_files(path: Path) -> list[Path]:
    """A Parquet input's files: the file itself, or a folder's ``*.parquet`` in name order."""
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise InputError(f"{path}: no *.parquet files in this folder")
    return files


def iter_parquet(path: Path, problems: Problems, members: Members | None) -> Iterator[pl.DataFrame]:
    """Batches of a Parquet input as ingest frames (see :mod:`sharing.ingest`)."""
    for file in parquet_files(path):
        schema = pl.read_parquet_schema(file)
        start = "start" if "start" in schema else "start_ts"
        missing = [c for c in (start, "ean", "consumption_wh", "injection_wh") if c not in schema]
        if missing:
            raise InputError(
                f"{file}: Parquet input lacks column(s) {', '.join(missing)} (has {list(schema)})"
            )
        ts = pl.col(start).dt.epoch("s") if schema[start] != pl.Int64 else pl.col(start)
        member = (
            member_index(pl.col("ean"), members.by_ean) if members is not None else pl.lit(None, pl.Int32)
        )
        offset = 0
        for batch in pl.scan_parquet(file).collect_batches(chunk_size=BATCH_ROWS):
            frame = batch.select(
                line=pl.int_range(offset + 1, offset + 1 + batch.height, dtype=pl.Int64),
                ean=pl.col("ean").cast(pl.String),
                meter_id=pl.lit(None, pl.String),
                start_ts=ts.cast(pl.Int64),
                register=pl.lit(None, pl.String),
                consumption_wh=pl.col("consumption_wh").cast(pl.Int64),
                injection_wh=pl.col("injection_wh").cast(pl.Int64),
            )
            offset += batch.height
            frame = frame.with_columns(member=member)
            energy = ("consumption_wh", "injection_wh")
            checks = {
                start: pl.col("start_ts").is_null() | (pl.col("start_ts") % QUARTER_S != 0),
                "ean": pl.col("ean").is_null() | (pl.col("member").is_null() if members else pl.lit(False)),
                **{
                    c: pl.col(c).is_null() | (pl.col(c) < 0) | (pl.col(c) > ABSURD_KWH_PER_QUARTER * 1000)
                    for c in energy
                },
            }
            flags = frame.select(**{f"bad {column}": check for column, check in checks.items()})
            bad = flags.select(pl.any_horizontal(pl.all())).to_series()
            if not bad.any():  # the usual batch: one pass over the checks
                yield frame.select(list(FRAME_SCHEMA))
                continue
            for column in checks:
                rows = frame.filter(flags[f"bad {column}"])
                if rows.height:
                    examples = [
                        f"{file}: row {r['line']}, column {column}: missing, negative, absurd (over "
                        f"{ABSURD_KWH_PER_QUARTER} kWh), off-quarter or unknown member: "
                        f"{r.get('start_ts' if column == start else column)!r}"
                        for r in rows.head(EXAMPLES).to_dicts()
                    ]
                    problems.add(f"bad {column} in Parquet", rows.height, examples)
            yield frame.filter(~bad).select(list(FRAME_SCHEMA))
