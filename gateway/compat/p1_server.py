"""`--serve-p1`: the meter's telegrams re-served over TCP to any number of readers (like ser2net, but after
CRC checking, and without giving up the port).

Strategy: `publish` is synchronous and never waits. Each client is an asyncio transport; a telegram is
written to a client whole, or not at all: when the bytes the client has not taken yet (our write buffer)
plus this telegram would exceed `max_buffer_bytes`, the client misses this telegram (counted) and gets the
next one that fits. So a slow or dead reader costs at most its bounded buffer, never a stall of the gateway
or of the other readers, and every reader always sees whole telegrams, in order. Accepted sockets get a small
kernel send buffer (bounded memory) and TCP keep-alive (a vanished peer is eventually closed). What clients
send is read and discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from gateway.logs import get_logger, log

logger = get_logger("serve_p1")

MAX_BUFFER_BYTES = 64 * 1024  # per client, in our write buffer: ~60 e-MUCS telegrams
SEND_BUFFER_BYTES = 32 * 1024  # per client, the kernel's send buffer
MAX_CLIENTS = 32


class _Client(asyncio.Protocol):
    def __init__(self, server: P1Server) -> None:
        self.server = server
        self.transport: asyncio.WriteTransport | None = None
        self.peer = "?"
        self.sent = 0
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server._connected(self)

    def data_received(self, data: bytes) -> None:
        pass  # a P1 port is one-way: anything a client sends is ignored

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._disconnected(self)

    def offer(self, telegram: bytes, max_buffer: int) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() + len(telegram) > max_buffer:
            self.dropped += 1
            return False
        transport.write(telegram)
        self.sent += 1
        return True


class P1Server:
    """A TCP server that sends every published telegram to every connected client.

    Args:
        host, port: where to listen (port 0: any free port, see `port` after `start`).
        max_buffer_bytes: per client, the bytes waiting in our buffer beyond which telegrams are dropped.
        send_buffer_bytes: per client, the kernel send buffer (SO_SNDBUF).
        max_clients: further connections are closed at once (and counted).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_buffer_bytes: int = MAX_BUFFER_BYTES,
        send_buffer_bytes: int = SEND_BUFFER_BYTES,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.host = host
        self.port = port
        self.max_buffer_bytes = max_buffer_bytes
        self.send_buffer_bytes = send_buffer_bytes
        self.max_clients = max_clients
        self._clients: set[_Client] = set()
        self._server: asyncio.Server | None = None
        self.connections = 0
        self.refused = 0
        self.telegrams = 0
        self.sent = 0
        self.dropped = 0

    async def start(self) -> None:
        """Listen (raises OSError when the address is taken or not ours)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Client(self), self.host, self.port)
        sockets = self._server.sockets
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        log(logger, logging.INFO, "serving P1 telegrams", listen=f"{self.host}:{self.port}")

    async def aclose(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for client in list(self._clients):
            if client.transport is not None:
                client.transport.abort()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def __aenter__(self) -> P1Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def publish(self, telegram: bytes) -> None:
        """Send one telegram (its exact bytes) to every client that has room for it; never blocks."""
        self.telegrams += 1
        for client in self._clients:
            if client.offer(telegram, self.max_buffer_bytes):
                self.sent += 1
            else:
                self.dropped += 1

    def _connected(self, client: _Client) -> None:
        transport = client.transport
        assert transport is not None
        if len(self._clients) >= self.max_clients:
            self.refused += 1
            log(logger, logging.WARNING, "P1 client refused: too many clients", peer=client.peer)
            transport.abort()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._clients.add(client)
        self.connections += 1
        log(logger, logging.INFO, "P1 client connected", peer=client.peer, clients=len(self._clients))

    def _disconnected(self, client: _Client) -> None:
        if client in self._clients:
            self._clients.discard(client)
            log(
                logger,
                logging.INFO,
                "P1 client disconnected",
                peer=client.peer,
                sent=client.sent,
                dropped=client.dropped,
            )

    def status(self) -> dict[str, Any]:
        """The `serve_p1` section of health (and so of /api/v1/metrics)."""
        return {
            "listen": f"{self.host}:{self.port}",
            "clients": len(self._clients),
            "connections_total": self.connections,
            "refused_total": self.refused,
            "telegrams_total": self.telegrams,
            "sent_total": self.sent,
            "dropped_total": self.dropped,
            "per_client": [
                {"peer": c.peer, "sent": c.sent, "dropped": c.dropped}
                for c in sorted(self._clients, key=lambda c: c.peer)
            ],
        }
