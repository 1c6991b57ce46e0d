"""Telegrams the pipeline must not use, through the real `p1gw run` and `Gateway`: NaN and Infinity with a
valid CRC, registers going backwards (a restarted meter), over SQLite and Mosquitto.

One bad telegram never stops the pipeline: it is counted under `rejected` by kind, logged once per burst,
and nothing of it is published; health says so when every telegram is being rejected.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from dsmr_parser.crc import crc16
from gateway.pipeline import Gateway
from gateway.sources import make_source
from gateway.store import open_store
from meter_sim.simulation import Simulation

from ..conftest import free_port
from .test_run_faults import ROOT, wait_health

START = 1_795_000_500  # 2026-11-18T...: on a quarter-hour boundary (UTC seconds, multiple of 900)
INFINITY_LINE = "1-0:99.97.0(1)(0-0:96.7.19)(260101000000W)(Infinity*s)"


def sim_frames(count: int, *, every: int = 30, seed: int = 3, start: int = START) -> list[str]:
    return [frame.decode() for _, frame in Simulation("be-3ph", seed, start, every=every, count=count)]


def with_crc(text: str) -> str:
    """The telegram with its CRC recomputed (the bad values below arrive with a valid CRC)."""
    body = text[: text.index("!") + 1]
    return body + f"{crc16(body.encode()):04X}\r\n"


def replace_line(text: str, code: str, value: str) -> str:
    pattern = re.escape(code) + r"\([^\r\n]*\)"
    assert re.search(pattern, text), code
    return with_crc(re.sub(pattern, lambda _: f"{code}({value})", text, count=1))


def add_line(text: str, line: str) -> str:
    return with_crc(text.replace("\r\n!", f"\r\n{line}\r\n!"))


def register(text: str, code: str) -> Decimal:
    found = re.search(re.escape(code) + r"\(([0-9.]+)\*", text)
    assert found is not None
    return Decimal(found.group(1))


async def test_p1gw_run_keeps_counting_good_telegrams_around_nan_and_infinity(tmp_path: Path) -> None:
    frames = sim_frames(40)
    bad = {8: "nan", 15: "infinity", 30: "both"}
    for index, kind in bad.items():
        if kind in ("nan", "both"):
            frames[index] = replace_line(frames[index], "1-0:1.8.1", "NaN*kWh")
        if kind in ("infinity", "both"):
            frames[index] = add_line(frames[index], INFINITY_LINE)
    capture = tmp_path / "capture.txt"
    capture.write_text("".join(frames), newline="")
    http_port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--port", f"file:{capture}", "--db",
         str(tmp_path / "p1gw.sqlite"), "--http", f"127.0.0.1:{http_port}", "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        health = await wait_health(http_port, lambda h: h["source"]["state"] == "ended")
        await asyncio.sleep(0)  # the replay ended: every telegram was handled before the source said so
        health = await wait_health(http_port, lambda h: h["source"]["state"] == "ended")
        proc.send_signal(signal.SIGTERM)
        _, stderr_bytes = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = stderr_bytes.decode()
    assert proc.returncode == 0, stderr
    # the parser keeps a value that is not a finite number of the meter's shape as raw text: the telegram
    # whose only odd value is the failure log's `Infinity` keeps its good registers and is accepted; those
    # whose import register is `NaN` have no usable register and are rejected
    unusable = [index for index, kind in bad.items() if kind in ("nan", "both")]
    assert health["accepted"] == 40 - len(unusable), health
    assert sum(health["rejected"].values()) + health["frames"]["errors"] == len(unusable), health
    assert health["quarter_hours"]["closed"] >= 1
    assert "Traceback" not in stderr, stderr
    first_lines = [
        line for line in stderr.splitlines() if "telegram rejected:" in line or "framing error:" in line
    ]
    assert 1 <= len(first_lines) <= 2, stderr  # once per burst (and per kind of log), not once per telegram
    with open_store(tmp_path / "p1gw.sqlite") as store:
        checkpoint = store.get_checkpoint()
    assert checkpoint is not None and checkpoint["aggregator"]["last"] is not None


async def test_rejected_telegrams_are_not_published_and_health_says_every_telegram_is_rejected(
    tmp_path: Path, mosquitto: Any, mqtt_collector: Any
) -> None:
    """A meter restarted from lower registers (the simulator before its fix): its telegrams are rejected,
    none is published as state, and health names the problem; then a restarted gateway keeps the floor
    of a register the aggregator does not watch (gas), from the store."""
    from gateway.mqtt import MqttPublisher, MqttSettings

    first = sim_frames(20)
    lower = [
        replace_line(t, "1-0:1.8.2", f"{register(t, '1-0:1.8.2') - Decimal('0.830'):010.3f}*kWh")
        for t in sim_frames(20, start=START + 20 * 30)
    ]
    capture = tmp_path / "capture.txt"
    capture.write_text("".join(first + lower), newline="")
    db = tmp_path / "p1gw.sqlite"
    store = open_store(db)
    async with (
        mqtt_collector(mosquitto, "p1gw/#") as mqtt,
        MqttPublisher(
            mosquitto.url, MqttSettings(queue_path=tmp_path / "q.sqlite", policy={"state/*": "every"})
        ) as pub,
    ):
        gateway = Gateway(make_source(f"file:{capture}?interval=0.02"), store=store, publisher=pub)
        async with gateway:
            await asyncio.wait_for(gateway.wait(), 60)
            health = gateway.health()
            assert await pub.wait_idle(60)
        await mqtt.settle()
    store.close()
    assert health["accepted"] == 20
    assert health["rejected"] == {"register_backwards": 20}
    assert health["status"] == "degraded"
    assert "every telegram rejected (register_backwards)" in health["problems"]
    published = [Decimal(m.text) for m in mqtt.messages if m.topic.endswith("/state/energy_import_night")]
    assert published and published == sorted(published)
    assert max(published) == register(first[-1], "1-0:1.8.2")

    # a new gateway on the same store: gas below what was accepted is rejected too (the floor is stored)
    gas_first = re.search(r"0-1:24.2.3\(\d+[SW]\)\(([0-9.]+)\*m3\)", first[-1])
    assert gas_first is not None
    later = sim_frames(5, start=START + 3600)
    gas_low = [
        with_crc(re.sub(r"(0-1:24.2.3\(\d+[SW]\))\([0-9.]+\*m3\)",
                        lambda m: f"{m.group(1)}({Decimal(gas_first.group(1)) - 1:09.3f}*m3)", t))
        for t in later
    ]  # fmt: skip
    capture.write_text("".join(gas_low), newline="")
    with open_store(db) as store2:
        again = Gateway(make_source(f"file:{capture}"), store=store2)
        async with again:
            await asyncio.wait_for(again.wait(), 60)
        assert again.rejected == {"register_backwards": 5}
        assert again.latest() is None


class BrokenDriver:
    """A connection whose driver fails with an error no source expects (not an I/O error): after the
    telegrams it was given, `read()` raises RuntimeError, as a buggy serial driver or plugin would."""

    def __init__(self, data: bytes) -> None:
        self.data: bytes | None = data

    async def read(self) -> bytes:
        if self.data is None:
            raise RuntimeError("driver crashed")
        data, self.data = self.data, None
        return data

    async def close(self) -> None:
        return None


async def test_health_says_down_when_the_pipeline_task_died(tmp_path: Path) -> None:
    from gateway.sources import Source, parse_spec

    frames = "".join(sim_frames(5)).encode()

    async def connect() -> BrokenDriver:
        return BrokenDriver(frames)

    source = Source(parse_spec("socket://127.0.0.1:9"), connect, reconnect=False, silence_timeout_s=None)
    with open_store(tmp_path / "p1gw.sqlite") as store:
        gateway = Gateway(source, store=store)
        async with gateway:
            await asyncio.wait_for(gateway.wait(), 60)
            health = gateway.health()
    assert health["accepted"] == 5
    assert health["status"] == "down"
    assert "pipeline stopped: RuntimeError: driver crashed" in health["problems"]
