"""Bench: one hub worker's throughput in quarter-hour readings per second, through a real Mosquitto and
PostgreSQL (a throwaway schema on 127.0.0.1:5432), bounded in time.

A community of --members gateways publishes one quarter-hour record each per quarter-hour (QoS 1, as
`p1gw run` does), staying at most 40 quarter-hours ahead of the hub's results (a gateway's queue gives
that back-pressure); one `p1gw hub` worker (its own process) stores every reading, allocates each
quarter-hour once all members are in, stores the allocations and publishes every member's result. The
clock runs from the first publish to the last final result received; publishing stops after
--seconds. Prints readings per second of wall time and per CPU second of the hub process (``wait4``):
the second does not depend on how busy the shared machine is.

Usage: .venv/bin/python bench/hub_throughput.py [--members 100] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import aiomqtt  # noqa: E402
import psycopg  # noqa: E402

from sharing import synthetic  # noqa: E402
from sharing.clock import Grid, parse_start  # noqa: E402
from sharing.community import Community  # noqa: E402
from tests.conftest import make_broker  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
AHEAD = 40


async def run(comm: Community, seconds: float, port: int) -> tuple[int, float, int]:
    members = len(comm.members)
    grid = Grid(parse_start("2026-03-23T00:00:00+01:00"), 96 * 7)
    data = synthetic.generate(comm, grid, seed=3)
    results: set[tuple[str, str]] = set()
    async with aiomqtt.Client("127.0.0.1", port, identifier="dashboards") as sub:
        await sub.subscribe("p1gw/+/community", qos=1)

        async def collect() -> None:
            async for message in sub.messages:
                payload = json.loads(message.payload)
                if not payload["provisional"]:
                    results.add((payload["ean"], payload["start"]))

        collector = asyncio.create_task(collect())
        t0 = time.perf_counter()
        sent_qh = 0
        # a quarter-hour's 100 publishes are awaited together: aiomqtt's warning about them is expected
        quiet = logging.getLogger("bench.gateways")
        quiet.setLevel(logging.ERROR)
        async with aiomqtt.Client("127.0.0.1", port, identifier="gateways", max_inflight_messages=100,
                                  logger=quiet) as pub:  # fmt: skip
            for t in range(grid.count):
                if time.perf_counter() - t0 > seconds:
                    break
                while len(results) < (t - AHEAD) * members:
                    await asyncio.sleep(0.002)
                sends = []
                for m, member in enumerate(comm.members):
                    record = {"meter_id": member.meter_id, "ean": member.ean, "start": grid.iso(t),
                              "end": grid.iso(t + 1), "import_kwh": int(data.consumption_wh[t, m]) / 1000,
                              "export_kwh": int(data.injection_wh[t, m]) / 1000, "complete": True,
                              "estimated": False}  # fmt: skip
                    sends.append(
                        pub.publish(f"p1gw/{member.meter_id}/quarter_hour", json.dumps(record), qos=1)
                    )
                await asyncio.gather(*sends)
                sent_qh += 1
        deadline = time.perf_counter() + 120
        while len(results) < sent_qh * members and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        collector.cancel()
    return sent_qh, elapsed, len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, connect_timeout=3, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    store = f"{PG_URL}?options=-csearch_path%3D{schema}"
    comm = synthetic.community(args.members - 2)
    with tempfile.TemporaryDirectory() as tmp:
        members_csv = Path(tmp) / "members.csv"
        synthetic.write_members_csv(members_csv, comm)
        broker = make_broker(Path(tmp) / "broker")
        hub = subprocess.Popen([sys.executable, "-m", "gateway.cli", "hub", "--mqtt", broker.url, "--members",
                                str(members_csv), "--key", "dynamic", "--db", store, "--client-id", "hub-0",
                                "--group", "bench", "--sweep-every", "3600"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "SUBSCRIBE from hub-0" not in broker.log() and time.monotonic() < deadline:
                time.sleep(0.1)
            load = os.getloadavg()[0]
            sent, elapsed, done = asyncio.run(run(comm, args.seconds, broker.port))
        finally:
            hub.send_signal(signal.SIGTERM)
            _, _, usage = os.wait4(hub.pid, 0)
            broker.stop()
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    readings = sent * args.members
    cpu = usage.ru_utime + usage.ru_stime
    print(f"one hub worker, {args.members} members, PostgreSQL + Mosquitto (load avg {load:.1f} at start):")
    print(f"  {sent} quarter-hours x {args.members} members = {readings} readings in {elapsed:.1f} s, "
          f"{done} final results received; hub process CPU {cpu:.1f} s")  # fmt: skip
    print(f"  {readings / elapsed:.0f} readings/s of wall time, {readings / cpu:.0f} readings per CPU second "
          f"({sent / elapsed:.2f} community quarter-hours/s)")  # fmt: skip


if __name__ == "__main__":
    main()
