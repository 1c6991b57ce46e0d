"""Sources over real transports: TCP sockets, pty pairs (through pyserial), files; faults and reconnection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import tty
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dsmr_parser import FramingError, Telegram, TelegramReader, Value, build_telegram
from gateway.sources import Source, SourceError, SourceSpec, make_source, open_source, parse_spec

from ..conftest import free_port

BRUSSELS = ZoneInfo("Europe/Brussels")
T0 = datetime(2026, 11, 22, 14, 0, tzinfo=BRUSSELS)


def make_telegram(
    at: datetime, import_wh: int = 1_234_567, power_w: int = 412, meter_id: str = "1SAG1100000292"
) -> bytes:
    """An e-MUCS telegram with the given meter clock, import register (Wh) and power (W)."""
    return build_telegram(
        "FLU5\\253769484_A",
        {
            "0-0:96.1.4": Value(50217),
            "0-0:96.1.1": Value(meter_id),
            "0-0:1.0.0": Value(at),
            "1-0:1.8.1": Value(Decimal(import_wh) / 1000, "kWh"),
            "1-0:1.8.2": Value(Decimal("2000.000"), "kWh"),
            "1-0:2.8.1": Value(Decimal("10.000"), "kWh"),
            "1-0:2.8.2": Value(Decimal("20.000"), "kWh"),
            "0-0:96.14.0": Value(1),
            "1-0:1.7.0": Value(Decimal(power_w) / 1000, "kW"),
            "1-0:2.7.0": Value(Decimal("0.000"), "kW"),
        },
    )


def telegrams(count: int, start: datetime = T0) -> list[bytes]:
    return [make_telegram(start + timedelta(seconds=i), 1_234_567 + i) for i in range(count)]


async def collect(source: Source, count: int, timeout: float = 60.0) -> list[Telegram]:
    """Read `source` until `count` telegrams were parsed."""
    reader = TelegramReader()
    out: list[Telegram] = []

    async def run() -> None:
        async for chunk in source:
            out.extend(t for t in reader.feed(chunk) if not isinstance(t, FramingError))
            if len(out) >= count:
                return

    await asyncio.wait_for(run(), timeout)
    return out


# -- specs -------------------------------------------------------------------------------------------


def test_specs(tmp_path: Path) -> None:
    capture = tmp_path / "capture.txt"
    capture.write_bytes(b"")
    assert parse_spec("/dev/ttyUSB0") == SourceSpec("serial", "/dev/ttyUSB0", {}, False, "/dev/ttyUSB0")
    assert parse_spec("socket://pi.local:2001").target == "pi.local:2001"
    assert parse_spec("socket://[::1]:2001").target == "::1:2001"
    sim = parse_spec("sim:be-1ph?seed=3&speed=10&prepayment=20")
    assert (sim.kind, sim.target, sim.params) == (
        "sim",
        "be-1ph",
        {"seed": "3", "speed": "10", "prepayment": "20"},
    )
    assert parse_spec(str(capture)).kind == "file"
    assert parse_spec(f"file:{capture}?interval=1").params == {"interval": "1"}
    s1 = parse_spec("s1:/dev/ttyUSB1")
    assert (s1.kind, s1.s1) == ("serial", True)
    assert parse_spec("s1+socket://h:3000").kind == "socket"
    assert parse_spec("s1+sim:be-3ph").s1
    assert parse_spec("rfc2217://host:4000").kind == "serial"
    assert parse_spec("socket://h:1").live and not parse_spec("sim:be-3ph").live


@pytest.mark.parametrize(
    "text", ["", "socket://host", "socket://host:99999", "sim:", "file:/nonexistent/file.txt", "file:"]
)
def test_bad_specs_are_clear_errors(text: str) -> None:
    with pytest.raises(SourceError):
        parse_spec(text)


def test_bad_file_parameter(tmp_path: Path) -> None:
    capture = tmp_path / "c.txt"
    capture.write_bytes(b"")
    with pytest.raises(SourceError, match="interval"):
        make_source(f"file:{capture}?interval=fast")


# -- file --------------------------------------------------------------------------------------------


async def test_file_replay_fast_paced_and_looped(tmp_path: Path) -> None:
    frames = telegrams(5)
    capture = tmp_path / "capture.txt"
    capture.write_bytes(b"".join(frames))

    async with open_source(str(capture)) as source:
        got = [t async for t in _all_telegrams(source)]
    assert [t.timestamp for t in got] == [T0 + timedelta(seconds=i) for i in range(5)]
    assert source.status()["state"] == "closed"

    loop = asyncio.get_running_loop()
    async with open_source(f"file:{capture}?interval=0.05") as source:
        began = loop.time()
        got = await collect(source, 5)
        elapsed = loop.time() - began
    assert len(got) == 5
    assert elapsed >= 4 * 0.05 * 0.9  # one telegram per interval, the first at once

    async with open_source(f"file:{capture}?loop=1") as source:
        got = await collect(source, 12)
    assert [t.timestamp for t in got[5:10]] == [T0 + timedelta(seconds=i) for i in range(5)]


async def _all_telegrams(source: Source) -> AsyncIterator[Telegram]:
    reader = TelegramReader()
    async for chunk in source:
        for event in reader.feed(chunk):
            assert not isinstance(event, FramingError)
            yield event
    for event in reader.close():
        assert not isinstance(event, FramingError)
        yield event


# -- TCP -----------------------------------------------------------------------------------------------


class TelegramServer:
    """A TCP server sending telegrams every `interval` s; `stop()`/`start()` on the same port."""

    def __init__(self, port: int, frames: list[bytes], interval: float = 0.01) -> None:
        self.port, self.frames, self.interval = port, frames, interval
        self.sent = 0
        self.server: asyncio.base_events.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.silent = False

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while self.sent < len(self.frames):
                if not self.silent:
                    writer.write(self.frames[self.sent])
                    await writer.drain()
                    self.sent += 1
                await asyncio.sleep(self.interval)
            await reader.read()  # keep the connection open
        except (ConnectionError, OSError):
            pass

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await self.server.wait_closed()


async def test_socket_reconnects_after_the_server_restarts() -> None:
    port = free_port()
    server = TelegramServer(port, telegrams(40))
    await server.start()
    source = make_source(f"socket://127.0.0.1:{port}", backoff_initial_s=0.05, backoff_max_s=0.2)
    seen: list[Telegram] = []
    async with source:
        consumer = asyncio.create_task(_consume(source, seen))
        async with asyncio.timeout(60):
            while len(seen) < 10:
                await asyncio.sleep(0.01)
            await server.stop()
            # the closed connection, then at least one refused open during the outage
            await status_becomes(
                source, lambda s: s["state"] in ("backoff", "connecting") and s["faults"] >= 2
            )
            assert source.status()["retry_in_s"] is not None or source.status()["state"] == "connecting"
            await server.start()
            while server.sent < 40 or len(seen) < server.sent - 1:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
        status = source.status()
        consumer.cancel()
    await server.stop()
    assert status["connects"] == 2
    assert status["faults"] >= 2  # the closed connection, then refused opens during the outage
    stamps = [t.timestamp for t in seen if t.timestamp is not None]
    assert len(stamps) == len(seen)  # every telegram has its time
    assert stamps == sorted(set(stamps))  # nothing doubled, in order
    assert len(stamps) >= 39  # at most the telegram in flight when the server went away is lost


async def _consume(source: Source, seen: list[Telegram]) -> None:
    reader = TelegramReader()
    async for chunk in source:
        seen.extend(t for t in reader.feed(chunk) if not isinstance(t, FramingError))


async def test_silent_meter_is_a_fault_and_the_source_reconnects() -> None:
    port = free_port()
    server = TelegramServer(port, telegrams(1000), interval=0.02)
    server.silent = True
    await server.start()
    source = make_source(
        f"socket://127.0.0.1:{port}", silence_timeout_s=0.3, backoff_initial_s=0.05, backoff_max_s=0.1
    )
    async with source:
        task = asyncio.create_task(collect(source, 3, timeout=60))
        # the silent connection is closed, reopened, and silent again
        await status_becomes(source, lambda s: s["faults"] >= 2)
        status = source.status()
        assert "silent" in status["last_error"]
        server.silent = False
        got = await task
    await server.stop()
    assert len(got) == 3


async def test_open_failure_backs_off_capped_and_never_raises() -> None:
    source = make_source("/nonexistent/ttyUSB9", backoff_initial_s=0.02, backoff_max_s=0.1)
    async with source:
        started = time.monotonic()
        task = asyncio.create_task(collect(source, 1, timeout=60))
        await status_becomes(source, lambda s: s["faults"] >= 5)  # it keeps trying ...
        await asyncio.sleep(0.5)
        status = source.status()
        elapsed = time.monotonic() - started
        assert not task.done()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert status["connects"] == 0
    # ... at most once per 0.1 s once the backoff is capped (0.02, 0.04, 0.08, then 0.1 each)
    assert status["faults"] <= elapsed / 0.1 + 4
    assert "open failed" in status["last_error"]
    assert status["state"] in ("backoff", "connecting")


# -- pty (pyserial-asyncio-fast on a real pseudo-terminal) ----------------------------------------------


class PtyMeter:
    """A pty pair whose slave is reached through a stable symlink (as udev's /dev/p1); `replug()` makes a
    new pty and re-points the link, like a USB adapter unplugged and plugged back."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.replug()

    def replug(self) -> None:
        if self.master >= 0:
            os.close(self.master)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        tmp = self.link.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(name)
        tmp.replace(self.link)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)


