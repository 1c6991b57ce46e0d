"""The quarter-hour routes: closed quarter-hours (JSON or CSV), the open one so far, and the capacity peaks.

Strategy: thin reads of the view; the store is read in a worker thread (a 400-day range is ~38,000 rows).
The CSV is the quarter-hour record's own (`metering.record.csv_text`), byte for byte what `p1gw db export`
writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.http.models import QuarterHourOut
from gateway.http.query import FROM_QUERY, TO_QUERY, parse_range
from gateway.http.responses import BAD_QUERY, NOT_YET, JsonObject, no_telegram
from gateway.view import CurrentQuarterHour, GatewayView
from metering.record import QuarterHourRecord, csv_text


def quarter_hours_router(view: GatewayView, zone: ZoneInfo, now: Callable[[], datetime]) -> APIRouter:
    """`/api/v1/quarter-hours`, `/api/v1/current-quarter-hour` and `/api/v1/peaks` over `view`."""
    router = APIRouter()

    @router.get(
        "/api/v1/quarter-hours",
        response_model=list[QuarterHourOut],
        response_model_exclude_unset=True,
        responses={**BAD_QUERY, 200: {"content": {"text/csv": {}}}},
    )
    async def quarter_hours(
        start: Annotated[str | None, FROM_QUERY] = None,
        end: Annotated[str | None, TO_QUERY] = None,
        format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
    ) -> Response | list[QuarterHourRecord]:
        """Closed quarter-hours with start in [from, to); default today (local time)."""
        lo, hi = parse_range(start, end, zone, now())
        records = await asyncio.to_thread(view.quarter_hours, lo, hi)
        if format == "csv":
            name = f"quarter-hours_{lo.astimezone(zone):%Y%m%dT%H%M}_{hi.astimezone(zone):%Y%m%dT%H%M}.csv"
            return Response(
                csv_text(records),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return records

    @router.get("/api/v1/current-quarter-hour", response_model=JsonObject, responses=NOT_YET)
    async def current_quarter_hour() -> CurrentQuarterHour | QuarterHourRecord:
        """The open quarter-hour so far: energy per register, average power, projection."""
        current = view.current_quarter_hour()
        if current is None:
            raise no_telegram()
        return current

    @router.get("/api/v1/peaks")
    async def peaks() -> dict[str, Any]:
        """Running quarter-hour average and its projection, this month's peak, 13-month history."""
        return view.peaks()

    return router
