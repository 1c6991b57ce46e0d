"""`p1gw demo`: simulator + gateway + MQTT (an embedded broker when none answers) + dashboard, then exit."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from ..conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


async def read_banner(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(60):
        while not any("stop" in line and "Ctrl-C" in line for line in lines):
            line = (await proc.stdout.readline()).decode()
            assert line, "demo ended before printing its banner"
            lines.append(line)
    return "".join(lines)


async def start_demo(*args: str, state: Path | None = None) -> asyncio.subprocess.Process:
    """The demo as a process; its simulated meter's saved registers go to `state` (a fresh dir if None)."""
    home = state or Path(tempfile.mkdtemp(prefix="p1gw-demo-state-"))
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "demo", "--speed", "100", *args,
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "XDG_STATE_HOME": str(home)},
    )  # fmt: skip


async def test_demo_with_embedded_broker() -> None:
    closed_port = free_port()  # nobody answers there: the demo starts its own broker
    proc = await start_demo(
        "--duration", "8", "--mqtt", f"mqtt://127.0.0.1:{closed_port}", "--http", "127.0.0.1:0"
    )
    banner = await read_banner(proc)
    assert "embedded broker" in banner
    http = re.search(r"dashboard\s+(http://\S+)/", banner)
    mqtt = re.search(r"mqtt://127\.0\.0\.1:(\d+)", banner)
    assert http and mqtt and "mosquitto_sub" in banner
    async with aiomqtt.Client("127.0.0.1", int(mqtt.group(1))) as client:
        await client.subscribe("p1gw/#")
        topics: set[str] = set()
        async with asyncio.timeout(60):
            async for message in client.messages:
                topics.add(str(message.topic).split("/", 2)[-1])
                if {"telegram", "availability", "state/energy_import_day"} <= topics:
                    break
    async with httpx.AsyncClient() as web:
        health: dict[str, Any] = (await web.get(f"{http.group(1)}/api/v1/health")).json()
        page = await web.get(f"{http.group(1)}/")
    assert health["source"]["kind"] == "sim" and health["telegrams"] > 0
    assert health["mqtt"]["connected"] is True
    assert page.status_code == 200
    assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_demo_uses_a_broker_that_answers(mosquitto: Any) -> None:
    proc = await start_demo("--duration", "3", "--mqtt", mosquitto.url, "--http", f"127.0.0.1:{free_port()}")
    banner = await read_banner(proc)
    assert "your broker" in banner and str(mosquitto.port) in banner
    assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_demo_uses_the_embedded_broker_unless_asked() -> None:
    # a broker answering on the usual port is not enough: the demo stays off it unless --mqtt names it
    from gateway.cli import build_parser

    assert build_parser("demo").parse_args(["demo"]).mqtt is None
    proc = await start_demo("--duration", "3", "--http", f"127.0.0.1:{free_port()}")
    banner = await read_banner(proc)
    assert "embedded broker" in banner
    assert await asyncio.wait_for(proc.wait(), 30) == 0


async def retained(url_port: int, *filters: str) -> list[str]:
    """Topics with a retained message on the broker (a fresh subscriber, a quiet second)."""
    found: list[str] = []
    async with aiomqtt.Client("127.0.0.1", url_port) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter)
        try:
            while True:
                async with asyncio.timeout(1.0):
                    message = await anext(client.messages)
                if message.retain and message.payload:
                    found.append(str(message.topic))
        except TimeoutError:
            return found


async def test_demo_on_your_broker_deletes_what_it_retained(mosquitto: Any, tmp_path: Path) -> None:
    proc = await start_demo(
        "--duration", "4", "--mqtt", mosquitto.url, "--http", f"127.0.0.1:{free_port()}", state=tmp_path
    )
    banner = await read_banner(proc)
    assert "deleted when it stops" in banner
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    assert proc.stdout is not None
    said = (await proc.stdout.read()).decode()
    cleared = re.search(r"deleted (\d+) retained messages", said)
    assert cleared and int(cleared.group(1)) > 50, said
    assert await retained(mosquitto.port, "p1gw/#", "homeassistant/#") == []
    # --keep-retained leaves the meter in Home Assistant
    proc = await start_demo(
        "--duration", "4", "--mqtt", mosquitto.url, "--keep-retained", "--http", f"127.0.0.1:{free_port()}",
        state=tmp_path,
    )  # fmt: skip
    assert "stays after it stops" in await read_banner(proc)
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    kept = await retained(mosquitto.port, "p1gw/#", "homeassistant/#")
    assert any(t.startswith("homeassistant/sensor/") for t in kept)
    assert any(t.endswith("/state/energy_import_day") for t in kept)
