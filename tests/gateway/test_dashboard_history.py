"""The dashboard's pure parts: periods, history views, the capacity card, euros, the prepayment outlook;
and the store's per-day / per-month quarter-hour peaks and the history route over a real SQLite store."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.http import create_app
from gateway.store import open_store
from metering.history import Period, build, capacity_card, rolling_mean_kw
from metering.prices import Prices, cost, new_peak_cost
from prepayment.outlook import outlook
from tests.gateway.test_http_view import TZ, fed_view

PRICES = Prices(Decimal("0.32"), Decimal("0.25"), Decimal("0.04"), Decimal("53.20"))


def test_periods() -> None:
    assert Period.around("week", date(2026, 11, 26)) == Period("week", date(2026, 11, 23), date(2026, 11, 30))
    month = Period.around("month", date(2026, 2, 14))
    assert (month.first, month.end, len(month.bucket_keys())) == (date(2026, 2, 1), date(2026, 3, 1), 28)
    year = Period.around("year", date(2026, 7, 1))
    assert year.bucket_keys()[0] == "2026-01" and len(year.bucket_keys()) == 12
    assert year.previous() == date(2025, 1, 1) and year.next() == date(2027, 1, 1)
    assert len(Period.around("day", date(2026, 3, 29)).bucket_keys()) == 96
    with pytest.raises(ValueError, match="unknown view"):
        Period.around("decade", date(2026, 1, 1))  # type: ignore[arg-type]


def test_capacity_card_keeps_the_month_peak_and_the_floor_apart() -> None:
    """The issue: 'Projected 1.21 kW: below this month's peak (0.78 kW)' compared with the 2.5 kW floor but
    named the month's peak. The card now says which one applies."""
    peaks: dict[str, dict[str, Any]] = {
        "quarter_hour": {"start": "2026-11-30T20:00:00+01:00", "average_kw": 1.0, "projected_kw": 1.21},
        "month": {"month": "2026-11", "peak_kw": 0.78},
        "capacity_tariff": {"average_kw": 2.5, "minimum_kw": 2.5},
    }
    card = capacity_card(peaks, PRICES)
    assert (card["month_peak_kw"], card["floor_kw"], card["applies_kw"], card["applies"]) == (
        0.78,
        2.5,
        2.5,
        "floor",
    )
    assert card["over"] is False and card["margin_kw"] == pytest.approx(1.29)
    assert card["new_peak_cost_eur"] is None
    peaks["quarter_hour"]["projected_kw"] = 3.1
    peaks["month"]["peak_kw"] = 2.6
    card = capacity_card(peaks, PRICES)
    assert card["applies"] == "peak" and card["over"] is True
    assert card["new_peak_cost_eur"] == pytest.approx(
        float(Decimal("0.5") * Decimal("53.20") / 12), abs=0.005
    )


def test_euros() -> None:
    assert cost(1000, 500, 2000, PRICES) == Decimal("0.365")
    assert new_peak_cost(Decimal("3.1"), Decimal("2.5"), PRICES) == Decimal("2.66")
    assert new_peak_cost(Decimal("2.0"), Decimal("2.5"), PRICES) == Decimal("0.00")
    assert not Prices().known


def test_rolling_mean_counts_the_floor_and_twelve_months() -> None:
    peaks = {f"2026-{m:02d}": 1.0 for m in range(1, 13)} | {"2025-12": 9.0, "2026-06": 5.5}
    assert rolling_mean_kw("2026-12", peaks) == Decimal("2.750")  # 11 x 2.5 + 5.5, 2025-12 outside
    assert rolling_mean_kw("2027-01", {}) is None


def test_month_view_sums_days_and_keeps_empty_days() -> None:
    rows = [
        {
            "day": "2026-11-02",
            "import_day": 4.5,
            "import_night": 2.25,
            "export_day": 1.0,
            "export_night": 0.0,
        },
        {"day": "2026-11-03", "import_day": 0.001, "import_night": 0, "export_day": 0, "export_night": 0.5},
    ]
    view = build(
        Period.around("month", date(2026, 11, 14)), rows, {"2026-11-02": 3.2}, {"2026-11": 3.2}, PRICES
    )
    assert len(view["buckets"]) == 30 and view["buckets"][0]["has_data"] is False
    assert view["buckets"][1]["peak_kw"] == 3.2 and view["buckets"][1]["import_kwh"] == 6.75
    assert view["totals"]["import_day_kwh"] == 4.501 and view["totals"]["export_kwh"] == 1.5
    assert view["totals"]["eur"] == float(
        (
            Decimal("4.501") * Decimal("0.32")
            + Decimal("2.25") * Decimal("0.25")
            - Decimal("1.5") * Decimal("0.04")
        ).quantize(Decimal("0.01"))
    )
    assert (view["peak_kw"], view["floor_kw"], view["mean_12_kw"]) == (3.2, 2.5, 3.2)
    assert build(Period.around("month", date(2026, 11, 14)), [], {}, {}, Prices())["totals"]["eur"] is None


