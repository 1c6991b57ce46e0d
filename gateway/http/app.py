"""`create_app`: the FastAPI application over a `GatewayView`, composed from one router per area.

Strategy: this module only assembles; each router (`gateway/http/*.py`) is a thin read of the view. GETs
are open (the server binds 127.0.0.1 by default); the `POST /api/v1/control/*` routes need the bearer
token. Every JSON body is written by `gateway.jsonenc` (`JsonText`); a request that does not match the
schema gets 422 with one sentence; a POST body over `MAX_CONTROL_BODY` bytes is refused unread (413). CORS
is off unless origins are given. `/docs` is served from the package's own files (no CDN).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from analysis.pricing import TariffPrice
from gateway.http.advice import advice_router
from gateway.http.analysis import analysis_router
from gateway.http.control import control_router
from gateway.http.dashboard import dashboard_router
from gateway.http.dashboard_files import dashboard_files_router
from gateway.http.events import events_router
from gateway.http.health import health_router
from gateway.http.history import history_router
from gateway.http.limits import MAX_CONTROL_BODY, BodyLimit
from gateway.http.live import StreamClients, live_router
from gateway.http.models import Invalid
from gateway.http.prepayment import prepayment_router
from gateway.http.quarter_hours import quarter_hours_router
from gateway.http.responses import JsonText, invalid_request
from gateway.view import GatewayView
from metering.prices import Prices

DESCRIPTION = (
    "Read-only GETs; `POST /api/v1/control/*` needs `Authorization: Bearer <token>`. A 422 has one "
    "sentence in `detail`: the request did not match the schema (then `errors` lists the fields), "
    "or it names no instant (`from` after `to`, a range over 400 days, 2026-02-30)."
)


def create_app(
    view: GatewayView,
    *,
    token: str | None = None,
    cors_origins: list[str] | None = None,
    tz: str = "Europe/Brussels",
    keepalive_s: float = 15.0,
    clock: Callable[[], datetime] | None = None,
    price_eur_kwh: Decimal | None = None,
    tariff: TariffPrice | None = None,
    prices: Prices | None = None,
    language: str | None = None,
) -> FastAPI:
    """The FastAPI application over `view`.

    Args:
        view: the running gateway (or any `GatewayView`).
        token: bearer token for `POST /api/v1/control/*`; None disables state changes (403).
        cors_origins: origins allowed to call the API from a browser; None or [] = CORS off.
        tz: the local time zone of naive query times and of "today".
        keepalive_s: seconds between SSE keep-alive comments.
        clock: the wall clock (tests); aware datetimes.
        price_eur_kwh: prices `/api/v1/appliances` (€/kWh, all taxes included); None: no euros.
        tariff: else prices them by time band (the `[tariff]` section); None: no euros.
        prices: `[tariff]` prices for the dashboard's euros (None: kWh only).
        language: the dashboard's language from the config (None/empty: the browser's).
    """
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    now = clock or (lambda: datetime.now(zone))
    stream_clients = StreamClients()

    app = FastAPIOffline(  # /docs from the package's own Swagger UI files (no CDN)
        redoc_url=None,  # ReDoc's bundle still fetches its logo from a CDN: not served
        title="p1-gateway",
        version="1",
        summary="Live meter values, quarter-hours, capacity peaks and prepayment of one smart meter.",
        description=DESCRIPTION,
        responses={422: {"model": Invalid, "description": "invalid request (one sentence in `detail`)"}},
        default_response_class=JsonText,
    )
    app.add_middleware(BodyLimit, max_bytes=MAX_CONTROL_BODY)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_exception_handler(RequestValidationError, invalid_request)

    app.include_router(dashboard_files_router())  # GET / and /static/*: the dashboard's files
    app.include_router(
        dashboard_router(view, zone=zone, now=now, prices=prices, language=language, tariff=tariff)
    )
    app.include_router(live_router(view, stream_clients, keepalive_s=keepalive_s))  # now, states, stream
    app.include_router(quarter_hours_router(view, zone, now))  # quarter-hours (JSON, CSV), current, peaks
    app.include_router(history_router(view, zone, now))
    app.include_router(advice_router(view, now, language=language, configured=tariff))  # the tariff advisor
    app.include_router(prepayment_router(view))
    app.include_router(events_router(view))
    app.include_router(health_router(view, stream_clients))  # health, Prometheus metrics
    app.include_router(control_router(view, token))  # POST /api/v1/control/*, bearer token
    app.include_router(analysis_router(view, zone, now, price_eur_kwh, tariff))  # voltage, appliances
    return app
