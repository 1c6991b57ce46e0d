"""Property: money is never created nor lost, whatever the sequence of events.

The expected charges are computed independently of the account: consumption = per tariff period
floor(total energy x price) in cents, standing charges = floor(local midnights x daily rate).
Then  delta(balance - unposted) - delta(debt) - delta(start credit due)
   == unique top-ups - consumption - standing charges - explicit debts.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prepayment import (
    CARD_METER_FRIENDLY,
    AccountConfig,
    PaymentPlan,
    PrepaymentAccount,
    TopUpConflict,
)
from prepayment.config import Accounting, Activation, Energy

from .support import BRU, D, bru

PRICES = {"day": D("0.3172"), "night": D("0.2149")}
STANDING = D("0.2877")

events = st.lists(
    st.one_of(
        st.tuples(
            st.just("consume"),
            st.sampled_from(["day", "night"]),
            st.integers(0, 3_000_000).map(lambda n: Decimal(n).scaleb(-6)),  # up to 3 kWh, 1 mWh
            st.integers(0, 7200),
        ),
        st.tuples(st.just("advance"), st.integers(0, 3 * 86400)),
        st.tuples(st.just("top_up"), st.integers(0, 6)),
        st.tuples(
            st.just("button"),
        ),
        st.tuples(
            st.just("power_cut"),
        ),
        st.tuples(st.just("debt"), st.integers(1, 5000)),
        st.tuples(st.just("plan"), st.integers(0, 800), st.sampled_from(["0", "0.25", "1"])),
    ),
    max_size=60,
)


def _amount(i: int) -> Decimal:
    return Decimal(137 * i + 50).scaleb(-2)  # top-up "t<i>" always has the same amount


@settings(max_examples=150, deadline=None)
@given(
    ev=events,
    accounting=st.sampled_from(["immediate", "central"]),
    energy=st.sampled_from(["electricity", "gas"]),
    friendly=st.booleans(),
    protected=st.booleans(),
    activation=st.sampled_from(["auto", "button"]),
)
def test_money_conservation(
    ev: list[tuple[Any, ...]],
    accounting: Accounting,
    energy: Energy,
    friendly: bool,
    protected: bool,
    activation: Activation,
) -> None:
    cfg = AccountConfig(
        energy=energy,
        tariffs_eur=PRICES,
        standing_charge_eur_per_day=STANDING,
        accounting=accounting,
        friendly=CARD_METER_FRIENDLY if friendly else None,
        protected_customer=protected,
        emergency_activation=activation,
    )
    t = bru(2026, 3, 10, 15, 17)
    acc = PrepaymentAccount(cfg, t)
    b0, d0, s0, u0 = acc.balance_eur, acc.debt_eur, acc.start_credit_due_eur, acc.unposted_eur
    energy_by_period = {"day": D(0), "night": D(0)}
    top_ups: dict[str, Decimal] = {}
    debts = D(0)
    for e in ev:
        kind = e[0]
        if kind == "consume":
            t += timedelta(seconds=e[3])
            acc.consume(e[2], e[1], t)
            energy_by_period[e[1]] += e[2]
        elif kind == "advance":
            t += timedelta(seconds=e[1])
            acc.advance(t)
        elif kind == "top_up":
            tid = f"t{e[1]}"
            acc.top_up(tid, _amount(e[1]), t)
            top_ups[tid] = _amount(e[1])
        elif kind == "button":
            acc.press_button(t)
        elif kind == "power_cut":
            acc.power_cut(t)
        elif kind == "debt":
            amount = Decimal(e[1]).scaleb(-2)
            acc.add_debt(amount, t)
            debts += amount
        else:
            plan = PaymentPlan(Decimal(e[1]).scaleb(-2), t.date(), 1, Decimal(e[2]))
            acc.set_payment_plan(plan, t)
    consumption = sum(
        ((energy_by_period[p] * PRICES[p]).quantize(D("0.01"), rounding=ROUND_FLOOR) for p in PRICES),
        D(0),
    )
    midnights = (t.astimezone(BRU).date() - bru(2026, 3, 10).date()).days
    standing = (midnights * STANDING).quantize(D("0.01"), rounding=ROUND_FLOOR)
    lhs = (
        (acc.balance_eur - acc.unposted_eur)
        - (b0 - u0)
        - (acc.debt_eur - d0)
        - (acc.start_credit_due_eur - s0)
    )
    assert lhs == sum(top_ups.values(), D(0)) - consumption - standing - debts
    ledger = acc.ledger
    assert ledger.consumption_cents == int(consumption * 100)
    assert ledger.standing_cents == int(standing * 100)
    assert acc.debt_eur >= 0 and acc.start_credit_due_eur >= 0


def test_conflicting_top_up_changes_nothing() -> None:
    acc = PrepaymentAccount(AccountConfig(), bru(2026, 6, 1))
    acc.top_up("a", D("5.00"), bru(2026, 6, 1, 1))
    with pytest.raises(TopUpConflict):
        acc.top_up("a", D("6.00"), bru(2026, 6, 1, 2))
    assert acc.ledger.top_ups_cents == 500
