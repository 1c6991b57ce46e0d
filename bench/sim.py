"""Simulator speed: telegrams/s of `p1gw sim --fast` per meter type, and the time to simulate a year.

For each meter type, in one process:
  * fast path: `Simulation(...)` telegram per simulated second (the model steps 1 s, the precompiled
    template builds the bytes) — telegrams/s;
  * reference measured in the same run: the same meter, telegrams built by `build_telegram(header,
    values())` (the generic builder) — telegrams/s and the ratio;
  * a year: one meter stepped at 1 s for 365 days (vectorised per segment) with one telegram per
    quarter-hour, wall time; and the extrapolated time of a year with a telegram every second.

    .venv/bin/python bench/sim.py [--telegrams 20000] [--no-year]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsmr_parser import build_telegram
from meter_sim import KINDS, Meter, Simulation

START = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Brussels"))


def fast_rate(kind: str, n: int) -> float:
    sim = Simulation(kind, 1, START, every=1, count=n)
    t0 = time.perf_counter()
    for _ in sim:
        pass
    return n / (time.perf_counter() - t0)


def builder_rate(kind: str, n: int) -> float:
    m = Meter(kind, 1, START)
    crc = m.kind.protocol != "dsmr22"
    t0 = time.perf_counter()
    for _ in range(n):
        m.step(1)
        build_telegram(m.kind.header, m.values(), crc=crc)
    return n / (time.perf_counter() - t0)


def year_s(kind: str) -> tuple[float, int]:
    sim = Simulation(kind, 1, START, every=900, duration_s=365 * 86400)
    t0 = time.perf_counter()
    count = sum(1 for _ in sim)
    return time.perf_counter() - t0, count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--telegrams", type=int, default=20000)
    ap.add_argument("--no-year", action="store_true")
    args = ap.parse_args()
    n = args.telegrams
    print(
        f"{'meter':10} {'fast tg/s':>10} {'builder tg/s':>13} {'ratio':>6} {'year@15min s':>13} "
        f"{'year@1s (est.)':>15}"
    )
    for kind in KINDS:
        fast = fast_rate(kind, n)
        ref = builder_rate(kind, max(1000, n // 5))
        interval = KINDS[kind].interval_s
        if args.no_year:
            year, _cells = float("nan"), 0
        else:
            year, _cells = year_s(kind)
        est = year + 365 * 86400 / interval / fast
        print(f"{kind:10} {fast:10.0f} {ref:13.0f} {fast / ref:6.1f} {year:13.1f} {est / 60:12.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
