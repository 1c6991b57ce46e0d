"""The dashboard's tariff advice card and `GET /api/v1/advice` in French and Dutch.

Strategy: two months of a prosumer household go into a real SQLite store (tests/tariffs/test_http_advice.py);
uvicorn serves the real app; headless Chromium opens `/` as a `fr-BE` and an `nl-BE` browser. The card must
name the same cheapest option and total as `/api/v1/advice?lang=..`, show the API's first reasons, link to
the page in that language and hold no English msgid. An empty store gives "no data yet" in the language
(the card asks with `no_data=204`, so a fresh gateway logs no failed request).
Without a browser: the API's reasons and page follow `lang`, the configured language and Accept-Language,
and with the `[tariff]` section's `TariffPrice` the document names the configured option.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analysis.pricing import TariffPrice
from gateway import i18n
from gateway.http import create_app
from gateway.http.advice import advice_router
from gateway.i18n.extract import messages
from gateway.store import open_store
from tariffs.bands import ZONE
from tariffs.load import load_tariff
from tests.gateway.test_dashboard import ARGS, CHROMIUM
from tests.gateway.test_http_view import LiveView, serve
from tests.tariffs.test_http_advice import stored

NOW = datetime(2026, 6, 3, 12, tzinfo=ZONE)
PARAMS = {"region": "wallonia", "dso": "ores", "pv_before_2024": "true", "inverter_kva": "5"}


def card_msgids() -> set[str]:
    """The English texts the card itself writes (advice.js and the card's part of index.html)."""
    ids = {m for m, name, _ in messages() if isinstance(m, str) and name == "advice.js"}
    return ids | {
        "Tariff advice",
        "Cheapest option over your last 12 months",
        "The full advice, with every option",
    }


def test_the_api_speaks_the_chosen_language(tmp_path: Path) -> None:
    stored(tmp_path / "gw.db")
    client = TestClient(create_app(LiveView(None, open_store(tmp_path / "gw.db")), clock=lambda: NOW))
    english = client.get("/api/v1/advice", params=PARAMS).json()
    for lang in ("fr", "nl"):
        doc = client.get("/api/v1/advice", params={**PARAMS, "lang": lang}).json()
        # the same figures, ids and parameters; the sentences and labels in the language
        assert [r["id"] for r in doc["reasons"]] == [r["id"] for r in english["reasons"]]
        assert [r["params"] for r in doc["reasons"]] == [r["params"] for r in english["reasons"]]
        assert doc["cheapest"]["total_eur"] == english["cheapest"]["total_eur"]
        assert doc["cheapest"]["label"] != english["cheapest"]["label"]
        table = i18n.catalog_json(lang)["messages"]
        for reason in doc["reasons"]:
            assert reason["text"] not in {r["text"] for r in english["reasons"]}
        page = client.get("/api/v1/advice", params={**PARAMS, "lang": lang, "format": "html"}).text
        assert f"<html lang={lang}>" in page
        assert (
            html.escape(table["Your options, cheapest first"]) in page
            and "Your options, cheapest first" not in page
        )
    # no `lang`: the browser's language
    by_header = client.get("/api/v1/advice", params=PARAMS, headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    assert (
        by_header.json()["reasons"]
        == client.get("/api/v1/advice", params={**PARAMS, "lang": "nl"}).json()["reasons"]
    )
    assert client.get("/api/v1/advice", params={**PARAMS, "lang": "de"}).status_code == 422


def test_the_configured_tariff_and_language_are_the_defaults(tmp_path: Path) -> None:
    stored(tmp_path / "gw.db")
    view = LiveView(None, open_store(tmp_path / "gw.db"))
    configured = TariffPrice.of(load_tariff("flanders", "fluvius-imewo"), "dual")
    app = FastAPI()
    app.include_router(advice_router(view, lambda: NOW, language="fr", configured=configured))
    client = TestClient(app)
    doc = client.get("/api/v1/advice", headers={"Accept-Language": "nl-BE"}).json()
    assert doc["region"] == "flanders" and doc["dso"] == "fluvius-imewo"
    assert doc["configured_option"] == "dual"
    assert doc["reasons"][0]["text"].startswith("L'option la moins chère")  # the config's language
    # a query parameter still wins over the configured tariff
    assert client.get("/api/v1/advice", params={"region": "wallonia"}).json()["region"] == "wallonia"


def test_no_full_day_yet_can_be_204_for_the_dashboard(tmp_path: Path) -> None:
    empty = TestClient(create_app(LiveView(None, open_store(tmp_path / "e.db")), clock=lambda: NOW))
    assert empty.get("/api/v1/advice").status_code == 404
    assert empty.get("/api/v1/advice", params={"no_data": "204"}).status_code == 204
    view = LiveView(None, open_store(tmp_path / "short.db"))
    view.store.add_quarter_hours(
        {"meter_id": "1SAG1", "start": f"2026-06-03T{h:02d}:{m:02d}:00+02:00",
         "end": f"2026-06-03T{h + (m + 15) // 60:02d}:{(m + 15) % 60:02d}:00+02:00",
         "import_day": "0.1", "import_night": "0", "export_day": "0", "export_night": "0"}
        for h in range(8, 11) for m in (0, 15, 30, 45)
    )  # fmt: skip
    short = TestClient(create_app(view, clock=lambda: NOW))
    assert short.get("/api/v1/advice").status_code == 422  # three hours: no day to complete the year from
    assert short.get("/api/v1/advice", params={"no_data": "204"}).status_code == 204


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")
async def test_the_advice_card_shows_what_the_api_says(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    stored(tmp_path / "gw.db")
    view = LiveView(None, open_store(tmp_path / "gw.db"))
    empty = LiveView(None, open_store(tmp_path / "empty.db"))
    own = card_msgids()
    async with (
        serve(create_app(view, clock=lambda: NOW)) as base,
        serve(create_app(empty, clock=lambda: NOW)) as empty_base,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for lang in ("fr", "nl"):
                table = i18n.catalog_json(lang)["messages"]
                context = await browser.new_context(
                    locale=f"{lang}-BE", viewport={"width": 390, "height": 844}
                )
                page = await context.new_page()
                await page.goto(base + "/")
                card = page.locator("#advice-card")
                await expect(card).to_have_attribute("data-state", "ok", timeout=60_000)
                doc = await (await page.request.get(base + f"/api/v1/advice?lang={lang}")).json()
                best = doc["cheapest"]
                assert await card.get_attribute("data-option") == best["option"]
                assert await card.get_attribute("data-regime") == best["regime"]
                assert await card.get_attribute("data-total") == best["total_eur"]
                assert await page.locator("#advice-option").inner_text() == best["label"]
                total = await page.locator("#advice-total").inner_text()
                assert re.sub(r"\D", "", total) == re.sub(r"\D", "", best["total_eur"])
                next_text = await page.locator("#advice-next").inner_text()
                assert doc["options"][1]["label"] in next_text
                reasons = await page.locator("#advice-reasons li").all_inner_texts()
                told = {"cheapest", "only_option"}  # the card's headline already says it
                assert reasons == [r["text"] for r in doc["reasons"] if r["id"] not in told][:3]
                href = await page.locator("#advice-link").get_attribute("href")
                assert href == f"api/v1/advice?format=html&lang={lang}"
                text = await card.inner_text()
                raw = sorted(m for m in own if table.get(m, m) != m and m in text)
                assert raw == [], f"{lang}: English texts in the card"
                assert (
                    table["Tariff advice"] in text
                    and table["Cheapest option over your last 12 months"] in text
                )
                assert "{" not in text

                await page.goto(empty_base + "/")
                await expect(card).to_have_attribute("data-state", "empty", timeout=60_000)
                note = table["No data yet: the advice needs at least one full day of quarter-hours."]
                await expect(page.locator("#advice-note")).to_have_text(note)
                await context.close()
        finally:
            await browser.close()
