"""Friendly periods defer the interruption; winter protection and Fluvius limit instead of cutting."""

from __future__ import annotations

from datetime import datetime, timedelta

from prepayment import (
    CARD_METER_FRIENDLY,
    FriendlyPeriods,
    NotificationKind,
    PrepaymentAccount,
    SupplyState,
    belgian_public_holidays,
    fluvius_electricity,
    p1_values,
)

from .support import D, bru, kinds, simple

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
    assert acc.supply_state is SupplyState.DISCONNECTED


def test_friday_evening_defers_to_monday_morning_and_top_up_cancels() -> None:
    acc = PrepaymentAccount(simple(friendly=CARD_METER_FRIENDLY), bru(2026, 6, 5, 9))  # Friday
    _exhaust(acc, bru(2026, 6, 5, 20))
    assert acc.interruption_deferred_until == bru(2026, 6, 8, 8)
    acc.advance(bru(2026, 6, 7, 23))
    assert acc.supply_open
    acc.top_up("weekend", D("20.00"), bru(2026, 6, 7, 23, 30))
    assert acc.interruption_deferred_until is None
    acc.advance(bru(2026, 6, 8, 9))
    assert acc.supply_state is SupplyState.CONNECTED


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


def test_winter_protection_limits_until_15_march_then_cuts() -> None:
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 3, 10, 9))
    notes = _exhaust(acc, bru(2026, 3, 15, 23))
    assert K.SUPPLY_LIMITED in notes and K.SUPPLY_INTERRUPTED not in notes
    assert acc.supply_state is SupplyState.LIMITED and acc.supply_open
    assert acc.power_limit_kw == D("2.3")
    assert p1_values(acc)["0-0:17.0.0"] == (D("2.3"), "kW")
    assert p1_values(acc)["0-0:96.3.10"] == (1, None)
    acc.consume(D(2), "night", bru(2026, 3, 15, 23, 59, 59))
    assert acc.balance_eur == D("-15.40")  # energy under the limiter is still billed
    notes = acc.advance(bru(2026, 3, 16, 0))
    assert kinds(notes) == [K.SUPPLY_INTERRUPTED]
    assert acc.power_limit_kw is None
    assert p1_values(acc)["0-0:17.0.0"] == (D("999.9"), "kW")


def test_winter_protection_starts_1_november_for_a_cut_customer() -> None:
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 10, 30, 9))
    assert K.SUPPLY_INTERRUPTED in _exhaust(acc, bru(2026, 10, 31, 12))
    acc.advance(bru(2026, 10, 31, 23, 59, 59))
    assert acc.supply_state is SupplyState.DISCONNECTED
    notes = acc.advance(bru(2026, 11, 1, 0))
    assert kinds(notes) == [K.SUPPLY_LIMITED]
    assert acc.power_limit_kw == D("2.3")


def test_unprotected_customer_is_cut_in_winter() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 12, 1, 9))
    assert K.SUPPLY_INTERRUPTED in _exhaust(acc, bru(2026, 12, 1, 12))


def test_protected_gas_customer_keeps_gas_in_winter() -> None:
    from prepayment import ores_gas

    cfg = ores_gas(accounting="immediate", protected_customer=True)
    acc = PrepaymentAccount(cfg, bru(2026, 1, 10, 9))
    acc.consume(D(400), "single", bru(2026, 1, 10, 12))  # 44 EUR > 35 EUR of credit
    assert acc.exhausted and acc.supply_state is SupplyState.CONNECTED
    assert acc.power_limit_kw is None


def test_fluvius_limits_to_10_amps_after_50_eur_emergency_credit() -> None:
    cfg = fluvius_electricity(tariffs_eur={"day": D("0.25")}, standing_charge_eur_per_day=D("0"))
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    notes = kinds(acc.consume(D(279), "day", bru(2026, 6, 1, 10)))  # 69.75 EUR of 70
    assert acc.supply_state is SupplyState.CONNECTED and K.EMERGENCY_CREDIT_IN_USE in notes
    notes = kinds(acc.consume(D(1), "day", bru(2026, 6, 1, 11)))
    assert notes == [K.SUPPLY_LIMITED]
    assert acc.power_limit_kw == D("2.3") and acc.balance_eur == D("-50.00")
    assert acc.emergency_remaining_eur == D("0.00")
    res = acc.top_up("f1", D("50.49"), bru(2026, 6, 1, 12))
    assert acc.supply_state is SupplyState.LIMITED  # 0.49 EUR
    res = acc.top_up("f2", D("0.01"), bru(2026, 6, 1, 12, 1))
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED, K.SUPPLY_RESTORED]
    assert acc.supply_state is SupplyState.CONNECTED and acc.power_limit_kw is None
    assert timedelta(0) == acc.now - bru(2026, 6, 1, 12, 1)
