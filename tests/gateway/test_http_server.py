"""The API over a real uvicorn server on a free port: SSE order, keep-alives, disconnects, tokens, CORS.

Strategy: the app is served by `uvicorn.Server` in the test's event loop (so the live feed and the server
share it) and asked through httpx over TCP. For SSE we feed telegrams that cross a quarter-hour boundary
and a prepayment change, parse the `event:`/`data:` blocks, and compare them, in order, with the
telegrams fed; then close the connection and check the subscription is gone.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from gateway.http import create_app
from gateway.store import open_store
from tests.gateway.test_http_view import START, LiveView, TinyMeter, fed_view, serve

TOKEN = "s3cret-token"


async def read_events(response: httpx.Response, last_timestamp: str) -> list[tuple[str, Any, str]]:
    """SSE events as (event, data, id) up to the telegram stamped `last_timestamp` and the event after it
    (comments skipped)."""
    events: list[tuple[str, Any, str]] = []
    seen_last = False
    block: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if "event" in block:
                events.append((block["event"], json.loads(block["data"]), block.get("id", "")))
                if seen_last:
                    return events
                seen_last = block["event"] == "telegram" and events[-1][1]["timestamp"] == last_timestamp
            block = {}
            continue
        key, _, value = line.partition(": ")
        block[key] = value
    raise AssertionError(f"stream ended after {len(events)} events")


async def wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_sse_delivers_events_in_order_and_disconnects_cleanly(tmp_path: Path) -> None:
    start = START + timedelta(minutes=14, seconds=30)
    view = LiveView(TinyMeter(start), open_store(tmp_path / "gw.db"))
    assert view.meter is not None
    view.feed(view.meter.telegram())
    async with serve(create_app(view)) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        async with client.stream("GET", "/api/v1/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            await wait_for(lambda: len(view.queues) == 1)
            fed = []
            for _ in range(60):  # 14:30 .. 15:30 past 09:00, 1 s apart: closes the 09:00 quarter-hour
                view.feed(view.meter.step(1))
                assert view.last is not None and view.last.timestamp is not None
                fed.append(view.last.timestamp.isoformat())
            await view.control("top_up", {"id": "t1", "amount_eur": Decimal("5.00"), "energy": "electricity"})
            view.feed(view.meter.step(1))
            assert view.last is not None and view.last.timestamp is not None
            fed.append(view.last.timestamp.isoformat())
            events = await read_events(response, fed[-1])
            got = await client.get("/api/v1/metrics")
            assert "p1gw_http_stream_clients 1" in got.text
        await wait_for(lambda: not view.queues)  # the subscription ended with the connection
        assert "p1gw_http_stream_clients 0" in (await client.get("/api/v1/metrics")).text

    kinds = [kind for kind, _, _ in events]
    assert [data["timestamp"] for kind, data, _ in events if kind == "telegram"] == fed
    ids = [int(i) for _, _, i in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    quarter = kinds.index("quarter_hour")
    assert events[quarter][1]["start"] == "2026-11-23T09:00:00+01:00"
    assert events[quarter - 1][1]["timestamp"] == "2026-11-23T09:15:00+01:00"  # right after the closing one
    prepayment = [data for kind, data, _ in events if kind == "prepayment"]
    assert events[-1][0] == "prepayment"  # the top-up shows in the state published with the next telegram
    assert len(prepayment) >= 2 and prepayment[-1]["balance_eur"] > prepayment[-2]["balance_eur"] + 4.9


async def test_sse_sends_keep_alive_comments(tmp_path: Path) -> None:
    view = LiveView(None, open_store(tmp_path / "gw.db"))
    app = create_app(view, keepalive_s=0.2)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=5) as client:
        async with client.stream("GET", "/api/v1/stream") as response:
            lines = []
            async for line in response.aiter_lines():
                lines.append(line)
                if lines.count(": keep-alive") == 2:
                    break
        assert lines[:2] == ["retry: 3000", ": connected"]
        await wait_for(lambda: not view.queues)


async def test_real_server_endpoints_tokens_and_cors(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 1800)
    async with (
        serve(create_app(view, token=TOKEN)) as base,
        serve(create_app(view)) as no_token_base,
        httpx.AsyncClient(timeout=10) as client,
    ):
        now = await client.get(base + "/api/v1/now", headers={"Origin": "http://evil.example"})
        assert now.status_code == 200 and now.json(parse_float=Decimal) == view.latest()
        assert "access-control-allow-origin" not in now.headers
        csv = await client.get(base + "/api/v1/quarter-hours?from=2026-11-23&format=csv")
        assert csv.status_code == 200 and csv.text.count("\r\n") == 3  # header + 2 closed quarter-hours
        for path in ("/", "/api/v1/peaks", "/api/v1/prepayment", "/api/v1/health", "/api/v1/states"):
            assert (await client.get(base + path)).status_code == 200, path
        assert (await client.get(base + "/api/v1/history?from=nonsense")).status_code == 422

        body = {"id": "srv-1", "amount_eur": "2.50"}
        url = "/api/v1/control/top_up"
        assert (await client.post(no_token_base + url, json=body)).status_code == 403
        assert (await client.post(base + url, json=body)).status_code == 401
        wrong = {"Authorization": "Bearer s3cret-tokeN"}
        assert (await client.post(base + url, json=body, headers=wrong)).status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        ok = await client.post(base + url, json=body, headers=right)
        assert ok.status_code == 200 and ok.json()["credited"] is True
