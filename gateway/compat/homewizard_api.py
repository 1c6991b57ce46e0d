"""`--homewizard`: the HomeWizard P1 meter's local API v1 over HTTP (JSON: `compat.homewizard`).

`HomeWizardFeed` keeps the exact bytes of the last valid telegram (from the `FrameTap`); `/api/v1/data` and
`/api/v1/telegram` are both answered from those bytes, so they always describe the same telegram. It is
parsed on request, at most once per telegram, by the gateway's own parser (a client polling every second
costs one parse a second; nobody polling costs nothing). Read-only, no authentication, as the real device's
API v1. Routes the real device has and this one does not (`/api/v1/state`, `/api/v1/system`,
`/api/v1/identify`) answer 404, which the client library reads as "not supported by this device".
"""

from __future__ import annotations

import hashlib
import socket
import uuid
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from dsmr_parser import Telegram, TelegramParser
from gateway.compat.homewizard import device_info, measurement

NO_TELEGRAM = "no telegram from the meter yet"


def default_serial() -> str:
    """12 hex digits that stay the same across restarts, like the device's own (its MAC address): this
    machine's MAC, or a hash of its host name when the MAC cannot be read."""
    node = uuid.getnode()
    if not node & (1 << 40):  # the multicast bit marks a random stand-in, not a real MAC
        return f"{node:012x}"
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def firmware_version() -> str:
    try:
        return version("p1-gateway")
    except PackageNotFoundError:
        return "0"


class HomeWizardFeed:
    """The last valid telegram, as bytes, and its parse (made on first use).

    Args:
        tz: the meter's zone (S/W time stamps), as the gateway's.
    """

    def __init__(self, tz: str = "Europe/Brussels") -> None:
        self._parser = TelegramParser(tz)
        self.raw: bytes | None = None
        self._parsed: Telegram | None = None

    def __call__(self, telegram: bytes) -> None:
        """A `TappedSource` listener: remember the newest telegram."""
        self.raw, self._parsed = telegram, None

    def telegram(self) -> tuple[bytes, Telegram] | None:
        raw = self.raw
        if raw is None:
            return None
        if self._parsed is None:
            self._parsed = self._parser.parse(raw)
        return raw, self._parsed


def create_app(feed: HomeWizardFeed, *, serial: str, product_name: str = "P1 meter") -> Starlette:
    """The API v1 routes: `/api`, `/api/v1/data`, `/api/v1/telegram`."""
    info = device_info(serial, firmware_version(), product_name)

    async def api(request: Request) -> Response:
        return JSONResponse(info)

    async def data(request: Request) -> Response:
        current = feed.telegram()
        if current is None:
            return JSONResponse({"error": NO_TELEGRAM}, status_code=503)
        return JSONResponse(measurement(current[1]))

    async def telegram(request: Request) -> Response:
        current = feed.telegram()
        if current is None:
            return PlainTextResponse(NO_TELEGRAM, status_code=503)
        return Response(current[0], media_type="text/plain")  # the bytes as the meter sent them

    routes: list[Any] = [
        Route("/api", api, methods=["GET"]),
        Route("/api/v1/data", data, methods=["GET"]),
        Route("/api/v1/telegram", telegram, methods=["GET"]),
    ]
    return Starlette(routes=routes)