async def test_pty_pulled_cable_and_replug(tmp_path: Path) -> None:
    meter = PtyMeter(tmp_path / "p1")
    frames = telegrams(20)
    source = make_source(str(meter.link), backoff_initial_s=0.05, backoff_max_s=0.2)
    reader = TelegramReader()
    seen: list[Telegram] = []

    async def feed(frames_: list[bytes]) -> None:
        for frame in frames_:
            meter.write(frame)
            await asyncio.sleep(0.01)

    try:
        async with source:
            it = source.__aiter__()
            next_chunk: Callable[[], asyncio.Future[bytes]] = lambda: asyncio.ensure_future(anext(it))  # noqa: E731
            await asyncio.sleep(0)

            async def read_until(count: int) -> None:
                while len(seen) < count:
                    seen.extend(t for t in reader.feed(await next_chunk()) if not isinstance(t, FramingError))

            reading = asyncio.create_task(read_until(10))
            await status_becomes(source, lambda s: s["state"] == "connected")  # the source opened the port
            await feed(frames[:10])
            await asyncio.wait_for(reading, 60)
            meter.unplug()
            reading = asyncio.create_task(read_until(20))
            await status_becomes(source, lambda s: s["faults"] >= 1)
            meter.replug()
            # the backoff ends and the new pty is opened
            await status_becomes(source, lambda s: s["state"] == "connected" and s["connects"] == 2)
            await feed(frames[10:])
            await asyncio.wait_for(reading, 60)
            status = source.status()
    finally:
        meter.close()
    assert [t.timestamp for t in seen] == [T0 + timedelta(seconds=i) for i in range(20)]
    assert status["connects"] == 2
    assert status["kind"] == "serial"


