"""Friendly periods defer the interruption; protected customers (limiter, gas winter aid) and Fluvius."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from prepayment import (
    CARD_METER_FRIENDLY,
    FriendlyPeriods,
    NotificationKind,
    PaymentPlan,
    PrepaymentAccount,
    SupplyState,
    belgian_public_holidays,
    fluvius_electricity,
    p1_values,
)

from .support import D, bru, kinds, simple, supply

K = NotificationKind


def _exhaust(acc: PrepaymentAccount, at: datetime) -> list[K]:
    """Use the whole 35 EUR (20 + 15 emergency) at `at` in one 140 kWh reading."""
    return kinds(acc.consume(D(140), "day", at))


def test_interruption_in_a_weekday_evening_waits_for_0800() -> None:
    acc = PrepaymentAccount(simple(friendly=CARD_METER_FRIENDLY), bru(2026, 6, 2, 9))  # Tuesday
    notes = _exhaust(acc, bru(2026, 6, 2, 17))
    assert K.INTERRUPTION_DEFERRED in notes and K.SUPPLY_INTERRUPTED not in notes
    assert acc.interruption_deferred_until == bru(2026, 6, 3, 8)
    assert "before 2026-06-03 08:00" in acc.state()["what_to_do"]
    acc.consume(D(4), "night", bru(2026, 6, 3, 7, 59, 59))  # still supplied, still billed
    assert acc.supply_open and acc.balance_eur == D("-15.80")
    notes = kinds(acc.advance(bru(2026, 6, 3, 8)))
    assert notes == [K.SUPPLY_INTERRUPTED]
    assert supply(acc) is SupplyState.DISCONNECTED


def test_friday_evening_defers_to_monday_morning_and_top_up_cancels() -> None:
    acc = PrepaymentAccount(simple(friendly=CARD_METER_FRIENDLY), bru(2026, 6, 5, 9))  # Friday
    _exhaust(acc, bru(2026, 6, 5, 20))
    assert acc.interruption_deferred_until == bru(2026, 6, 8, 8)
    acc.advance(bru(2026, 6, 7, 23))
    assert acc.supply_open
    acc.top_up("weekend", D("20.00"), bru(2026, 6, 7, 23, 30))
    assert acc.interruption_deferred_until is None
    acc.advance(bru(2026, 6, 8, 9))
    assert supply(acc) is SupplyState.CONNECTED


def test_public_holiday_defers_to_the_next_morning_and_cut_happens_on_time() -> None:
    friendly = FriendlyPeriods(holidays=belgian_public_holidays(2026))
    acc = PrepaymentAccount(simple(friendly=friendly), bru(2026, 7, 20, 9))
    _exhaust(acc, bru(2026, 7, 21, 10))  # national day, a Tuesday
    assert acc.interruption_deferred_until == bru(2026, 7, 22, 0)
    notes = acc.consume(D(0), "day", bru(2026, 7, 22, 0, 0, 1))
    assert kinds(notes) == [K.SUPPLY_INTERRUPTED]
    assert notes[0].at == bru(2026, 7, 22, 0)  # the cut is dated at the end of the holiday
    # and an ordinary weekday morning cuts at once
    acc2 = PrepaymentAccount(simple(friendly=friendly), bru(2026, 7, 22, 9))
    assert K.SUPPLY_INTERRUPTED in _exhaust(acc2, bru(2026, 7, 22, 10))


def test_belgian_public_holidays_2026() -> None:
    days = belgian_public_holidays(2026)
    assert len(days) == 10
    assert bru(2026, 4, 6).date() in days  # Easter Monday (Easter 5 April 2026)
    assert bru(2026, 5, 14).date() in days  # Ascension
    assert bru(2026, 5, 25).date() in days  # Whit Monday


def test_protected_customers_limiter_is_not_a_winter_measure() -> None:
    """Exhausted on 15 March: limited, and still limited on 16 March (not cut); the energy drawn
    under the limiter is debt, not balance."""
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 3, 10, 9))
    notes = _exhaust(acc, bru(2026, 3, 15, 23))
    assert K.SUPPLY_LIMITED in notes and K.SUPPLY_INTERRUPTED not in notes
    assert supply(acc) is SupplyState.LIMITED and acc.supply_open
    assert acc.power_limit_kw == D("2.3")
    assert p1_values(acc)["0-0:17.0.0"] == (D("2.3"), "kW")
    assert p1_values(acc)["0-0:96.3.10"] == (1, None)
    acc.consume(D(2), "night", bru(2026, 3, 15, 23, 59, 59))
    assert (acc.balance_eur, acc.debt_eur, acc.protection_debt_eur) == (D("-15.00"), D("0.40"), D("0.40"))
    assert p1_values(acc)["0-0:19.10.2"] == (D("0.40"), "EUR")
    assert acc.advance(bru(2026, 3, 16, 0)) == []
    assert supply(acc) is SupplyState.LIMITED and acc.power_limit_kw == D("2.3")
    assert acc.ledger.protected_supply_to_debt_cents == 40


def test_protected_customer_exhausted_in_summer_is_limited_not_cut() -> None:
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 7, 1, 9))
    notes = _exhaust(acc, bru(2026, 7, 14, 12))
    assert K.SUPPLY_LIMITED in notes and K.SUPPLY_INTERRUPTED not in notes
    acc.advance(bru(2026, 9, 1))  # standing charges while limited are debt too, nothing cuts
    assert supply(acc) is SupplyState.LIMITED
    top = acc.top_up("t", D("20.00"), bru(2026, 9, 1, 10))
    assert kinds(top.notifications) == [K.TOP_UP_ACCEPTED, K.SUPPLY_RESTORED]
    assert acc.balance_eur == D("5.00") and supply(acc) is SupplyState.CONNECTED


def test_cpas_request_in_june_puts_a_cut_customer_on_the_limiter() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 2, 9))
    assert K.SUPPLY_INTERRUPTED in _exhaust(acc, bru(2026, 6, 2, 12))
    notes = acc.start_protection(bru(2026, 6, 3, 10))
    assert kinds(notes) == [K.SUPPLY_LIMITED]
    assert supply(acc) is SupplyState.LIMITED and acc.power_limit_kw == D("2.3")
    assert acc.protected_since == bru(2026, 6, 3, 10)
    assert acc.state()["protection"] == {
        "since": "2026-06-03T10:00:00+02:00",
        "guaranteed_until": "2027-03-16T00:00:00+01:00",  # 3 Dec is in the winter: through it
        "debt_eur": 0.0,
    }


def test_protection_guarantee_is_six_months_and_through_the_winter() -> None:
    jan = PrepaymentAccount(simple(protected_customer=True), bru(2026, 1, 10, 9))
    assert jan.protection_guaranteed_until == bru(2026, 7, 10, 9)
    sep = PrepaymentAccount(simple(protected_customer=True), bru(2026, 9, 20, 9))
    assert sep.protection_guaranteed_until == bru(2027, 3, 20, 9)  # after the winter already
    aug = PrepaymentAccount(simple(protected_customer=True), bru(2026, 8, 31, 9))
    assert aug.protection_guaranteed_until == bru(2027, 3, 16)  # 28 Feb is in the winter


def test_protection_ends_only_after_the_guarantee_and_the_debt_are_over() -> None:
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 1, 10, 9))
    _exhaust(acc, bru(2026, 7, 1, 12))
    acc.consume(D(8), "day", bru(2026, 7, 1, 13))  # 2.00 EUR under the limiter
    acc.top_up("t1", D("20.00"), bru(2026, 7, 2, 9))
    assert supply(acc) is SupplyState.CONNECTED and acc.protection_debt_eur == D("2.00")
    with pytest.raises(ValueError, match=r"2\.00 EUR drawn under it"):
        acc.end_protection(bru(2026, 7, 20, 9))
    acc.set_payment_plan(PaymentPlan(D("1.00"), bru(2026, 7, 21).date(), 1), bru(2026, 7, 20, 10))
    acc.advance(bru(2026, 7, 22, 1))  # two instalments repay it
    assert acc.debt_eur == D("0.00") and acc.protection_debt_eur == D("0.00")
    acc.end_protection(bru(2026, 7, 22, 9))
    assert acc.protected_since is None and acc.state()["protection"] is None
    assert K.SUPPLY_INTERRUPTED in kinds(acc.consume(D(200), "day", bru(2026, 7, 22, 10)))


def test_protection_cannot_end_inside_its_guarantee() -> None:
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 6, 1, 9))
    with pytest.raises(ValueError, match="guaranteed until 2027-03-16 00:00"):
        acc.end_protection(bru(2026, 12, 2, 9))
    acc.end_protection(bru(2027, 3, 16))
    with pytest.raises(ValueError, match="not protected"):
        acc.end_protection(bru(2027, 3, 17))


def test_unprotected_customer_is_cut_in_winter() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 12, 1, 9))
    assert K.SUPPLY_INTERRUPTED in _exhaust(acc, bru(2026, 12, 1, 12))


def test_protected_gas_customer_gets_the_winter_aid_as_debt_until_15_march() -> None:
    from prepayment import ores_gas

    cfg = ores_gas(accounting="immediate", protected_customer=True, standing_charge_eur_per_day=D("0"))
    acc = PrepaymentAccount(cfg, bru(2026, 3, 10, 9))
    acc.consume(D(400), "single", bru(2026, 3, 10, 12))  # 44 EUR > 35 EUR of credit
    assert acc.exhausted and supply(acc) is SupplyState.CONNECTED
    assert acc.power_limit_kw is None
    acc.consume(D(100), "single", bru(2026, 3, 12, 12))  # 11 EUR of gas supplied by the DSO
    assert acc.debt_eur == D("11.00") and acc.protection_debt_eur == D("11.00")
    notes = acc.advance(bru(2026, 3, 16, 0))  # the winter aid ends: gas, unlike the limiter, is cut
    assert kinds(notes) == [K.SUPPLY_INTERRUPTED]


def test_protected_gas_customer_is_cut_in_summer() -> None:
    from prepayment import ores_gas

    acc = PrepaymentAccount(ores_gas(accounting="immediate", protected_customer=True), bru(2026, 6, 1, 9))
    assert K.SUPPLY_INTERRUPTED in kinds(acc.consume(D(400), "single", bru(2026, 6, 1, 12)))


def test_fluvius_limits_to_10_amps_after_50_eur_emergency_credit() -> None:
    cfg = fluvius_electricity(tariffs_eur={"day": D("0.25")}, standing_charge_eur_per_day=D("0"))
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    notes = kinds(acc.consume(D(279), "day", bru(2026, 6, 1, 10)))  # 69.75 EUR of 70
    assert supply(acc) is SupplyState.CONNECTED and K.EMERGENCY_CREDIT_IN_USE in notes
    notes = kinds(acc.consume(D(1), "day", bru(2026, 6, 1, 11)))
    assert notes == [K.SUPPLY_LIMITED]
    assert acc.power_limit_kw == D("2.3") and acc.balance_eur == D("-50.00")
    assert acc.emergency_remaining_eur == D("0.00")
    res = acc.top_up("f1", D("50.49"), bru(2026, 6, 1, 12))
    assert supply(acc) is SupplyState.LIMITED  # 0.49 EUR
    res = acc.top_up("f2", D("0.01"), bru(2026, 6, 1, 12, 1))
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED, K.SUPPLY_RESTORED]
    assert supply(acc) is SupplyState.CONNECTED and acc.power_limit_kw is None
    assert timedelta(0) == acc.now - bru(2026, 6, 1, 12, 1)
