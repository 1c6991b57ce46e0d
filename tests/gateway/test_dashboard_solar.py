"""The history card of a prosumer in headless Chromium: without a production source it says so in one
translated sentence (no zeros); once a [solar] source has fed the store, its production, self-consumption
and self-sufficiency totals equal the history API's, which come from the store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.http import create_app
from gateway.store.solar import add_production
from metering.solar import ProductionQuarter
from tests.gateway.test_dashboard import ARGS, CHROMIUM, live_view
from tests.gateway.test_http_view import TZ, serve

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")
NONE_NL = "Er is geen bron voor zonneproductie ingesteld"


async def test_history_card_with_and_without_a_production_source(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    view = live_view(tmp_path / "gw.db")
    today = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    records = view.store.quarter_hours(today, today + timedelta(days=1))
    assert records, "the test view stored no quarter-hour"
    async with serve(create_app(view)) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await (await browser.new_context(locale="nl-BE")).new_page()
            await page.goto(base + "/")
            await expect(page.locator("#history-chart .uplot")).to_have_count(1, timeout=60_000)
            await expect(page.locator("#hist-solar-none")).to_be_visible(timeout=60_000)
            await expect(page.locator("#hist-solar-none")).to_contain_text(NONE_NL)
            await expect(page.locator("#tot-self-consumption")).to_be_hidden()

            quarters = []
            for r in records:
                start = int(datetime.fromisoformat(r["start"]).timestamp())
                made = round(r["export_kwh"] * 1000) + 120  # 120 Wh used at home per quarter-hour
                quarters.append(ProductionQuarter(start, start + 900, made, False, True, False, 9))
            add_production(view.store, quarters, {}, "sim")
            await page.reload()
            shown = page.locator("#tot-self-consumption")
            await expect(shown).to_be_visible(timeout=60_000)
            await expect(shown).not_to_have_attribute("data-value", "", timeout=60_000)
            await expect(page.locator("#hist-solar-none")).to_be_hidden()
            api = await (await page.request.get(base + "/api/v1/dashboard/history?view=day")).json()
            totals = api["totals"]
            assert totals["self_consumption_kwh"] == pytest.approx(0.12 * len(records))
            assert float(await shown.get_attribute("data-value") or "nan") == totals["self_consumption_kwh"]
            production = await page.locator("#tot-production").get_attribute("data-value")
            assert float(production or "nan") == totals["production_kwh"]
            ratio = await page.locator("#tot-self-sufficiency").get_attribute("data-value")
            assert float(ratio or "nan") == totals["self_sufficiency"]
            await expect(page.locator("#tot-self-sufficiency")).to_contain_text("%")
        finally:
            await browser.close()
    view.store.close()
