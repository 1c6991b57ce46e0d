"""kill -9 at random moments: no closed quarter-hour lost, nothing counted twice after restarts.

A real subprocess builds telegrams (dsmr_parser.build_telegram from synthetic registers, one every 10 s of
meter time across the autumn DST night), frames and parses them with TelegramReader, feeds the aggregator and
writes every closed quarter-hour with the aggregator checkpoint in one transaction (plus buffered history
on every telegram). The test SIGKILLs it at random points several times; each restart restores the
checkpoint and replays some telegrams it already saw (as a meter file replay would), then the last run
finishes. Every quarter-hour must be there once, with exactly the register difference at its boundaries.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.store import open_store
from tests.gateway.test_store import store_url  # noqa: F401  (the sqlite/postgresql fixture)

STEP_S = 10
PER_QUARTER = 900 // STEP_S
T0 = datetime(2026, 10, 24, 0, 0, tzinfo=UTC) - timedelta(hours=2)  # local midnight, CEST
ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
from datetime import datetime, timedelta, UTC
from decimal import Decimal
from dsmr_parser import TelegramReader, Value, build_telegram
from metering.quarter_hours import QuarterHourAggregator
from gateway.store import open_store

url, total, replay, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t0 = datetime.fromisoformat(sys.argv[5])

def regs(i):
    return (1_000_000 + 3 * i + i * i // 1000, 500 + i // 5, 7 * i // 3, (i // 97) * 2)

store = open_store(url)
agg = QuarterHourAggregator()
snapshot = store.get_checkpoint()
agg.restore(snapshot)
start = 0
if snapshot is not None and snapshot["last"] is not None:
    start = max(0, (snapshot["last"]["ts"] - int(t0.timestamp())) // step + 1 - replay)
reader = TelegramReader()
print("started", start, flush=True)
for i in range(start, total):
    moment = t0 + timedelta(seconds=i * step)
    values = {"0-0:96.1.4": Value("50217"), "0-0:1.0.0": Value(moment)}
    for code, wh in zip(("1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2"), regs(i)):
        values[code] = Value(Decimal(wh) / 1000, "kWh")
    for telegram in reader.feed(build_telegram("FLU5\\253769484_A", values)):
        closed = agg.add(telegram)
        store.add_history("M1", moment, {"power_import_kw": 1.0, "i": i})
        if closed:
            store.add_quarter_hours([q.to_json("M1") for q in closed], checkpoint=agg.snapshot())
store.close()
print("done", flush=True)
"""


def regs(i: int) -> tuple[int, int, int, int]:
    return (1_000_000 + 3 * i + i * i // 1000, 500 + i // 5, 7 * i // 3, (i // 97) * 2)


def run_child(url: str, total: int, replay: int, kill_after_s: float | None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", CHILD, url, str(total), str(replay), str(STEP_S), T0.isoformat()]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if kill_after_s is None:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        return first + out
    time.sleep(kill_after_s)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return first


def check_store(url: str, total: int) -> None:
    closed_quarters = (total - 1) // PER_QUARTER
    with open_store(url) as store:
        rows = store.quarter_hours(T0, T0 + timedelta(days=30), meter_id="M1")
        starts = [row["start"] for row in rows]
        assert len(starts) == len(set(starts)) == closed_quarters
        assert "2026-10-25T02:00:00+02:00" in starts and "2026-10-25T02:00:00+01:00" in starts
        for k, row in enumerate(rows):
            assert datetime.fromisoformat(row["start"]) == T0 + timedelta(seconds=900 * k)
            a, b = regs(k * PER_QUARTER), regs((k + 1) * PER_QUARTER)
            got = [
                round(row[name] * 1000)
                for name in ("import_day", "import_night", "export_day", "export_night")
            ]
            assert got == [y - x for x, y in zip(a, b, strict=True)], row
            assert not row["estimated"]
        days = store.daily_totals(T0, T0 + timedelta(days=30), meter_id="M1")
        assert sum(day["quarter_hours"] for day in days) == closed_quarters
        total_import = sum(round(day["import_day"] * 1000) for day in days)
        assert total_import == regs(closed_quarters * PER_QUARTER)[0] - regs(0)[0]


@pytest.mark.parametrize("kills", [5])
def test_sigkill_at_random_points_loses_and_doubles_nothing(store_url: str, kills: int) -> None:  # noqa: F811
    total = 2 * 24 * 360 + 37  # two days and a bit at one telegram per 10 s, the 25-hour day included
    rng = random.Random(20261025)
    starts = []
    for _ in range(kills):
        line = run_child(store_url, total, replay=rng.randint(0, 60), kill_after_s=rng.uniform(0.2, 1.2))
        starts.append(line)
    final = run_child(store_url, total, replay=rng.randint(0, 60), kill_after_s=None)
    assert "done" in final
    # the child really was interrupted mid-stream and resumed from its checkpoints
    resumed_from = [int(line.split()[1]) for line in [*starts, final] if line.startswith("started")]
    assert len(set(resumed_from)) >= 3, resumed_from
    check_store(store_url, total)
