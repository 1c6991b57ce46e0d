"""Small value types the account hands out: supply and emergency states, notifications, top-up results.

Strategy: plain enums whose integer values are the DLMS/e-MUCS codes printed on P1 (breaker/valve
0/1/2, Credit class 112 status 0..4, Account class 111 credit status bits), and frozen dataclasses for
what happened, so callers can compare, log and serialise them without touching the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, IntEnum, IntFlag, StrEnum
from typing import Any

from .messages import Text


class SupplyState(Enum):
    """Where energy stands; `breaker` is the e-MUCS breaker/valve code (0 off, 1 on, 2 ready)."""

    CONNECTED = "connected"
    READY = "ready"
    DISCONNECTED = "disconnected"
    LIMITED = "limited"

    @property
    def breaker(self) -> int:
        return _BREAKER[self]


_BREAKER = {
    SupplyState.DISCONNECTED: 0,
    SupplyState.CONNECTED: 1,
    SupplyState.LIMITED: 1,
    SupplyState.READY: 2,
}


class EmergencyState(IntEnum):
    """DLMS Credit (class 112) status of the emergency credit."""

    ENABLED = 0
    SELECTABLE = 1
    INVOKED = 2
    IN_USE = 3
    EXHAUSTED = 4


class CreditStatus(IntFlag):
    """DLMS Account (class 111) credit status bits (unknown bits a meter sets are kept)."""

    IN_CREDIT = 1
    LOW_CREDIT = 2
    EMERGENCY_CREDIT_ENABLED = 4  # "next credit enabled"
    EMERGENCY_CREDIT_SELECTABLE = 8  # "next credit selectable"
    EMERGENCY_CREDIT_IN_USE = 32  # "selectable credit in use"
    OUT_OF_CREDIT = 64


class NotificationKind(StrEnum):
    """What the customer (or the gateway's `event` topic) is told."""

    LOW_CREDIT = "low_credit"
    EMERGENCY_CREDIT_AVAILABLE = "emergency_credit_available"
    EMERGENCY_CREDIT_IN_USE = "emergency_credit_in_use"
    SUPPLY_INTERRUPTED = "supply_interrupted"
    INTERRUPTION_DEFERRED = "interruption_deferred"
    SUPPLY_LIMITED = "supply_limited"
    TOP_UP_ACCEPTED = "top_up_accepted"
    RECONNECTION_POSSIBLE = "reconnection_possible"
    SUPPLY_RESTORED = "supply_restored"
    LEAK_TEST_STARTED = "leak_test_started"
    LEAK_TEST_FAILED = "leak_test_failed"
    BALANCE_UPDATED = "balance_updated"
    START_CREDIT_RECOVERED = "start_credit_recovered"
    DEBT_ADDED = "debt_added"


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification: kind, when, for which energy, a human sentence and the balance then.

    `message` is the English sentence; `text` its template and parameters (None: `message` has none), which
    the shell translates for the customer (`gateway.i18n.render`)."""

    kind: NotificationKind
    at: datetime
    energy: str
    message: str
    balance_eur: Decimal
    text: Text | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "energy": self.energy,
            "message": self.message,
            "balance_eur": float(self.balance_eur),
        }


@dataclass(frozen=True, slots=True)
class TopUpResult:
    """Outcome of `top_up`: `duplicate` is True when the id had already been credited (nothing done).

    `to_balance_eur` is what reached the balance, `to_debt_eur` what the payment plan withheld.
    """

    top_up_id: str
    amount_eur: Decimal
    duplicate: bool
    to_balance_eur: Decimal
    to_debt_eur: Decimal
    balance_eur: Decimal
    notifications: tuple[Notification, ...]


class TopUpConflict(ValueError):
    """The same top-up id was presented again with a different amount."""
