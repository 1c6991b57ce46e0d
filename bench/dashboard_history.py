"""The dashboard's history views over a stored prosumer year: what `/api/v1/dashboard/history` does (daily
totals and per-day / per-month peak queries, `gateway.http.dashboard.history_view`) against the naive way
(every quarter-hour of the period read back and summed), on the same SQLite store, in the same run.

    .venv/bin/python bench/dashboard_history.py        # a year of quarter-hours (35,040 rows)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.http.dashboard import history_view  # noqa: E402
from gateway.store import open_store  # noqa: E402
from metering.prices import Prices  # noqa: E402
from tests.gateway.test_dashboard_views import prosumer_year  # noqa: E402

TZ = ZoneInfo("Europe/Brussels")
METER = "1SAG1100000292"


class StoreOnly:
    """The part of a `GatewayView` the history needs: the store, the meter, no billed peaks."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def latest(self) -> dict[str, Any]:
        return {"meter_id": METER}

    def peaks(self) -> dict[str, Any]:
        return {}


def best_of(runs: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def naive(store: Any, first: date, end: date) -> Decimal:
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
        for name, day in (("month", date(2026, 7, 14)), ("year", date(2026, 7, 14))):
            period_first = date(2026, 7, 1) if name == "month" else date(2026, 1, 1)
            period_end = date(2026, 8, 1) if name == "month" else date(2027, 1, 1)
            ours = best_of(5, lambda n=name, d=day: history_view(view, n, d, TZ, prices))  # type: ignore[misc]
            reference = best_of(5, lambda a=period_first, b=period_end: naive(store, a, b))
            check = history_view(view, name, day, TZ, prices)["totals"]["import_kwh"]  # type: ignore[arg-type]
            assert Decimal(str(check)) == naive(store, period_first, period_end)
            print(
                f"{name:5} view: {ours * 1000:7.1f} ms  "
                f"(every quarter-hour summed: {reference * 1000:7.1f} ms, ratio {ours / reference:.2f}x)"
            )
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
