"""The dashboard in headless Chromium (Playwright) against a real uvicorn server and a live telegram feed.

Strategy: the real pipeline (`gateway.pipeline.Gateway`) reads the in-process simulator (`sim:be-3ph` with
prepayment, 10 s telegrams at 300x: five meter minutes per second) into a SQLite store, the app is served
by uvicorn on a free port, and Chromium loads `/`. A second, short test runs the same page over the test
`LiveView`. We check what a
person would: live values that change, the four registers under their Belgian names and numbers, the
capacity card, the history's day view, gas, the prepayment panel (balance in EUR, then in kWh), the 30-day
chart for a chosen date, no script errors and no request leaving the gateway. Screenshots go to
artifacts/ (git-ignored). Skipped, with the reason, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.http import create_app
from gateway.pipeline import Gateway
from gateway.sources import make_source
from gateway.store import open_store
from tests.gateway.test_http_view import TZ, LiveView, TinyMeter, serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (scripts/bootstrap installs Debian's chromium)",
)


def live_view(db: Path) -> LiveView:
    now = datetime.now(TZ).replace(microsecond=0)
    start = max(now - timedelta(hours=3), now.replace(hour=0, minute=0, second=0))
    view = LiveView(TinyMeter(start), open_store(db))
    assert view.meter is not None
    view.feed(view.meter.telegram())
    while view.meter.now < now - timedelta(seconds=20):
        view.feed(view.meter.step(20))
    return view


async def test_dashboard_over_the_real_pipeline_and_simulator(tmp_path: Path) -> None:
    # from today's midnight: night hours, whose consumption no simulated sun hides, whenever this runs
    start = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    source = make_source(f"sim:be-3ph?seed=3&speed=300&every=10&prepayment=20&start={start.isoformat()}")
    gateway = Gateway(source, store=open_store(tmp_path / "gw.db"), ean="541449000000000001")
    async with gateway:
        await check_dashboard(gateway, "dashboard", min_quarter_hours=1)
    # how many telegrams arrive depends on the machine's speed; that they were all clean does not
    assert gateway.telegrams >= 2
    assert not gateway.framing_errors and not gateway.rejected
    assert gateway.quarter_hours_closed >= 1


async def test_dashboard_over_the_test_view(tmp_path: Path) -> None:
    view = live_view(tmp_path / "gw.db")
    feeder = asyncio.create_task(view.run(every_s=0.25, step_s=1))
    try:
        await check_dashboard(view, "dashboard-testview", min_quarter_hours=4)
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder


async def check_dashboard(view: Any, name: str, *, min_quarter_hours: int) -> None:
    from playwright.async_api import async_playwright, expect

    async with serve(create_app(view)) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1500}, locale="en-GB")
            errors: list[str] = []
            foreign: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("request", lambda req: None if req.url.startswith(base) else foreign.append(req.url))
            await page.goto(base + "/")

            await expect(page.locator("#link-state")).to_have_text("live", timeout=60_000)
            power = page.locator("#power-import")
            await expect(power).not_to_have_attribute("data-value", "", timeout=60_000)
            await expect(page.locator("#power-export")).not_to_have_attribute(
                "data-value", "", timeout=60_000
            )
            first = await net_power(page)
            first_reg = await page.locator("#reg-1-8-1").get_attribute("data-value")
            # live values change while telegrams stream: net power (import - export), since around noon
            # the simulated sun can hold import at 0 for minutes
            await until(lambda: net_power(page), lambda v: v != first, "net power (kW)")
            second_reg = await page.locator("#reg-1-8-1").get_attribute("data-value")
            assert first_reg is not None and second_reg is not None
            assert float(second_reg) >= float(first_reg)
            latest = view.latest()
            assert latest is not None
            shown = float(await power.get_attribute("data-value") or "nan")
            assert abs(shown - float(latest["values"]["1-0:1.7.0"]["value"])) < 5.0  # same scale as the meter

            # registers: Belgian names and register numbers, active tariff
            rows = page.locator(".registers tbody tr")
            assert await rows.count() == 4
            row_text = await page.locator(".registers tbody").inner_text()
            for label in ("Import day", "Import night", "Export day", "Export night"):
                assert label in row_text
            for number in ("1.8.1", "1.8.2", "2.8.1", "2.8.2"):
                assert number in row_text
            await expect(page.locator("#tariff")).to_contain_text("tariff")

            # capacity, today's quarter-hours, gas
            peaks = view.peaks()
            month_peak = float(await page.locator("#month-peak").get_attribute("data-value") or "nan")
            assert month_peak == pytest.approx(peaks["month"]["peak_kw"], abs=0.5)
            await expect(page.locator("#history-chart")).not_to_have_attribute("data-buckets", "0")
            bars = int(await page.locator("#history-chart").get_attribute("data-buckets") or 0)
            assert bars >= min_quarter_hours
            gas_code = next(c for c in latest["values"] if c[3:] in (":24.2.3", ":24.2.1"))
            gas = float(await page.locator("#gas-volume").get_attribute("data-value") or "nan")
            assert gas == pytest.approx(float(latest["values"][gas_code]["value"]), abs=1.0)

            # prepayment: balance in EUR, then in kWh, the 30 days up to a chosen date
            balance = page.locator("#prepay-balance")
            await expect(balance).to_contain_text("€")
            state = view.prepayment()
            assert state is not None
            assert float(await balance.get_attribute("data-value") or "nan") == pytest.approx(
                state["balance_eur"], abs=1.0
            )
            await expect(page.locator("#prepay-card .advice").first).to_contain_text(
                re.compile(r"Supply connected\.|top up soon\.")
            )
            if "gas" in state.get("accounts", {}):
                await expect(page.locator("#prepay-gas-balance")).to_contain_text("€")
            await expect(page.locator("#prepay-card")).to_contain_text("Debt")
            await expect(page.locator("#prepay-card")).to_contain_text("Payment plan")
            await page.locator("#prepay-card").get_by_label("kWh").check()
            await expect(balance).to_contain_text("kWh")
            await page.locator("#prepay-card").get_by_label("EUR").check()
            today = datetime.now(TZ).date()
            await expect(page.locator("#days-chart")).to_have_attribute("data-slots", "30")
            first_day = today - timedelta(days=29)
            await expect(page.locator("#days-total")).to_contain_text(
                f"{first_day.day} {first_day:%B %Y} – {today.day} {today:%B %Y}"
            )
            await expect(page.locator("#days-chart")).not_to_have_attribute("data-bars", "0", timeout=60_000)
            await page.get_by_label("Consumption of the 30 days up to").fill(
                (datetime.now(TZ) - timedelta(days=40)).date().isoformat()
            )
            await expect(page.locator("#days-chart")).to_have_attribute("data-bars", "0")

            ARTIFACTS.mkdir(exist_ok=True)
            await page.get_by_label("Consumption of the 30 days up to").fill(
                datetime.now(TZ).date().isoformat()
            )
            await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert errors == []
            assert foreign == []
        finally:
            await browser.close()


async def until_value(
    page: Any, element_id: str, wanted: Any, timeout_s: float = 60.0, attribute: str = "data-value"
) -> float:
    """Poll an element's data-value until `wanted(value)` (the page's CSP forbids wait_for_function)."""

    async def read() -> float:
        text = await page.locator(f"#{element_id}").get_attribute(attribute)
        return float(text) if text else math.nan

    return await until(read, wanted, f"#{element_id}", timeout_s)


async def until(read: Any, wanted: Any, what: str, timeout_s: float = 60.0) -> float:
    """Poll `read()` until `wanted(value)`; fail naming `what` and its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = float(await read())
        if wanted(value):
            return value
        assert time.monotonic() < deadline, f"{what} stayed at {value} for {timeout_s} s"
        await asyncio.sleep(0.2)


async def net_power(page: Any) -> float:
    """The page's net power, import - export (kW)."""
    values = [
        await page.locator(f"#power-{side}").get_attribute("data-value") for side in ("import", "export")
    ]
    return float(values[0] or "nan") - float(values[1] or "nan")
