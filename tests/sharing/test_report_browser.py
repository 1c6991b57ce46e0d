"""The members' HTML report as a person sees it: opened from disk in headless Chromium (Playwright).

`p1gw share` writes the report for a synthetic community over two months; the page must load offline with
no script errors and no requests, show both months, draw its charts with visible size inside the page
width, and print the same KPIs as kpis.json. A screenshot goes to artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from sharing import synthetic
from sharing.clock import Grid, parse_start

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (scripts/bootstrap installs Debian's chromium)",
)


async def test_report_renders_offline_with_charts_and_the_kpis(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    comm = synthetic.community(6)
    grid = Grid(parse_start("2026-01-31T00:00:00+01:00"), 96 * 3)  # spans two months
    synthetic.write_members_csv(tmp_path / "members.csv", comm)
    synthetic.write_data_csv(tmp_path / "data.csv", comm, synthetic.generate(comm, grid, seed=3))
    out = tmp_path / "out"
    assert main(["share", "--members", str(tmp_path / "members.csv"), "--data", str(tmp_path / "data.csv"),
                 "--key", "fluvius-optimal", "--out", str(out), "--peaks", "50"]) == 0  # fmt: skip
    kpis = json.loads((out / "kpis.json").read_text())
    report = out / "report.html"

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 1200})
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("request", lambda req: requests.append(req.url))
            await page.goto(report.as_uri())
            assert errors == []
            assert requests == [report.as_uri()]  # self-contained: nothing else is fetched

            months = await page.locator("section h2").all_inner_texts()
            assert months == ["2026-01", "2026-02"]
            charts = page.locator("svg")
            assert await charts.count() >= 4  # key and peak charts for the period and each month
            body_width = await page.evaluate("document.body.getBoundingClientRect().width")
            for i in range(await charts.count()):
                box = await charts.nth(i).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 50
                assert box["width"] <= body_width + 1  # charts shrink to the page, never overflow
                assert await charts.nth(i).locator("rect, polyline, path, line").count() > 0
                # every label is drawn inside its chart (none clipped at the edge)
                clipped = await charts.nth(i).evaluate(
                    """svg => { const box = svg.getBoundingClientRect();
                        return [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect())
                            .filter(r => r.right > box.right + 0.5 || r.left < box.left - 0.5).length; }"""
                )
                assert clipped == 0, f"chart {i}: {clipped} labels cut off"
            # the whole-period KPIs on the page are the ones in kpis.json
            first = await page.locator(".kpi").first.inner_text()
            shown = first.split("\n")[-1].replace("%", "").strip()
            expected = kpis["total"]["self_consumption_pct"]
            assert shown == f"{expected:.1f}" or float(shown) == pytest.approx(expected, abs=0.05)
            member_rows = page.locator("table").first.locator("tr")
            assert await member_rows.count() == len(comm.members) + 1
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "sharing-report.png"), full_page=True)
        finally:
            await browser.close()
