"""The dashboard in French, Dutch and English, on a desktop and a 390x844 phone, over a year of a prosumer.

Strategy: a year of quarter-hours of a prosumer (solar export at midday, more in summer, a weekly evening
peak) goes straight into a real SQLite store through the store API, under the meter id of the test
`LiveView` (tests/gateway/test_http_view.py), which then reads a few hours of today's telegrams and is
frozen (no feed: the numbers stay put while we compare). uvicorn serves the real app with prices set;
headless Chromium loads `/` with `nl-BE`, `fr-BE` and `en-BE` browsers. In each: the page's language, every
card shows a value, nothing overflows, no raw keys or untranslated texts, the capacity card's figures equal
`/api/v1/current-quarter-hour` and `/api/v1/peaks`, and the month and year views' totals equal the store's
sums. The month view's time to render (click to chart) is printed; the bound asserted is generous.
Screenshots go to artifacts/ (docs/img/ is made from them by scripts/dashboard-pictures).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gateway import i18n
from gateway.http import create_app
from gateway.i18n.extract import messages
from gateway.store import Store
from metering.prices import Prices
from tests.gateway.test_dashboard import ARGS, ARTIFACTS, CHROMIUM, live_view, net_power, until, until_value
from tests.gateway.test_http_view import TZ, serve

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Error, Position, ViewportSize

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")
PRICES = Prices(Decimal("0.32"), Decimal("0.25"), Decimal("0.04"), Decimal("53.20"))
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
CARD_VALUES = (
    "power-import", "reg-1-8-1", "qh-projection", "month-peak", "floor", "capacity-average",
    "tot-import-day", "gas-volume", "prepay-balance",
)  # fmt: skip


def collect_page_errors(errors: list[str]) -> Callable[[Error], None]:
    """A `pageerror` listener: every uncaught script error, as text."""

    def on_error(exc: Error) -> None:
        errors.append(str(exc))

    return on_error


def collect_console_errors(errors: list[str]) -> Callable[[ConsoleMessage], None]:
    """A `console` listener: the console's error messages."""

    def on_message(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    return on_message


def prosumer_year(store: Store, meter_id: str, end: datetime) -> int:
    """365 days of quarter-hours before `end` (local midnight): household load, solar, a weekly peak."""
    records: list[dict[str, Any]] = []
    ts = int((end - timedelta(days=365)).timestamp())
    stop = int(end.timestamp())
    while ts < stop:
        local = datetime.fromtimestamp(ts, UTC).astimezone(TZ)
        hour = local.hour + local.minute / 60
        season = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (local.timetuple().tm_yday - 60) / 240))
        solar = 4.2 * season * max(0.0, math.sin(math.pi * (hour - 6) / 14))
        load = 0.35 + (1.6 if 17.5 <= hour < 21 else 0.0) + 0.2 * math.sin(ts / 5000)
        if local.weekday() == 2 and local.hour == 19 and local.minute == 0:
            load += 3.0 + (local.month % 4) * 0.6  # the oven and the car together, once a week
        net_kwh = Decimal(str(round((load - solar) / 4, 3)))
        day = local.weekday() < 5 and 7 <= local.hour < 22
        imp, exp = max(net_kwh, Decimal(0)), max(-net_kwh, Decimal(0))
        records.append(
            {
                "meter_id": meter_id,
                "start": local.isoformat(),
                "end": datetime.fromtimestamp(ts + 900, UTC).astimezone(TZ).isoformat(),
                "import_day": imp if day else 0,
                "import_night": 0 if day else imp,
                "export_day": exp if day else 0,
                "export_night": 0 if day else exp,
                "complete": True,
                "estimated": False,
                "telegrams": 90,
            }
        )
        ts += 900
    return store.add_quarter_hours(records)


def store_sums(store: Store, meter_id: str, first: date, end: date) -> dict[str, Decimal]:
    rows = store.daily_totals(first, end, meter_id)
    return {
        key: sum((Decimal(str(r[key])) for r in rows), Decimal(0))
        for key in ("import_day", "import_night", "export_kwh")
    }


def english_only() -> dict[str, list[str]]:
    """Per language, the English msgids whose translation differs (those must not appear in its page)."""
    out: dict[str, list[str]] = {}
    for lang in ("fr", "nl"):
        table = i18n.catalog_json(lang)["messages"]
        out[lang] = sorted(
            {
                key
                for key in (m if isinstance(m, str) else m[0] for m, _, _ in messages())
                if len(key) >= 14 and " " in key and "{" not in key and table.get(key) not in (None, key)
            }
        )
    return out


