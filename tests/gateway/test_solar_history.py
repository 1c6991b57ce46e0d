"""Production beside the meter's records: a store round-trip of production quarter-hours (migration 0004)
and the dashboard history route, whose self-consumption is production - export read from the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gateway.answers import GatewayEvent, LiveItem, PrepaymentState, StateJson, TelegramJson
from gateway.http import create_app
from gateway.store import Store, open_store
from gateway.store.solar import add_production, production_quarters, production_source, saved_aggregator
from gateway.view import ControlDenied, ControlResult, CurrentQuarterHour
from metering.quarter_hours import QuarterHour
from metering.record import QuarterHourRecord
from metering.solar import ProductionAggregator, ProductionQuarter
from tests.gateway.test_http_view import TZ

NOON = datetime(2026, 6, 16, 12, 0, tzinfo=TZ)


def quarter(start: datetime, import_wh: int, export_wh: int) -> QuarterHour:
    return QuarterHour(start, start + timedelta(minutes=15), import_wh, 0, export_wh, 0, True, False, 90)


def produced(start: datetime, wh: int, **flags: bool) -> ProductionQuarter:
    ts = int(start.timestamp())
    return ProductionQuarter(
        ts,
        ts + 900,
        wh,
        flags.get("estimated", False),
        flags.get("complete", True),
        flags.get("reset", False),
        9,
    )


class StoreView:
    """A `GatewayView` over a store and nothing live: the history route reads the store; no latest
    telegram, no peaks, and every other answer empty."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def latest(self) -> TelegramJson | None:
        return None

    def states(self) -> dict[str, StateJson]:
        return {}

    def health(self) -> dict[str, Any]:
        return {}

    def peaks(self) -> dict[str, Any]:
        return {}

    def prepayment(self) -> PrepaymentState | None:
        return None

    def quarter_hours(self, start: datetime, end: datetime) -> list[QuarterHourRecord]:
        return []

    def current_quarter_hour(self) -> CurrentQuarterHour | QuarterHourRecord | None:
        return None

    def history(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return []

    def events(self, limit: int = 50) -> list[GatewayEvent]:
        return []

    async def subscribe(self) -> AsyncIterator[LiveItem]:
        return
        yield

    async def control(self, action: str, params: dict[str, Any]) -> ControlResult:
        raise ControlDenied("a store has no meter to control")


def test_production_quarter_hours_round_trip(tmp_path: Path) -> None:
    store = open_store(tmp_path / "gw.db", tz="Europe/Brussels")
    agg = ProductionAggregator()
    t0 = int(NOON.timestamp())
    agg.add(t0, 1_000)
    closed = agg.add(t0 + 900, 1_420)
    assert add_production(store, closed, agg.snapshot(), "mqtt:pv/energy") == 1
    assert add_production(store, closed, agg.snapshot(), "mqtt:pv/energy") == 0  # a replay writes nothing
    add_production(store, [produced(NOON + timedelta(minutes=15), 7, reset=True, complete=False)], {}, "sim")
    store.close()
    again = open_store(tmp_path / "gw.db", tz="Europe/Brussels")
    rows = production_quarters(again, NOON, NOON + timedelta(hours=1))
    assert [(r["start"], r["production_wh"], r["complete"], r["reset"]) for r in rows] == [
        ("2026-06-16T12:00:00+02:00", 420, True, False),
        ("2026-06-16T12:15:00+02:00", 7, False, True),
    ]
    assert production_source(again) == "sim" and saved_aggregator(again, "mqtt:pv/energy") is None
    again.close()


async def test_history_self_consumption_is_production_minus_export_from_the_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "gw.db", tz="Europe/Brussels")
    app = create_app(StoreView(store), clock=lambda: NOON)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        params = {"view": "day", "date": "2026-06-16"}
        before = (await client.get("/api/v1/dashboard/history", params=params)).json()
        starts = [NOON + timedelta(minutes=15 * i) for i in range(4)]
        store.add_quarter_hours(
            [
                quarter(s, imp, exp)
                for s, imp, exp in zip(starts, (50, 0, 10, 200), (300, 400, 0, 0), strict=True)
            ],
            meter_id="M1",
        )
        add_production(
            store, [produced(s, wh) for s, wh in zip(starts[:3], (500, 380, 250), strict=True)], {}, "sim"
        )
        day = (await client.get("/api/v1/dashboard/history", params=params)).json()
        month = (await client.get("/api/v1/dashboard/history", params={**params, "view": "month"})).json()
    assert before["production_configured"] is False and "production_kwh" not in before["totals"]
    assert day["production_configured"] is True and day["has_production"] is True
    by_key = {b["key"]: b for b in day["buckets"]}
    stored = {r["start"][11:16]: r["production_wh"] for r in production_quarters(store, NOON, starts[-1])}
    records = {r["start"][11:16]: r for r in store.quarter_hours(NOON, NOON + timedelta(hours=1))}
    for key, wh in stored.items():
        export_wh = round(records[key]["export_kwh"] * 1000)
        assert by_key[key]["production_kwh"] * 1000 == wh
        assert by_key[key]["self_consumption_kwh"] * 1000 == max(0, wh - export_wh)
    assert [by_key[k]["self_consumption_kwh"] for k in ("12:00", "12:15", "12:30")] == [0.2, 0.0, 0.25]
    assert by_key["12:45"]["production_kwh"] is None  # no production reading: not a zero
    assert day["totals"]["self_consumption_kwh"] == 0.45
    assert day["totals"]["self_sufficiency"] == round(0.45 / (0.06 + 0.45), 3)
    june_16 = next(b for b in month["buckets"] if b["key"] == "2026-06-16")
    assert june_16["production_kwh"] == 1.13 and june_16["self_consumption_kwh"] == 0.43  # per day
    store.close()
