"""What `--serve-p1` / `--homewizard` add per telegram: the `FrameTap` (framing + CRC again, exact bytes kept)
against the pipeline's own `TelegramReader` (framing + CRC + parsing) on the same stream, in the same run.

    .venv/bin/python bench/frame_tap.py            # 20,000 distinct Belgian 3-phase telegrams, 4 KiB chunks
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dsmr_parser import TelegramReader  # noqa: E402
from gateway.compat.frame_tap import FrameTap  # noqa: E402
from meter_sim import Simulation  # noqa: E402


def cpu_per_telegram(make: Any, chunks: list[bytes]) -> float:
    """Best of three, CPU seconds per telegram."""
    best = float("inf")
    for _ in range(3):
        obj, count = make(), 0
        start = time.process_time()
        for chunk in chunks:
            count += len(obj.feed(chunk))
        best = min(best, (time.process_time() - start) / count)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20_000)
    args = ap.parse_args()
    start = datetime.fromisoformat("2026-11-22T14:00:00+01:00")
    data = b"".join(frame for _, frame in Simulation("be-3ph", 1, start, count=args.count))
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    reader = cpu_per_telegram(TelegramReader, chunks)
    tap = cpu_per_telegram(FrameTap, chunks)
    print(f"{args.count} telegrams: reader {reader * 1e6:.1f} µs, tap {tap * 1e6:.1f} µs per telegram")
    print(f"the tap adds {tap / reader:.2f}x the reader's cost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
