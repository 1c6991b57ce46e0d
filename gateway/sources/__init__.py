"""Byte sources for the pipeline: serial port, `socket://`, file replay, in-process simulator.

Every source has the same shape — `async with open_source(spec) as source: async for chunk in source` —
and the same fault behaviour: a pulled cable, a closed socket or a silent meter (no byte for
`silence_timeout_s`) closes the connection and reopens it after an exponential backoff (capped at
`backoff_max_s`, reset once a connection delivers data); the iteration never ends for a live source and
never raises for an I/O fault. The state is in `source.status()` for the health endpoint. A file replay
ends at the end of the file (or loops with `?loop=1`); a bad spec is a `SourceError` before anything runs.

Logs tell an outage as one story, however many attempts it takes: its first fault and first reconnect at
WARNING/INFO, the attempts after that at DEBUG (a ser2net with its device gone accepts and closes at every
attempt), and one `source recovered` line with the outage's duration and fault count when data flows again.

Specs (`parse_spec`):
  /dev/ttyUSB0, /dev/p1, rfc2217://host:port    serial port (pyserial-asyncio-fast), 115200 8N1 by default
  socket://host:port                            TCP (ser2net, `p1gw sim --tcp`)
  file:capture.txt[?interval=1&loop=1]          replay; interval = seconds between telegrams (0: at once)
  ./capture.txt                                 a plain path to a regular file is a replay too
  sim:be-3ph[?seed=3&speed=10&prepayment=20]    the simulator in this process (`state=PATH`: continue from
                                                and save its clock and registers there, see SimConnection)
  s1:/dev/ttyUSB1, s1+socket://h:p, s1+sim:be-3ph   S1 port (gateway.sources.s1), 2 Mbps
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from gateway.logs import get_logger, log

logger = get_logger("source")

FILE_CHUNK_BYTES = 64 * 1024
READ_BYTES = 64 * 1024


class SourceError(ValueError):
    """A source spec that can never work (unknown kind, missing file, bad parameter)."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source: kind (serial, socket, file, sim), target (device, host:port, path, meter kind)."""

    kind: str
    target: str
    params: dict[str, str] = field(default_factory=dict)
    s1: bool = False
    text: str = ""

    @property
    def live(self) -> bool:
        """A meter talking now (not a replay): its clock can be compared with ours."""
        return self.kind in ("serial", "socket")


def _split_query(text: str) -> tuple[str, dict[str, str]]:
    base, sep, query = text.partition("?")
    # a '+' stays a '+' (UTC offsets in start=...), it is not a space here
    return base, dict(parse_qsl(query.replace("+", "%2B"), keep_blank_values=True)) if sep else {}


def parse_spec(text: str) -> SourceSpec:
    """Text -> `SourceSpec`; raises SourceError on a spec that can never work."""
    original = text.strip()
    if not original:
        raise SourceError("empty source: give a serial device, socket://host:port, file:PATH or sim:be-3ph")
    s1 = False
    rest = original
    if rest.startswith("s1+") or rest.startswith("s1:"):
        s1, rest = True, rest[3:]
    if rest.startswith("socket://"):
        hostport, params = _split_query(rest[len("socket://") :])
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SourceError(f"{original!r}: expected socket://host:port")
        return SourceSpec("socket", f"{host.strip('[]')}:{port}", params, s1, original)
    if rest.startswith("sim:"):
        target, params = _split_query(rest[4:])
        if not target:
            raise SourceError(f"{original!r}: expected sim:METER, e.g. sim:be-3ph")
        return SourceSpec("sim", target, params, s1, original)
    if rest.startswith("file:"):
        path, params = _split_query(rest[5:])
        _check_file(path, original)
        return SourceSpec("file", path, params, s1, original)
    if "://" in rest:  # rfc2217://, loop:// and other pyserial URL handlers
        return SourceSpec("serial", rest, {}, s1, original)
    try:
        mode = os.stat(rest).st_mode
    except OSError:
        mode = 0
    if stat.S_ISREG(mode):
        return SourceSpec("file", rest, {}, s1, original)
    return SourceSpec("serial", rest, {}, s1, original)


def _check_file(path: str, original: str) -> None:
    if not path:
        raise SourceError(f"{original!r}: expected file:PATH")
    if not os.path.isfile(path):
        raise SourceError(f"{original!r}: {path} is not a readable file")


def _float_param(spec: SourceSpec, name: str, default: float) -> float:
    raw = spec.params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(f"{spec.text!r}: {name}={raw!r} is not a number") from None
    if value < 0:
        raise SourceError(f"{spec.text!r}: {name} must not be negative")
    return value


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


