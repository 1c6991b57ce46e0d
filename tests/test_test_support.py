"""The suite's own helpers: what makes a restarted server's port safe to reuse."""

from __future__ import annotations

import socket

from .conftest import _ephemeral_low, free_port


def test_free_ports_lie_below_the_ephemeral_range_and_never_repeat() -> None:
    """A client retrying a stopped broker is never given the broker's port as its own (so it cannot
    connect to itself and hold the port the broker restarts on): the kernel hands out client ports
    from the ephemeral range only, and free_port() stays below it."""
    low = _ephemeral_low()
    ports = [free_port() for _ in range(200)]
    assert all(1024 <= p < low for p in ports)
    assert len(set(ports)) == len(ports)
    for _ in range(50):  # what the kernel gives a client socket: never one of ours
        with socket.socket() as client:
            client.bind(("127.0.0.1", 0))
            assert client.getsockname()[1] >= low


def test_a_client_on_the_servers_port_connects_to_itself() -> None:
    """Why it matters: a socket whose own port is the stopped server's connects to itself
    (simultaneous open) and then holds that port."""
    port = free_port()
    with socket.socket() as client:
        client.bind(("127.0.0.1", port))
        client.connect(("127.0.0.1", port))
        assert client.getsockname() == client.getpeername()
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Mosquitto does
            try:
                server.bind(("127.0.0.1", port))
                server.listen()
            except OSError:
                pass
            else:
                raise AssertionError("a server could listen on a port a live connection holds")
