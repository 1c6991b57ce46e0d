"""The reconnect loop: `Source` turns an opener of connections into an endless iteration of byte chunks.

A pulled cable, a closed socket or a silent meter (no byte for `silence_timeout_s`) closes the connection
and reopens it after the shell's backoff (`gateway.backoff.Backoff`: doubling from `backoff_initial_s`,
capped at `backoff_max_s`, reset once a connection delivers data); the iteration never ends for a live
source and never raises for an I/O fault. A source that does not reconnect (a replay) ends with its data.

Logs tell an outage as one story, however many attempts it takes: its first fault and first reconnect at
WARNING/INFO, the attempts after that at DEBUG, and one `source recovered` line with the outage's duration
and fault count when data flows again. The state is in `Source.status()` for the health endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gateway.backoff import Backoff
from gateway.logs import get_logger, log
from gateway.sources.connections import Connection
from gateway.sources.spec import SourceSpec

logger = get_logger("source")


class Source:
    """A reconnecting byte source; iterate it for chunks of bytes.

    Args:
        spec: what to read.
        connect: opens one connection (raises OSError-like errors when the device is not there).
        reconnect: reopen after a fault or the end of data (live sources); False: the iteration ends.
        silence_timeout_s: no byte for this long counts as a fault (the meter or the cable is gone).
        backoff_initial_s, backoff_max_s: the reconnect delay doubles from initial up to max (seconds).
    """

    def __init__(
        self,
        spec: SourceSpec,
        connect: Callable[[], Awaitable[Connection]],
        *,
        reconnect: bool = True,
        silence_timeout_s: float | None = 30.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.spec = spec
        self._connect = connect
        self.reconnect = reconnect
        self.silence_timeout_s = silence_timeout_s
        self.backoff = Backoff(backoff_initial_s, backoff_max_s)
        self.state = "starting"
        self.connects = 0
        self.faults = 0
        self.bytes_read = 0
        self.last_error: str | None = None
        self.last_data_monotonic: float | None = None
        self.connected_since: float | None = None
        self.retry_at: float | None = None
        self._conn: Connection | None = None
        self._closed = False
        self._outage_since: float | None = None  # first fault of the current outage (monotonic)
        self._outage_faults = 0
        self.sim: Any = None  # the simulated meter of a `sim:` source (controls, prepayment, truth)
        self.simulation: Any = None  # its `meter_sim.simulation.Simulation` (faults, truth)

    def status(self) -> dict[str, Any]:
        """Health view: kind, state (connected, connecting, backoff, ended, closed), counters, last error."""
        now = time.monotonic()
        return {
            "spec": self.spec.text,
            "kind": ("s1+" if self.spec.s1 else "") + self.spec.kind,
            "state": self.state,
            "connects": self.connects,
            "faults": self.faults,
            "bytes": self.bytes_read,
            "last_data_age_s": None
            if self.last_data_monotonic is None
            else round(now - self.last_data_monotonic, 3),
            "connected_for_s": None if self.connected_since is None else round(now - self.connected_since, 1),
            "retry_in_s": None if self.retry_at is None else round(max(0.0, self.retry_at - now), 1),
            "last_error": self.last_error,
        }

    async def __aenter__(self) -> Source:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        self.state = "closed"
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks()

    def _fault(self, message: str) -> None:
        self.faults += 1
        self.last_error = message
        self.connected_since = None
        if self._outage_since is None:
            self._outage_since = time.monotonic()
        self._outage_faults += 1

    def _log(self, level: int, message: str, **fields: Any) -> None:
        """Log a source event; after an outage's first fault, its repeats go to DEBUG."""
        log(
            logger,
            logging.DEBUG if self._outage_faults > 1 else level,
            message,
            spec=self.spec.text,
            **fields,
        )

    def _end_outage(self) -> None:
        """Data flows on a new connection: if it ends an outage, say so once, with its length."""
        if self._outage_since is None:
            return
        outage_s = round(time.monotonic() - self._outage_since, 1)
        log(logger, logging.INFO, "source recovered", spec=self.spec.text, outage_s=outage_s,
            faults=self._outage_faults)  # fmt: skip
        self._outage_since, self._outage_faults = None, 0

    async def chunks(self) -> AsyncIterator[bytes]:
        """Bytes as they arrive, across reconnections."""
        self.backoff.reset()
        while not self._closed:
            self.state = "connecting"
            try:
                self._conn = await self._connect()
            except (OSError, EOFError, ValueError) as exc:  # serial.SerialException is an OSError
                self._fault(f"open failed: {exc}")
                self._log(logging.WARNING, "source open failed", error=str(exc))
            else:
                self.connects += 1
                self.connected_since = time.monotonic()
                self.state = "connected"
                self._log(logging.INFO, "source connected", connects=self.connects)
                got_data = False
                try:
                    async for data in self._read_until_fault():
                        if not got_data:
                            self._end_outage()
                        got_data = True
                        yield data
                finally:
                    conn, self._conn = self._conn, None
                    if conn is not None:
                        await conn.close()
                if got_data:
                    self.backoff.reset()
            if self._closed:
                return
            if not self.reconnect:
                self.state = "ended"
                log(logger, logging.INFO, "source ended", spec=self.spec.text, bytes=self.bytes_read)
                return
            self.state = "backoff"
            delay = self.backoff.next_delay()
            self.retry_at = time.monotonic() + delay
            self._log(logging.INFO, "source reconnecting", retry_in_s=delay)
            await asyncio.sleep(delay)
            self.retry_at = None

    async def _read_until_fault(self) -> AsyncIterator[bytes]:
        conn = self._conn
        assert conn is not None
        while True:
            try:
                async with asyncio.timeout(self.silence_timeout_s):
                    data = await conn.read()
            except TimeoutError:
                self._fault(f"silent for {self.silence_timeout_s:g} s")
                self._log(logging.WARNING, "source silent", timeout_s=self.silence_timeout_s)
                return
            except (OSError, EOFError, ValueError) as exc:
                self._fault(f"read failed: {exc}")
                self._log(logging.WARNING, "source lost", error=str(exc))
                return
            if not data:
                if self.reconnect:
                    self._fault("connection closed by the other end")
                    self._log(logging.WARNING, "source closed")
                return
            self.bytes_read += len(data)
            self.last_data_monotonic = time.monotonic()
            yield data