PAGE_CHECKS = """() => {
  const over = [];
  for (const el of document.querySelectorAll('.card, .card h2, .card dt, .card dd, .card p, .card button,'
      + ' .card label, .card td, .card th, .top, .top *')) {
    if (el.closest('.uplot') || !el.clientWidth) continue;
    if (el.scrollWidth > el.clientWidth + 1) over.push((el.id || el.className || el.tagName) + ': '
      + el.textContent.trim().slice(0, 40));
  }
  const untranslated = [];
  for (const el of document.querySelectorAll('[data-msgid]')) {
    if (el.textContent.trim() === el.dataset.msgid) untranslated.push(el.dataset.msgid);
  }
  return { over, untranslated, page: document.documentElement.scrollWidth <= window.innerWidth + 1,
           lang: document.documentElement.lang, text: document.body.innerText };
}"""


async def test_dashboard_in_three_languages_over_a_prosumer_year(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    view = live_view(tmp_path / "gw.db")
    latest = view.latest()
    assert latest is not None
    meter_id = latest["meter_id"]
    today = datetime.now(TZ).date()
    started = time.perf_counter()
    added = prosumer_year(view.store, meter_id, datetime.combine(today, datetime.min.time(), tzinfo=TZ))
    print(f"\n{added} quarter-hours of a prosumer year stored in {time.perf_counter() - started:.1f} s")
    assert added >= 365 * 96 - 8
    stamp = datetime.now(TZ).replace(microsecond=0)
    view.store.add_event(
        {"type": "prepayment_top_up_accepted", "kind": "top_up_accepted", "at": stamp.isoformat(),
         "message": "top-up of 20.00 EUR accepted", "balance_eur": 39.45},
        meter_id=meter_id,
    )  # fmt: skip
    event_text = {"nl": "Oplading aanvaard: saldo € 39,45.", "fr": "Rechargement accepté : solde 39,45 €.",
                  "en": "Top-up accepted: balance €39.45."}  # fmt: skip
    translated_only = english_only()
    month_first = today.replace(day=1) if today.day > 1 else (today - timedelta(days=1)).replace(day=1)
    ARTIFACTS.mkdir(exist_ok=True)

    async with serve(create_app(view, token="demo", prices=PRICES)) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for lang in ("nl", "fr", "en"):
                for device, size in VIEWPORTS.items():
                    context = await browser.new_context(
                        locale=f"{lang}-BE", viewport=size, timezone_id="America/New_York",
                        has_touch=device == "phone", is_mobile=device == "phone",
                    )  # fmt: skip
                    page = await context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", collect_page_errors(errors))
                    page.on("console", collect_console_errors(errors))
                    await page.goto(base + "/")
                    await expect(page.locator("html")).to_have_attribute("lang", lang, timeout=60_000)
                    await expect(page.locator("#capacity-note")).not_to_have_text("", timeout=60_000)
                    await expect(page.locator("#history-chart .uplot")).to_have_count(1, timeout=60_000)
                    for value_id in CARD_VALUES:
                        await expect(page.locator(f"#{value_id}")).not_to_have_attribute(
                            "data-value", "", timeout=60_000
                        )

                    # times in the meter's zone (the browser is in New York)
                    await expect(page.locator("#last-telegram")).to_contain_text(latest["timestamp"][11:16])

                    # events in words, not raw types
                    shown_event = (await page.locator("#events li").first.inner_text()).replace("\u202f", " ")
                    assert shown_event.replace("\xa0", " ").endswith(event_text[lang].replace("\xa0", " "))

                    # the capacity card tells what the API says
                    current = await (await page.request.get(base + "/api/v1/current-quarter-hour")).json()
                    peaks = await (await page.request.get(base + "/api/v1/peaks")).json()
                    shown = page.locator("#qh-projection")
                    assert float(await shown.get_attribute("data-value") or "nan") == current["projected_kw"]
                    month_peak = float(await page.locator("#month-peak").get_attribute("data-value") or "nan")
                    assert month_peak == peaks["month"]["peak_kw"]
                    assert float(await page.locator("#floor").get_attribute("data-value") or "0") == 2.5
                    mean = float(await page.locator("#capacity-average").get_attribute("data-value") or "0")
                    assert mean == peaks["capacity_tariff"]["average_kw"]

                    await page.screenshot(
                        path=str(ARTIFACTS / f"dashboard-{lang}-{device}.png"), full_page=True
                    )
                    await page.evaluate("window.scrollTo(0, 0)")
                    await page.screenshot(path=str(ARTIFACTS / f"dashboard-{lang}-{device}-top.png"))
                    for card in ("capacity", "prepay"):
                        await page.locator(f"#{card}-card").screenshot(
                            path=str(
                                ARTIFACTS
                                / f"dashboard-{lang}-{device}-{card}.png".replace("prepay.", "prepayment.")
                            )
                        )

                    # the month view: totals equal the store's sums; how long it takes
                    clicked = time.perf_counter()
                    await page.locator('#history-card [data-view="month"]').click()
                    await expect(page.locator("#history-chart")).to_have_attribute(
                        "data-view", "month", timeout=60_000
                    )
                    await expect(page.locator("#history-chart .uplot")).to_have_count(1, timeout=60_000)
                    month_s = time.perf_counter() - clicked
                    print(f"{lang} {device}: month view of a prosumer year rendered in {month_s:.3f} s")
                    assert month_s < 5  # generous on a loaded 2-core machine; the figure is printed
                    month_end = date(
                        month_first.year + month_first.month // 12, month_first.month % 12 + 1, 1
                    )
                    if today.day == 1:
                        await page.locator("#hist-prev").click()
                    await expect(page.locator("#hist-title")).not_to_have_text("—")
                    sums = store_sums(view.store, meter_id, month_first, month_end)
                    got = float(await page.locator("#tot-import-night").get_attribute("data-value") or "nan")
                    if today.day == 1:
                        await expect(page.locator("#tot-import-night")).to_have_attribute(
                            "data-value", str(float(sums["import_night"])), timeout=60_000
                        )
                    else:
                        assert got == float(sums["import_night"])
                        got_day = await page.locator("#tot-import-day").get_attribute("data-value")
                        assert float(got_day or "nan") == float(sums["import_day"])
                        got_exp = await page.locator("#tot-export").get_attribute("data-value")
                        assert float(got_exp or "nan") == float(sums["export_kwh"])
                    # tap (phone) or point (desktop) at a day: the legend reads its values
                    over = page.locator("#history-chart .u-over")
                    box = await over.bounding_box()
                    assert box is not None
                    spot: Position = {
                        "x": box["width"] / 62 + 1,
                        "y": box["height"] * 0.5,
                    }  # the first day (has data)
                    await (over.tap(position=spot) if device == "phone" else over.hover(position=spot))
                    legend = page.locator("#history-chart .u-legend .u-series").nth(1).locator(".u-value")
                    await expect(legend).to_contain_text("kWh", timeout=60_000)
                    await page.locator("#history-card").screenshot(
                        path=str(ARTIFACTS / f"dashboard-{lang}-{device}-month.png")
                    )

                    # the year view
                    await page.locator('#history-card [data-view="year"]').click()
                    await expect(page.locator("#history-chart")).to_have_attribute(
                        "data-view", "year", timeout=60_000
                    )
                    year_sums = store_sums(
                        view.store, meter_id, date(today.year, 1, 1), today + timedelta(days=1)
                    )
                    await expect(page.locator("#tot-export")).to_have_attribute(
                        "data-value", str(float(year_sums["export_kwh"])), timeout=60_000
                    )
                    await expect(page.locator("#history-chart")).not_to_have_attribute("data-buckets", "0")
                    await page.locator("#history-card").screenshot(
                        path=str(ARTIFACTS / f"dashboard-{lang}-{device}-year.png")
                    )
                    await page.locator('#history-card [data-view="day"]').click()
                    await expect(page.locator("#history-chart")).to_have_attribute("data-view", "day")

                    # language, overflow, raw keys, untranslated texts
                    checks = await page.evaluate(PAGE_CHECKS)
                    assert checks["lang"] == lang
                    assert checks["page"], f"{lang} {device}: the page scrolls sideways"
                    assert checks["over"] == [], f"{lang} {device}: text overflows"
                    text = checks["text"]
                    assert not __import__("re").findall(r"\b[a-z]+_[a-z_]+\b|\{\w+\}", text), text
                    if lang != "en":
                        same = {
                            k for k, v in i18n.catalog_json(lang)["messages"].items() if v == k
                        }  # "Gas", "Week": the same word in Dutch
                        assert [m for m in checks["untranslated"] if m not in same] == []
                        assert [m for m in translated_only[lang] if m in text] == []
                    assert errors == []
                    await context.close()

            # the page's choice wins over the browser's, and stays
            context = await browser.new_context(locale="nl-BE", viewport=VIEWPORTS["desktop"])
            page = await context.new_page()
            await page.goto(base + "/")
            await expect(page.locator("html")).to_have_attribute("lang", "nl", timeout=60_000)
            await page.locator("#lang").select_option("fr")
            await expect(page.locator("#h-history")).to_have_text("Historique", timeout=60_000)
            await page.reload()
            await expect(page.locator("#h-history")).to_have_text("Historique", timeout=60_000)
            await context.close()
        finally:
            await browser.close()


async def test_config_language_and_controls_behind_the_token(tmp_path: Path) -> None:
    """`[dashboard] language = "nl"` wins over a French browser; the simulator controls need the token and
    say in the page's language what happened."""
    from playwright.async_api import async_playwright, expect

    view = live_view(tmp_path / "gw.db")
    async with serve(create_app(view, token="demo", language="nl")) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(locale="fr-BE", viewport=VIEWPORTS["phone"])
            await page.goto(base + "/")
            await expect(page.locator("html")).to_have_attribute("lang", "nl", timeout=60_000)
            await page.locator("#ctl-load").click()
            await expect(page.locator("#ctl-result")).to_have_text(
                "Bedieningstoken ontbreekt of is fout.", timeout=60_000
            )
            await page.locator("#ctl-token").fill("demo")
            await page.locator("#ctl-kw").fill("4")
            await page.locator("#ctl-load").click()
            await expect(page.locator("#ctl-result")).to_have_text("Gedaan.", timeout=60_000)
            assert view.meter is not None and view.meter.extra_w == 4000
            # the test meter has no gas: the leak test is refused (409), and the page says so in Dutch
            await page.locator("#ctl-leak").click()
            await expect(page.locator("#ctl-result")).to_have_text(
                "Niet mogelijk op deze gateway (een echte meter, of die meter zit niet in de simulator).",
                timeout=60_000,
            )
            body = json.loads(await (await page.request.get(base + "/api/v1/i18n?lang=fr")).text())
            assert body["language"] == "fr" and body["configured"] == "nl"
        finally:
            await browser.close()


async def test_controls_steer_the_simulator_from_the_page(tmp_path: Path) -> None:
    """The controls docs/gateway.md promises, over the real pipeline and the in-process simulator: a top-up
    raises the balance shown, an extra load raises the import power shown; all in French."""
    from playwright.async_api import async_playwright, expect

    from gateway.pipeline import Gateway
    from gateway.sources import make_source
    from gateway.store import open_store

    start = (datetime.now(TZ) - timedelta(minutes=30)).replace(microsecond=0)
    source = make_source(f"sim:be-3ph?seed=3&speed=60&every=10&prepayment=20&start={start.isoformat()}")
    gateway = Gateway(source, store=open_store(tmp_path / "gw.db"), ean="541449000000000001")
    async with (
        gateway,
        serve(create_app(gateway, token="demo")) as base,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(locale="fr-BE", viewport=VIEWPORTS["phone"])
            await page.goto(base + "/")
            balance = page.locator("#prepay-balance")
            await expect(balance).not_to_have_attribute("data-value", "", timeout=60_000)
            before = float(await balance.get_attribute("data-value") or "nan")
            # live telegrams (several a second here) update the power chart in place, not rebuild it
            await expect(page.locator("#power-chart .uplot")).to_have_count(1, timeout=60_000)
            await page.evaluate("document.querySelector('#power-chart .uplot').dataset.mark = 'first'")
            points = int(await page.locator("#power-chart").get_attribute("data-points") or 0)
            await until_value(
                page, "power-chart", lambda v: v >= min(points + 5, 120), attribute="data-points"
            )
            await expect(page.locator("#power-chart .uplot[data-mark=first]")).to_have_count(1)
            await page.locator("#ctl-token").fill("demo")
            await page.locator("#ctl-amount").fill("30")
            await page.locator("#ctl-top-up").click()
            await expect(page.locator("#ctl-result")).to_have_text("C'est fait.", timeout=60_000)
            await until_value(page, "prepay-balance", lambda v: v > before + 25)
            # the extra load shows as import power: net power (import - export) rises by most of the 6 kW
            # whatever the simulated sun does meanwhile, and it lasts a simulated day (the default 15
            # minutes are 15 s of wall time at speed 60: too short on a loaded machine)
            net_before = await net_power(page)
            await page.locator("#ctl-kw").fill("6")
            await page.locator("#ctl-minutes").fill("1440")
            await page.locator("#ctl-load").click()
            await expect(page.locator("#ctl-result")).to_have_text("C'est fait.", timeout=60_000)
            await until(lambda: net_power(page), lambda v: v > net_before + 4.0, "net power (kW)")
            await page.locator("#ctl-button").click()
            await expect(page.locator("#ctl-result")).not_to_have_text("", timeout=60_000)
            await page.screenshot(path=str(ARTIFACTS / "dashboard-fr-phone-controls.png"), full_page=True)
        finally:
            await browser.close()
