"""End to end: the simulator's community mode (`p1gw sim --community`: 10 members + a PV park + a wind
turbine) publishes quarter-hours through a real Mosquitto to two hub workers (MQTT 5 shared subscription,
one SQLite store); what the hub stores and publishes equals `p1gw share` on the same data CSV, Wh for Wh."""

from __future__ import annotations

import asyncio
import csv
import json
import random
import shutil
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from gateway.cli import main
from sharing.assemble import read_data
from sharing.clock import DEFAULT_TZ
from sharing.csvio import read_members
from sharing.hub import HubConfig, HubStore, run_hub
from sharing.keyspec import build_key

from ..conftest import Broker

AHEAD = 40  # quarter-hours the gateways may publish ahead of the hub's results


def wh(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 1000 + int(frac)


async def hub_equals_batch(tmp_path: Path, broker: Broker, days: int) -> None:
    sim = tmp_path / "sim"
    start = "2026-03-23T00:00:00+01:00"  # the period crosses the DST change
    sizes = ["--community", "10", "--pv", "250", "--wind", "800", "--seed", "5"]
    assert main(["sim", *sizes, "--start", start, "--duration", f"{days}d", "--out", str(sim)]) == 0
    # even members are known to the hub by their gateway's meter id, odd ones send their EAN
    with (sim / "members.csv").open() as f, (tmp_path / "members.csv").open("w", newline="") as out:
        rows = list(csv.DictReader(f))
        writer = csv.DictWriter(out, [*rows[0].keys(), "meter_id"])
        writer.writeheader()
        for m, row in enumerate(rows):
            writer.writerow({**row, "meter_id": f"GW{m:04d}" if m % 2 == 0 else ""})
    shutil.copy(sim / "data.csv", tmp_path / "data.csv")
    community = read_members(tmp_path / "members.csv")
    data = read_data(tmp_path / "data.csv", community, tz=DEFAULT_TZ)
    grid = data.grid
    assert len(community.members) == 12 and grid.count == 96 * days
    key = build_key("fluvius-optimal", community)
    db = tmp_path / "hub.sqlite"
    stop = asyncio.Event()
    readies = [asyncio.Event(), asyncio.Event()]
    workers = [
        asyncio.create_task(run_hub(HubConfig(broker.url, str(db), client_id=f"hub-{i}",
                                              group="community", sweep_every_s=3600),
                                    community, key, stop, readies[i]))
        for i in range(2)
    ]  # fmt: skip
    expected = grid.count * len(community.members)
    received: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 10)
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="member-dashboards") as sub:
            await sub.subscribe("p1gw/+/community", qos=1)

            async def collect() -> None:
                async for message in sub.messages:
                    payload = json.loads(message.payload)
                    received[(payload["ean"], payload["start"])] = payload
                    if len(received) >= expected and not any(p["provisional"] for p in received.values()):
                        return

            collector = asyncio.create_task(collect())
            async with aiomqtt.Client("127.0.0.1", broker.port, identifier="gateways",
                                      max_inflight_messages=100) as pub:  # fmt: skip
                rng = random.Random(1)
                for t in range(grid.count):
                    # back-pressure, as a gateway's queue gives: stay at most AHEAD quarter-hours in front
                    # of the results (a broker drops QoS 1 messages beyond a slow client's queue limit)
                    while len(received) < (t - AHEAD) * len(community.members) and not collector.done():
                        await asyncio.sleep(0.002)
                    order = list(range(len(community.members)))
                    rng.shuffle(order)
                    if t % 50 == 7:
                        order += order[:3]  # duplicates (QoS 1 redelivery, gateway restarts)
                    sends = []
                    for m in order:
                        member = community.members[m]
                        meter_id = member.meter_id or f"SIM{member.ean[-6:]}"
                        record = {"meter_id": meter_id, "ean": member.ean if m % 2 else None,
                                  "start": grid.iso(t), "end": grid.iso(t + 1),
                                  "import_kwh": int(data.consumption_wh[t, m]) / 1000,
                                  "export_kwh": int(data.injection_wh[t, m]) / 1000,
                                  "complete": True, "estimated": False}  # fmt: skip
                        sends.append(pub.publish(f"p1gw/{meter_id}/quarter_hour",
                                                 json.dumps(record), qos=1, retain=True))  # fmt: skip
                    await asyncio.gather(*sends)
            await asyncio.wait_for(collector, 60 + days * 10)
    finally:
        stop.set()
        await asyncio.gather(*workers)

    assert main(["share", "--members", str(tmp_path / "members.csv"), "--data",
                 str(tmp_path / "data.csv"), "--key", "fluvius-optimal", "--out",
                 str(tmp_path / "batch"), "--no-report", "--no-member-files"]) == 0  # fmt: skip
    store = HubStore(db)
    stored = store.all_allocations()
    store.close()
    assert len(stored) == expected
    start_ts = {grid.iso(t): grid.ts(t) for t in range(grid.count)}
    with (tmp_path / "batch" / "allocation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected
    shared_total = 0
    for row in rows:
        batch = (wh(row["shared_kwh"]), wh(row["residual_kwh"]), wh(row["surplus_kwh"]), False)
        assert stored[(row["ean"], start_ts[row["start"]])] == batch, row
        published = received[(row["ean"], row["start"])]
        assert round(published["shared_kwh"] * 1000) == batch[0]
        assert round(published["residual_kwh"] * 1000) == batch[1]
        assert round(published["surplus_kwh"] * 1000) == batch[2]
        shared_total += batch[0]
    assert shared_total > 0
    log = broker.log()
    for worker in ("hub-0", "hub-1"):  # the shared subscription split the load
        assert f"Sending PUBLISH to {worker} " in log and "quarter_hour" in log


async def test_hub_through_mosquitto_equals_batch_share(tmp_path: Path, mosquitto: Broker) -> None:
    await hub_equals_batch(tmp_path, mosquitto, days=3)


@pytest.mark.slow
async def test_hub_two_weeks(tmp_path: Path, mosquitto: Broker) -> None:
    await hub_equals_batch(tmp_path, mosquitto, days=14)


@pytest.mark.slow
async def test_hub_full_year(tmp_path: Path, mosquitto: Broker) -> None:
    await hub_equals_batch(tmp_path, mosquitto, days=365)
