"""advice.html and a member's statement page as a person sees them: headless Chromium (Playwright).

Each page must load offline with no script errors and no other request, show what the JSON / CSV say (the
comparison table in rank order with the same totals, the member's months), and keep its charts inside the
page width.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page

from gateway.cli import main
from tests.tariffs.test_cli import spring, write_community, write_gateway_csv

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (scripts/bootstrap installs Debian's chromium)",
)


async def open_page(path: Path, check: Callable[[Page], Awaitable[None]]) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 1200})
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("request", lambda req: requests.append(req.url))
            await page.goto(path.as_uri())
            assert errors == []
            assert requests == [path.as_uri()]
            await check(page)
        finally:
            await browser.close()


async def test_advice_page_shows_the_ranked_table_and_charts(tmp_path: Path) -> None:
    write_gateway_csv(tmp_path / "qh.csv", spring("prosumer"))
    out = tmp_path / "out"
    assert main(["advise", "--data", str(tmp_path / "qh.csv"), "--region", "wallonia", "--pv-before-2024",
                 "--community-share", "20", "--out", str(out)]) == 0  # fmt: skip
    doc = json.loads((out / "advice.json").read_text(encoding="utf-8"))

    async def check(page: Page) -> None:
        rows = page.locator("table").first.locator("tr")
        assert await rows.count() == len(doc["options"]) + 1
        for i, option in enumerate(doc["options"]):
            cells = await rows.nth(i + 1).locator("td").all_inner_texts()
            assert cells[1] == option["label"] and cells[4] == option["total_eur"]
        reasons = await page.locator("li").all_inner_texts()
        assert reasons == [r["text"] for r in doc["reasons"]]
        width = await page.evaluate("document.body.getBoundingClientRect().width")
        charts = page.locator("svg")
        assert await charts.count() == 1 + len(doc["shifting"])
        for i in range(await charts.count()):
            box = await charts.nth(i).bounding_box()
            assert box is not None and 100 < box["width"] <= width + 1 and box["height"] > 50

    await open_page(out / "advice.html", check)


async def test_member_statement_page_shows_each_month_and_what_to_pay(tmp_path: Path) -> None:
    write_community(tmp_path)
    out = tmp_path / "out"
    files = ["--members", str(tmp_path / "members.csv"), "--data", str(tmp_path / "data.csv")]
    prices = ["--shared-price", "0.12", "--producer-price", "0.08"]
    assert main(["statement", *files, *prices, "--title", "Les Coteaux", "--out", str(out)]) == 0
    rows = [r for r in csv.DictReader((out / "statement.csv").open(encoding="utf-8"))
            if r["ean"] == "541449000000000002"]  # fmt: skip

    async def check(page: Page) -> None:
        assert await page.locator("h1").inner_text() == "Les Coteaux"
        titles = await page.locator("h2").all_inner_texts()
        assert titles == [f"Energy community statement — Bert — {r['month']}" for r in rows]
        totals = await page.locator("tr.total td:last-child").all_inner_texts()
        assert totals == [f"{r['balance_eur']} €" for r in rows]

    await open_page(out / "members" / "541449000000000002.html", check)
