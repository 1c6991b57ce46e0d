"""The HTTP server under abuse and at its edges, over a real uvicorn on a free port and raw sockets.

Strategy: the server is the production one (`gateway.http.server`: its socket, its protocol guard, its
limits) serving the real app over a `LiveView`; clients are raw TCP sockets (half a request head, idle
connections beyond the cap), httpx (far dates, big bodies, 422s, the SSE stream) and `p1gw run` as a real
process (a taken port). Waits are bounded polls with generous margins: "closed within the configured bound
plus 30 s", never "closed after exactly N s".
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.cli.demo import free_port_from
from gateway.http import MAX_CONTROL_BODY, create_app
from gateway.http.server import KEEP_ALIVE_S, MAX_CONNECTIONS, REQUEST_TIMEOUT_S, listen, make_server
from gateway.store import open_store
from tests.gateway.test_http_view import START, LiveView, fed_view

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "limits-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MARGIN_S = 30.0  # on top of a configured bound, for a loaded machine


@contextlib.asynccontextmanager
async def production_server(app: object, port: int = 0) -> AsyncIterator[tuple[str, int]]:
    """The app behind `gateway.http.server` exactly as `p1gw run` serves it; yields (base URL, port)."""
    sock = listen("127.0.0.1", port)
    port = sock.getsockname()[1]
    server = make_server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(60):
            while not server.started:
                assert not task.done(), task.result()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        sock.close()


async def closed_by_server(sock: socket.socket, within_s: float) -> float:
    """Seconds until the server closes `sock` (EOF or reset); fails after `within_s`."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    async with asyncio.timeout(within_s):
        while True:
            try:
                data = await loop.sock_recv(sock, 4096)
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started
            if not data:
                return time.monotonic() - started


def raw_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setblocking(False)
    return sock


# ------------------------------------------------------------------------------------- edges of the API
async def test_far_dates_get_a_422_sentence_not_a_500(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 600)
    async with production_server(create_app(view)) as (base, _), httpx.AsyncClient(base_url=base) as client:
        for path in ("/api/v1/quarter-hours", "/api/v1/history"):
            for query in (
                "from=9999-12-31",
                "to=0001-01-01",
                "from=9999-12-31T23:30:00-05:00",
                "from=9999-12-30&to=9999-12-31",
            ):
                response = await client.get(f"{path}?{query}")
                assert response.status_code == 422, (path, query, response.text)
                assert "out of range" in response.json()["detail"]
            ok = await client.get(f"{path}?from=9999-12-30T00:00&to=9999-12-30T01:00")
            assert ok.status_code == 200 and ok.json() == []
            assert (
                (await client.get(f"{path}?from=2026-02-30"))
                .json()["detail"]
                .endswith("is not a calendar date (day is out of range for month)")
            )


async def test_a_control_that_does_not_apply_is_409(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 60)
    async with (
        production_server(create_app(view, token=TOKEN)) as (base, _),
        httpx.AsyncClient(base_url=base, headers=AUTH) as client,
    ):
        leak = await client.post("/api/v1/control/start_leak_test")
        gas = await client.post(
            "/api/v1/control/top_up", json={"id": "g", "amount_eur": "5", "energy": "gas"}
        )
    assert leak.status_code == 409 and "not simulated" in leak.json()["detail"]
    assert gas.status_code == 409 and "no gas prepayment" in gas.json()["detail"]


async def test_bodies_are_capped_and_a_422_never_echoes_the_request(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 60)
    async with (
        production_server(create_app(view, token=TOKEN)) as (base, _),
        httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as client,
    ):
        loop = asyncio.get_running_loop()
        port = int(base.rsplit(":", 1)[1])
        head = f"POST /api/v1/control/top_up HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        for framing in ("Content-Length: 10000000\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\n"):
            sock = raw_client(port)  # 10 MB announced (or streamed): 413 after at most the cap is read
            try:
                await loop.sock_sendall(sock, (head + framing).encode())
                with contextlib.suppress(OSError):
                    for _ in range(10):
                        chunk = b"x" * 1000
                        await loop.sock_sendall(sock, b"%x\r\n%s\r\n" % (len(chunk), chunk))
                answer = b""
                with contextlib.suppress(OSError):
                    async with asyncio.timeout(60):
                        while data := await loop.sock_recv(sock, 65536):
                            answer += data
            finally:
                sock.close()
            assert answer.startswith(b"HTTP/1.1 413") and len(answer) < 1000, answer[:200]
            assert str(MAX_CONTROL_BODY).encode() in answer

        marker = "SECRET-INPUT-" + "y" * 3000
        for body in (
            {"id": marker, "amount_eur": "5"},
            {"id": "a", "amount_eur": "5", marker[:60]: 1},
            [marker],
        ):
            response = await client.post("/api/v1/control/top_up", json=body)
            assert response.status_code == 422, response.text
            assert len(response.content) < 1000 and "y" * 100 not in response.text  # a field name at most
            assert "input" not in response.json()["errors"][0]
            assert isinstance(response.json()["detail"], str)
        bad = await client.post("/api/v1/control/top_up", json={"id": "a", "amount_eur": "5.001"})
        assert "at most 2 decimals" in bad.json()["detail"] and "^" not in bad.text  # a sentence, no regex
        ok = await client.post("/api/v1/control/top_up", json={"id": "fits", "amount_eur": "5.00"})
        assert ok.status_code == 200, ok.text


