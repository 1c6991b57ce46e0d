"""The gateway's prepayment: the credit state JSON of the P1 lines, and the notifications it changes into.

Strategy: `prepayment.p1.decode` reads the accounts of a telegram (the one codec of those lines); this
module only shapes them as the `prepayment` JSON (MQTT `prepayment`, `GET /api/v1/prepayment`, docs/mqtt.md)
and remembers the last one, so a state is published only when it changes (most telegrams change nothing).
Events carry the domain's notification names (`prepayment.NotificationKind`) as `prepayment_<kind>`,
whether they come from the in-process simulator's account or from the P1 lines of a meter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dsmr_parser import Telegram
from gateway.answers import P1AccountJson, P1StateJson, PrepaymentEvent
from gateway.i18n.notices import render, text_json
from gateway.states import SUPPLY_STATES
from prepayment import CreditStatus, Notification, P1Account
from prepayment.p1 import decode, notifications

from .latest import json_number


def account_json(account: P1Account) -> P1AccountJson:
    supply = account.supply_state
    breaker = None if supply is None else supply.breaker
    emergency = account.emergency_state
    return {
        "energy": account.energy,
        "channel": account.channel,
        "balance_eur": json_number(account.balance_eur),
        "emergency_credit_eur": {"remaining": json_number(account.emergency_remaining_eur)},
        "debt_eur": json_number(account.debt_eur),
        "start_credit_due_eur": json_number(account.start_credit_due_eur),
        "credit_status": int(account.credit_status),
        "in_credit": CreditStatus.IN_CREDIT in account.credit_status,
        "low_credit": CreditStatus.LOW_CREDIT in account.credit_status,
        "out_of_credit": CreditStatus.OUT_OF_CREDIT in account.credit_status,
        "emergency_state": None if emergency is None else emergency.name.lower(),
        "breaker_state": breaker,
        "supply_state": None if breaker is None else SUPPLY_STATES.get(breaker),
        "power_limit_kw": json_number(account.power_limit_kw),
    }


def telegram_accounts(telegram: Telegram) -> dict[str, P1Account]:
    """The prepayment accounts of a telegram's 0-B:19.x lines, by energy (empty when it has none)."""
    return decode({code: value.value for code, value in telegram.values.items()})


def prepayment_from_telegram(telegram: Telegram) -> P1StateJson | None:
    """The credit state carried by the 0-B:19.x extension lines (None when the meter has none)."""
    return state_json(telegram, telegram_accounts(telegram))


def state_json(telegram: Telegram, accounts: Mapping[str, P1Account]) -> P1StateJson | None:
    if not accounts:
        return None
    by_energy = {energy: account_json(account) for energy, account in accounts.items()}
    first = by_energy.get("electricity") or next(iter(by_energy.values()))
    stamp = telegram.timestamp
    return {
        "meter_id": telegram.meter_id,
        "at": stamp.isoformat() if stamp is not None else None,
        "source": "p1",
        **first,
        "accounts": by_energy,
    }


def notification_event(note: Notification, language: str | None = None) -> PrepaymentEvent:
    """The event of a domain notification (the simulator's account or the P1 lines); its `message` in
    `language` (en, fr, nl; None: English), the machine fields the same in every language."""
    event: PrepaymentEvent = {
        "type": f"prepayment_{note.kind.value}",
        "kind": note.kind.value,
        "at": note.at.isoformat(),
        "energy": note.energy,
        "message": note.message if note.text is None else render(note.text, language),
        "balance_eur": float(note.balance_eur),
    }
    if note.text is not None:
        event["text"] = text_json(note.text)
    return event


class PrepaymentWatch:
    """The last prepayment state seen on P1, to publish only changes and tell what changed."""

    def __init__(self) -> None:
        self.accounts: dict[str, P1Account] = {}
        self._key: tuple[tuple[str, str], ...] | None = None

    def update(self, telegram: Telegram, at: datetime) -> tuple[P1StateJson, list[Notification]] | None:
        """The new P1 state and the notifications since the last one; None when the telegram has no
        prepayment lines or they changed nothing worth publishing."""
        accounts = telegram_accounts(telegram)
        state = state_json(telegram, accounts)
        if state is None:
            return None
        key = _core(state)
        if key == self._key:
            return None  # unchanged: nothing to publish (most telegrams)
        old, self.accounts, self._key = self.accounts, accounts, key
        notes = [note for energy, new in accounts.items() for note in notifications(old.get(energy), new, at)]
        return state, notes


def _core(state: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """What makes a prepayment state worth publishing again (not its time stamp)."""
    return tuple(
        sorted((k, repr(v)) for k, v in state.items() if k not in ("at", "history", "balance_updated_at"))
    )
