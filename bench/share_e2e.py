"""Bench: `p1gw share` end to end (read, validate, allocate, write every output) at 200 and 1,000 members.

Each case runs as its own process; its wall time, CPU time (user + system, all threads) and peak RSS
(``wait4``) are printed with the load average at its start: on a shared machine the CPU time is the
figure that does not depend on the neighbours. Each case starts after ``sync`` (the previous case's
output is on disk, not still being written back). In the same run:

1. 200 members x a year, dynamic key, ``--no-member-files``: ours against a plain polars script
   (bench/_reference_share.py: read, pivot, key; no validation or outputs), side by side -> ratio.
2. 1,000 members x a year (35,040 quarter-hours, 35 M rows), multi-round key, every output
   (allocation.csv, members/<ean>.csv, monthly CSVs, kpis.json, report, Parquet): from the contract CSV
   (target < 60 s, < 3 GB) and from Parquet (target < 15 s).
3. Peak RSS for 1, 3 and 12 months of the same community (from Parquet): nearly flat when streaming.

The data comes from bench/gen_community.py (seeded) into bench/data/ (git-ignored; reused when present).
Usage: .venv/bin/python bench/share_e2e.py [--members 1000] [--small 200] [--days 365] [--skip-big]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench.gen_community import generate  # noqa: E402

PY = sys.executable
ROUNDS = "40:fixed,60:pro_rata,0:pro_rata"


def measure(label: str, argv: list[str]) -> tuple[float, float]:
    """Run ``argv``; print and return (seconds, peak RSS in MB).

    The page cache is flushed first (not timed): a case writes up to 4.4 GB, and the kernel writing the
    previous case's files back while the next one runs would charge it for them (throttled writes). Its
    output folder is removed afterwards, so the cases do not fill the page cache for the next ones (with
    the page cache full, the kernel evicts pages for every page written: a year from Parquet then spends
    10-13 s in the kernel instead of 3-4 s)."""
    os.sync()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out = (proc.stdout.read() if proc.stdout else b"").decode().strip()
    err = (proc.stderr.read() if proc.stderr else b"").decode().strip()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed: {err[-2000:]}")
    if "--out" in argv:
        shutil.rmtree(Path(argv[argv.index("--out") + 1]), ignore_errors=True)
    rss = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    print(f"  {label:<44} {seconds:7.1f} s  CPU {cpu:6.1f} s  peak RSS {rss:6.0f} MB  (load avg {load:.1f})")
    print(f"    {out.splitlines()[-1] if out else ''}")
    return seconds, rss


def share(members: Path, data: Path, out: Path, key: str, *extra: str) -> list[str]:
    shutil.rmtree(out, ignore_errors=True)
    return [PY, "-m", "gateway.cli", "share", "--members", str(members), "--data", str(data), "--key", key,
            "--out", str(out), *extra]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--skip-big", action="store_true", help="only the side-by-side small case")
    args = parser.parse_args()
    data_dir, out = _HERE / "data", _HERE / "data" / "out"
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")

    members, csv_path, _ = generate(data_dir, args.small, args.days, seed=42)
    print(
        f"1. {args.small} members x {args.days} days ({csv_path.stat().st_size / 1e6:.0f} MB CSV), "
        "dynamic key"
    )
    ref_s, ref_mb = measure("plain polars script (reference)", [PY, str(_HERE / "_reference_share.py"),
                                                                 str(members), str(csv_path)])  # fmt: skip
    small = share(members, csv_path, out / "small", "dynamic", "--no-member-files")
    ours_s, ours_mb = measure("p1gw share --no-member-files", small)
    print(
        f"  ratio ours / reference: {ours_s / ref_s:.2f}x time (target <= 1.5x), "
        f"{ours_mb / ref_mb:.2f}x memory"
    )
    if args.skip_big:
        return

    members, csv_path, parquet = generate(data_dir, args.members, args.days, seed=42)
    print(f"2. {args.members} members x {args.days} days ({csv_path.stat().st_size / 1e6:.0f} MB CSV), "
          f"multi-round {ROUNDS}, every output")  # fmt: skip
    big = ["--rounds", ROUNDS, "--parquet"]
    csv_s, csv_mb = measure("from CSV", share(members, csv_path, out / "big_csv", "multi-round", *big))
    pq_s, _ = measure("from Parquet", share(members, parquet, out / "big_pq", "multi-round", *big))
    print(
        f"  targets: CSV < 60 s ({'met' if csv_s < 60 else 'NOT met'}), < 3 GB "
        f"({'met' if csv_mb < 3072 else 'NOT met'}); Parquet < 15 s ({'met' if pq_s < 15 else 'NOT met'})"
    )

    print("3. peak RSS by months of data (from Parquet, every output)")
    rss = {}
    for months, end in ((1, "2026-02-01"), (3, "2026-04-01"), (12, None)):
        bounds = ["--to", end] if end else []
        _, rss[months] = measure(f"{months:2d} month(s)", share(members, parquet, out / f"m{months}",
                                                                "multi-round", *big, *bounds))  # fmt: skip
    print(f"  12 months / 1 month peak RSS: {rss[12] / rss[1]:.2f}x (flat is 1.0x)")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