SerialOpener = Callable[[SourceSpec], Awaitable[Connection]]


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


class Source:
    """A reconnecting byte source; iterate it for chunks of bytes.

    Args:
        spec: what to read.
        connect: opens one connection (raises OSError-like errors when the device is not there).
        reconnect: reopen after a fault or the end of data (live sources); False: the iteration ends.
        silence_timeout_s: no byte for this long counts as a fault (the meter or the cable is gone).
        backoff_initial_s, backoff_max_s: the reconnect delay doubles from initial up to max.
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
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
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
        delay = self.backoff_initial_s
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
                    delay = self.backoff_initial_s
            if self._closed:
                return
            if not self.reconnect:
                self.state = "ended"
                log(logger, logging.INFO, "source ended", spec=self.spec.text, bytes=self.bytes_read)
                return
            self.state = "backoff"
            self.retry_at = time.monotonic() + delay
            self._log(logging.INFO, "source reconnecting", retry_in_s=delay)
            await asyncio.sleep(delay)
            self.retry_at = None
            delay = min(delay * 2, self.backoff_max_s)

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


def make_source(
    spec: SourceSpec | str,
    *,
    serial: SerialSettings | None = None,
    silence_timeout_s: float = 30.0,
    backoff_max_s: float = 30.0,
    backoff_initial_s: float = 0.5,
    sim_state: str | None = None,
) -> Source:
    """The `Source` for a spec (not yet connected). S1 specs get 2 Mbps unless `serial` says otherwise.

    `sim_state`: where a `sim:` source saves and continues its registers when its spec has no `state=`.
    """
    if isinstance(spec, str):
        spec = parse_spec(spec)
    settings = serial or (SerialSettings(baudrate=2_000_000) if spec.s1 else SerialSettings())
    common: dict[str, Any] = {
        "silence_timeout_s": silence_timeout_s,
        "backoff_max_s": backoff_max_s,
        "backoff_initial_s": backoff_initial_s,
    }
    kind = spec.kind
    if kind == "serial":
        return Source(spec, lambda: open_serial(spec.target, settings), **common)
    if kind == "socket":
        return Source(spec, lambda: open_socket(spec.target), **common)
    if kind == "file":
        interval = _float_param(spec, "interval", 0.0)
        loop = spec.params.get("loop", "0") not in ("0", "", "false", "no")
        return Source(
            spec,
            lambda: _open_file(spec.target, interval, loop),
            reconnect=False,
            silence_timeout_s=None,
        )
    if kind == "sim":
        simulation = make_simulation(spec, state_path=sim_state)
        speed = _float_param(spec, "speed", 1.0) or 1.0
        state_path = spec.params.get("state") or sim_state

        async def open_sim() -> Connection:
            if spec.s1:
                from gateway.sources.s1 import S1SimConnection

                return S1SimConnection(simulation.meter, speed)
            return SimConnection(simulation, speed, state_path)

        source = Source(spec, open_sim, reconnect=False, silence_timeout_s=None)
        source.sim = simulation.meter
        source.simulation = simulation
        return source
    raise SourceError(f"{spec.text!r}: unknown source kind {kind!r}")


async def _open_file(path: str, interval_s: float, loop: bool) -> Connection:
    return FileConnection(path, interval_s, loop)


class SimConnection:
    """The in-process simulation (`meter_sim.simulation.Simulation`): its telegrams at `speed` x real time.

    Telegrams that fell due while the event loop was busy are sent together (no drift, none skipped); a
    telegram the fault injector swallowed (a silence) is just not sent.

    With `state_path`, the meter's clock and registers (`Meter.registers()`) are written there (atomically)
    after the telegrams they produced, at most every `SIM_STATE_SAVE_S` and at close, so a restarted
    simulation continues from them (`make_simulation`). After a kill, it may continue from up to one
    second before its last telegram: the gateway drops those few as going backwards.
    """

    def __init__(self, simulation: Any, speed: float = 1.0, state_path: str | None = None) -> None:
        self.simulation = simulation
        self.speed = speed
        self.interval_s = simulation.every
        self._frames = iter(simulation)
        self._t0 = time.monotonic()
        self._sent = 0
        self.state_path = state_path
        self._saved_at = 0.0

    async def read(self) -> bytes:
        period = self.interval_s / self.speed
        due = self._t0 + (self._sent + 1) * period
        await asyncio.sleep(max(0.0, due - time.monotonic()))  # always yield, even when behind
        count = max(1, min(1000, int((time.monotonic() - self._t0) / period) - self._sent))
        out = []
        for _ in range(count):
            try:
                out.append(next(self._frames)[1])
            except StopIteration:
                break
        self._sent += count
        if self.state_path is not None and time.monotonic() - self._saved_at >= SIM_STATE_SAVE_S:
            self._save()
        if not out:
            return b""  # the simulation reached its --count / duration
        return b"".join(out) or b"\n"  # all silenced: keep the source alive

    def _save(self) -> None:
        self._saved_at = time.monotonic()
        if self.state_path is None:
            return
        try:
            save_sim_state(self.state_path, self.simulation.meter.registers().to_json())
        except OSError as exc:
            log(logger, logging.WARNING, "simulator state not saved", path=self.state_path, error=str(exc))

    async def close(self) -> None:
        self._save()


SIM_PARAMS = frozenset(
    {"seed", "speed", "prepayment", "start", "every", "gas", "faults", "count", "duration", "grid", "state"}
)
SIM_STATE_SAVE_S = 1.0


def save_sim_state(path: str, state: dict[str, Any]) -> None:
    """Write the simulator's saved registers atomically (a temporary file renamed over the old one)."""
    import json

    target = os.path.expanduser(path)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    temporary = f"{target}.tmp"
    with open(temporary, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(temporary, target)


def load_sim_state(path: str) -> Any:
    """The `MeterRegisters` saved at `path` (None when the file does not exist yet)."""
    import json

    from meter_sim.registers import MeterRegisters

    target = os.path.expanduser(path)
    try:
        with open(target, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"simulator state {target}: cannot read it ({exc}); delete it to start afresh"
        ) from None
    try:
        return MeterRegisters.from_json(data)
    except ValueError as exc:
        raise SourceError(f"simulator state {target}: {exc}; delete it to start afresh") from None


def make_simulation(spec: SourceSpec, *, now: float | None = None, state_path: str | None = None) -> Any:
    """The simulation of `sim:KIND?seed=&speed=&prepayment=EUR&start=ISO&every=S&faults=...&count=N`.

    `grid=weak`: the weak-grid voltage model of `meter_sim.grid`. `state=PATH` in the spec (else
    `state_path`) continues from the registers saved there (`load_sim_state`).
    """
    from datetime import datetime
    from decimal import Decimal, InvalidOperation

    from meter_sim.faults import parse_duration, parse_faults
    from meter_sim.meter_prepayment import PrepaymentOptions
    from meter_sim.simulation import Simulation

    params = spec.params
    unknown = set(params) - SIM_PARAMS
    if unknown:
        raise SourceError(
            f"{spec.text!r}: unknown parameter(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(SIM_PARAMS))}"
        )
    options: dict[str, Any] = {}
    try:
        seed = int(params.get("seed", "0"))
        if "every" in params:
            options["every"] = int(params["every"])
        if "count" in params:
            options["count"] = int(params["count"])
        if "duration" in params:
            options["duration_s"] = parse_duration(params["duration"])
        if "faults" in params:
            options["faults"] = parse_faults(params["faults"])
        if "grid" in params:
            options["grid"] = params["grid"]
    except ValueError as exc:
        raise SourceError(f"{spec.text!r}: {exc}") from None
    _float_param(spec, "speed", 1.0)
    start: datetime | int
    if "start" in params:
        try:
            start = datetime.fromisoformat(params["start"])
        except ValueError:
            raise SourceError(f"{spec.text!r}: start must be an ISO time with offset") from None
        if start.tzinfo is None:
            raise SourceError(f"{spec.text!r}: start needs a UTC offset (e.g. 2026-11-22T14:00:00+01:00)")
    else:
        start = int(time.time() if now is None else now)
    if "prepayment" in params:
        try:
            credit = Decimal(params["prepayment"] or "20")
        except InvalidOperation:
            raise SourceError(f"{spec.text!r}: prepayment must be a start credit in EUR") from None
        options["prepayment"] = PrepaymentOptions(  # in-meter accounting: the balance moves live
            credit_eur=credit, accounting="immediate", gas=params.get("gas", "1") not in ("0", "false")
        )
    path = spec.params.get("state") or state_path
    if path:
        options["resume"] = load_sim_state(path)
    try:
        return Simulation(spec.target, seed, start, **options)
    except ValueError as exc:
        raise SourceError(f"{spec.text!r}: {exc}") from None


@contextlib.asynccontextmanager
async def open_source(spec: SourceSpec | str, **kwargs: Any) -> AsyncIterator[Source]:
    """`async with open_source("socket://pi:2001") as source: async for chunk in source: ...`"""
    source = make_source(spec, **kwargs)
    try:
        yield source
    finally:
        await source.aclose()
