"""The prepayment function of the Walloon communicating meter. Pure: time is an input.

    from prepayment import PrepaymentAccount, ores_electricity, p1_values
    acc = PrepaymentAccount(ores_electricity(accounting="immediate"), opened_at)
    notes = acc.consume(Decimal("0.000115"), "day", at)   # every simulated second
    acc.top_up("tx-42", Decimal("10.00"), at)              # idempotent per id
    acc.press_button(at)                                    # breaker ready (2) -> connected (1)
    acc.state()                                             # JSON for MQTT `prepayment` / HTTP
    p1_values(acc)                                          # {"0-0:19.10.0": (Decimal("9.50"), "EUR"), ...}

No I/O here: durable top-ups are the shell's `gateway.store.journal.JournaledAccount` (SQLite WAL).
"""

from .account import PrepaymentAccount
from .config import (
    CARD_METER_FRIENDLY,
    AccountConfig,
    FriendlyPeriods,
    NotificationThresholds,
    PaymentPlan,
    Protection,
    belgian_public_holidays,
    fluvius_electricity,
    ores_electricity,
    ores_gas,
)
from .events import (
    CreditStatus,
    EmergencyState,
    Notification,
    NotificationKind,
    SupplyState,
    TopUpConflict,
    TopUpResult,
)
from .money import Ledger
from .p1 import P1Account, P1Values, p1_values
from .view import what_to_do

__all__ = [
    "CARD_METER_FRIENDLY",
    "AccountConfig",
    "CreditStatus",
    "EmergencyState",
    "FriendlyPeriods",
    "Ledger",
    "Notification",
    "NotificationKind",
    "NotificationThresholds",
    "P1Account",
    "P1Values",
    "PaymentPlan",
    "PrepaymentAccount",
    "Protection",
    "SupplyState",
    "TopUpConflict",
    "TopUpResult",
    "belgian_public_holidays",
    "fluvius_electricity",
    "ores_electricity",
    "ores_gas",
    "p1_values",
    "what_to_do",
]
