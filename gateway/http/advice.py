"""`GET /api/v1/advice`: the tariff advisor over the gateway's own stored quarter-hours.

Strategy: a FastAPI router built over the same `GatewayView` as the rest of the API; it reads the last
13 months of quarter-hours from the view, runs the pure advisor in a worker thread (a year is ~0.5 s of
CPU, the event loop stays free) and returns the document of ``advice.json`` (or the page of
``advice.html`` with ``format=html``). Query parameters mirror `p1gw advise`'s flags; `lang` (en, fr,
nl) picks the language of the reasons, labels and page, else the configured one, else the browser's
Accept-Language, as `/api/v1/i18n` does. With the gateway's `[tariff]` (its `TariffPrice`), that tariff is
the default and the document names its option (`configured_option`) for the dashboard's card.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from analysis.pricing import TariffPrice
from gateway import i18n
from gateway.i18n.report_lang import report_lang
from gateway.store.usage import usage_from_records
from gateway.view import GatewayView
from tariffs.advisor import advise
from tariffs.bands import TariffDataError
from tariffs.bill import CommunityTerms
from tariffs.load import DEFAULT_OFFER, load_tariff
from tariffs.report import advice_document, advice_html
from tariffs.series import Usage, local_fields, local_midnight_ts

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HISTORY = timedelta(days=400)
Money = Annotated[Decimal, Query(ge=0, allow_inf_nan=False)]


def advice_router(
    view: GatewayView,
    now: Callable[[], datetime],
    *,
    language: str | None = None,
    configured: TariffPrice | None = None,
) -> APIRouter:
    """The router of `/api/v1/advice` over ``view``; ``now`` is the API's wall clock, ``language`` the
    config's language (None: the browser's), ``configured`` the `[tariff]` section's tariff and option
    (None: the query's region, default Wallonia)."""
    router = APIRouter()

    @router.get(
        "/api/v1/advice",
        responses={
            204: {"description": "no stored quarter-hours yet, when asked with no_data=204 (the dashboard)"},
            404: {"description": "no stored quarter-hours yet"},
            422: {"description": "bad parameter or tariff data"},
            200: {"content": {"text/html": {}}},
        },
    )
    async def advice(
        region: Annotated[
            Literal["wallonia", "flanders", "brussels"] | None,
            Query(description="default: the configured [tariff] region, else wallonia"),
        ] = None,
        dso: Annotated[
            str | None,
            Query(
                description="DSO of the region (default: its largest); another region's DSO is a 422",
                pattern=r"^[a-z0-9-]{1,32}$",
            ),
        ] = None,
        offer: Annotated[
            str | None,
            Query(
                description=f"a shipped offer id (default: the configured one, else {DEFAULT_OFFER})",
                pattern=r"^[a-z0-9-]{1,64}$",
            ),
        ] = None,
        pv_before_2024: Annotated[bool, Query(description="compensation possible (Wallonia)")] = False,
        inverter_kva: Annotated[Decimal | None, Query(ge=0, allow_inf_nan=False)] = None,
        community_share: Annotated[Decimal | None, Query(ge=0, le=100, allow_inf_nan=False)] = None,
        community_price: Money = Decimal("0.10"),
        community_fee: Annotated[Decimal, Query(ge=0, allow_inf_nan=False, description="€/MWh")] = Decimal(5),
        format: Literal["json", "html"] = "json",
        lang: Annotated[
            Literal["en", "fr", "nl"] | None,
            Query(description="language of the reasons and the page (default: configured, else browser)"),
        ] = None,
        no_data: Annotated[
            Literal["404", "204"],
            Query(
                description="the answer while no full day is stored: 404 (nothing stored) or 422, or "
                "204 No Content for both (the dashboard: a fresh gateway logs no failed request)"
            ),
        ] = "404",
        accept_language: Annotated[str | None, Header()] = None,
    ) -> Any:
        """Your last 12 months priced under every tariff option of the region: cheapest, by how much, why."""
        end = now()
        records = await asyncio.to_thread(view.quarter_hours, end - HISTORY, end)
        meters = usage_from_records(records)
        usage = max(meters.values(), key=lambda u: u.start_ts.size) if meters else None
        if no_data == "204" and (usage is None or not _has_a_full_day(usage)):
            return Response(status_code=204)
        if usage is None:
            raise HTTPException(404, "no stored quarter-hours yet: the advice needs at least one full day")
        community = (
            CommunityTerms(community_share, community_price, community_fee / 1000)
            if community_share is not None
            else None
        )
        try:
            if configured is not None and region is None and dso is None and offer is None:
                tariff = configured.tariff
            else:
                tariff = load_tariff(region or "wallonia", dso, offer=offer or DEFAULT_OFFER)
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
        chosen = report_lang(i18n.negotiate(accept_language, lang, language))
        doc = advice_document(result, source="gateway store", lang=chosen)
        if configured is not None:
            doc["configured_option"] = configured.option
        if format == "html":
            return HTMLResponse(advice_html(doc, lang=chosen), headers={"Content-Security-Policy": PAGE_CSP})
        return doc

    return router


def _has_a_full_day(usage: Usage) -> bool:
    """Whether some local day has all its quarter-hours (92, 96 or 100): what completing the year needs."""
    day, _ = local_fields(usage.start_ts)
    days, counts = np.unique(day, return_counts=True)
    for ordinal, count in zip(days.tolist(), counts.tolist(), strict=True):
        first = date.fromordinal(int(ordinal))
        length = (local_midnight_ts(first + timedelta(days=1)) - local_midnight_ts(first)) // 900
        if count == length:
            return True
    return False
