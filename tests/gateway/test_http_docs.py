"""`/docs` renders in headless Chromium with every request outside the gateway blocked (no CDN).

Strategy: the production HTTP server serves the real app; Chromium (Playwright, /usr/bin/chromium) loads
`/docs` with a route that aborts anything not addressed to the gateway, and we wait for Swagger UI to list
every operation of `/openapi.json`. (`/redoc` is not served: ReDoc's bundle fetches its logo from a CDN.)
Skipped, with the reason, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.http import create_app
from tests.gateway.test_http_limits import production_server
from tests.gateway.test_http_view import START, fed_view

from .test_dashboard import ARGS, ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (scripts/bootstrap installs Debian's chromium)",
)


async def test_docs_render_every_operation_offline(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    view = fed_view(tmp_path / "gw.db", START, 60)
    async with production_server(create_app(view)) as (base, _), async_playwright() as pw:
        async with httpx.AsyncClient() as client:
            schema = (await client.get(base + "/openapi.json")).json()
        operations = sum(len(methods) for methods in schema["paths"].values())
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page()
            blocked: list[str] = []
            errors: list[str] = []

            async def only_the_gateway(route: Any) -> None:
                if route.request.url.startswith(base):
                    await route.continue_()
                else:
                    blocked.append(route.request.url)
                    await route.abort()

            await page.route("**/*", only_the_gateway)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(base + "/docs")
            rows = page.locator(".opblock-summary")
            await expect(rows).to_have_count(operations, timeout=60_000)
            await expect(
                page.locator(".opblock-summary-path", has_text="/api/v1/quarter-hours")
            ).to_be_visible()
            await expect(page.get_by_role("heading", name="p1-gateway")).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)
            redoc = await page.goto(base + "/redoc")
            assert redoc is not None and redoc.status == 404
        finally:
            await browser.close()
    assert blocked == [] and errors == []
