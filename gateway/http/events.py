"""`GET /api/v1/events`: the latest events (peak warnings, low credit, disconnections, source faults)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.answers import GatewayEvent
from gateway.http.responses import JsonObject
from gateway.view import GatewayView


def events_router(view: GatewayView) -> APIRouter:
    """`/api/v1/events` over `view`: newest first, `limit` of them (1 to 1000)."""
    router = APIRouter()

    @router.get("/api/v1/events", response_model=list[JsonObject])
    async def events(
        limit: Annotated[int, Query(ge=1, le=1000, description="how many, newest first")] = 50,
    ) -> list[GatewayEvent]:
        """The latest events (peak warnings, low credit, disconnections, source faults), newest first."""
        return view.events(limit)

    return router
