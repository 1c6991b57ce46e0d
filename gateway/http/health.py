"""`GET /api/v1/health` (the view's health dict) and `GET /api/v1/metrics` (the same, for Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from gateway.http.live import StreamClients
from gateway.http.metrics import prometheus_text
from gateway.view import GatewayView


def health_router(view: GatewayView, stream_clients: StreamClients) -> APIRouter:
    """The two routes over `view`; the metrics add the open live streams (`http_stream_clients`)."""
    router = APIRouter()

    @router.get("/api/v1/health")
    async def health() -> dict[str, Any]:
        """Source status, last telegram age, frame/CRC error counts, MQTT state, queue depth."""
        return view.health()

    @router.get("/api/v1/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus text exposition built from `health` (scrape this)."""
        text = prometheus_text(view.health(), {"http_stream_clients": stream_clients.count})
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return router
