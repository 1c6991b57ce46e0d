"""The HTTP API and the dashboard (FastAPI), served over any `GatewayView`.

Strategy: every route is a thin read of the view (`gateway/view.py`); this module only parses and checks
query parameters (ISO dates or datetimes, local time when naive, 422 with a sentence when wrong), shapes
responses (typed models for OpenAPI, CSV export, Prometheus text built from `health()`) and streams the
live feed as Server-Sent Events (one `event:`/`data:` block per item, a comment every `keepalive_s`, the
subscription closed when the client goes). GETs are open (the server binds 127.0.0.1 by default); the
state-changing `POST /api/v1/control/{action}` needs `Authorization: Bearer <token>` (constant-time
compare; 403 for everyone when no token is configured). CORS is off unless origins are given. The
dashboard is static files (gateway/http/static/, no build step, no CDN) that use the same API.

Example:
    app = create_app(gateway, token=os.environ.get("P1GW_TOKEN"))
    uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hmac
import io
import json
import math
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.advice import advice_router
from gateway.http.dashboard import dashboard_router
from gateway.view import ControlDenied, GatewayView
from metering.prices import Prices

if TYPE_CHECKING:
    from analysis.pricing import TariffPrice

STATIC_DIR = Path(__file__).with_name("static")
MAX_RANGE = timedelta(days=400)
MAX_CONTROL_BODY = 4096  # bytes: a control body is a few fields; anything bigger is refused unread (413)
# The forms `from`/`to` accept (also in the OpenAPI schema): a date, or a datetime with an optional offset
# (` ` for an unencoded `+`). A string of this form can still name no instant (2026-02-30, from after to):
# those get 422 with a sentence too.
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_DATE = _YEAR + r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_OFFSET = r"(?:Z|[+ -](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
ISO_PATTERN = rf"^{_DATE}(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{{1,6}})?)?{_OFFSET}?)?$"
_ISO = re.compile(ISO_PATTERN)
AMOUNT_EUR_PATTERN = r"^(?:[1-9][0-9]{0,3}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9])|10000(?:\.00?)?)$"
KW_PATTERN = r"^(?:100(?:\.0{1,3})?|[1-9]?[0-9](?:\.[0-9]{1,3})?)$"
CSV_COLUMNS = (
    "meter_id",
    "ean",
    "start",
    "end",
    "import_day",
    "import_night",
    "export_day",
    "export_night",
    "import_kwh",
    "export_kwh",
    "avg_import_kw",
    "avg_export_kw",
    "complete",
    "estimated",
)
SSE_TYPES = frozenset({"telegram", "quarter_hour", "event", "prepayment", "s1"})
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


# ---------------------------------------------------------------------------------------------- models
class Error(BaseModel):
    """Every error: one sentence a person can act on."""

    detail: str


class FieldProblem(BaseModel):
    """One refused field (never its value: a request is not echoed back)."""

    loc: list[str | int] = Field(description="where: body, query or header, then the field")
    msg: str
    type: str


class Invalid(BaseModel):
    """422: one sentence, plus the refused fields when the request did not match the schema."""

    detail: str
    errors: list[FieldProblem] | None = None


class ValueOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: Any = Field(description="number, text, ISO time, list (profile buffers) or null")
    unit: str | None = None
    timestamp: str | None = Field(None, description="the value's own capture time (ISO 8601)")


class TelegramOut(BaseModel):
    """Telegram JSON of ARCHITECTURE §3."""

    model_config = ConfigDict(extra="allow")
    meter_id: str
    header: str
    crc: Literal["ok", "absent"]
    timestamp: str | None = Field(description="the meter's clock, ISO 8601 with offset")
    values: dict[str, ValueOut] = Field(description="keyed by OBIS code A-B:C.D.E")
    unparsed: list[str] | None = None


class QuarterHourOut(BaseModel):
    """Quarter-hour record (energy in kWh with 3 decimals, average power in kW)."""

    model_config = ConfigDict(extra="allow")
    meter_id: str
    ean: str | None = None
    start: str = Field(description="ISO 8601 with offset, clock-aligned in local time")
    end: str
    import_day: float
    import_night: float
    export_day: float
    export_night: float
    import_kwh: float
    export_kwh: float
    avg_import_kw: float
    avg_export_kw: float
    complete: bool
    estimated: bool
    telegrams: int | None = None


class TopUp(BaseModel):
    """Simulated top-up; the same `id` twice credits once."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    amount_eur: str = Field(
        pattern=AMOUNT_EUR_PATTERN,
        description="EUR as text, > 0 and <= 10000, at most 2 decimals",
        examples=["10.00"],
    )
    energy: Literal["electricity", "gas"] = "electricity"


