"""Quarter-hour inputs for `p1gw advise` and `p1gw statement`: files and the gateway's store -> `Usage`.

Strategy: one entry point per source. `read_quarter_hours(path)` is THE file reader: it reads through
`sharing.ingest`, the reader of `p1gw share` (format recognised by the header: the sharing contract, the
gateway's quarter-hour CSV, the DSO long format, the Mijn Fluvius export, Parquet), so the formats, the
hostile-input checks and the error messages are one. Unlike the community reader it accepts gaps (the
advisor completes the year and says how). `read_store(db)` reads the gateway's database.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from metering.quarter_hours import quarter_start
from metering.record import QuarterHourRecord
from sharing.clock import parse_start
from sharing.csvio import InputError
from sharing.kwh import parse_kwh
from tariffs.series import Usage


def non_negative_decimal(text: str) -> Decimal:
    """argparse type: a finite, non-negative decimal number (prices, kVA, %)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


def _usage(rows: dict[int, list[int]]) -> Usage:
    ts = np.array(sorted(rows), dtype=np.int64)
    values = np.array([rows[t] for t in ts.tolist()], dtype=np.int64).reshape(-1, 2)
    return Usage(ts, values[:, 0].copy(), values[:, 1].copy())


def read_quarter_hours(path: Path | str) -> dict[str, Usage]:
    """Every meter's quarter-hours in a data file, keyed by EAN (or meter id when the EAN is empty).

    Any format `p1gw share` reads (`sharing.ingest`: the sharing contract, the gateway's quarter-hour CSV,
    the DSO long format, the Mijn Fluvius export, Parquet), with its checks. A meter's registers in one
    quarter-hour (day and night, or one row per register) are added; the same register twice is refused.
    Raises InputError naming the file, line and what to do.
    """
    import polars as pl

    from sharing.ingest import load_quarter_hours

    frame = load_quarter_hours(path)
    if frame.is_empty():
        raise InputError(f"{path}: no quarter-hours")
    frame = frame.with_columns(
        pl.when(pl.col("ean") != "").then(pl.col("ean")).otherwise(pl.col("meter_id")).alias("key")
    )
    twice = (
        frame.group_by("key", "start_ts", "register")
        .agg(pl.col("line").sort().alias("lines"))
        .filter(pl.col("lines").list.len() > 1)
        .sort(pl.col("lines").list.first())
    )
    if not twice.is_empty():
        first = twice.row(0, named=True)
        raise InputError(
            f"{path}:{first['lines'][1]}: duplicate quarter-hour for {first['key']} (first on line "
            f"{first['lines'][0]}; {twice.height} duplicated in all): keep one row per quarter-hour and "
            "register"
        )
    summed = frame.group_by("key", "start_ts").agg(
        pl.col("consumption_wh").sum(), pl.col("injection_wh").sum()
    )
    meters: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for key, ts, imp, exp in summed.iter_rows():
        meters[str(key)][int(ts)] = [int(imp), int(exp)]
    return {meter: _usage(rows) for meter, rows in meters.items()}


def read_store(db: str, meter: str | None = None) -> dict[str, Usage]:
    """Every meter's stored quarter-hours (or one meter's), keyed by meter id."""
    from gateway.store import StoreError, open_store

    try:
        store = open_store(db, migrate=False)
    except StoreError as exc:
        raise InputError(f"{db}: {exc}") from None
    with store:
        records = store.quarter_hours(
            datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC), meter_id=meter
        )
    meters = usage_from_records(records)
    if not meters:
        raise InputError(f"{db}: no quarter-hours stored" + (f" for meter {meter}" if meter else ""))
    return meters


def usage_from_records(records: Iterable[QuarterHourRecord]) -> dict[str, Usage]:
    """Quarter-hour records as the store and the HTTP API give them -> `Usage` per meter id."""
    meters: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for record in records:
        ts = parse_start(record["start"])
        wh = [int(Decimal(str(record[k])) * 1000) for k in ("import_kwh", "export_kwh")]
        meters[record.get("meter_id") or "meter"][ts] = wh
    return {m: _usage(rows) for m, rows in meters.items()}


def pick(meters: dict[str, Usage], wanted: str | None, source: str) -> tuple[str, Usage]:
    """The one meter asked for (or the only one); InputError listing the choices otherwise."""
    if wanted is not None:
        if wanted not in meters:
            raise InputError(f"{source}: no meter {wanted!r}; found {', '.join(sorted(meters))}")
        return wanted, meters[wanted]
    if len(meters) > 1:
        raise InputError(
            f"{source}: {len(meters)} meters ({', '.join(sorted(meters)[:5])}...): choose one with --meter"
        )
    return next(iter(meters.items()))


def read_price_series(path: Path | str) -> dict[int, Decimal]:
    """A price CSV ``start,eur_per_mwh`` (per quarter-hour or hour; ``;`` and decimal comma accepted)."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from None
    prices: dict[int, Decimal] = {}
    with handle:
        first = handle.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter), [])]
        if "start" not in header or "eur_per_mwh" not in header:
            raise InputError(f"{path}:1: price header must have start and eur_per_mwh (got {header})")
        i_start, i_price = header.index("start"), header.index("eur_per_mwh")
        for offset, row in enumerate(csv.reader(handle, delimiter=delimiter)):
            if not row or not any(c.strip() for c in row):
                continue
            where = f"{path}:{offset + 2}"
            try:
                moment = datetime.fromisoformat(row[i_start].strip())
                if moment.tzinfo is None:
                    raise ValueError(f"start {row[i_start]!r} has no UTC offset")
                ts = int(moment.timestamp())
                if quarter_start(ts) != ts:
                    raise ValueError(f"start {row[i_start]!r} is not on a quarter-hour")
                text = row[i_price].strip().replace(",", ".") if delimiter == ";" else row[i_price].strip()
                value = Decimal(text)
                if not value.is_finite():
                    raise ValueError(f"price {row[i_price]!r} is not a number")
            except (ValueError, IndexError, ArithmeticError) as exc:
                raise InputError(f"{where}: {exc}") from None
            if ts in prices:
                raise InputError(f"{where}: duplicate price for {row[i_start].strip()}")
            prices[ts] = value
    if not prices:
        raise InputError(f"{path}: no prices")
    return prices


def read_wide_csv(path: Path | str, columns: tuple[str, ...]) -> list[tuple[int, str, list[int], int]]:
    """Rows ``(start_ts, ean, [Wh per column], line)`` of a CSV with ``start``, ``ean`` and kWh columns."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from None
    out: list[tuple[int, str, list[int], int]] = []
    with handle:
        first = handle.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter), [])]
        missing = [c for c in ("start", "ean", *columns) if c not in header]
        if missing:
            raise InputError(f"{path}:1: header lacks {', '.join(missing)} (got {header})")
        idx = [header.index(c) for c in columns]
        for offset, row in enumerate(csv.reader(handle, delimiter=delimiter)):
            if not row or not any(c.strip() for c in row):
                continue
            line = offset + 2
            if len(row) != len(header):
                raise InputError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")
            try:
                ts = parse_start(row[header.index("start")])
                values = [parse_kwh(row[i], decimal_comma=delimiter == ";") for i in idx]
            except ValueError as exc:
                raise InputError(f"{path}:{line}: {exc}") from None
            out.append((ts, row[header.index("ean")].strip(), values, line))
    return out
