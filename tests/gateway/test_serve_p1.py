"""`--serve-p1`: one P1 port, several readers.

- The tap hands out each valid telegram byte for byte (any chunking, garbage and bad CRCs around it).
- dsmr-parser's asyncio TCP reader (the code path of Home Assistant's DSMR integration), run in its own venv
  (.bench-venv, see bench/_reference_venv.py), reads the stream re-served by a real `p1gw run --port
  sim:be-3ph --serve-p1 ...` and gets the same values as the gateway's parser; the bytes are the simulated
  meter's own.
- A reader that stops reading (a tiny receive buffer, never read) loses whole telegrams, counted, while the
  reader beside it receives every telegram: event-based, no minute of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from dsmr_parser import Telegram, TelegramReader
from gateway.compat.frame_tap import FrameTap
from gateway.compat.p1_server import P1Server
from gateway.config import ConfigError, listen_address, load_config
from meter_sim import Simulation

from ..conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
START = "2026-11-22T14:00:00+01:00"


def _bench_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved  # bench/ holds scripts named like our packages (sharing.py, gateway.py)
    return module


def _frames(count: int, kind: str = "be-3ph", seed: int = 3) -> list[bytes]:
    return [frame for _, frame in Simulation(kind, seed, datetime.fromisoformat(START), count=count)]


# -- the tap -------------------------------------------------------------------------------------------------
def test_tap_gives_each_valid_telegram_byte_for_byte_in_any_chunking() -> None:
    frames = _frames(4)
    bad = bytearray(frames[1])
    bad[bad.index(b"1-0:1.8.1(") + 12] ^= 0x01  # one digit changed: the CRC no longer matches
    stream = b"noise\r\n" + frames[0] + bytes(bad) + frames[2][:200] + frames[3] + frames[2]
    for size in (1, 7, 1000, len(stream)):
        tap = FrameTap()
        out = [t for i in range(0, len(stream), size) for t in tap.feed(stream[i : i + size])]
        assert out == [frames[0], frames[3], frames[2]], size
        assert tap.framer.buffered < 4096


def test_tap_memory_stays_bounded_on_endless_garbage() -> None:
    tap = FrameTap()
    for _ in range(200):
        assert tap.feed(b"x" * 4096) == []
    assert len(tap._tail) <= tap.framer.max_frame + 4096


# -- dsmr-parser's TCP reader against p1gw run --serve-p1 ---------------------------------------------------
@pytest.fixture(scope="module")
def reference_python() -> Path:
    try:
        return Path(_bench_module("_reference_venv").reference_python())
    except (subprocess.CalledProcessError, OSError) as exc:  # pragma: no cover - offline machine
        pytest.skip(f"the reference venv (.bench-venv with dsmr-parser) cannot be made: {exc}")


@pytest.fixture
def serve_p1_gateway(tmp_path: Path) -> Iterator[tuple[int, int]]:
    p1_port, http_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "run",
            "--port",
            f"sim:be-3ph?seed=3&speed=4&start={START}",
            "--db",
            str(tmp_path / "p1gw.sqlite"),
            "--http",
            f"127.0.0.1:{http_port}",
            "--serve-p1",
            f"127.0.0.1:{p1_port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield p1_port, http_port
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    async with asyncio.timeout(60):
        while True:
            with contextlib.suppress(OSError):
                return await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.1)


async def test_dsmr_parser_tcp_reader_gets_the_gateways_values(
    serve_p1_gateway: tuple[int, int], reference_python: Path
) -> None:
    p1_port, http_port = serve_p1_gateway
    crosscheck = _bench_module("crosscheck_reference")
    reader, writer = await _connect(p1_port)  # our own reader beside it: the raw bytes
    count = 6
    helper = await asyncio.create_subprocess_exec(
        str(reference_python),
        "-I",
        str(ROOT / "bench" / "_reference_tcp_reader.py"),
        "127.0.0.1",
        str(p1_port),
        "5B",
        str(count),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd="/",
    )
    ours: dict[datetime, tuple[bytes, Telegram]] = {}
    tap, parse = FrameTap(), TelegramReader()
    theirs: list[dict[str, str]] = []
    try:
        async with asyncio.timeout(90):
            assert helper.stdout is not None
            while len(theirs) < count:
                line = await helper.stdout.readline()
                assert line, (await helper.stderr.read()).decode() if helper.stderr else "helper ended"
                theirs.append(json.loads(line))
            await helper.wait()
            latest = max(datetime.fromisoformat(t["P1_MESSAGE_TIMESTAMP"]) for t in theirs)
            while latest not in ours:  # our reader has the same telegrams (and maybe earlier ones)
                for raw in tap.feed(await reader.read(65536)):
                    (telegram,) = parse.feed(raw)
                    assert isinstance(telegram, Telegram) and telegram.timestamp is not None
                    ours[telegram.timestamp] = (raw, telegram)
    finally:
        writer.close()
        if helper.returncode is None:
            helper.kill()
    simulated = set(_frames(2000))
    compared = 0
    for values in theirs:
        raw, telegram = ours[datetime.fromisoformat(values["P1_MESSAGE_TIMESTAMP"])]
        assert raw in simulated  # the meter's bytes, untouched
        for code, name in crosscheck.NAMES.items():
            if code in telegram.values and name in values:
                compared += 1
                assert crosscheck._same(telegram.values[code].value, values[name]), (code, name)
    assert compared >= count * 15
    async with httpx.AsyncClient(timeout=5) as client:
        metrics = (await client.get(f"http://127.0.0.1:{http_port}/api/v1/metrics")).text
        health = (await client.get(f"http://127.0.0.1:{http_port}/api/v1/health")).json()
    assert "serve_p1_sent_total" in metrics and "serve_p1_dropped_total" in metrics
    assert health["serve_p1"]["connections_total"] == 2 and health["serve_p1"]["dropped_total"] == 0


# -- a reader that stops reading ----------------------------------------------------------------------------
async def test_a_reader_that_stops_reading_costs_the_others_nothing() -> None:
    frames = _frames(3000)
    async with P1Server("127.0.0.1", 0) as server:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        async with asyncio.timeout(60):
            while server.status()["clients"] < 2:
                await asyncio.sleep(0.01)
        stalled_client = next(c for c in server._clients if c.peer.endswith(f":{stalled.getsockname()[1]}"))
        received = bytearray()
        expected = 0
        published = 0
        async with asyncio.timeout(60):
            for frame in frames:
                server.publish(frame)  # synchronous: the gateway never waits for a reader
                published += 1
                expected += len(frame)
                while len(received) < expected:
                    received += await reader.read(65536)
                if stalled_client.dropped >= 25:
                    break
        assert stalled_client.dropped >= 25, "the stalled reader never lost a telegram"
        assert bytes(received) == b"".join(frames[:published])  # every telegram, in order, intact
        status = server.status()
        others = [c for c in status["per_client"] if c["peer"] != stalled_client.peer]
        assert [c["dropped"] for c in others] == [0]
        assert status["dropped_total"] == stalled_client.dropped
        assert status["sent_total"] == published + stalled_client.sent

        # it reads again, and telegrams keep coming: whole ones, in order; the missing ones are the dropped
        stalled.setblocking(False)
        tap = FrameTap()
        got: list[bytes] = []
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(60):
            while len(got) < stalled_client.sent:
                got += tap.feed(await loop.sock_recv(stalled, 65536))
            for frame in frames[published : published + 5]:
                server.publish(frame)
                published += 1
            while len(got) < stalled_client.sent:
                got += tap.feed(await loop.sock_recv(stalled, 65536))
        index = {frame: i for i, frame in enumerate(frames)}
        positions = [index[t] for t in got]
        assert positions == sorted(set(positions)) and positions[-5:] == list(range(published - 5, published))
        assert published - len(positions) == stalled_client.dropped
        stalled.close()
        writer.close()


async def test_a_reader_beyond_max_clients_is_refused() -> None:
    async with P1Server("127.0.0.1", 0, max_clients=1) as server:
        _, first = await asyncio.open_connection("127.0.0.1", server.port)
        second_reader, second = await asyncio.open_connection("127.0.0.1", server.port)
        async with asyncio.timeout(60):
            assert await second_reader.read() == b""  # closed at once
        assert server.status()["refused_total"] == 1 and server.status()["clients"] == 1
        first.close()
        second.close()


# -- configuration and start-up errors ----------------------------------------------------------------------
def test_listen_addresses_from_the_environment_and_their_errors() -> None:
    config = load_config(
        environ={"P1GW_SERVE_P1__LISTEN": "2001", "P1GW_HOMEWIZARD__LISTEN": "127.0.0.1:8081"}
    )
    assert listen_address(config.serve_p1.listen, "serve_p1.listen") == ("0.0.0.0", 2001)
    assert listen_address(config.homewizard.listen, "homewizard.listen") == ("127.0.0.1", 8081)
    assert listen_address("[::1]:2001", "x") == ("::1", 2001)
    with pytest.raises(ConfigError, match=r"serve_p1.listen 'pi:p1': expected \[HOST:\]PORT"):
        load_config(environ={"P1GW_SERVE_P1__LISTEN": "pi:p1"})
    with pytest.raises(ConfigError, match=r"homewizard\.serial must be 12 hex digits"):
        load_config(environ={"P1GW_HOMEWIZARD__SERIAL": "p1-gateway"})


@pytest.mark.parametrize("flag", ["--serve-p1", "--homewizard"])
def test_a_port_already_taken_is_a_clear_error(tmp_path: Path, flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "run", "--port", "sim:be-3ph", "--db", str(tmp_path / "db"),
             "--http", f"127.0.0.1:{free_port()}", flag, f"127.0.0.1:{port}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert f"p1gw run: {flag} 127.0.0.1:{port}: " in proc.stderr
