"""The live routes: the latest telegram, the latest value per state name, and the Server-Sent Events feed.

Strategy: `/api/v1/now` hands the view's telegram JSON to `JsonText` as it is, so a Decimal keeps the meter's
digits (as MQTT and `p1gw parse` print them). `/api/v1/stream` writes one `id:`/`event:`/`data:` block per
item of `view.subscribe()` (types in `SSE_TYPES`, others skipped), a `: keep-alive` comment every
`keepalive_s` while nothing comes, and closes the subscription when the client goes; `StreamClients` counts
the open streams for `/api/v1/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from gateway.answers import LiveItem, StateJson
from gateway.http.models import TelegramOut
from gateway.http.responses import NOT_YET, JsonObject, JsonText, no_telegram
from gateway.jsonenc import dumps
from gateway.view import GatewayView

SSE_TYPES = frozenset({"telegram", "quarter_hour", "event", "prepayment", "s1"})


class StreamClients:
    """How many live streams are open now."""

    def __init__(self) -> None:
        self.count = 0


def live_router(view: GatewayView, clients: StreamClients, *, keepalive_s: float) -> APIRouter:
    """`/api/v1/now`, `/api/v1/states` and `/api/v1/stream` over `view`."""
    router = APIRouter()

    @router.get(
        "/api/v1/now", response_model=TelegramOut, response_model_exclude_unset=True, responses=NOT_YET
    )
    async def latest_telegram() -> Any:
        """The latest telegram JSON."""
        latest = view.latest()
        if latest is None:
            raise no_telegram()
        return JsonText(latest)  # as the view holds it: a Decimal is written with the meter's digits

    @router.get("/api/v1/states", response_model=JsonObject)
    async def states() -> dict[str, StateJson]:
        """Latest value per state name (`energy_import_day`, `power_import`, ...) with unit and code."""
        return view.states()

    @router.get("/api/v1/stream", response_class=StreamingResponse)
    async def stream(request: Request) -> StreamingResponse:
        """Live feed as Server-Sent Events: `event: telegram|quarter_hour|event|prepayment`, `data: <json>`;
        a `: keep-alive` comment every 15 s."""
        return StreamingResponse(
            sse_events(view, request, clients, keepalive_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


async def sse_events(
    view: GatewayView, request: Request, clients: StreamClients, keepalive_s: float
) -> AsyncIterator[str]:
    """The text of one live stream, block by block, until the feed ends or the client goes."""
    clients.count += 1
    feed = view.subscribe()
    pending: asyncio.Task[LiveItem] | None = None
    counter = 0
    try:
        yield "retry: 3000\n: connected\n\n"
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(feed))
            done, _ = await asyncio.wait({pending}, timeout=keepalive_s)
            if not done:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            kind = item["type"]
            if kind not in SSE_TYPES:
                continue
            counter += 1
            yield f"id: {counter}\nevent: {kind}\ndata: {dumps(item['data'])}\n\n"
    finally:
        clients.count -= 1
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(feed, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