def test_prepayment_outlook() -> None:
    state: dict[str, Any] = {
        "energy": "electricity",
        "balance_eur": 12.0,
        "start_credit_due_eur": 5.0,
        "start_credit_recovery_eur_per_day": 1.0,
        "supply_state": "connected",
        "history": [{"date": f"2026-11-{d:02d}", "energy": 5, "eur": 2.0} for d in range(1, 31)],
        "accounts": {
            "electricity": {"energy": "electricity"},
            "gas": {"energy": "gas", "balance_eur": 3.0, "supply_state": "ready"},
        },
    }
    out = outlook(state, date(2026, 11, 30))["accounts"]
    assert out["electricity"]["days_left"] == 6 and out["electricity"]["empty_on"] == "2026-12-06"
    assert out["electricity"]["pace_days"] == 29  # whole days only: today is not over
    assert out["electricity"]["start_credit_paid_on"] == "2026-12-05"
    assert out["electricity"]["action"] == "none"
    assert out["gas"]["action"] == "leak_test"
    # an account opened yesterday: its pace is yesterday's, not yesterday's spread over 30 days
    fresh = [{"date": f"2026-11-{d:02d}", "energy": 0, "eur": 0.0} for d in range(1, 29)]
    fresh += [
        {"date": "2026-11-29", "energy": 9, "eur": 3.0},
        {"date": "2026-11-30", "energy": 1, "eur": 0.3},
    ]
    opened = outlook({**state, "history": fresh}, date(2026, 11, 30))["accounts"]["electricity"]
    assert (opened["pace_eur_per_day"], opened["pace_days"], opened["days_left"]) == (3.0, 1, 4)
    state.update(supply_state="disconnected", balance_eur=-1.0, top_up_to_reconnect_eur=6.0)
    cut = outlook(state, date(2026, 11, 30))["accounts"]["electricity"]
    assert (cut["action"], cut["top_up_eur"], cut["days_left"]) == ("top_up", 6.0, None)


async def test_history_route_equals_the_store(tmp_path: Path) -> None:
    start = datetime(2026, 11, 23, 6, 0, tzinfo=TZ)
    view = fed_view(tmp_path / "gw.db", start, 4 * 3600, step_s=10)
    app = create_app(view, prices=PRICES, clock=lambda: start + timedelta(hours=5))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        day = (
            await client.get("/api/v1/dashboard/history", params={"view": "day", "date": "2026-11-23"})
        ).json()
        week = (await client.get("/api/v1/dashboard/history", params={"view": "week"})).json()
        bad = await client.get("/api/v1/dashboard/history", params={"view": "decade"})
        capacity = (await client.get("/api/v1/dashboard/capacity")).json()
        i18n = (await client.get("/api/v1/i18n", headers={"Accept-Language": "fr-BE,fr;q=0.9"})).json()
    records = view.store.quarter_hours(start, start + timedelta(days=1))
    assert len([b for b in day["buckets"] if b["has_data"]]) == len(records) > 10
    assert day["totals"]["import_kwh"] == float(sum(Decimal(str(r["import_kwh"])) for r in records))
    assert week["from"] == "2026-11-23" and week["buckets"][0]["import_kwh"] == day["totals"]["import_kwh"]
    peak = max(r["avg_import_kw"] for r in records)
    assert week["buckets"][0]["peak_kw"] == pytest.approx(peak, abs=0.001)
    peaks = view.store.quarter_hour_peaks(start, start + timedelta(days=1), by="month")
    assert peaks == {"2026-11": pytest.approx(peak, abs=0.001)}
    assert bad.status_code == 422 and "'day', 'week', 'month' or 'year'" in bad.json()["detail"]
    assert capacity["floor_kw"] == 2.5 and capacity["month_peak_kw"] == view.peaks()["month"]["peak_kw"]
    assert i18n["language"] == "fr" and i18n["messages"]["History"] == "Historique"
    store = open_store(tmp_path / "gw.db")
    assert store.quarter_hour_peaks(start, start, by="day") == {}
    store.close()


def test_dashboard_config_section(tmp_path: Path) -> None:
    from gateway.config import ConfigError, load_config
    from metering.prices import dashboard_prices

    path = tmp_path / "p1gw.toml"
    path.write_text(
        '[dashboard]\nlanguage = "nl"\nimport_day_eur_per_kwh = 0.32\ncapacity_eur_per_kw_year = 53.2\n'
    )
    config = load_config(path, environ={"P1GW_DASHBOARD__EXPORT_EUR_PER_KWH": "0.04"})
    assert config.dashboard.language == "nl"
    assert dashboard_prices(config.dashboard) == Prices(
        Decimal("0.32"), Decimal(0), Decimal("0.04"), Decimal("53.2")
    )
    path.write_text('[dashboard]\nlanguage = "de"\n')
    with pytest.raises(ConfigError, match=r"dashboard\.language must be en, fr, nl"):
        load_config(path, environ={})
    path.write_text("[dashboard]\nexport_eur_per_kwh = -1\n")
    with pytest.raises(ConfigError, match="must be 0 or more"):
        load_config(path, environ={})


def test_account_state_says_how_fast_the_start_credit_returns_and_what_reconnects() -> None:
    from prepayment.account import PrepaymentAccount
    from prepayment.config import AccountConfig

    opened = datetime(2026, 11, 2, 8, 0, tzinfo=TZ)
    account = PrepaymentAccount(AccountConfig(), opened)
    state = account.state()
    assert state["start_credit_recovery_eur_per_day"] == float(
        AccountConfig().start_credit_recovery_eur_per_day
    )
    assert state["top_up_to_reconnect_eur"] == 0.0  # the start credit is there
    card = outlook(state, opened.date())["accounts"]["electricity"]
    due, rate = state["start_credit_due_eur"], state["start_credit_recovery_eur_per_day"]
    assert card["start_credit_paid_on"] == (opened.date() + timedelta(days=int(-(-due // rate)))).isoformat()
