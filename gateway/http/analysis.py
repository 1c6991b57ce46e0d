"""`GET /api/v1/voltage` and `GET /api/v1/appliances`: the analyses over the running gateway's store.

Strategy: read the stored aggregates (`gateway.store.analysis`) in a thread and run the pure reports of
`analysis` on them. Without `from`/`to`, the voltage covers the current local week (Monday 00:00 to now:
the dashboard's "this week" status, still `undetermined` until the week is over) and the appliances the
last 30 days. Appliances are priced by the `price` query (€/kWh), else the configured flat price, else the
configured tariff (`[tariff]`: by time band); a tariff is described under `tariff` in the answer. A gateway
without a store answers 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query

from analysis.appliances import appliance_report
from analysis.pricing import EnergyPrice, FlatPrice, TariffPrice
from analysis.report import voltage_json
from analysis.voltage import week_start, weekly_compliance
from gateway.http.query import FROM_QUERY, TO_QUERY, parse_range
from gateway.store.analysis import appliance_data, meter_identity, voltage_data
from gateway.view import GatewayView


def analysis_router(
    view: GatewayView,
    zone: ZoneInfo,
    now: Callable[[], datetime],
    price_eur_kwh: Decimal | None = None,
    tariff: TariffPrice | None = None,
) -> APIRouter:
    """The two routes; `price_eur_kwh`, else `tariff`, prices appliance runs and the standby (a `price`
    query overrides both)."""
    router = APIRouter(tags=["analysis"])
    no_store: dict[int | str, dict[str, Any]] = {404: {"description": "this gateway keeps no store (--db)"}}

    def store() -> Any:
        found = getattr(view, "store", None)
        if found is None:
            raise HTTPException(404, "this gateway keeps no store: start it with --db to analyse voltage")
        return found

    @router.get("/api/v1/voltage", responses=no_store)
    async def voltage(
        start: Annotated[str | None, FROM_QUERY] = None,
        end: Annotated[str | None, TO_QUERY] = None,
    ) -> dict[str, Any]:
        """EN 50160 per local week and phase (default: this week so far), the worst episodes, the meter."""
        db = store()
        if start is None and end is None:
            first = week_start(now().astimezone(zone).date(), zone)
            lo, hi = first, now()
        else:
            lo, hi = parse_range(start, end, zone, now())
        meter_id = getattr(view, "meter_id", None)
        windows, episodes = await asyncio.to_thread(voltage_data, db, lo, hi, meter_id)
        identity = await asyncio.to_thread(meter_identity, db, meter_id)
        weeks = weekly_compliance(windows, episodes, lo, hi, tz=zone.key)
        source = windows[0].source if windows else "p1"
        return voltage_json(weeks, identity, lo, hi, source, zone.key)

    @router.get("/api/v1/appliances", responses=no_store)
    async def appliances(
        start: Annotated[str | None, FROM_QUERY] = None,
        end: Annotated[str | None, TO_QUERY] = None,
        price: Annotated[
            Decimal | None, Query(ge=0, allow_inf_nan=False, description="€/kWh, all taxes included")
        ] = None,
    ) -> dict[str, Any]:
        """Appliance clusters (runs of 1 kW or more: runs, kWh, €) and the standby (default: last 30 days)."""
        db = store()
        if start is None and end is None:
            lo, hi = now() - timedelta(days=30), now()
        else:
            lo, hi = parse_range(start, end, zone, now())
        steps, windows = await asyncio.to_thread(appliance_data, db, lo, hi, getattr(view, "meter_id", None))
        unit = price if price is not None else price_eur_kwh
        pricing: EnergyPrice | None = FlatPrice(unit) if unit is not None else tariff
        report = await asyncio.to_thread(appliance_report, steps, windows, lo, hi, price=pricing, tz=zone.key)
        if isinstance(pricing, TariffPrice):
            report["tariff"] = pricing.describe()
        return report

    return router