async def status_becomes(source: Any, predicate: Any, timeout_s: float = 60.0) -> None:
    """Poll a source's status until the predicate holds (an upper bound, not a timing assertion)."""
    async with asyncio.timeout(timeout_s):
        while not predicate(source.status()):
            await asyncio.sleep(0.02)


async def test_serial_port_is_held_exclusively(tmp_path: Path) -> None:
    """While the gateway reads the port, nobody else can open it (p1gw doctor says so instead of
    stealing half the bytes)."""
    import serial

    meter = PtyMeter(tmp_path / "p1")
    source = make_source(str(meter.link), backoff_initial_s=0.05, backoff_max_s=0.2)
    try:
        async with source:
            it = source.__aiter__()
            reading = asyncio.ensure_future(anext(it))
            await status_becomes(source, lambda s: s.get("state") == "connected")
            with pytest.raises(serial.SerialException):
                serial.Serial(str(meter.link), exclusive=True)
            meter.write(telegrams(1)[0])
            assert await asyncio.wait_for(reading, 60)
    finally:
        meter.close()


async def test_an_outage_is_logged_once_then_its_recovery_not_every_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A ser2net whose device is gone accepts each connection and closes it at once. However many
    attempts the outage takes, it gives a few lines at its start and one `source recovered` at its end."""
    frames = telegrams(3)
    refusals = 12
    accepted = 0

    async def ser2net(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        if accepted > refusals:  # the device is back
            for frame in frames:
                writer.write(frame)
            await writer.drain()
            await asyncio.sleep(1)
        writer.close()

    server = await asyncio.start_server(ser2net, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    caplog.set_level("DEBUG", logger="p1gw.source")
    source = make_source(f"socket://127.0.0.1:{port}", backoff_initial_s=0.01, backoff_max_s=0.02)
    try:
        async with source:
            got = await collect(source, 3, timeout=60)
    finally:
        server.close()
        await server.wait_closed()
    assert [t.timestamp for t in got] == [T0 + timedelta(seconds=i) for i in range(3)]
    records = [r for r in caplog.records if r.name == "p1gw.source"]
    loud = [r.getMessage() for r in records if r.levelno >= logging.INFO]
    quiet = [r for r in records if r.levelno == logging.DEBUG]
    assert len(quiet) >= 2 * (refusals - 2)  # every attempt is still there, at DEBUG
    assert loud.count("source closed") == 1 and loud.count("source reconnecting") == 1
    assert loud.count("source connected") == 2  # the first connection, and the first attempt of the outage
    recovered = [r for r in records if r.getMessage() == "source recovered"]
    assert len(recovered) == 1 and recovered[0].levelno == logging.INFO
    assert len(loud) == 5
    assert source.status()["faults"] == refusals