# ------------------------------------------------------------------------------------- abusive clients
async def test_half_open_and_idle_connections_are_closed_and_capped_while_the_stream_runs(
    tmp_path: Path,
) -> None:
    view = LiveView(None, open_store(tmp_path / "gw.db"))
    app = create_app(view, keepalive_s=1.0)
    loop = asyncio.get_running_loop()
    async with (
        production_server(app) as (base, port),
        httpx.AsyncClient(base_url=base, timeout=60) as client,
        client.stream("GET", "/api/v1/stream") as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert await anext(lines) == "retry: 3000"
        opened = time.monotonic()

        slow = raw_client(port)  # slowloris: half a request head, then one byte a second
        await loop.sock_sendall(slow, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        idle = [raw_client(port) for _ in range(MAX_CONNECTIONS + 10)]  # beyond the cap
        try:

            async def dribble() -> None:
                with contextlib.suppress(OSError):
                    while True:
                        await asyncio.sleep(1)
                        await loop.sock_sendall(slow, b"X")

            dribbler = asyncio.create_task(dribble())
            refused = 0
            for sock in idle[MAX_CONNECTIONS - 3 :]:  # the last ones are over the cap: 503, closed
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(loop.sock_recv(sock, 100), 5)
                    refused += data.startswith(b"HTTP/1.1 503")
            assert refused >= 10
            bound = REQUEST_TIMEOUT_S + MARGIN_S
            assert await closed_by_server(slow, bound) <= bound
            dribbler.cancel()
            for sock in idle[:5]:  # the first ones, idle from the start, are closed by the deadline
                await closed_by_server(sock, bound)
        finally:
            for sock in [slow, *idle]:
                sock.close()

        # the stream outlived the request deadline and the keep-alive timeout: comments still arrive
        assert time.monotonic() - opened > max(REQUEST_TIMEOUT_S, KEEP_ALIVE_S)
        async with asyncio.timeout(30):
            while await anext(lines) != ": keep-alive":
                pass
        health = await client.get("/api/v1/health")  # a fresh connection is served again
        assert health.status_code == 200


# ---------------------------------------------------------------------------------------- the address
async def test_a_restart_right_after_a_stop_gets_the_same_port(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 60)
    loop = asyncio.get_running_loop()
    port = free_port_from("127.0.0.1", 0)
    async with production_server(create_app(view), port) as (_, port):
        sock = raw_client(port)  # the server closes first: its side of the connection lingers in TIME_WAIT
        await loop.sock_sendall(sock, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await closed_by_server(sock, 60)
        sock.close()
    assert free_port_from("127.0.0.1", port) == port
    async with production_server(create_app(view), port) as (base, _), httpx.AsyncClient() as client:
        assert (await client.get(base + "/api/v1/health")).status_code == 200


def test_a_taken_port_is_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "run", "--port", "sim:be-3ph", "--db",
             str(tmp_path / "gw.sqlite"), "--http", f"127.0.0.1:{port}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == (
        f"p1gw run: cannot listen on 127.0.0.1:{port}: port {port} is in use by another program "
        "(another p1gw?): stop it or choose another --http\n"
    )
    assert not (tmp_path / "gw.sqlite").exists()  # nothing was started


def test_an_address_of_another_machine_is_one_sentence() -> None:
    from gateway.http.server import HttpBindError

    with pytest.raises(HttpBindError, match=r"192\.0\.2\.1 is not an address of this machine"):
        listen("192.0.2.1", 8080)  # TEST-NET-1: bound locally only, nothing is sent
