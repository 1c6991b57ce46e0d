"""Writing results: allocation.csv, kpis.json, monthly and per-member CSVs.

Strategy: every energy is written from integer Wh as exact kWh text with three decimals
(:func:`sharing.kwh.format_kwh`; vectorised, :func:`kwh`), so CSV totals add up to the Wh
the engine computed. The per-quarter-hour files are formatted by polars a slice at a time (no
per-row Python) and appended while the period streams by, by worker threads that overlap the next
slice's reading and allocation; everything is written under a temporary name and put in place at
the end, so a crash or a bad input never leaves a half-written file.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import IO, Any, Final, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from metering.quarter_hours import QUARTER_S
from sharing.clock import Grid
from sharing.community import Community, Dataset
from sharing.engine import Allocation
from sharing.keys import PPM, IntArray
from sharing.kpis import percent, percent_milli, real_key
from sharing.kwh import format_kwh
from sharing.summary import Part, Summary

ALLOCATION_HEADER = (
    "start",
    "ean",
    "consumption_kwh",
    "injection_kwh",
    "shared_kwh",
    "residual_kwh",
    "surplus_kwh",
)
MEMBER_MONTHLY_HEADER = (
    "month",
    "ean",
    "name",
    "role",
    "consumption_kwh",
    "injection_kwh",
    "shared_kwh",
    "residual_kwh",
    "shared_injection_kwh",
    "surplus_kwh",
    "real_key_pct",
    "contract_key_pct",
    "coverage_pct",
)
COMMUNITY_MONTHLY_HEADER = (
    "month",
    "consumption_kwh",
    "production_kwh",
    "shared_kwh",
    "residual_kwh",
    "surplus_kwh",
    "self_consumption_pct",
    "coverage_pct",
    "surplus_pct",
    "max_peak_before_kw",
    "max_peak_after_kw",
    "kth_peak_before_kw",
    "kth_peak_after_kw",
)


@contextmanager
def atomic_open(path: Path) -> Any:
    """Open ``path`` for writing through a temporary file renamed on success."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        yield handle
    os.replace(tmp, path)


def _pct(x: Fraction | None) -> str:
    p = percent(x, 3)
    return "" if p is None else str(p)


KWH_TABLE_WH = 1 << 16  # energies below 65.536 kWh a quarter-hour (262 kW) take their text from a table


def kwh(values: npt.NDArray[np.integer]) -> pl.Series:
    """Integer Wh as exact kWh text with three decimals (``12.345``, ``-0.001``, ``0.000``, the text of
    :func:`sharing.kwh.format_kwh`): each value from 0 to 65.535 kWh taken from a table (a gather: no
    number formatting at all), the others (negative, or a big producer's) written from a Decimal."""
    wh = values.astype(np.int64, copy=False)
    if wh.size == 0 or wh.view(np.uint64).max() < KWH_TABLE_WH:  # (a negative value is a huge uint64)
        return _kwh_texts().gather(pl.Series(wh.astype(np.uint32)))  # polars' own index type: no check
    outside = (wh < 0) | (wh >= KWH_TABLE_WH)
    texts = _kwh_texts().gather(np.where(outside, 0, wh))
    rows = np.flatnonzero(outside)
    exact = (pl.Series(wh[rows]).cast(pl.Decimal(38, 0)) * _MILLI).cast(pl.String)
    return texts.scatter(rows, exact)


_MILLI = pl.Series([Decimal("0.001")], dtype=pl.Decimal(38, 3))


