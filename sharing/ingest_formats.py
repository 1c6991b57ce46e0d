"""What a quarter-hour data file may look like: the formats :mod:`sharing.ingest` recognises by their
header (or Parquet's magic bytes), the frame every format ends in, and who may appear in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sharing.textfile import InputError, where

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


def field_columns(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


@dataclass(frozen=True)
class Members:
    """Who may appear in the data: EAN -> member index, and meter id -> member index."""

    by_ean: dict[str, int]
    by_meter_id: dict[str, int] = field(default_factory=dict)


def member_index(texts: pl.Expr, mapping: dict[str, int]) -> pl.Expr:
    """The member index (Int32; null when unknown) of each text: a look-up in an Enum of the known
    texts when the indices are 0..n-1 (each text's position: no hash join per row), else a replace."""
    known = sorted(mapping, key=mapping.__getitem__)
    if [mapping[text] for text in known] == list(range(len(known))):
        return texts.cast(pl.Enum(known), strict=False).to_physical().cast(pl.Int32)
    return texts.replace_strict(mapping, default=None, return_dtype=pl.Int32)


def is_parquet(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False
