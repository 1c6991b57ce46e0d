"""Read-only views of an account: the JSON state for MQTT/HTTP and the advice sentence.

Strategy: computed on demand from the account's public properties (nothing cached, nothing mutated).
Money and energy are JSON numbers (floats of 2- or 3-decimal values, exact enough for display;
the exact figures live in `snapshot()`), times are ISO 8601 with offset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

from . import messages
from .account_base import AccountBase
from .calendar import zone
from .events import EmergencyState, SupplyState
from .p1 import credit_status

_MILLI = Decimal("0.001")
HISTORY_DAYS = 30


class EmergencyCreditJson(TypedDict):
    remaining: float
    limit: float


class PaymentPlanJson(TypedDict):
    instalment_eur: float
    interval_days: int
    top_up_share: float
    next_due: str | None
    remaining_instalments: int


class ProtectionJson(TypedDict):
    since: str
    guaranteed_until: str | None
    debt_eur: float


class DayJson(TypedDict):
    date: str
    energy: float
    eur: float


class AccountStateJson(TypedDict):
    """The JSON state of an account (docs/prepayment.md): MQTT `prepayment`, `GET /api/v1/prepayment`."""

    at: str
    energy: str
    energy_unit: str
    accounting: str
    balance_eur: float
    balance_updated_at: str
    unposted_eur: float
    balance_energy: float
    tariff_period: str
    price_eur: float
    emergency_credit_eur: EmergencyCreditJson
    emergency_state: str
    credit_status: int
    low_credit: bool
    debt_eur: float
    payment_plan: PaymentPlanJson | None
    start_credit_due_eur: float
    start_credit_recovery_eur_per_day: float
    top_up_to_reconnect_eur: float
    supply_state: str
    breaker_state: int
    power_limit_kw: float | None
    protection: ProtectionJson | None
    interruption_deferred_until: str | None
    leak_test_until: str | None
    what_to_do: str
    history: list[DayJson]


def balance_energy(acc: AccountBase) -> Decimal:
    """The balance converted to energy at the price of the current tariff period (3 decimals)."""
    price = acc.config.price_eur(acc.current_period)
    if not price:
        return Decimal(0)
    return (acc.balance_eur / price).quantize(_MILLI, rounding=ROUND_FLOOR)


def what_to_do(acc: AccountBase) -> str:
    """One plain sentence telling the customer what to do now (English; `what_to_do_text` to translate)."""
    return str(what_to_do_text(acc))


def _cents(value: Decimal) -> Decimal:
    return Decimal(f"{value:.2f}")


def what_to_do_text(acc: AccountBase) -> messages.Text:
    """What to do now, as a template and its parameters (`prepayment.messages`)."""
    cfg = acc.config
    need = max(Decimal(0), cfg.reconnect_min_eur - acc.balance_eur)
    button = messages.hold_button(cfg.energy, cfg.button_hold_s)
    supply = acc.supply_state
    if acc.leak_test_until is not None:
        until = acc.leak_test_until.astimezone(_tz(acc))
        return messages.keep_closed_during_leak_test(f"{until:%H:%M}")
    if supply is SupplyState.DISCONNECTED:
        if need > 0:
            return messages.top_up_then_button(_cents(need), button)
        return messages.supply_off(button)
    if supply is SupplyState.READY:
        return messages.restore_with_button(cfg.energy, cfg.button_hold_s)
    if supply is SupplyState.LIMITED:
        return messages.top_up_to_lift_limit(acc.power_limit_kw, _cents(max(need, Decimal("0.01"))))
    if acc.interruption_deferred_until is not None:
        until = acc.interruption_deferred_until.astimezone(_tz(acc))
        return messages.top_up_before(_cents(need), f"{until:%Y-%m-%d %H:%M}")
    es = acc.emergency_state
    if es is EmergencyState.SELECTABLE:
        return messages.use_emergency_credit(
            messages.select_emergency_credit(cfg.button_hold_s), acc.emergency_limit_eur
        )
    if es in (EmergencyState.IN_USE, EmergencyState.EXHAUSTED):
        return messages.repay_emergency_credit(acc.emergency_remaining_eur, _cents(-acc.balance_eur))
    if acc.low_credit:
        return messages.top_up_soon(acc.balance_eur)
    return messages.nothing_to_do()


def _tz(acc: AccountBase) -> ZoneInfo:
    return zone(acc.config.timezone)


def account_state(acc: AccountBase) -> AccountStateJson:
    """The JSON state of docs/prepayment.md."""
    cfg = acc.config
    plan = acc.payment_plan
    plan_json: PaymentPlanJson | None = None
    if plan is not None:
        remaining = 0
        if plan.instalment_eur > 0 and acc.debt_eur > 0:
            remaining = int(-(-acc.debt_eur // plan.instalment_eur))
        nxt = acc.payment_plan_next_due
        plan_json = {
            "instalment_eur": float(plan.instalment_eur),
            "interval_days": plan.interval_days,
            "top_up_share": float(plan.top_up_share),
            "next_due": None if nxt is None else nxt.isoformat(),
            "remaining_instalments": remaining,
        }
    today = acc.now.astimezone(_tz(acc)).date()
    history: list[DayJson] = [
        {"date": d.isoformat(), "energy": float(e), "eur": float(eur)}
        for d, e, eur in acc.history(today + timedelta(days=1), HISTORY_DAYS)
    ]
    limit = acc.power_limit_kw
    return {
        "at": acc.now.isoformat(),
        "energy": cfg.energy,
        "energy_unit": cfg.energy_unit,
        "accounting": cfg.accounting,
        "balance_eur": float(acc.balance_eur),
        "balance_updated_at": acc.balance_updated_at.isoformat(),
        "unposted_eur": float(acc.unposted_eur),
        "balance_energy": float(balance_energy(acc)),
        "tariff_period": acc.current_period,
        "price_eur": float(cfg.price_eur(acc.current_period)),
        "emergency_credit_eur": {
            "remaining": float(acc.emergency_remaining_eur),
            "limit": float(acc.emergency_limit_eur),
        },
        "emergency_state": acc.emergency_state.name.lower(),
        "credit_status": int(credit_status(acc)),
        "low_credit": acc.low_credit,
        "debt_eur": float(acc.debt_eur),
        "payment_plan": plan_json,
        "start_credit_due_eur": float(acc.start_credit_due_eur),
        "start_credit_recovery_eur_per_day": float(cfg.start_credit_recovery_eur_per_day),
        "top_up_to_reconnect_eur": float(max(Decimal(0), cfg.reconnect_min_eur - acc.balance_eur)),
        "supply_state": acc.supply_state.value,
        "breaker_state": acc.supply_state.breaker,
        "power_limit_kw": None if limit is None else float(limit),
        "protection": _protection(acc),
        "interruption_deferred_until": _iso(acc.interruption_deferred_until),
        "leak_test_until": _iso(acc.leak_test_until),
        "what_to_do": what_to_do(acc),
        "history": history,
    }


def _protection(acc: AccountBase) -> ProtectionJson | None:
    since = acc.protected_since
    if since is None:
        return None
    return {
        "since": since.isoformat(),
        "guaranteed_until": _iso(acc.protection_guaranteed_until),
        "debt_eur": float(acc.protection_debt_eur),
    }


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()
