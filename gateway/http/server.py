"""The HTTP server of `p1gw run`: uvicorn on a socket bound here, with limits that fit a Raspberry Pi.

Strategy: the listening socket is bound before anything starts (`listen`), with `SO_REUSEADDR` so a restart
right after a stop gets the same port back, and a taken port is one sentence (`HttpBindError`), not a
traceback. uvicorn (h11) then serves it through `GuardedH11`, which adds what uvicorn lacks against idle and
half-open (slowloris) clients:
- a connection beyond `MAX_CONNECTIONS` gets `503` and is closed at once;
- a request (head and body) must arrive whole within `REQUEST_TIMEOUT_S` of the connection opening, or of
  the previous response ending; otherwise the connection is closed (a silent or dribbling client holds a
  socket that long at most);
- an idle keep-alive connection is closed after `KEEP_ALIVE_S` (uvicorn's own timer).
A response in progress is never cut: the live stream (`/api/v1/stream`, SSE) runs as long as its client
reads it, and its keep-alive comments keep proxies from closing it.

Example:
    sock = listen("127.0.0.1", 8080)          # raises HttpBindError("... port 8080 is in use ...")
    server = make_server(app, sock)
    await server.serve(sockets=[sock])
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_CONNECTIONS = 64  # open HTTP connections (dashboards, scrapers, SSE streams): a Pi's worth
REQUEST_TIMEOUT_S = 10.0  # a whole request (head and body) must arrive within this
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HttpBindError(OSError):
    """The HTTP address cannot be listened on; the message is one sentence saying what to do."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port) with SO_REUSEADDR (0 = any free port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise HttpBindError(
            f"cannot listen on {host}:{port}: unknown host {host!r} ({exc.strerror})"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            why = (
                f"port {port} is in use by another program (another p1gw?): stop it or choose another --http"
            )
        elif exc.errno == errno.EACCES:
            why = f"port {port} needs privileges: choose a port above 1023 with --http"
        elif exc.errno == errno.EADDRNOTAVAIL:
            why = f"{host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its addresses"
        else:
            why = exc.strerror or str(exc)
        raise HttpBindError(f"cannot listen on {host}:{port}: {why}") from exc
    sock.setblocking(False)
    return sock


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a deadline for each request to arrive whole."""

    max_connections = MAX_CONNECTIONS
    request_timeout_s = REQUEST_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_since_cycle: Any = None  # the cycle that was current when the deadline was armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(_BUSY)
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._request_complete():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._request_complete():
            self._arm()

    def _request_complete(self) -> bool:
        """A new request arrived whole since the deadline was armed (the app is handling it)."""
        cycle = self.cycle
        return (
            cycle is not None
            and cycle is not self._waiting_since_cycle
            and not cycle.more_body
            and not cycle.response_complete
        )

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since_cycle = self.cycle
        self._deadline = self.loop.call_later(self.request_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling (the gateway owns SIGTERM/SIGINT)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: Any, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for `app` with the limits above; run it with `serve(sockets=[listen(...)])`."""
    config = uvicorn.Config(
        app,
        http=GuardedH11,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=5,
    )
    return _Server(config)