class PressButton(BaseModel):
    """The meter's button (green: electricity reconnection; red: gas)."""

    model_config = ConfigDict(extra="forbid")
    energy: Literal["electricity", "gas"] = "electricity"


class StartLeakTest(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _whole_number(value: object) -> object:
    """A JSON integer (`600`, or `600.0`, which JSON Schema counts as one), not text or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("give a whole number (JSON integer), e.g. 600")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("give a whole number of seconds")
    return int(value)


class SetLoad(BaseModel):
    """Add a load of `kw` for `duration_s` seconds to the simulated household."""

    model_config = ConfigDict(extra="forbid")
    kw: str = Field(
        pattern=KW_PATTERN, description="kW as text, 0..100, at most 3 decimals", examples=["3.5"]
    )
    duration_s: Annotated[int, BeforeValidator(_whole_number)] = Field(gt=0, le=7 * 86400)


PATTERN_HINTS = {
    "amount_eur": 'give EUR as text, more than 0 and at most 10000, with at most 2 decimals, e.g. "10.00"',
    "kw": 'give kW as text, 0 to 100, with at most 3 decimals, e.g. "3.5"',
    "id": "give 1 to 64 letters, digits or ._:- (no spaces)",
}
DECIMAL_FIELDS = frozenset({"amount_eur", "kw"})  # checked as text by their patterns, handed on as Decimal
FROM_QUERY = Query(
    alias="from",
    description="ISO date (a whole local day) or datetime (local time without an offset)",
    json_schema_extra={"pattern": ISO_PATTERN},
)
TO_QUERY = Query(
    alias="to",
    description="ISO date (inclusive day) or datetime (exclusive)",
    json_schema_extra={"pattern": ISO_PATTERN},
)

CONTROL_MODELS: dict[str, type[BaseModel]] = {
    "top_up": TopUp,
    "press_button": PressButton,
    "start_leak_test": StartLeakTest,
    "set_load": SetLoad,
}


# ------------------------------------------------------------------------------------ query parameters
def parse_instant(text: str, name: str, tz: ZoneInfo, *, is_end: bool) -> datetime:
    """An ISO date (a whole local day: its midnight, or the next midnight for `to`) or an ISO datetime
    (local time when it has no offset), of the forms in `ISO_PATTERN`. Raises HTTPException 422 with a
    sentence naming the parameter."""
    text = text.strip()
    problem = "is not an ISO 8601 date (2026-11-22) or datetime (2026-11-22T14:00:00+01:00)"
    if _ISO.match(text) is None:
        raise HTTPException(422, f"query parameter {name!r}: {text!r} {problem}")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _local_midnight(day + timedelta(days=1) if is_end else day, tz)
        parsed = datetime.fromisoformat(_plus_restored(text))
    except ValueError as exc:
        raise HTTPException(
            422, f"query parameter {name!r}: {text!r} is not a calendar date ({exc})"
        ) from exc
    except OverflowError as exc:
        raise HTTPException(422, _out_of_range(name, text)) from exc
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _out_of_range(name: str, text: str) -> str:
    return f"query parameter {name!r}: {text!r} is out of range (years 0001 to 9999, a day inside them)"


def _plus_restored(text: str) -> str:
    """`+01:00` arrives as ` 01:00` when a client forgets to URL-encode the plus sign."""
    return re.sub(r" (\d\d:?\d\d)$", r"+\1", text)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def parse_range(
    start_text: str | None, end_text: str | None, tz: ZoneInfo, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) from the `from`/`to` query parameters; both missing = today (local)."""
    start = parse_instant(start_text, "from", tz, is_end=False) if start_text is not None else None
    end = parse_instant(end_text, "to", tz, is_end=True) if end_text is not None else None
    try:
        if start is None and end is None:
            start = _local_midnight(now.astimezone(tz).date(), tz)
        if end is None:
            assert start is not None
            end = _local_midnight(start.astimezone(tz).date() + timedelta(days=1), tz)
        if start is None:
            start = _local_midnight((end - timedelta(microseconds=1)).astimezone(tz).date(), tz)
        for instant in (start, end):  # both must be instants Python can convert (UTC and local)
            instant.astimezone(UTC), instant.astimezone(tz)
    except OverflowError as exc:
        name, text = ("from", start_text) if start_text else ("to", end_text or "")
        raise HTTPException(422, _out_of_range(name, text)) from exc
    if start > end or (start == end and start_text and end_text and len(end_text.strip()) <= 10):
        raise HTTPException(
            422,
            f"'from' ({start_text or start.isoformat()}) is after 'to' ({end_text or end.isoformat()}): "
            "swap them",
        )
    if end - start > MAX_RANGE:
        raise HTTPException(
            422, f"the range {start.isoformat()} .. {end.isoformat()} is longer than {MAX_RANGE.days} days"
        )
    return start, end


# ----------------------------------------------------------------------------------------------- output
def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json_text(value: Any) -> str:
    """Compact JSON on one line (an SSE `data:` line must not contain a line break)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.endswith(("_kw", "_kwh")) or column.startswith(("import_", "export_")):
        return f"{Decimal(str(value)):.3f}"
    return str(value)


def quarter_hours_csv(records: list[dict[str, Any]]) -> str:
    """The CSV export: header `CSV_COLUMNS`, one row per record, kWh/kW with 3 decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(column, record.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


_METRIC_HELP = {
    "up": "1 while the HTTP API answers",
    "last_telegram_age_s": "seconds since the last telegram",
    "frames": "frames read from the source",
    "telegrams": "telegrams parsed",
    "crc_errors": "frames dropped for a bad CRC",
    "framing_errors": "framing errors (garbage, overlong frames)",
    "queue_depth": "MQTT messages waiting for the broker",
    "http_stream_clients": "open SSE connections",
}
_COUNTER_WORDS = (
    "frames", "frames_ok", "telegrams", "errors", "reconnects", "connects", "faults", "dropped", "published",
    "bytes", "count", "closed", "stored", "rejected",
)  # fmt: skip


def _metric_name(path: list[str]) -> str:
    name = re.sub(r"[^a-zA-Z0-9_]", "_", "_".join(path)).strip("_").lower()
    return "p1gw_" + (name if name and not name[0].isdigit() else f"_{name}")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(health: dict[str, Any], extra: dict[str, float] | None = None) -> str:
    """Prometheus text exposition (0.0.4) of a health dict: numbers become gauges, cumulative counts
    (`*_total`, `frames`, `*errors`, ...) counters, texts an info gauge `{value="..."} 1`, booleans 0/1;
    nested dicts are flattened with `_`."""
    lines: list[str] = []

    def emit(path: list[str], value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                emit([*path, str(key)], item)
            return
        key = path[-1]
        base = _metric_name(path)
        if isinstance(value, bool) or (
            isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        ):
            number = float(value)
            if math.isnan(number):
                return
            joined = "_".join(path)
            is_counter = joined.endswith("_total") or any(
                joined == w or joined.endswith("_" + w) for w in _COUNTER_WORDS
            )
            if is_counter and not isinstance(value, bool) and number >= 0:
                name, kind = (base if base.endswith("_total") else base + "_total"), "counter"
            else:
                name, kind = base, "gauge"
            help_text = _METRIC_HELP.get(key, "gateway health: " + ".".join(path))
            lines.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {_number(number)}"))
        elif isinstance(value, str):
            name = base + "_info"
            lines.extend(
                (
                    f"# HELP {name} gateway health: {'.'.join(path)} (text in the value label)",
                    f"# TYPE {name} gauge",
                    f'{name}{{value="{_label(value)}"}} 1',
                )
            )

    emit(["up"], 1)
    for key, value in health.items():
        emit([str(key)], value)
    for key, value in (extra or {}).items():
        emit([key], value)
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


# ---------------------------------------------------------------------------------------------- the app
_bearer = HTTPBearer(auto_error=False, description="the gateway's control token")


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
    if token is not None and not token.strip():
        token = None  # an empty P1GW_TOKEN means "no token": controls stay disabled
    now = clock or (lambda: datetime.now(zone))
    stream_clients = 0

    app = FastAPIOffline(  # /docs from the package's own Swagger UI files (no CDN)
        redoc_url=None,  # ReDoc's bundle still fetches its logo from a CDN: not served
        title="p1-gateway",
        version="1",
        summary="Live meter values, quarter-hours, capacity peaks and prepayment of one smart meter.",
        description=(
            "Read-only GETs; `POST /api/v1/control/*` needs `Authorization: Bearer <token>`. A 422 has one "
            "sentence in `detail`: the request did not match the schema (then `errors` lists the fields), "
            "or it names no instant (`from` after `to`, a range over 400 days, 2026-02-30)."
        ),
        responses={422: {"model": Invalid, "description": "invalid request (one sentence in `detail`)"}},
    )
    app.add_middleware(BodyLimit, max_bytes=MAX_CONTROL_BODY)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(invalid_body(exc.errors()), status_code=422)

    not_yet: dict[int | str, dict[str, Any]] = {
        503: {"model": Error, "description": "no telegram received yet"}
    }
    bad_query: dict[int | str, dict[str, Any]] = {
        422: {"model": Invalid, "description": "bad query parameter, or a range that names no instants"}
    }

    def no_telegram() -> HTTPException:
        return HTTPException(503, "no telegram received yet", headers={"Retry-After": "2"})

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": DASHBOARD_CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(dashboard_router(view, zone=zone, now=now, prices=prices, language=language))

    @app.get("/api/v1/now", response_model=TelegramOut, response_model_exclude_unset=True, responses=not_yet)
    async def latest_telegram() -> Any:
        """The latest telegram JSON."""
        latest = view.latest()
        if latest is None:
            raise no_telegram()
        return latest

    @app.get("/api/v1/states")
    async def states() -> dict[str, Any]:
        """Latest value per state name (`energy_import_day`, `power_import`, ...) with unit and code."""
        return view.states()

    @app.get(
        "/api/v1/quarter-hours",
        response_model=list[QuarterHourOut],
        response_model_exclude_unset=True,
        responses={**bad_query, 200: {"content": {"text/csv": {}}}},
    )
    async def quarter_hours(
        start: Annotated[str | None, FROM_QUERY] = None,
        end: Annotated[str | None, TO_QUERY] = None,
        format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
    ) -> Any:
        """Closed quarter-hours with start in [from, to); default today (local time)."""
        lo, hi = parse_range(start, end, zone, now())
        records = await asyncio.to_thread(view.quarter_hours, lo, hi)
        if format == "csv":
            name = f"quarter-hours_{lo.astimezone(zone):%Y%m%dT%H%M}_{hi.astimezone(zone):%Y%m%dT%H%M}.csv"
            return Response(
                quarter_hours_csv(records),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return records

    @app.get(
        "/api/v1/current-quarter-hour",
        response_model=dict[str, Any],
        responses=not_yet,
    )
    async def current_quarter_hour() -> Any:
        """The open quarter-hour so far: energy per register, average power, projection."""
        current = view.current_quarter_hour()
        if current is None:
            raise no_telegram()
        return current

    @app.get("/api/v1/history", responses=bad_query)
    async def history(
        start: Annotated[str | None, FROM_QUERY] = None,
        end: Annotated[str | None, TO_QUERY] = None,
    ) -> list[dict[str, Any]]:
        """Downsampled history (import/export kW, registers) in [from, to); default today."""
        lo, hi = parse_range(start, end, zone, now())
        return await asyncio.to_thread(view.history, lo, hi)

    app.include_router(advice_router(view, now))  # GET /api/v1/advice (gateway/http/advice.py)

    @app.get("/api/v1/peaks")
    async def peaks() -> dict[str, Any]:
        """Running quarter-hour average and its projection, this month's peak, 13-month history."""
        return view.peaks()

    @app.get("/api/v1/prepayment", responses={404: {"model": Error, "description": "no prepayment function"}})
    async def prepayment() -> dict[str, Any]:
        """Prepayment credit state (balance, emergency credit, debt, supply state, ...)."""
        state = view.prepayment()
        if state is None:
            raise HTTPException(404, "this meter has no prepayment function (no 0-n:19.x lines seen)")
        return state

    @app.get("/api/v1/events")
    async def events(
        limit: Annotated[int, Query(ge=1, le=1000, description="how many, newest first")] = 50,
    ) -> list[dict[str, Any]]:
        """The latest events (peak warnings, low credit, disconnections, source faults), newest first."""
        return view.events(limit)

    @app.get("/api/v1/health")
    async def health() -> dict[str, Any]:
        """Source status, last telegram age, frame/CRC error counts, MQTT state, queue depth."""
        return view.health()

    @app.get("/api/v1/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus text exposition built from `health` (scrape this)."""
        text = prometheus_text(view.health(), {"http_stream_clients": stream_clients})
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/api/v1/stream", response_class=StreamingResponse)
    async def stream(request: Request) -> StreamingResponse:
        """Live feed as Server-Sent Events: `event: telegram|quarter_hour|event|prepayment`, `data: <json>`;
        a `: keep-alive` comment every 15 s."""

        async def body() -> AsyncIterator[str]:
            nonlocal stream_clients
            stream_clients += 1
            feed = view.subscribe()
            pending: asyncio.Task[dict[str, Any]] | None = None
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
                    kind = item.get("type")
                    if kind not in SSE_TYPES:
                        continue
                    counter += 1
                    yield f"id: {counter}\nevent: {kind}\ndata: {to_json_text(item.get('data'))}\n\n"
            finally:
                stream_clients -= 1
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(BaseException):
                        await pending
                aclose = getattr(feed, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):
                        await aclose()

        return StreamingResponse(
            body(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------------------------------ controls
    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            raise HTTPException(
                403, "state changes are disabled: the gateway has no control token configured"
            )
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()) or credentials is None:
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": 'Bearer realm="p1gw"'}
            )

    async def run_control(action: str, params: BaseModel | None) -> dict[str, Any]:
        values = params.model_dump() if params is not None else {}
        values = {k: Decimal(v) if k in DECIMAL_FIELDS else v for k, v in values.items()}
        try:
            return await view.control(action, values)
        except ControlDenied as exc:
            raise HTTPException(409, f"{action} is not allowed here: {exc}") from exc
        except ValueError as exc:  # a well-formed request the meter's state refuses (no gas account, ...)
            raise HTTPException(409, f"{action} does not apply now: {exc}") from exc

    auth = [Depends(require_token)]
    denied: dict[int | str, dict[str, Any]] = {
        400: {"model": Error, "description": "a body that is not UTF-8 JSON"},
        401: {"model": Error, "description": "missing or wrong token"},
        403: {"model": Error, "description": "no token configured: state changes disabled"},
        409: {"model": Error, "description": "not allowed here (not a simulator) or not now (meter state)"},
        413: {"model": Error, "description": f"body over {MAX_CONTROL_BODY} bytes"},
    }

    @app.post("/api/v1/control/top_up", dependencies=auth, responses=denied, tags=["control"])
    async def top_up(body: TopUp) -> dict[str, Any]:
        """Simulator: credit `amount_eur` (idempotent per `id`)."""
        return await run_control("top_up", body)

    @app.post("/api/v1/control/press_button", dependencies=auth, responses=denied, tags=["control"])
    async def press_button(body: PressButton | None = None) -> dict[str, Any]:
        """Simulator: press the meter's button (reconnects a breaker in state 'ready')."""
        return await run_control("press_button", body)

    @app.post("/api/v1/control/start_leak_test", dependencies=auth, responses=denied, tags=["control"])
    async def start_leak_test(body: StartLeakTest | None = None) -> dict[str, Any]:
        """Simulator: start the gas leak test (the valve reopens when it passes)."""
        return await run_control("start_leak_test", body)

    @app.post("/api/v1/control/set_load", dependencies=auth, responses=denied, tags=["control"])
    async def set_load(body: SetLoad) -> dict[str, Any]:
        """Simulator: add `kw` of load for `duration_s` seconds."""
        return await run_control("set_load", body)

    @app.post(
        "/api/v1/control/{action}", dependencies=auth, responses=denied, tags=["control"], status_code=404
    )
    async def unknown_control(action: str) -> dict[str, Any]:
        """Any other action: 404."""
        raise HTTPException(404, f"unknown action {action!r}; known: {', '.join(CONTROL_MODELS)}")

    from gateway.http.analysis import analysis_router  # voltage quality and appliances (docs/analysis.md)

    app.include_router(analysis_router(view, zone, now, price_eur_kwh, tariff))
    return app


def invalid_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 JSON of a request that did not match the schema: one sentence plus the fields (`Invalid`);
    never the input (a request is not echoed back), names cut to 64 characters."""
    problems = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p)[:64] for p in err.get("loc", ())]
        kind = str(err.get("type", ""))
        msg = str(err.get("msg", "invalid"))
        if kind == "string_pattern_mismatch" and loc and loc[-1] in PATTERN_HINTS:
            msg = PATTERN_HINTS[str(loc[-1])]  # a sentence, not the regular expression
        problems.append({"loc": loc, "msg": msg, "type": kind})
    parts = [
        f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'request body'}: {e['msg']}" for e in problems
    ]
    return {"detail": "; ".join(parts) or "invalid request", "errors": problems}


class BodyLimit:
    """ASGI middleware: a POST body over `max_bytes` gets 413 before the app reads any of it (declared by
    Content-Length or counted as it arrives); a smaller one is read here and handed on whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes: refused unread"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send(
            {"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]}
        )
        await send({"type": "http.response.body", "body": body})
