"""The dashboard's euros from the tariffs package: with a `[tariff]`, each period's import is priced per
time band of the tariff (its all-in €/kWh) and the capacity term is the tariff's (Flanders); the flat
`[dashboard]` prices stay the fallback; `prices_source` says which were used."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from analysis.pricing import TariffPrice
from gateway.cli.analysis_options import tariff_price
from gateway.http.dashboard import capacity_eur_per_kw_year, dashboard_router
from metering.prices import Prices
from metering.record import QuarterHourRecord
from tests.gateway.test_http_view import TZ, fed_view

PRICES = Prices(Decimal("0.32"), Decimal("0.25"), Decimal("0.04"), Decimal("53.20"))
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def flanders() -> TariffPrice:
    return tariff_price("flanders", None, "dual", None)


def _expected_eur(records: list[QuarterHourRecord], tariff: TariffPrice) -> Decimal:
    """The tariff's band price x the store's kWh of each quarter-hour, minus export at the flat price."""
    total = Fraction(0)
    for r in records:
        band = tariff.band_at(datetime.fromisoformat(r["start"]))
        total += Fraction(Decimal(str(r["import_kwh"]))) * tariff.band_eur_kwh[band]
        total -= Fraction(Decimal(str(r["export_kwh"]))) * Fraction(PRICES.export)
    return (Decimal(total.numerator) / Decimal(total.denominator)).quantize(CENT)


async def test_history_euros_are_the_tariffs_band_prices_times_the_stores_kwh(
    tmp_path: Path, flanders: TariffPrice
) -> None:
    start = datetime(2026, 11, 23, 5, 0, tzinfo=TZ)  # a Monday morning: night and day bands
    view = fed_view(tmp_path / "gw.db", start, 4 * 3600, step_s=10)
    app = FastAPI()
    now = lambda: start + timedelta(hours=5)  # noqa: E731
    app.include_router(dashboard_router(view, zone=TZ, now=now, prices=PRICES, tariff=flanders))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        day = (
            await client.get("/api/v1/dashboard/history", params={"view": "day", "date": "2026-11-23"})
        ).json()
        week = (await client.get("/api/v1/dashboard/history", params={"view": "week"})).json()
        capacity = (await client.get("/api/v1/dashboard/capacity")).json()
    records = view.store.quarter_hours(start, start + timedelta(days=1))
    assert len(records) > 10
    bands = {flanders.band_at(datetime.fromisoformat(r["start"])) for r in records}
    assert len(bands) == 2  # the fixture crosses a band change
    source = f"tariff:{flanders.tariff.id}:dual"
    assert day["prices_source"] == week["prices_source"] == source
    assert Decimal(str(day["totals"]["eur"])) == _expected_eur(records, flanders)
    assert Decimal(str(week["buckets"][0]["eur"])) == _expected_eur(records, flanders)
    for bucket in day["buckets"]:
        mine = [r for r in records if r["start"][11:16] == bucket["key"]]
        assert Decimal(str(bucket["eur"])) == _expected_eur(mine, flanders)
    by_band = week["buckets"][0]["import_by_band_kwh"]
    assert set(by_band) == bands
    assert sum(Decimal(str(v)) for v in by_band.values()) == sum(
        Decimal(str(r["import_kwh"])) for r in records
    )
    # the capacity term of the Flemish tariff (VAT included) wins over the flat 53.20
    term = capacity_eur_per_kw_year(flanders.tariff)
    assert term is not None and term > 0
    assert capacity["capacity_eur_per_kw_year"] == float(term) and capacity["prices_source"] == source


async def test_flat_prices_stay_the_fallback(tmp_path: Path) -> None:
    start = datetime(2026, 11, 23, 5, 0, tzinfo=TZ)
    view = fed_view(tmp_path / "gw.db", start, 3600, step_s=10)
    app = FastAPI()
    app.include_router(dashboard_router(view, zone=TZ, now=lambda: start + timedelta(hours=2), prices=PRICES))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        day = (
            await client.get("/api/v1/dashboard/history", params={"view": "day", "date": "2026-11-23"})
        ).json()
        capacity = (await client.get("/api/v1/dashboard/capacity")).json()
    assert day["prices_source"] == capacity["prices_source"] == "dashboard"
    assert "import_by_band_kwh" not in day["totals"] and capacity["capacity_eur_per_kw_year"] == 53.2
    assert Prices().source == "none"


def test_a_tariff_without_a_capacity_term_keeps_the_flat_one() -> None:
    wallonia = tariff_price("wallonia", None, "single", None)
    assert capacity_eur_per_kw_year(wallonia.tariff) is None
    from gateway.http.dashboard import tariff_prices

    prices = tariff_prices(PRICES, wallonia)
    assert prices.capacity_per_kw_year == Decimal("53.20") and not prices.capacity_from_tariff
    assert prices.source == f"tariff:{wallonia.tariff.id}:single"
