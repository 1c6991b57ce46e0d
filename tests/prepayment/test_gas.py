"""Gas: interruption, 0.50 EUR rule, the customer's leak test (pass, fail, timeout) and power cuts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prepayment import NotificationKind, PrepaymentAccount, SupplyState, ores_gas, p1_values

from .support import D, bru, kinds, supply

K = NotificationKind


def _gas_cut() -> PrepaymentAccount:
    """ORES gas, 0.11 EUR/kWh: 20 EUR + 15 EUR emergency = 318.18 kWh; the 319th kWh cuts."""
    cfg = ores_gas(
        accounting="immediate",
        standing_charge_eur_per_day=D("0"),
        start_credit_recovery_eur_per_day=D("0"),
    )
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    for i in range(1, 320):
        notes = acc.consume(D(1), "single", bru(2026, 6, 1, 9) + timedelta(seconds=i))
        if i == 318:
            assert acc.supply_open
        if i == 319:
            assert kinds(notes) == [K.SUPPLY_INTERRUPTED]
    assert acc.balance_eur == D("-15.09")
    assert p1_values(acc)["0-1:24.4.0"] == (0, None)
    return acc


def test_gas_reconnects_only_after_a_passed_leak_test() -> None:
    acc = _gas_cut()
    t = bru(2026, 6, 1, 12)
    acc.top_up("g1", D("15.49"), t)  # 0.40 EUR: not enough
    assert supply(acc) is SupplyState.DISCONNECTED
    with pytest.raises(ValueError, match="needs it 'ready'"):
        acc.start_leak_test(t)
    acc.top_up("g2", D("0.10"), t + timedelta(seconds=1))
    assert supply(acc) is SupplyState.READY
    assert p1_values(acc)["0-1:24.4.0"] == (2, None)
    assert "leak test" in acc.state()["what_to_do"]
    notes = acc.press_button(t + timedelta(minutes=1), held_s=3)  # the gas button starts the test
    assert kinds(notes) == [K.LEAK_TEST_STARTED]
    assert acc.leak_test_until == t + timedelta(minutes=13)
    acc.advance(t + timedelta(minutes=12, seconds=59))
    assert supply(acc) is SupplyState.READY  # still testing
    notes = acc.advance(t + timedelta(minutes=13))
    assert kinds(notes) == [K.SUPPLY_RESTORED]
    assert supply(acc) is SupplyState.CONNECTED
    assert p1_values(acc)["0-1:24.4.0"] == (1, None)


def test_leak_test_fails_on_unexpected_flow_and_can_be_retried() -> None:
    acc = _gas_cut()
    t = bru(2026, 6, 1, 12)
    acc.top_up("g1", D("20.00"), t)
    acc.start_leak_test(t + timedelta(minutes=1))
    notes = acc.consume(D("0.002"), "single", t + timedelta(minutes=5))  # an appliance left open
    assert kinds(notes) == [K.LEAK_TEST_FAILED]
    assert supply(acc) is SupplyState.READY and acc.leak_test_until is None
    acc.advance(t + timedelta(minutes=30))
    assert supply(acc) is SupplyState.READY  # a failed test never opens the valve
    acc.start_leak_test(t + timedelta(minutes=31))
    notes = acc.finish_leak_test(t + timedelta(minutes=35), flow_detected=True)
    assert kinds(notes) == [K.LEAK_TEST_FAILED]
    acc.start_leak_test(t + timedelta(minutes=36))
    notes = acc.report_flow(D("0"), t + timedelta(minutes=37))
    assert notes == []
    notes = acc.finish_leak_test(t + timedelta(minutes=40), flow_detected=False)
    assert kinds(notes) == [K.SUPPLY_RESTORED] and acc.supply_open
    with pytest.raises(ValueError, match="no leak test is running"):
        acc.finish_leak_test(t + timedelta(minutes=41), flow_detected=False)


def test_power_cut_closes_the_valve_until_a_new_leak_test() -> None:
    acc = PrepaymentAccount(ores_gas(accounting="immediate"), bru(2026, 6, 1, 9))
    t = bru(2026, 6, 1, 10)
    notes = acc.power_cut(t)
    assert kinds(notes) == [K.RECONNECTION_POSSIBLE]
    assert supply(acc) is SupplyState.READY and not acc.supply_open
    acc.start_leak_test(t + timedelta(minutes=5))
    acc.report_flow(D("0.01"), t + timedelta(minutes=6))
    assert supply(acc) is SupplyState.READY
    acc.start_leak_test(t + timedelta(minutes=7))
    acc.advance(t + timedelta(minutes=19))
    assert supply(acc) is SupplyState.CONNECTED


def test_power_cut_during_leak_test_aborts_it() -> None:
    acc = PrepaymentAccount(ores_gas(accounting="immediate"), bru(2026, 6, 1, 9))
    t = bru(2026, 6, 1, 10)
    acc.power_cut(t)
    acc.start_leak_test(t + timedelta(minutes=1))
    acc.power_cut(t + timedelta(minutes=5))
    acc.advance(t + timedelta(minutes=30))
    assert supply(acc) is SupplyState.READY and acc.leak_test_until is None


def test_electricity_power_cut_changes_nothing() -> None:
    from prepayment import ores_electricity

    acc = PrepaymentAccount(ores_electricity(), bru(2026, 6, 1, 9))
    assert acc.power_cut(bru(2026, 6, 1, 10)) == []
    assert supply(acc) is SupplyState.CONNECTED
