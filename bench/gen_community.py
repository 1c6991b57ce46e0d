"""Generate a community's year of quarter-hours for the `p1gw share` benches (deterministic, seeded).

Writes into --out (default bench/data/, which git ignores): ``members-<N>.csv``, the contract CSV
``data-<N>-<days>d.csv`` (``start,ean,consumption_kwh,injection_kwh``, rows by quarter-hour then
member, as a DSO or the hub exports them) and the same rows as Parquet, one file per local month, in
``data-<N>-<days>d.parquet/``. N members = N - 2 consumers, a PV park and a wind park
(:mod:`sharing.synthetic`). Files that already exist are kept (delete them to regenerate).

Usage: .venv/bin/python bench/gen_community.py --members 1000 --days 365 [--seed 42]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# This folder has a file named like the package: keep bench/ off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from metering.quarter_hours import QUARTER_S  # noqa: E402
from sharing import synthetic  # noqa: E402
from sharing.clock import Grid, parse_start  # noqa: E402
from sharing.export import iso_starts, kwh  # noqa: E402

START = "2026-01-01T00:00:00+01:00"
ROWS_PER_WRITE = 1_000_000


def paths(out: Path, members: int, days: int) -> tuple[Path, Path, Path]:
    stem = f"{members}-{days}d"
    return out / f"members-{members}.csv", out / f"data-{stem}.csv", out / f"data-{stem}.parquet"


def generate(out: Path, members: int, days: int, seed: int) -> tuple[Path, Path, Path]:
    """Write the three inputs (skipping those present); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    members_csv, data_csv, data_parquet = paths(out, members, days)
    comm = synthetic.community(members - 2)
    if not members_csv.exists():
        synthetic.write_members_csv(members_csv, comm)
    if data_csv.exists() and data_parquet.exists():
        return members_csv, data_csv, data_parquet
    grid = Grid(parse_start(START), 96 * days)
    data = synthetic.generate(comm, grid, seed=seed)
    cons, inj = data.consumption_wh.astype(np.int32), data.injection_wh.astype(np.int32)
    del data
    eans = pl.Series("ean", comm.eans)
    n_members = len(comm.members)
    months, month_idx, _ = grid.calendar()
    starts = iso_starts(grid)
    tmp_csv = data_csv.with_suffix(".tmp")
    data_parquet.mkdir(exist_ok=True)
    step = max(1, ROWS_PER_WRITE // n_members)
    with tmp_csv.open("wb") as handle:
        handle.write(b"start,ean,consumption_kwh,injection_kwh\n")
        for lo in range(0, grid.count, step):
            hi = min(grid.count, lo + step)
            t = np.repeat(np.arange(lo, hi), n_members)
            m = np.tile(np.arange(n_members), hi - lo)
            frame = pl.DataFrame(
                {"start": starts.gather(t), "ean": eans.gather(m),
                 "consumption_kwh": kwh(cons[lo:hi].ravel()),
                 "injection_kwh": kwh(inj[lo:hi].ravel())}
            )  # fmt: skip
            frame.write_csv(handle, include_header=False)
    for g, month in enumerate(months):
        rows = np.flatnonzero(month_idx == g)
        t = np.repeat(rows, n_members)
        m = np.tile(np.arange(n_members), rows.size)
        pl.DataFrame(
            {
                "start": pl.from_epoch(pl.Series(grid.start_ts + QUARTER_S * t), "s").dt.replace_time_zone(
                    "UTC"
                ),
                "ean": eans.gather(m),
                "consumption_wh": cons[rows].ravel().astype(np.int64),
                "injection_wh": inj[rows].ravel().astype(np.int64),
            }
        ).write_parquet(data_parquet / f"{month}.parquet")
    tmp_csv.replace(data_csv)
    return members_csv, data_csv, data_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=_HERE / "data")
    args = parser.parse_args()
    t0 = time.perf_counter()
    files = generate(args.out, args.members, args.days, args.seed)
    sizes = ", ".join(f"{p.name} {_size(p) / 1e6:.0f} MB" for p in files)
    print(f"generated in {time.perf_counter() - t0:.1f} s: {sizes}")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


if __name__ == "__main__":
    main()
