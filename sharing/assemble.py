"""Ingest frames -> complete grids of integer Wh, one week of a local month (a chunk) at a time.

Strategy: the period is cut into chunks: each local month into weeks from its first day (the 1st,
8th, 15th, 22nd and 29th; the last one shorter). Each row lands in the dense (quarter-hours x
members) block of its chunk; a ``seen`` bit per register (one bit for formats without registers)
catches duplicate (EAN, start, register) rows across batches, and the line that first filled a cell
is kept to name it. While rows arrive in time order (as every export writes them), a chunk is handed
out as soon as a later chunk's rows appear, so memory holds members x a week or two whatever the
period. A row for a chunk already handed out raises :class:`OutOfOrder`; the caller then reads again
holding every chunk (``hold_all``). Chunks are cropped to the first and last quarter-hour of the data
(or --from/--to), then checked complete: a missing quarter-hour is a problem, never a silent zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from metering.quarter_hours import QUARTER_S, quarter_start
from sharing.clock import DEFAULT_TZ, Grid
from sharing.community import Community, Dataset
from sharing.ingest import DERIVED, EXAMPLES, Members, Problems, iter_quarter_hours
from sharing.parquetio import parquet_files
from sharing.textfile import where


class OutOfOrder(Exception):
    """A row for a chunk that was already handed out (the file is not in time order)."""


CHUNK_QUARTERS = 7 * 96  # a chunk: a week of a local month from its 1st (the last one shorter; +-4 on DST)
CHUNKS_PER_MONTH = 8  # a chunk's key: month key * 8 + its week in the month (0-4)


@cache
def month_bounds(key: int, tz: str) -> tuple[int, int]:
    """Unix start and end of local month ``key`` (= year * 12 + month - 1)."""
    zone = ZoneInfo(tz)
    year, month = divmod(key, 12)
    nxt_year, nxt_month = divmod(key + 1, 12)
    start = datetime(year, month + 1, 1, tzinfo=zone).timestamp()
    end = datetime(nxt_year, nxt_month + 1, 1, tzinfo=zone).timestamp()
    return int(start), int(end)


@cache
def chunk_bounds(key: int, tz: str) -> tuple[int, int]:
    """Unix start and end of chunk ``key``: local midnight of its week's first day (the 1st, 8th, 15th,
    22nd or 29th) to the next one's, or to the month's end (so a week with a DST change is an hour
    shorter or longer)."""
    month, week = divmod(key, CHUNKS_PER_MONTH)
    month_end = month_bounds(month, tz)[1]
    year, month_no = divmod(month, 12)

    def midnight(day: int) -> int:
        try:
            return min(month_end, int(datetime(year, month_no + 1, day, tzinfo=ZoneInfo(tz)).timestamp()))
        except ValueError:  # past the month's last day
            return month_end

    return midnight(1 + 7 * week), midnight(8 + 7 * week)


def chunk_key(ts: int, tz: str) -> int:
    """The chunk holding the quarter-hour starting at ``ts``."""
    local = datetime.fromtimestamp(ts, ZoneInfo(tz))
    return (local.year * 12 + local.month - 1) * CHUNKS_PER_MONTH + (local.day - 1) // 7


def next_chunk(key: int, tz: str) -> int:
    """The chunk after ``key``."""
    month = key // CHUNKS_PER_MONTH
    ends_month = chunk_bounds(key, tz)[1] == month_bounds(month, tz)[1]
    return (month + 1) * CHUNKS_PER_MONTH if ends_month else key + 1


def chunk_keys(first: int, last: int, tz: str) -> list[int]:
    """Every chunk from ``first`` to ``last`` (both included), in time order."""
    keys = []
    key = first
    while key <= last:
        keys.append(key)
        key = next_chunk(key, tz)
    return keys


@dataclass
class _Block:
    key: int
    start_ts: int
    consumption: npt.NDArray[np.int64]
    injection: npt.NDArray[np.int64]
    seen: npt.NDArray[np.uint8]
    first_line: npt.NDArray[np.int64]


class ChunkAssembler:
    """Feed ingest frames (with ``member``, ``line`` from :func:`numbered`); get complete chunks back
    as :class:`Dataset`."""

    def __init__(
        self,
        community: Community,
        files: Sequence[Path | str],
        problems: Problems,
        *,
        start_ts: int | None = None,
        end_ts: int | None = None,
        tz: str,
        hold_all: bool = False,
    ) -> None:
        self.community = community
        self.files = list(files)
        self.label = str(self.files[0]) + (
            f" (and {len(self.files) - 1} more)" if len(self.files) > 1 else ""
        )
        self.problems = problems
        self.start_ts, self.end_ts, self.tz = start_ts, end_ts, tz
        self.hold_all = hold_all
        self.blocks: dict[int, _Block] = {}
        self.done_through = -1  # chunks <= this key were handed out
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self.registers: dict[str | None, int] = {None: 1}
        self.rows = 0

    def _block(self, key: int) -> _Block:
        if key <= self.done_through:
            raise OutOfOrder(key)
        if key not in self.blocks:
            start, end = chunk_bounds(key, self.tz)
            shape = ((end - start) // QUARTER_S, len(self.community.members))
            self.blocks[key] = _Block(
                key, start, np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.uint8),
                np.zeros(shape, np.int64),
            )  # fmt: skip
        return self.blocks[key]

    def _register_bits(self, registers: pl.Series) -> npt.NDArray[np.uint8]:
        if registers.null_count() == registers.len():  # a format without registers
            return np.ones(registers.len(), np.uint8)
        names = registers.str.to_lowercase()
        for name in names.unique().to_list():
            if name not in self.registers:
                self.registers[name] = 1 << min(len(self.registers), 7)
        mapping = {k: v for k, v in self.registers.items() if k is not None}
        if not mapping:
            return np.ones(len(names), np.uint8)
        return names.replace_strict(mapping, default=1, return_dtype=pl.UInt8).to_numpy()

    def feed(self, frame: pl.DataFrame) -> list[Dataset]:
        """Add one batch; returns the chunks it completed (none when ``hold_all``)."""
        if self.start_ts is not None:
            frame = frame.filter(pl.col("start_ts") >= self.start_ts)
        if self.end_ts is not None:
            frame = frame.filter(pl.col("start_ts") < self.end_ts)
        if frame.height == 0:
            return []
        self.rows += frame.height
        ts = frame["start_ts"].to_numpy()
        lo, hi = int(ts.min()), int(ts.max())
        first_ts = self.first_ts = lo if self.first_ts is None else min(self.first_ts, lo)
        self.last_ts = hi if self.last_ts is None else max(self.last_ts, hi)
        bits = self._register_bits(frame["register"])
        first_key, last_key = chunk_key(lo, self.tz), chunk_key(hi, self.tz)
        between = np.array(chunk_keys(first_key, last_key, self.tz), np.int64)
        if between.size > 1:
            edges = np.array([chunk_bounds(int(k), self.tz)[0] for k in between[1:]], np.int64)
            position = np.searchsorted(edges, ts, side="right")
            keys = between[position]
            present = between[np.bincount(position, minlength=between.size) > 0].tolist()
        else:
            keys, present = between[:1], [first_key]
        for key in present:
            if len(present) == 1:
                self._add(self._block(key), frame, bits)
                continue
            mask = keys == key
            self._add(self._block(key), frame.filter(pl.Series(mask)), bits[mask])
        if self.hold_all:
            return []
        start = self.start_ts if self.start_ts is not None else first_ts
        first = chunk_key(start, self.tz) if self.done_through < 0 else next_chunk(self.done_through, self.tz)
        for key in chunk_keys(first, last_key - 1, self.tz):
            self._block(key)  # a chunk without any row before later rows: all missing, reported
        return [self._finish(k) for k in sorted(self.blocks) if k < last_key]

    def _add(self, block: _Block, rows: pl.DataFrame, bits: npt.NDArray[np.uint8]) -> None:
        r = (rows["start_ts"].to_numpy() - block.start_ts) // QUARTER_S
        c = rows["member"].to_numpy().astype(np.int64)
        lines = rows["line"].to_numpy()
        n_members = block.seen.shape[1]
        registers = bool((bits != 1).any())
        cell = (r * n_members + c) * 8 + np.log2(bits).astype(np.int64) if registers else r * n_members + c
        steps = np.diff(cell)
        if (
            not registers
            and cell.size
            and bool((steps == 1).all())
            and self._fill_run(block, rows, int(cell[0]))
        ):
            return  # the usual batch: consecutive cells (time, then members in order), none seen before
        repeat_before = (block.seen[r, c] & bits) != 0
        increasing = bool((steps > 0).all())  # then no cell twice in the batch
        if not increasing and (np.bincount(cell - cell.min()) > 1).any():  # repeated: mark all but the first
            order = np.argsort(cell, kind="stable")
            repeat_in_batch = np.zeros(cell.size, bool)
            repeat_in_batch[order[1:]] = cell[order[1:]] == cell[order[:-1]]
        else:
            order, repeat_in_batch = np.arange(cell.size), np.zeros(cell.size, bool)
        dup = repeat_in_batch | repeat_before
        if dup.any():
            earlier = np.where(repeat_before, block.first_line[r, c], 0)
            first_in_batch = np.zeros(cell.size, np.int64)
            first_in_batch[order[1:]] = lines[order[:-1]]
            earlier = np.where(earlier > 0, earlier, first_in_batch)
            idx = np.flatnonzero(dup)
            examples = [
                f"{self._where(int(lines[i]))}: duplicate quarter-hour "
                f"{Grid(block.start_ts, 1, self.tz).local(int(r[i])).isoformat()} for EAN "
                f"{self.community.members[int(c[i])].ean} (first at {self._where(int(earlier[i]))}): "
                "keep one of them"
                for i in idx[:EXAMPLES]
            ]
            self.problems.add("duplicate quarter-hours (never summed)", idx.size, examples)
            keep = ~dup
            r, c, bits, lines, rows = r[keep], c[keep], bits[keep], lines[keep], rows.filter(pl.Series(keep))
        if registers:  # several rows (registers) per cell: add them up
            np.add.at(block.consumption, (r, c), rows["consumption_wh"].to_numpy())
            np.add.at(block.injection, (r, c), rows["injection_wh"].to_numpy())
        else:  # one row per cell (duplicates were left out above)
            block.consumption[r, c] = rows["consumption_wh"].to_numpy()
            block.injection[r, c] = rows["injection_wh"].to_numpy()
        first = block.first_line[r, c]
        block.first_line[r, c] = np.where(first > 0, first, lines)
        if registers:
            np.bitwise_or.at(block.seen, (r, c), bits)
        else:
            block.seen[r, c] = 1

    @staticmethod
    def _fill_run(block: _Block, rows: pl.DataFrame, first: int) -> bool:
        """Copy a batch that fills consecutive cells from ``first`` (no register) into the block, unless
        one of them was already filled (then the caller takes the general path)."""
        span = slice(first, first + rows.height)
        if block.seen.reshape(-1)[span].any():
            return False
        block.consumption.reshape(-1)[span] = rows["consumption_wh"].to_numpy()
        block.injection.reshape(-1)[span] = rows["injection_wh"].to_numpy()
        block.first_line.reshape(-1)[span] = rows["line"].to_numpy()
        block.seen.reshape(-1)[span] = 1
        return True

    def _finish(self, key: int) -> Dataset:
        """Crop a chunk to the data's (or --from/--to) bounds, check it complete, hand it out."""
        block = self.blocks.pop(key)
        self.done_through = max(self.done_through, key)
        first = self.start_ts if self.start_ts is not None else self.first_ts
        last_end = self.end_ts if self.end_ts is not None else (self.last_ts or 0) + QUARTER_S
        lo = max(0, ((first or block.start_ts) - block.start_ts) // QUARTER_S)
        hi = min(block.seen.shape[0], (last_end - block.start_ts) // QUARTER_S)
        grid = Grid(block.start_ts + lo * QUARTER_S, max(0, hi - lo), self.tz)
        seen = block.seen[lo:hi]
        if not seen.all():
            rows, cols = np.nonzero(seen == 0)
            examples = [
                f"{self.label}: missing quarter-hour {grid.iso(int(t))} for EAN "
                f"{self.community.members[int(m)].ean}"
                for t, m in zip(rows[:EXAMPLES], cols[:EXAMPLES], strict=True)
            ]
            self.problems.add(f"{DERIVED} (add them; a gap is never taken as 0)", rows.size, examples)
        return Dataset(grid, block.consumption[lo:hi], block.injection[lo:hi])

    def finish(self) -> list[Dataset]:
        """Hand out every chunk still held (call after the last batch)."""
        if self.rows == 0:
            self.problems.add("no data", 1, [f"{self.label}: no quarter-hours in the selected period"])
            return []
        if self.start_ts is None:
            self.start_ts = self.first_ts
        if self.end_ts is None and self.last_ts is not None:
            self.end_ts = self.last_ts + QUARTER_S
        first_key = chunk_key(self.start_ts or 0, self.tz)
        last_key = chunk_key((self.end_ts or QUARTER_S) - QUARTER_S, self.tz)
        for key in chunk_keys(first_key, last_key, self.tz):
            if key > self.done_through:
                self._block(key)  # a chunk without any row is all missing
        return [self._finish(k) for k in sorted(self.blocks)]

    def _where(self, ref: int) -> str:
        """``file:line:1`` of a row reference (:func:`numbered`)."""
        return where(self.files[ref >> LINE_BITS], ref & LINE_MASK, 1)


def weeks(
    community: Community,
    files: Sequence[Path | str],
    frames: Iterable[pl.DataFrame],
    problems: Problems,
    *,
    start_ts: int | None,
    end_ts: int | None,
    tz: str,
    hold_all: bool,
) -> Iterator[Dataset]:
    """Complete weeks of ``frames`` (of ``files``, rows numbered by :func:`numbered`) in order (see
    :class:`ChunkAssembler`)."""
    if any(ts is not None and quarter_start(ts) != ts for ts in (start_ts, end_ts)):
        raise ValueError("--from/--to must be on quarter-hour boundaries")
    assembler = ChunkAssembler(community, files, problems, start_ts=start_ts, end_ts=end_ts, tz=tz,
                               hold_all=hold_all)  # fmt: skip
    for frame in frames:
        yield from assembler.feed(frame)
    yield from assembler.finish()


LINE_BITS = 40  # a row's reference across files: file number << 40 | its line (files of < 2**40 lines)
LINE_MASK = (1 << LINE_BITS) - 1


def data_files(paths: Iterable[Path | str]) -> list[Path]:
    """The files behind ``--data`` arguments: a folder of Parquet files is its files, in name order."""
    return [file for path in map(Path, paths) for file in (parquet_files(path) if path.is_dir() else [path])]


def numbered(frames: Iterable[pl.DataFrame], file_no: int) -> Iterator[pl.DataFrame]:
    """The ingest frames of the ``file_no``-th data file, their lines made references across files, so
    a duplicate found in one file against another names both."""
    for frame in frames:
        yield frame.with_columns(pl.col("line") + (file_no << LINE_BITS)) if file_no else frame


def read_quarter_hours(
    files: Sequence[Path],
    community: Community,
    problems: Problems,
    *,
    tz: str,
    on_bytes: Callable[[int, int], None] | None = None,
) -> Iterator[pl.DataFrame]:
    """Ingest frames of every file in turn, rows numbered for :class:`ChunkAssembler`."""
    members = members_of(community)
    for file_no, file in enumerate(files):
        frames = iter_quarter_hours(file, tz=tz, members=members, problems=problems, on_bytes=on_bytes)
        yield from numbered(frames, file_no)


def members_of(community: Community) -> Members:
    """The ingest's member look-up for a community."""
    return Members(dict(community.by_ean), dict(community.by_meter_id))


def read_data(
    path: Path | str,
    community: Community,
    *,
    start_ts: int | None = None,
    end_ts: int | None = None,
    tz: str = DEFAULT_TZ,
) -> Dataset:
    """A whole data file or Parquet folder (any format) as one complete grid; InputError lists every
    problem."""
    problems = Problems()
    files = data_files([path])
    frames = read_quarter_hours(files, community, problems, tz=tz)
    parts = list(weeks(community, files, frames, problems, start_ts=start_ts, end_ts=end_ts, tz=tz,
                        hold_all=True))  # fmt: skip
    problems.raise_if_any(path)
    return concat(parts)


def concat(parts: list[Dataset]) -> Dataset:
    """Consecutive month datasets as one."""
    first = parts[0].grid
    count = sum(p.grid.count for p in parts)
    return Dataset(
        Grid(first.start_ts, count, first.tz),
        np.concatenate([p.consumption_wh for p in parts]),
        np.concatenate([p.injection_wh for p in parts]),
    )
