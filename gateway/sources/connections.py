"""Connections: one open byte stream each (serial port, TCP socket, file replay), all behind `Connection`.

A connection only reads and closes; it knows nothing of faults or reconnecting (that is
`gateway.sources.reconnect.Source`'s job). Reading a closed or failed stream raises an OSError-like error
or returns b"" at its end. The in-process simulator's connection is in `gateway.sources.simulator`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Protocol

FILE_CHUNK_BYTES = 64 * 1024
READ_BYTES = 64 * 1024


class Connection(Protocol):
    """One open connection: `read()` returns bytes, b"" at the end; `close()` releases it."""

    async def read(self) -> bytes: ...

    async def close(self) -> None: ...


class StreamConnection:
    """An asyncio stream pair (TCP socket or serial transport)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self) -> bytes:
        return await self.reader.read(READ_BYTES)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)


class FileConnection:
    """A file replayed in 64 KiB chunks, or one telegram every `interval_s` seconds; `loop` restarts it."""

    def __init__(self, path: str, interval_s: float = 0.0, loop: bool = False) -> None:
        self.path, self.interval_s, self.loop = path, interval_s, loop
        self._fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._pending: list[bytes] = []
        self._first = True

    def _next_telegram(self) -> bytes:
        """The bytes up to the next telegram start (a '/' after a line break)."""
        if not self._pending:
            data = self._fh.read(FILE_CHUNK_BYTES)
            if not data:
                return b""
            parts = data.replace(b"\n/", b"\n\x00/").split(b"\x00")
            self._pending = parts[::-1]
        return self._pending.pop()

    async def read(self) -> bytes:
        while True:
            if self.interval_s > 0:
                if not self._first:
                    await asyncio.sleep(self.interval_s)
                self._first = False
                data = self._next_telegram()
            else:
                await asyncio.sleep(0)  # let the pipeline run between chunks
                data = self._fh.read(FILE_CHUNK_BYTES)
            if data or not self.loop:
                return data
            self._fh.seek(0)

    async def close(self) -> None:
        self._fh.close()


@dataclass(frozen=True)
class SerialSettings:
    """Serial line settings: 115200 8N1 (e-MUCS, DSMR 4/5), 9600 7E1 (DSMR 2.2/3), 2 Mbps 8N1 (S1)."""

    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1


async def open_serial(target: str, settings: SerialSettings) -> Connection:
    """Open a serial port (or a pyserial URL) as an asyncio stream."""
    import serial_asyncio_fast

    # a device is locked for us alone (`p1gw doctor` then says "stop the service first" instead of
    # reading half the bytes); pyserial URLs (rfc2217://, ...) have no such lock
    options: dict[str, Any] = {} if "://" in target else {"exclusive": True}
    reader, writer = await serial_asyncio_fast.open_serial_connection(
        url=target,
        baudrate=settings.baudrate,
        bytesize=settings.bytesize,
        parity=settings.parity,
        stopbits=settings.stopbits,
        **options,
    )
    return StreamConnection(reader, writer)


async def open_socket(target: str) -> Connection:
    host, _, port = target.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    return StreamConnection(reader, writer)


async def open_file(path: str, interval_s: float, loop: bool) -> Connection:
    """A file replay (`FileConnection`) as an opener of `Source` needs it."""
    return FileConnection(path, interval_s, loop)
