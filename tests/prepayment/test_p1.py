"""The P1 codec of the prepayment lines: any account state -> lines -> decoded state equals the original."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from dsmr_parser import Value, build_telegram, parse_telegram
from prepayment import (
    CreditStatus,
    EmergencyState,
    NotificationKind,
    P1Account,
    PrepaymentAccount,
    SupplyState,
    ores_electricity,
    ores_gas,
)
from prepayment.p1 import decode, encode, notifications, p1_account, p1_values

AT = datetime(2026, 11, 22, 14, 3, 5, tzinfo=ZoneInfo("Europe/Brussels"))
# within what the meter prints: 4 integer digits of EUR, 3 of kW with one decimal
EUR = st.integers(-999_999, 999_999).map(lambda cents: Decimal(cents).scaleb(-2))
KW = st.integers(1, 9989).map(lambda tenths: Decimal(tenths).scaleb(-1))


def optional(strategy: st.SearchStrategy[Decimal]) -> st.SearchStrategy[Decimal | None]:
    return st.none() | strategy


@st.composite
def p1_accounts(draw: st.DrawFn) -> P1Account:
    channel = draw(st.integers(0, 4))
    supply = draw(st.none() | st.sampled_from(SupplyState))
    limit: Decimal | None = None
    if channel == 0 and supply is not SupplyState.CONNECTED:
        limit = draw(KW) if supply is SupplyState.LIMITED else draw(optional(KW))
    if channel != 0 and supply is SupplyState.LIMITED:
        supply = SupplyState.CONNECTED  # gas has no limiter
    return P1Account(
        channel=channel,
        balance_eur=draw(EUR),
        credit_status=CreditStatus(draw(st.integers(0, 127))),
        emergency_remaining_eur=draw(optional(EUR)),
        debt_eur=draw(optional(EUR)),
        emergency_state=draw(st.none() | st.sampled_from(EmergencyState)),
        start_credit_due_eur=draw(optional(EUR)),
        supply_state=supply,
        power_limit_kw=limit,
    )


@given(p1_accounts())
def test_decode_of_encode_is_the_identity(account: P1Account) -> None:
    values = {code: value for code, (value, _unit) in encode(account).items()}
    assert decode(values) == {account.energy: account}


@given(p1_accounts())
def test_the_printed_lines_parse_back_to_the_same_state(account: P1Account) -> None:
    lines = {code: Value(value, unit) for code, (value, unit) in encode(account).items()}
    fields: dict[str, Value | str | datetime] = {"0-0:96.1.1": "1SAG1100000292", "0-0:1.0.0": AT, **lines}
    telegram = parse_telegram(build_telegram("FLU5\\253769484_A", fields))
    decoded = decode({code: value.value for code, value in telegram.values.items()})
    assert decoded == {account.energy: account}


def test_an_account_encodes_as_its_lines() -> None:
    acc = PrepaymentAccount(ores_electricity(), AT)
    state = p1_account(acc)
    assert state.supply_state is SupplyState.CONNECTED and state.balance_eur == Decimal("20.00")
    assert CreditStatus.IN_CREDIT in state.credit_status
    assert p1_values(acc) == encode(state)
    gas = PrepaymentAccount(ores_gas(), AT)
    assert decode({c: v for c, (v, _) in p1_values(gas, 2).items()})["gas"] == p1_account(gas, 2)


def test_transitions_are_told_with_the_domain_notification_kinds() -> None:
    base = P1Account(channel=0, balance_eur=Decimal("6.00"), credit_status=CreditStatus.IN_CREDIT)
    connected = replace(base, supply_state=SupplyState.CONNECTED)
    low = replace(connected, credit_status=CreditStatus.IN_CREDIT | CreditStatus.LOW_CREDIT)
    off = replace(low, supply_state=SupplyState.DISCONNECTED)
    ready = replace(low, supply_state=SupplyState.READY)
    limited = replace(low, supply_state=SupplyState.LIMITED, power_limit_kw=Decimal("2.3"))

    def kinds(old: P1Account | None, new: P1Account) -> list[NotificationKind]:
        return [note.kind for note in notifications(old, new, AT)]

    assert kinds(None, connected) == []
    assert kinds(connected, low) == [NotificationKind.LOW_CREDIT]
    assert kinds(low, off) == [NotificationKind.SUPPLY_INTERRUPTED]
    assert kinds(off, ready) == [NotificationKind.RECONNECTION_POSSIBLE]
    assert kinds(ready, low) == [NotificationKind.SUPPLY_RESTORED]
    assert kinds(low, limited) == [NotificationKind.SUPPLY_LIMITED]
    in_use = replace(low, emergency_state=EmergencyState.IN_USE)
    assert kinds(low, in_use) == [NotificationKind.EMERGENCY_CREDIT_IN_USE]
    exhausted = replace(connected, credit_status=CreditStatus.OUT_OF_CREDIT)
    assert kinds(connected, exhausted) == [NotificationKind.INTERRUPTION_DEFERRED]
    note = notifications(connected, low, AT)[0]
    assert note.energy == "electricity" and note.balance_eur == Decimal("6.00") and note.at == AT
