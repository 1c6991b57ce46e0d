"""`GET /api/v1/advice`: the tariff advisor over the gateway's own stored quarter-hours.

Strategy: a FastAPI router built over the same `GatewayView` as the rest of the API; it reads the last
13 months of quarter-hours from the view, runs the pure advisor in a worker thread (a year is ~0.5 s of
CPU, the event loop stays free) and returns the document of ``advice.json`` (or the page of
``advice.html`` with ``format=html``). Query parameters mirror `p1gw advise`'s flags.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from gateway.store.usage import usage_from_records
from gateway.view import GatewayView
from tariffs.advisor import advise
from tariffs.bands import TariffDataError
from tariffs.bill import CommunityTerms
from tariffs.load import DEFAULT_OFFER, load_tariff
from tariffs.report import advice_document, advice_html

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HISTORY = timedelta(days=400)
Money = Annotated[Decimal, Query(ge=0, allow_inf_nan=False)]


def advice_router(view: GatewayView, now: Callable[[], datetime]) -> APIRouter:
    """The router of `/api/v1/advice` over ``view``; ``now`` is the API's wall clock."""
    router = APIRouter()

    @router.get(
        "/api/v1/advice",
        responses={
            404: {"description": "no stored quarter-hours yet"},
            422: {"description": "bad parameter or tariff data"},
            200: {"content": {"text/html": {}}},
        },
    )
    async def advice(
        region: Literal["wallonia", "flanders", "brussels"] = "wallonia",
        dso: Annotated[
            str | None,
            Query(
                description="DSO of the region (default: its largest); another region's DSO is a 422",
                pattern=r"^[a-z0-9-]{1,32}$",
            ),
        ] = None,
        offer: Annotated[
            str, Query(description="a shipped supplier offer id", pattern=r"^[a-z0-9-]{1,64}$")
        ] = DEFAULT_OFFER,
        pv_before_2024: Annotated[bool, Query(description="compensation possible (Wallonia)")] = False,
        inverter_kva: Annotated[Decimal | None, Query(ge=0, allow_inf_nan=False)] = None,
        community_share: Annotated[Decimal | None, Query(ge=0, le=100, allow_inf_nan=False)] = None,
        community_price: Money = Decimal("0.10"),
        community_fee: Annotated[Decimal, Query(ge=0, allow_inf_nan=False, description="€/MWh")] = Decimal(5),
        format: Literal["json", "html"] = "json",
    ) -> Any:
        """Your last 12 months priced under every tariff option of the region: cheapest, by how much, why."""
        end = now()
        records = await asyncio.to_thread(view.quarter_hours, end - HISTORY, end)
        meters = usage_from_records(records)
        if not meters:
            raise HTTPException(404, "no stored quarter-hours yet: the advice needs at least one full day")
        usage = max(meters.values(), key=lambda u: u.start_ts.size)
        community = (
            CommunityTerms(community_share, community_price, community_fee / 1000)
            if community_share is not None
            else None
        )
        try:
            tariff = load_tariff(region, dso, offer=offer)
            result = await asyncio.to_thread(
                advise,
                usage,
                tariff,
                compensation_eligible=pv_before_2024,
                inverter_kva=inverter_kva,
                community=community,
            )
        except (TariffDataError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        doc = advice_document(result, source="gateway store")
        if format == "html":
            return HTMLResponse(advice_html(doc), headers={"Content-Security-Policy": PAGE_CSP})
        return doc

    return router