@cache
def _kwh_texts() -> pl.Series:
    wh = pl.Series(np.arange(KWH_TABLE_WH, dtype=np.int64))
    return (wh // 1000).cast(pl.String) + "." + (wh % 1000).cast(pl.String).str.zfill(3)


@lru_cache(maxsize=8)
def repeat(n: int, times: int) -> pl.Series:
    """Row indices 0, 0, ..., 1, 1, ... (each of ``range(n)`` ``times`` times), as polars' index type."""
    return pl.Series(np.repeat(np.arange(n, dtype=np.uint32), times))


@lru_cache(maxsize=8)
def tile(n: int, times: int) -> pl.Series:
    """Row indices 0, 1, ..., n - 1 repeated ``times`` times, as polars' index type."""
    return pl.Series(np.tile(np.arange(n, dtype=np.uint32), times))


def iso_starts(grid: Grid) -> pl.Series:
    """Local ISO 8601 start (with offset) of every quarter-hour of a grid."""
    ts = pl.Series("ts", np.arange(grid.count, dtype=np.int64) * QUARTER_S + grid.start_ts)
    local = pl.from_epoch(ts, "s").dt.replace_time_zone("UTC").dt.convert_time_zone(grid.tz)
    return local.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias("start")


ROWS_PER_PIECE = 262_144  # output rows formatted at a time: bounds the text held in memory
SPARE_DESCRIPTORS = 256  # kept free when member files stay open between slices
NO_QUOTES: Final = "never"  # ISO times, EANs (digits, checked on reading) and numbers: no field needs quotes,
# and not scanning each for one halves the time polars takes to write the text
# polars' write_csv options for the per-quarter-hour files: rows serialised 65,536 at a time, not 1,024
# (15 % less CPU for the text)
CSV_TEXT: Final[dict[str, Any]] = {"quote_style": NO_QUOTES, "batch_size": 65_536}
LANES = ("allocation", "members", "community")  # a writer thread each: a file is appended in slice order
IN_FLIGHT = 2  # slices handed to the writers and not yet written (the caller prepares the next meanwhile)


class Outputs:
    """The per-quarter-hour outputs, written a month (any slice) at a time to temporary files and
    put in place together by :meth:`commit` (or removed by :meth:`abort`).

    Files: allocation.csv, community_quarter_hours.csv, members/<ean>.csv (``member_files``),
    parquet/allocation-<first month>.parquet per slice (``parquet``).
    """

    def __init__(self, out: Path, community: Community, *, member_files: bool, parquet: bool) -> None:
        self.out, self.community = out, community
        self.member_files, self.parquet = member_files, parquet
        out.mkdir(parents=True, exist_ok=True)
        self.tmp = out / ".partial"
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        if member_files:
            (self.tmp / "members").mkdir()
        if parquet:
            (self.tmp / "parquet").mkdir()
        self.eans = pl.Series("ean", community.eans, dtype=pl.String)
        self.ean_codes = self.eans.cast(pl.Enum(community.eans))  # Parquet's dictionary: no per-row hashing
        self.started = False
        self.lanes = {
            lane: futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"share-{lane}")
            for lane in LANES
        }
        self.pending: deque[list[futures.Future[None]]] = deque()
        self.member_handles: dict[int, IO[bytes]] = {}
        self.member_text = TextBuffer()
        self.keep_open = len(community.members) + SPARE_DESCRIPTORS <= _descriptor_limit()

    def write(self, data: Dataset, allocation: Allocation, part: Part) -> None:
        """Append one slice's rows to every file: each file is written by its lane's thread (polars
        and numpy let go of the GIL) while the caller reads and allocates the next slice. At most
        :data:`IN_FLIGHT` slices are in flight (this waits for the oldest), so memory stays bounded."""
        while len(self.pending) >= IN_FLIGHT:
            self._wait_oldest()
        grid = data.grid
        columns: dict[str, IntArray] = {
            "consumption": data.consumption_wh,
            "injection": data.injection_wh,
            "shared": allocation.received_wh.astype(np.int64, copy=False),
            "residual": allocation.residual_wh(data.consumption_wh),
            "surplus": allocation.member_surplus_wh(data.injection_wh),
        }
        starts = iso_starts(grid)
        jobs = [
            ("allocation", "allocation.csv", partial(self._allocation, starts, columns)),
            ("community", "community_quarter_hours.csv", partial(self._community, starts, data, part)),
        ]
        if self.member_files:
            jobs.append(("members", "members/", partial(self._members, starts, columns)))
        if self.parquet:
            jobs.append(("community", "parquet/", partial(self._parquet, grid, columns)))
        self.pending.append([self.lanes[lane].submit(self._writing, name, job) for lane, name, job in jobs])

    def _writing(self, name: str, job: Callable[[], None]) -> None:
        """Run a writer's job; a failed write names the output and what to do."""
        try:
            job()
        except OSError as exc:
            raise WriteError(self.out, name, exc) from exc

    def wait(self) -> None:
        """Wait for every slice in flight; re-raises a writer's error."""
        while self.pending:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        oldest = self.pending.popleft()
        futures.wait(oldest)
        for job in oldest:
            job.result()

    def _allocation(self, starts: pl.Series, columns: dict[str, IntArray]) -> None:
        count, n_members = starts.len(), len(self.community.members)
        step = max(1, ROWS_PER_PIECE // max(1, n_members))
        with (self.tmp / "allocation.csv").open("ab") as handle:
            for lo in range(0, count, step):
                hi = min(count, lo + step)
                frame = pl.DataFrame(
                    {"start": starts[lo:hi].gather(repeat(hi - lo, n_members)),
                     "ean": self.eans.gather(tile(n_members, hi - lo)),
                     **{f"{k}_kwh": kwh(v[lo:hi].ravel()) for k, v in columns.items()}}
                )  # fmt: skip
                frame.write_csv(handle, include_header=not self.started, **CSV_TEXT)
                self.started = True

    def _community(self, starts: pl.Series, data: Dataset, part: Part) -> None:
        production = data.injection_wh.sum(axis=1)
        shared = part.before - part.after
        frame = pl.DataFrame(
            {
                "start": starts,
                "consumption_kwh": kwh(part.before),
                "residual_kwh": kwh(part.after),
                "shared_kwh": kwh(shared),
                "production_kwh": kwh(production),
                "surplus_kwh": kwh(production - shared),
            }
        )
        path = self.tmp / "community_quarter_hours.csv"
        with path.open("ab") as handle:
            frame.write_csv(handle, include_header=handle.tell() == 0, **CSV_TEXT)

    def _members(self, starts: pl.Series, columns: dict[str, IntArray]) -> None:
        """Each member's rows of the slice: formatted for a group of members at once (into a buffer
        kept between slices), then cut at each member's byte count."""
        count, n_members = starts.len(), len(self.community.members)
        group = max(1, ROWS_PER_PIECE // max(1, count))
        start_bytes = int(starts.str.len_bytes().sum())
        for lo in range(0, n_members, group):
            hi = min(n_members, lo + group)
            texts = {f"{k}_kwh": kwh(v[:, lo:hi].T.ravel()) for k, v in columns.items()}
            # member-major rows: a group's columns transposed (not the slice's)
            frame = pl.DataFrame({"start": starts.gather(tile(count, hi - lo)), **texts})
            self.member_text.clear()
            frame.write_csv(cast("IO[bytes]", self.member_text), include_header=False, **CSV_TEXT)
            row_bytes = np.zeros((hi - lo) * count, np.int64)
            for text_column in texts.values():
                row_bytes += text_column.str.len_bytes().to_numpy()
            sizes = row_bytes.reshape(hi - lo, count).sum(axis=1) + start_bytes + len(texts) * count + count
            with self.member_text.view() as text:
                begin = 0
                for m, end in zip(range(lo, hi), np.cumsum(sizes).tolist(), strict=True):
                    self._member_file(m).write(text[begin:end])
                    begin = end
            if not self.keep_open:
                self._close_member_files()

    def _member_file(self, m: int) -> IO[bytes]:
        """Member ``m``'s file, opened (header written) on first use and kept open while the
        descriptor limit allows: an open per member and slice costs more than writing its rows."""
        handle = self.member_handles.get(m)
        if handle is None:
            path = self.tmp / "members" / f"{self.community.members[m].ean}.csv"
            handle = self.member_handles[m] = path.open("ab", buffering=0)
            if handle.tell() == 0:
                handle.write(MEMBER_HEADER)
        return handle

    def _close_member_files(self) -> None:
        handles, self.member_handles = self.member_handles, {}
        for handle in handles.values():
            handle.close()

    def _parquet(self, grid: Grid, columns: dict[str, IntArray]) -> None:
        n_members = len(self.community.members)
        ts = np.repeat(np.arange(grid.count, dtype=np.int64) * QUARTER_S + grid.start_ts, n_members)
        frame = pl.DataFrame(
            {
                "start": pl.from_epoch(pl.Series(ts), "s").dt.replace_time_zone("UTC"),
                "ean": self.ean_codes.gather(tile(n_members, grid.count)),
                **{f"{k}_wh": v.ravel() for k, v in columns.items()},
            }
        )
        label = grid.local(0).strftime("%Y-%m-%dT%H%M")
        frame.write_parquet(self.tmp / "parquet" / f"allocation-{label}.parquet")

    def _shutdown(self) -> None:
        for lane in self.lanes.values():
            lane.shutdown()

    def commit(self) -> None:
        """Move every file into place (replacing an earlier run's)."""
        self.wait()
        self._shutdown()
        self._close_member_files()
        for name in ("members", "parquet"):
            if (self.tmp / name).exists():
                shutil.rmtree(self.out / name, ignore_errors=True)
        for entry in self.tmp.iterdir():
            os.replace(entry, self.out / entry.name)
        self.tmp.rmdir()

    def abort(self) -> None:
        for slice_jobs in self.pending:  # a writer's error was already raised, or is moot now
            futures.wait(slice_jobs)
        self.pending.clear()
        self._shutdown()
        self._close_member_files()
        shutil.rmtree(self.tmp, ignore_errors=True)


class WriteError(OSError):
    """An output could not be written (disk full, file too large, no permission)."""

    def __init__(self, out: Path, name: str, cause: OSError) -> None:
        super().__init__(
            f"cannot write {name} in {out}: {cause.strerror or cause}; nothing of this run was kept "
            "(free some disk space or choose another --out, then run again)"
        )


class TextBuffer:
    """A file-like sink for ``write_csv`` whose memory is kept from one use to the next (a fresh
    buffer per slice costs a page fault per 4 KiB, more than the copy)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        end = self.size + len(chunk)
        if end > len(self.data):
            self.data.extend(bytes(max(end - len(self.data), len(self.data))))
        self.data[self.size : end] = chunk
        self.size = end
        return len(chunk)

    def flush(self) -> None:
        """Nothing to flush (polars calls it)."""

    def clear(self) -> None:
        self.size = 0

    def view(self) -> memoryview:
        """The bytes written since :meth:`clear` (release the view before writing again)."""
        return memoryview(self.data)[: self.size]


def _descriptor_limit() -> int:
    """How many files this process may hold open (its soft limit; 512 where unknown)."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return 512
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft if soft >= 0 else 1 << 30


MEMBER_HEADER = (",".join(ALLOCATION_HEADER[:1] + ALLOCATION_HEADER[2:]) + "\n").encode()


def write_monthly_csvs(folder: Path, community: Community, summary: Summary) -> None:
    """``members_monthly.csv`` (a row per month and member, written as columns) and
    ``community_monthly.csv`` (a row per month)."""
    with atomic_open(folder / "members_monthly.csv") as handle:
        members_monthly(community, summary).write_csv(handle, line_terminator="\n")
    with atomic_open(folder / "community_monthly.csv") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(COMMUNITY_MONTHLY_HEADER)
        for g, month in enumerate(summary.months):
            rates = summary.month_rates(g)
            out.writerow(
                (month, format_kwh(rates.consumption_wh), format_kwh(rates.production_wh),
                 format_kwh(rates.shared_wh), format_kwh(rates.consumption_wh - rates.shared_wh),
                 format_kwh(rates.surplus_wh), _pct(rates.self_consumption),
                 _pct(rates.coverage), _pct(rates.surplus_rate),
                 _kw(summary.max_before_kw[g]), _kw(summary.max_after_kw[g]),
                 _kw(summary.kth_before_kw[g]), _kw(summary.kth_after_kw[g]))
            )  # fmt: skip


def members_monthly(community: Community, summary: Summary) -> pl.DataFrame:
    """The rows of ``members_monthly.csv``, month by month and member by member in file order."""
    n_months, n_members = summary.received.shape
    g = np.repeat(np.arange(n_months), n_members)
    m = np.tile(np.arange(n_members), n_months)
    cons, got = summary.consumption.ravel(), summary.received.ravel()
    received_in_month = np.repeat(summary.received.sum(axis=1), n_members)
    receives = np.array([member.role.receives for member in community.members], bool)[m]
    members = community.members
    columns: dict[str, pl.Series] = {
        "month": pl.Series(summary.months, dtype=pl.String).gather(g),
        "ean": pl.Series([x.ean for x in members], dtype=pl.String).gather(m),
        "name": pl.Series([x.name for x in members], dtype=pl.String).gather(m),
        "role": pl.Series([x.role.value for x in members], dtype=pl.String).gather(m),
        "consumption_kwh": kwh(cons),
        "injection_kwh": kwh(summary.injection.ravel()),
        "shared_kwh": kwh(got),
        "residual_kwh": kwh(cons - got),
        "shared_injection_kwh": kwh(summary.shared_injection.ravel()),
        "surplus_kwh": kwh(summary.surplus.ravel()),
        "real_key_pct": _pct_column(got, received_in_month, received_in_month > 0),
        "contract_key_pct": _pct_column(
            community.weights_ppm()[m], np.full(m.size, PPM), np.ones(m.size, bool)
        ),
        "coverage_pct": _pct_column(got, cons, receives & (cons > 0)),
    }
    return pl.DataFrame(columns).select(MEMBER_MONTHLY_HEADER)


def _pct_column(num: IntArray, den: IntArray, shown: npt.NDArray[np.bool_]) -> pl.Series:
    """Percentages with three decimals as text (:func:`_pct`); empty where not ``shown``."""
    milli = percent_milli(np.where(shown, num, 0), np.where(shown, den, 1))
    return kwh(milli).set(pl.Series(~shown), None)


def _kw(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.3f}"


def _num(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 3)


def kpis_document(community: Community, grid: Grid, key_name: str, summary: Summary) -> dict[str, object]:
    """The kpis.json document."""
    totals_received = summary.received.sum(axis=0)
    keys = real_key(totals_received)
    weights = community.weights_ppm()
    members: list[dict[str, object]] = []
    month_keys = [real_key(summary.received[g]) for g in range(len(summary.months))]
    for m, member in enumerate(community.members):
        cons = int(summary.consumption[:, m].sum())
        got = int(totals_received[m])
        months = [
            {"month": month, "shared_kwh": int(summary.received[g, m]) / 1000,
             "real_key_pct": _float_pct(month_keys[g][m])}
            for g, month in enumerate(summary.months)
        ]  # fmt: skip
        members.append(
            {
                "ean": member.ean,
                "name": member.name,
                "role": member.role.value,
                "meter_id": member.meter_id,
                "contract_key_pct": _float_pct(Fraction(int(weights[m]), PPM)),
                "real_key_pct": _float_pct(keys[m]),
                "consumption_kwh": cons / 1000,
                "shared_kwh": got / 1000,
                "residual_kwh": (cons - got) / 1000,
                "injection_kwh": int(summary.injection[:, m].sum()) / 1000,
                "shared_injection_kwh": int(summary.shared_injection[:, m].sum()) / 1000,
                "surplus_kwh": int(summary.surplus[:, m].sum()) / 1000,
                "months": months,
            }
        )
    month_docs: list[dict[str, object]] = []
    for g, month in enumerate(summary.months):
        doc: dict[str, object] = {"month": month, **summary.month_rates(g).to_json()}
        doc.update(
            max_peak_before_kw=_num(summary.max_before_kw[g]),
            max_peak_after_kw=_num(summary.max_after_kw[g]),
            kth_peak_before_kw=_num(summary.kth_before_kw[g]),
            kth_peak_after_kw=_num(summary.kth_after_kw[g]),
        )
        month_docs.append(doc)
    return {
        "key": key_name,
        "from": grid.iso(0),
        "to": grid.local(grid.count).isoformat(),
        "quarter_hours": grid.count,
        "members": members,
        "total": summary.total_rates().to_json(),
        "months": month_docs,
        "peaks": {**summary.peak_analysis.to_json(), "kth_monthly_peak": summary.k},
        "rounding": "integer Wh; shares floored, remainders go to surplus",
    }


def _float_pct(x: Fraction | None) -> float | None:
    p = percent(x, 3)
    return None if p is None else float(p)


def write_json(path: Path, document: dict[str, object]) -> None:
    with atomic_open(path) as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def write_rows(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    out = csv.writer(handle, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)
