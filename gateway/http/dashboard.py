"""The dashboard's own HTTP routes: its language, history views, capacity card and prepayment outlook.

Strategy: thin reads, like `gateway.http`: the history comes from the view's store (daily totals and
per-day / per-month quarter-hour peaks, so a year is a few hundred rows), the capacity card from
`view.peaks()`, and the shaping from the pure `metering.history` and `prepayment.outlook`. Euros: with the
gateway's `[tariff]` (a `TariffPrice`), import is priced per time band of the tariff (its all-in €/kWh, from
the period's quarter-hours) and the capacity term is the tariff's (Flanders); the flat `[dashboard]` prices
are the fallback and price export; `prices_source` in each answer says which. Times are the meter's zone
(`tz`). `create_app` includes this router; nothing here changes state.

Routes:
    GET /api/v1/i18n?lang=fr             messages + locale tag (page choice > config > Accept-Language)
    GET /api/v1/dashboard/history?view=month&date=2026-11-14
    GET /api/v1/dashboard/capacity
    GET /api/v1/dashboard/prepayment     404 when the meter has no prepayment function
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, HTTPException, Query

from analysis.pricing import TariffPrice
from gateway import i18n
from gateway.store.solar import production_by_bucket
from gateway.view import GatewayView
from metering.history import VIEWS, Period, ViewName, build, capacity_card, import_by_band
from metering.prices import BandPrices, Prices
from metering.solar_history import with_production
from prepayment.outlook import outlook
from tariffs.model import Kind, Regime, Tariff


def _store(view: GatewayView) -> Any:
    return getattr(view, "store", None)


def _meter_id(view: GatewayView) -> str | None:
    latest = view.latest()
    return str(latest["meter_id"]) if latest and latest.get("meter_id") else None


def _exact(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def capacity_eur_per_kw_year(tariff: Tariff) -> Decimal | None:
    """The tariff's capacity term in € per kW per year, VAT included (None: it has none, as outside
    Flanders)."""
    terms = [c for c in tariff.components if c.kind is Kind.CAPACITY and c.applies(Regime.STANDARD)]
    if not terms:
        return None
    vat = 1 + tariff.vat_pct / 100
    return sum((c.per_kw_year * (vat if c.vat else 1) for c in terms), Decimal(0))


def tariff_prices(flat: Prices, tariff: TariffPrice | None) -> Prices:
    """The dashboard's prices: `flat` (`[dashboard]`), with the import band prices and the capacity term of
    `tariff` (`[tariff]`) when there is one."""
    if tariff is None:
        return flat
    bands = BandPrices(
        eur_per_kwh={band: _exact(price) for band, price in tariff.band_eur_kwh.items()},
        band_at=tariff.band_at,
        name=f"tariff:{tariff.tariff.id}:{tariff.option}",
    )
    return flat.with_tariff(bands, capacity_eur_per_kw_year(tariff.tariff))


def history_view(
    view: GatewayView, name: ViewName, day: date, zone: ZoneInfo, prices: Prices
) -> dict[str, Any]:
    """One history view (`metering.history.build`) read from the view's store."""
    period = Period.around(name, day)
    store = _store(view)

    def at(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=zone)

    last_month_end = period.end
    months_from = date(last_month_end.year - 1, last_month_end.month, 1)
    if store is None:
        return with_production(build(period, [], {}, {}, prices), {}, configured=False)
    meter = _meter_id(view)
    month_peaks = store.quarter_hour_peaks(at(months_from), at(period.end), by="month", meter_id=meter)
    # the month peaks as billed (the meter's own when it sent them) win over ours, as on the capacity card
    first_month, last_month = months_from.isoformat()[:7], (period.end - timedelta(days=1)).isoformat()[:7]
    for row in view.peaks().get("history") or []:
        if row.get("peak_kw") is not None and first_month <= str(row.get("month")) <= last_month:
            month_peaks[str(row["month"])] = float(row["peak_kw"])
    compare: list[dict[str, Any]] = []
    quarter_hours: list[dict[str, Any]] | None = None
    if name == "day":
        rows = quarter_hours = store.quarter_hours(at(period.first), at(period.end), meter)
        week_ago = period.first - timedelta(days=7)
        compare = store.quarter_hours(at(week_ago), at(week_ago + timedelta(days=1)), meter)
        peaks: dict[str, float] = {}
    else:
        rows = store.daily_totals(period.first, period.end, meter)
        by = "month" if name == "year" else "day"
        peaks = store.quarter_hour_peaks(at(period.first), at(period.end), by=by, meter_id=meter)
    banded = None
    if prices.bands is not None:  # import per time band needs the quarter-hours themselves
        if quarter_hours is None:
            quarter_hours = store.quarter_hours(at(period.first), at(period.end), meter)
        banded = import_by_band(name, quarter_hours, prices)
    result = build(period, rows, peaks, month_peaks, prices, compare, banded)
    production, configured = production_by_bucket(store, name, at(period.first), at(period.end))
    return with_production(result, production, configured=configured)


def dashboard_router(
    view: GatewayView,
    *,
    zone: ZoneInfo,
    now: Callable[[], datetime],
    prices: Prices | None = None,
    language: str | None = None,
    tariff: TariffPrice | None = None,
) -> APIRouter:
    """The routes above over `view`; `language` is the config's choice (empty: the browser's); `prices`
    the flat `[dashboard]` prices, `tariff` the `[tariff]` whose band prices and capacity term win."""
    prices = tariff_prices(prices or Prices(), tariff)
    router = APIRouter(tags=["dashboard"])

    @router.get("/api/v1/i18n")
    async def messages(
        lang: Annotated[str | None, Query(description="en, fr or nl (the page's choice)")] = None,
        accept_language: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """The dashboard's messages in the chosen language: `lang`, else the config's, else the browser's
        Accept-Language, else English."""
        chosen = i18n.negotiate(accept_language, lang, language)
        return {**i18n.catalog_json(chosen), "configured": i18n.normalise(language), "timezone": zone.key}

    @router.get("/api/v1/dashboard/history")
    async def history(
        view_name: Annotated[ViewName, Query(alias="view", description="day, week, month or year")] = "day",
        day: Annotated[
            str | None,
            Query(
                alias="date",
                description="a date in the period (ISO)",
                json_schema_extra={"pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Import per tariff period, export, euros and quarter-hour peaks for one period (meter's zone)."""
        if view_name not in VIEWS:
            raise HTTPException(422, f"view {view_name!r}: use one of {', '.join(VIEWS)}")
        try:
            chosen = date.fromisoformat(day) if day is not None else now().astimezone(zone).date()
        except ValueError as exc:
            raise HTTPException(422, f"date {day!r} is not an ISO date (2026-11-22)") from exc
        result = await asyncio.to_thread(history_view, view, view_name, chosen, zone, prices)
        return {**result, "date": chosen.isoformat(), "timezone": zone.key}

    @router.get("/api/v1/dashboard/capacity")
    async def capacity() -> dict[str, Any]:
        """The capacity card: month peak and 2.5 kW floor apart, the projection against the one that
        applies, the 12-month mean, and what a new peak would add over 12 bills (€)."""
        return capacity_card(view.peaks(), prices)

    @router.get("/api/v1/dashboard/prepayment")
    async def prepayment() -> dict[str, Any]:
        """Balance, days left at the pace of the last 30 days, the date the start credit is paid back."""
        state = view.prepayment()
        if state is None:
            raise HTTPException(404, "this meter has no prepayment function (no 0-n:19.x lines seen)")
        return outlook(state, now().astimezone(zone).date())

    return router
