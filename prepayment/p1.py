"""The account on P1 and back: the one codec of the prepayment extension lines (README.md "Prepayment on P1").

Strategy: `P1Account` is what the lines of one account carry, typed with the domain's enums
(`CreditStatus`, `EmergencyState`, `SupplyState`). `encode` turns it into OBIS code -> (value, unit), which
the simulator wraps into `dsmr_parser.Value` and the builder prints; `decode` reads every account back
from a telegram's OBIS code -> value mapping, and `decode(encode(x)) == {x.energy: x}` (tested with
hypothesis). Codes use channel B: 0 the electricity account, n (1-4) the gas account on the gas meter's
M-Bus channel; money is in whole cents. Electricity also has the breaker (0-0:96.3.10) and the limiter
threshold (0-0:17.0.0, 999.9 kW when no limit, as real e-MUCS meters print); gas has its valve
(0-n:24.4.0). The breaker code of a limited supply is 1 (closed): a limit on the limiter line tells
`LIMITED` from `CONNECTED`. `notifications` turns two successive decoded states into the domain's
`Notification`s, so a gateway reading a real meter tells the same story as the account itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from . import messages
from .account_base import AccountBase
from .events import CreditStatus, EmergencyState, Notification, NotificationKind, SupplyState

CENT = Decimal("0.01")
NO_LIMIT_KW = Decimal("999.9")
NO_LIMIT_FROM_KW = Decimal(999)  # a limiter threshold from here on means "no limit"
ELECTRICITY_BREAKER = "0-0:96.3.10"
LIMITER_THRESHOLD = "0-0:17.0.0"
CHANNELS = range(5)  # B: 0 electricity, 1-4 gas

P1Values = dict[str, tuple[Decimal | int, str | None]]

NO_CREDIT_STATUS = CreditStatus(0)
_SUPPLY_BY_BREAKER = {0: SupplyState.DISCONNECTED, 1: SupplyState.CONNECTED, 2: SupplyState.READY}
_EMERGENCY_BY_CODE = {int(state): state for state in EmergencyState}


@dataclass(frozen=True, slots=True)
class P1Account:
    """The prepayment lines of one account (None: the line is absent).

    Args:
        channel: B of the codes: 0 the electricity account, 1-4 the gas account's M-Bus channel.
        balance_eur: available credit, signed (negative while emergency credit is used), whole cents.
        supply_state: from the breaker (electricity) or valve (gas) code; `LIMITED` when the breaker is
            closed under a limit.
        power_limit_kw: the limiter threshold of electricity, None when no limit is set.
    """

    channel: int
    balance_eur: Decimal
    credit_status: CreditStatus = NO_CREDIT_STATUS
    emergency_remaining_eur: Decimal | None = None
    debt_eur: Decimal | None = None
    emergency_state: EmergencyState | None = None
    start_credit_due_eur: Decimal | None = None
    supply_state: SupplyState | None = None
    power_limit_kw: Decimal | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel {self.channel} is not 0 (electricity) or 1-4 (gas)")
        if self.channel and self.power_limit_kw is not None:
            raise ValueError("a gas account has no limiter")
        limited = self.supply_state is SupplyState.LIMITED
        if limited != (self.power_limit_kw is not None) and self.supply_state in (
            SupplyState.CONNECTED,
            SupplyState.LIMITED,
        ):
            raise ValueError("a closed breaker is LIMITED exactly when a limit is set")

    @property
    def energy(self) -> str:
        return "electricity" if self.channel == 0 else "gas"


def credit_status(acc: AccountBase) -> CreditStatus:
    """DLMS Account (class 111) credit status of an account."""
    es = acc.emergency_state
    bits = NO_CREDIT_STATUS
    if acc.balance_eur > 0:
        bits |= CreditStatus.IN_CREDIT
    if acc.low_credit:
        bits |= CreditStatus.LOW_CREDIT
    if acc.emergency_limit_eur > 0 and es in (EmergencyState.ENABLED, EmergencyState.INVOKED):
        bits |= CreditStatus.EMERGENCY_CREDIT_ENABLED
    if es is EmergencyState.SELECTABLE:
        bits |= CreditStatus.EMERGENCY_CREDIT_SELECTABLE
    if es is EmergencyState.IN_USE:
        bits |= CreditStatus.EMERGENCY_CREDIT_IN_USE
    if acc.exhausted:
        bits |= CreditStatus.OUT_OF_CREDIT
    return bits


def p1_account(account: AccountBase, channel: int | None = None) -> P1Account:
    """What the P1 lines say of `account`; `channel` defaults to 0 (electricity) or 1 (gas)."""
    gas = account.config.energy == "gas"
    b = (1 if gas else 0) if channel is None else channel
    if b not in CHANNELS or (gas and b == 0) or (not gas and b != 0):
        raise ValueError(
            f"channel {b} does not fit a {account.config.energy} account (0 electricity, 1-4 gas)"
        )
    return P1Account(
        channel=b,
        balance_eur=account.balance_eur.quantize(CENT),
        credit_status=credit_status(account),
        emergency_remaining_eur=account.emergency_remaining_eur.quantize(CENT),
        debt_eur=account.debt_eur.quantize(CENT),
        emergency_state=account.emergency_state,
        start_credit_due_eur=account.start_credit_due_eur.quantize(CENT),
        supply_state=account.supply_state,
        power_limit_kw=account.power_limit_kw,
    )


def encode(state: P1Account) -> P1Values:
    """OBIS code -> (value, unit) of the lines of one account (absent fields print no line)."""
    b = state.channel
    values: P1Values = {f"0-{b}:19.0.0": (int(state.credit_status), None)}
    money = (
        ("19.10.0", state.balance_eur),
        ("19.10.1", state.emergency_remaining_eur),
        ("19.10.2", state.debt_eur),
    )
    for cd, amount in money:
        if amount is not None:
            values[f"0-{b}:{cd}"] = (amount.quantize(CENT), "EUR")
    if state.emergency_state is not None:
        values[f"0-{b}:19.11.1"] = (int(state.emergency_state), None)
    if state.start_credit_due_eur is not None:
        values[f"0-{b}:19.20.0"] = (state.start_credit_due_eur.quantize(CENT), "EUR")
    if b == 0:
        if state.supply_state is not None:
            values[ELECTRICITY_BREAKER] = (state.supply_state.breaker, None)
        limit = state.power_limit_kw
        values[LIMITER_THRESHOLD] = (NO_LIMIT_KW if limit is None else limit, "kW")
    elif state.supply_state is not None:
        values[f"0-{b}:24.4.0"] = (state.supply_state.breaker, None)
    return values


def p1_values(account: AccountBase, channel: int | None = None) -> P1Values:
    """OBIS code -> (value, unit) for the account; `channel` defaults to 0 (electricity) or 1 (gas)."""
    return encode(p1_account(account, channel))


def decode(values: Mapping[str, object]) -> dict[str, P1Account]:
    """Every account in a telegram's OBIS code -> value mapping, by energy (electricity first).

    An account is there when its balance line (0-B:19.10.0) is a number (of two gas channels, the
    last one).
    A missing or unreadable line is None (the status bits: 0); an unknown breaker or emergency code too.
    """
    out: dict[str, P1Account] = {}
    for b in CHANNELS:
        balance = _decimal(values.get(f"0-{b}:19.10.0"))
        if balance is None:
            continue
        energy = "electricity" if b == 0 else "gas"
        limit = _decimal(values.get(LIMITER_THRESHOLD)) if b == 0 else None
        if limit is not None and limit >= NO_LIMIT_FROM_KW:
            limit = None
        breaker = _int(values.get(ELECTRICITY_BREAKER if b == 0 else f"0-{b}:24.4.0"))
        supply = None if breaker is None else _SUPPLY_BY_BREAKER.get(breaker)
        if supply is SupplyState.CONNECTED and limit is not None:
            supply = SupplyState.LIMITED
        status = _int(values.get(f"0-{b}:19.0.0"))
        emergency = _int(values.get(f"0-{b}:19.11.1"))
        out[energy] = P1Account(
            channel=b,
            balance_eur=balance,
            credit_status=CreditStatus(status or 0),
            emergency_remaining_eur=_decimal(values.get(f"0-{b}:19.10.1")),
            debt_eur=_decimal(values.get(f"0-{b}:19.10.2")),
            emergency_state=_EMERGENCY_BY_CODE.get(emergency) if emergency is not None else None,
            start_credit_due_eur=_decimal(values.get(f"0-{b}:19.20.0")),
            supply_state=supply,
            power_limit_kw=limit,
        )
    return out


def notifications(old: P1Account | None, new: P1Account, at: datetime) -> list[Notification]:
    """What the account would have told between two successive P1 states of it (`old` None: first seen).

    Low credit and emergency credit are told on first sight too; supply changes only against an `old`.
    Credit running out while the supply stays on, with no limit, is a deferred interruption (a friendly
    period, or a protected customer's gas winter aid).
    """
    notes: list[Notification] = []
    energy, balance = new.energy, new.balance_eur

    def note(kind: NotificationKind, message: messages.Text) -> None:
        notes.append(Notification(kind, at, energy, str(message), balance, message))

    was = old.credit_status if old is not None else NO_CREDIT_STATUS
    now = new.credit_status
    if CreditStatus.LOW_CREDIT in now and CreditStatus.LOW_CREDIT not in was:
        note(NotificationKind.LOW_CREDIT, messages.low_credit(balance))
    emergency = new.emergency_state
    if emergency is not (old.emergency_state if old is not None else None):
        if emergency is EmergencyState.SELECTABLE:
            note(NotificationKind.EMERGENCY_CREDIT_AVAILABLE, messages.emergency_credit_available_p1())
        elif emergency is EmergencyState.IN_USE:
            note(
                NotificationKind.EMERGENCY_CREDIT_IN_USE,
                messages.emergency_credit_in_use(new.emergency_remaining_eur),
            )
    supply = new.supply_state
    if (
        CreditStatus.OUT_OF_CREDIT in now
        and CreditStatus.OUT_OF_CREDIT not in was
        and supply is SupplyState.CONNECTED
    ):
        note(NotificationKind.INTERRUPTION_DEFERRED, messages.interruption_deferred_p1())
    if old is None or supply is old.supply_state or supply is None:
        return notes
    if supply is SupplyState.DISCONNECTED:
        note(NotificationKind.SUPPLY_INTERRUPTED, messages.supply_interrupted_p1(balance))
    elif supply is SupplyState.READY:
        note(NotificationKind.RECONNECTION_POSSIBLE, messages.supply_ready_p1())
    elif supply is SupplyState.LIMITED:
        note(NotificationKind.SUPPLY_LIMITED, messages.supply_limited(new.power_limit_kw))
    else:
        note(NotificationKind.SUPPLY_RESTORED, messages.supply_restored_p1())
    return notes


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    number = _int(value)
    return None if number is None else Decimal(number)
