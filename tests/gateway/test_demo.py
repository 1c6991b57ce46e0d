"""`p1gw demo`: simulator + gateway + MQTT (an embedded broker when none answers) + dashboard, then exit."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from .test_pipeline import free_port

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


async def start_demo(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "demo", "--speed", "100", *args,
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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
