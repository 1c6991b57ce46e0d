"""The dashboard's history views over a stored prosumer year: what `/api/v1/dashboard/history` does (daily
totals and per-day / per-month peak queries, `gateway.http.dashboard.history_view`) against the naive way
(every quarter-hour of the period read back and summed), on the same SQLite store, in the same run.

    .venv/bin/python bench/dashboard_history.py        # a year of quarter-hours (35,040 rows)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.answers import GatewayEvent, LiveItem, PrepaymentState, StateJson, TelegramJson  # noqa: E402
from gateway.http.dashboard import history_view  # noqa: E402
from gateway.store import Store, open_store  # noqa: E402
from gateway.view import ControlDenied, ControlResult, CurrentQuarterHour  # noqa: E402
from metering.history import ViewName  # noqa: E402
from metering.prices import Prices  # noqa: E402
from metering.record import QuarterHourRecord  # noqa: E402
from tests.gateway.test_dashboard_views import prosumer_year  # noqa: E402

TZ = ZoneInfo("Europe/Brussels")
METER = "1SAG1100000292"


class StoreOnly:
    """A `GatewayView` with a store and nothing live: the history reads the store, the meter id and
    the billed peaks (none); the rest is empty."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def latest(self) -> TelegramJson:
        return {"meter_id": METER}

    def peaks(self) -> dict[str, Any]:
        return {}

    def states(self) -> dict[str, StateJson]:
        return {}

    def health(self) -> dict[str, Any]:
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
        raise ControlDenied("a stored year has no meter to control")


def best_of(runs: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def naive(store: Store, first: date, end: date) -> Decimal:
    """The reference: every quarter-hour of the period, summed in Python."""
    rows = store.quarter_hours(
        datetime.combine(first, datetime.min.time(), tzinfo=TZ),
        datetime.combine(end, datetime.min.time(), tzinfo=TZ),
        METER,
    )
    return sum((Decimal(str(r["import_kwh"])) for r in rows), Decimal(0))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "year.db")
        end = datetime(2026, 12, 1, tzinfo=TZ)
        added = prosumer_year(store, METER, end)
        view = StoreOnly(store)
        prices = Prices(Decimal("0.32"), Decimal("0.25"), Decimal("0.04"), Decimal("53.2"))
        print(f"{added} quarter-hours stored")
        views: tuple[tuple[ViewName, date], ...] = (("month", date(2026, 7, 14)), ("year", date(2026, 7, 14)))
        for name, day in views:
            period_first = date(2026, 7, 1) if name == "month" else date(2026, 1, 1)
            period_end = date(2026, 8, 1) if name == "month" else date(2027, 1, 1)
            ours = best_of(5, partial(history_view, view, name, day, TZ, prices))
            reference = best_of(5, partial(naive, store, period_first, period_end))
            check = history_view(view, name, day, TZ, prices)["totals"]["import_kwh"]
            assert Decimal(str(check)) == naive(store, period_first, period_end)
            print(
                f"{name:5} view: {ours * 1000:7.1f} ms  "
                f"(every quarter-hour summed: {reference * 1000:7.1f} ms, ratio {ours / reference:.2f}x)"
            )
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
