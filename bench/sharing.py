"""Bench: a year of quarter-hours (35,040) for 1,000 members with a multi-round key.

Prints the vectorised engine's time, a straightforward pure-Python loop implementation of the same
key measured in the same run (on a subset of quarter-hours, extrapolated -- it says so), the
ratio, and memory: tracemalloc peak of the allocation and process peak RSS against the input
arrays' own size. Both implementations must agree exactly on the subset.

Usage: .venv/bin/python bench/sharing.py [--members 1000] [--days 365] [--loop-rows 200]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

# This file is named like the package it measures: keep bench/ off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sharing import synthetic  # noqa: E402
from sharing.clock import Grid, parse_start  # noqa: E402
from sharing.engine import Role, allocate  # noqa: E402
from sharing.keys import PPM, MultiRound, Round  # noqa: E402


def loop_multi_round(
    cons: list[list[int]], inj: list[list[int]], roles: list[Role], key: MultiRound
) -> list[list[int]]:
    """The same key, one quarter-hour and one member at a time, plain Python integers."""
    weights = key.weights_ppm.tolist()
    out = []
    for c_row, i_row in zip(cons, inj, strict=True):
        pool = sum(i for i, r in zip(i_row, roles, strict=True) if r.gives)
        remaining = [c if r.receives else 0 for c, r in zip(c_row, roles, strict=True)]
        got = [0] * len(remaining)
        carry = released = 0
        for n, rnd in enumerate(key.rounds):
            release = pool - released if n == len(key.rounds) - 1 else pool * rnd.release_ppm // PPM
            released += release
            avail = release + carry
            given = 0
            if rnd.mode == "fixed":
                for m, need in enumerate(remaining):
                    give = min(avail * weights[m] // PPM, need)
                    got[m] += give
                    remaining[m] -= give
                    given += give
            else:  # pro_rata
                total = sum(remaining)
                for m, need in enumerate(remaining):
                    give = min(need * avail // total, need) if total else 0
                    got[m] += give
                    remaining[m] -= give
                    given += give
            carry = avail - given
        out.append(got)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--loop-rows", type=int, default=200)
    parser.add_argument("--dtype", choices=("int32", "int64"), default="int32")
    args = parser.parse_args()

    comm = synthetic.community(args.members - 2)
    grid = Grid(parse_start("2026-01-01T00:00:00+01:00"), 96 * args.days)
    data = synthetic.generate(comm, grid, seed=42)
    cons = data.consumption_wh.astype(args.dtype)
    inj = data.injection_wh.astype(args.dtype)
    del data
    roles = comm.roles
    key = MultiRound(
        (Round(400_000, "fixed"), Round(600_000, "pro_rata"), Round(0, "pro_rata")),
        comm.weights_ppm(),
        name="hybrid 40 % fixed + pro rata",
    )
    _, _, period = grid.calendar()
    input_bytes = cons.nbytes + inj.nbytes
    print(f"community: {grid.count} quarter-hours x {len(roles)} members "
          f"({len(roles) - 2} consumers, PV, wind); key: {key.name}, rounds "
          f"{[(r.release_ppm / 10_000, r.mode) for r in key.rounds]}")  # fmt: skip
    print(f"input arrays: consumption + injection = {input_bytes / 1e6:.1f} MB ({args.dtype})")

    allocate(cons[:96], inj[:96], roles, key, period[:96])  # warm-up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        result = allocate(cons, inj, roles, key, period)
        best = min(best, time.perf_counter() - t0)
    print(f"vectorised engine: {best:.3f} s for the year (best of 3, one core), "
          f"{best / (grid.count * len(roles)) * 1e9:.1f} ns per member-quarter-hour")  # fmt: skip

    tracemalloc.start()
    result = allocate(cons, inj, roles, key, period)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out_bytes = result.received_wh.nbytes
    print(f"memory: tracemalloc peak during allocate {peak / 1e6:.1f} MB = "
          f"{peak / input_bytes:.2f} x the input arrays (output 'received' alone is "
          f"{out_bytes / 1e6:.1f} MB = {out_bytes / input_bytes:.2f} x; the rest is per-chunk "
          f"temporaries and per-row vectors)")  # fmt: skip
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss_mb:.0f} MB (includes generating the data, Python and NumPy)")

    rows = min(args.loop_rows, grid.count)
    c_list, i_list = cons[:rows].tolist(), inj[:rows].tolist()
    t0 = time.perf_counter()
    looped = loop_multi_round(c_list, i_list, roles, key)
    loop_s = time.perf_counter() - t0
    assert looped == result.received_wh[:rows].tolist(), "loop and engine disagree"
    loop_year = loop_s * grid.count / rows
    print(f"pure-Python loop: {loop_s:.3f} s for {rows} quarter-hours (identical result), "
          f"extrapolated to {loop_year:.1f} s for the year")  # fmt: skip
    print(f"ratio: vectorised engine is {loop_year / best:.0f} x faster than the loop")
    print(f"target < 2 s: {'met' if best < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
