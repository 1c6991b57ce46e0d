"""`GET /api/v1/history`: the downsampled recent history (import/export kW, registers) in [from, to).

Strategy: the range is checked by `gateway.http.query` (default: today, local time) and the view's store is
read in a worker thread. The dashboard's day/week/month/year views are in `gateway.http.dashboard`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from gateway.http.query import FROM_QUERY, TO_QUERY, parse_range
from gateway.http.responses import BAD_QUERY
from gateway.view import GatewayView


def history_router(view: GatewayView, zone: ZoneInfo, now: Callable[[], datetime]) -> APIRouter:
    """`/api/v1/history` over `view`."""
    router = APIRouter()

    @router.get("/api/v1/history", responses=BAD_QUERY)
    async def history(
        start: Annotated[str | None, FROM_QUERY] = None,
        end: Annotated[str | None, TO_QUERY] = None,
    ) -> list[dict[str, Any]]:
        """Downsampled history (import/export kW, registers) in [from, to); default today."""
        lo, hi = parse_range(start, end, zone, now())
        return await asyncio.to_thread(view.history, lo, hi)

    return router
