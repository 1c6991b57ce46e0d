"""Shared helpers for the prepayment tests: Brussels times, a simple configuration, kinds of notes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from prepayment import AccountConfig, EmergencyState, Notification, NotificationKind, SupplyState
from prepayment.account_base import AccountBase

BRU = ZoneInfo("Europe/Brussels")
D = Decimal


def bru(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An aware Europe/Brussels datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=BRU)


def supply(account: AccountBase) -> SupplyState:
    """The account's supply state now: read through a call, because mypy carries an earlier `assert
    account.supply_state is ...` past the method calls (top-up, button) that change it."""
    return account.supply_state


def emergency(account: AccountBase) -> EmergencyState:
    """The account's emergency-credit state now (read through a call, as `supply`)."""
    return account.emergency_state


def simple(**overrides: Any) -> AccountConfig:
    """Immediate accounting, 0.25 EUR/kWh day, 0.20 night, no standing charge, no start-credit
    recovery: balances are easy to compute by hand."""
    base: dict[str, Any] = {
        "tariffs_eur": {"day": D("0.25"), "night": D("0.20")},
        "standing_charge_eur_per_day": D("0"),
        "start_credit_recovery_eur_per_day": D("0"),
        "accounting": "immediate",
    }
    return AccountConfig(**(base | overrides))


def kinds(notes: Iterable[Notification]) -> list[NotificationKind]:
    return [n.kind for n in notes]
