"""What a prepayment customer wants to know next (pure): how long the credit lasts at the pace of the last
30 days, when the start credit is paid back, and what to do now, as a code the dashboard words in the
customer's language.

Strategy: reads the account state JSON of docs/prepayment.md (one energy in full at the top level,
every energy under `accounts`). The pace is the mean € per day over the whole days of `history` (up to
30) since the first with consumption; the start credit falls by `start_credit_recovery_eur_per_day` each
day. Actions: `leak_test_running`, `top_up` (disconnected or limited with too little credit: `top_up_eur`
says how much), `press_button` (electricity ready), `leak_test` (gas ready: close the appliances, hold the
button), `top_up_soon` (less than 3 days left), `none`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

SOON_DAYS = 3


def _accounts(state: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every energy's account; the top level is one of them in full (merged over its `accounts` entry)."""
    top = {k: v for k, v in state.items() if k != "accounts"}
    main = str(top.get("energy") or "electricity")
    accounts = state.get("accounts")
    out = (
        {str(k): v for k, v in accounts.items() if isinstance(v, Mapping)}
        if isinstance(accounts, Mapping)
        else {}
    )
    out[main] = {**out.get(main, {}), **top}
    return out


def _paced_days(history: Any, today: date) -> list[Mapping[str, Any]]:
    """The whole days (before today) since the first day with consumption: an account opened this week
    does not spread its use over 30 days it did not exist."""
    days = [
        d
        for d in history
        if isinstance(d, Mapping) and d.get("eur") is not None and str(d.get("date")) < today.isoformat()
    ]
    used = [i for i, d in enumerate(days) if d.get("eur") or d.get("energy")]
    return days[used[0] :] if used else []


def _one(account: Mapping[str, Any], today: date) -> dict[str, Any]:
    days = _paced_days(account.get("history") or [], today)
    spent = sum((Decimal(str(d["eur"])) for d in days), Decimal(0))
    pace = (spent / len(days)).quantize(Decimal("0.01")) if days else None
    balance = Decimal(str(account.get("balance_eur") or 0))
    days_left = math.floor(balance / pace) if pace and pace > 0 and balance > 0 else None
    due = Decimal(str(account.get("start_credit_due_eur") or 0))
    rate = Decimal(str(account.get("start_credit_recovery_eur_per_day") or 0))
    paid_on = today + timedelta(days=math.ceil(due / rate)) if due > 0 and rate > 0 else None
    need = Decimal(str(account.get("top_up_to_reconnect_eur") or 0))
    supply = account.get("supply_state")
    gas = account.get("energy") == "gas"
    if account.get("leak_test_until"):
        action = "leak_test_running"
    elif supply in ("disconnected", "limited") and need > 0:
        action = "top_up"
    elif supply == "ready" or (supply == "disconnected" and need <= 0):
        action = "leak_test" if gas else "press_button"
    elif days_left is not None and days_left < SOON_DAYS:
        action = "top_up_soon"
    else:
        action = "none"
    return {
        "energy": account.get("energy") or "electricity",
        "energy_unit": account.get("energy_unit") or "kWh",
        "balance_eur": float(balance),
        "balance_energy": account.get("balance_energy"),
        "price_eur": account.get("price_eur"),
        "supply_state": supply,
        "pace_eur_per_day": float(pace) if pace is not None else None,
        "pace_days": len(days),
        "days_left": days_left,
        "empty_on": (today + timedelta(days=days_left)).isoformat() if days_left is not None else None,
        "start_credit_due_eur": float(due),
        "start_credit_paid_on": paid_on.isoformat() if paid_on else None,
        "start_credit_paid": due <= 0,
        "action": action,
        "top_up_eur": float(need) if need > 0 else None,
        "leak_test_until": account.get("leak_test_until"),
        "interruption_deferred_until": account.get("interruption_deferred_until"),
        "debt_eur": account.get("debt_eur"),
    }


def outlook(state: Mapping[str, Any], today: date) -> dict[str, Any]:
    """`{"accounts": {energy: outlook}}` for every energy of the account state, `today` being local."""
    return {"date": today.isoformat(), "accounts": {k: _one(v, today) for k, v in _accounts(state).items()}}
