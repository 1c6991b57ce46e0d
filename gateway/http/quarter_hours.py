"""The quarter-hour routes: closed quarter-hours (JSON or CSV), the open one so far, and the capacity peaks.

Strategy: thin reads of the view; the store is read in a worker thread (a 400-day range is ~38,000 rows).
The CSV export is one function, `quarter_hours_csv` (header `CSV_COLUMNS`, CRLF, kWh/kW with 3 decimals),
so the shared quarter-hour record module can take it over at its one call.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.http.models import QuarterHourOut
from gateway.http.query import FROM_QUERY, TO_QUERY, parse_range
from gateway.http.responses import BAD_QUERY, NOT_YET, no_telegram
from gateway.view import GatewayView

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


def quarter_hours_csv(records: list[dict[str, Any]]) -> str:
    """The CSV export: header `CSV_COLUMNS`, one row per record, kWh/kW with 3 decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(column, record.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.endswith(("_kw", "_kwh")) or column.startswith(("import_", "export_")):
        return f"{Decimal(str(value)):.3f}"
    return str(value)


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

    @router.get("/api/v1/current-quarter-hour", response_model=dict[str, Any], responses=NOT_YET)
    async def current_quarter_hour() -> Any:
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
