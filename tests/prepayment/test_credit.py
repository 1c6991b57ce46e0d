"""Start credit, notifications, interruption and the 0.50 EUR + button reconnection (electricity)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from prepayment import (
    AccountConfig,
    EmergencyState,
    NotificationKind,
    PrepaymentAccount,
    SupplyState,
    TopUpConflict,
    ores_electricity,
    p1_values,
)

from .support import D, bru, emergency, kinds, simple, supply

K = NotificationKind


def test_start_credit_recovered_at_one_euro_a_day_on_top_of_standing_charge() -> None:
    acc = PrepaymentAccount(ores_electricity(accounting="immediate"), bru(2026, 6, 1, 12))
    assert acc.balance_eur == D("20.00")
    assert acc.start_credit_due_eur == D("20.00")
    acc.advance(bru(2026, 6, 3, 23, 59))  # two local midnights: 2 and 3 June
    assert acc.balance_eur == D("20.00") - 2 * (D("1.00") + D("0.30"))
    assert acc.start_credit_due_eur == D("18.00")
    notes = acc.advance(bru(2026, 6, 21, 0, 0))  # midnights 4..21 June: 18 more
    assert acc.start_credit_due_eur == D("0.00")
    assert kinds(notes).count(K.START_CREDIT_RECOVERED) == 1
    assert acc.balance_eur == D("20.00") - 20 * D("1.30")
    acc.advance(bru(2026, 6, 22, 0, 0))  # after recovery only the standing charge remains
    assert acc.balance_eur == D("20.00") - 20 * D("1.30") - D("0.30")
    assert acc.ledger.start_credit_recovered_cents == 2000


def test_carried_over_balance_is_topped_up_to_the_start_credit() -> None:
    low = PrepaymentAccount(simple(), bru(2026, 6, 1), carried_over_eur=D("12.34"))
    assert (low.balance_eur, low.start_credit_due_eur) == (D("20.00"), D("7.66"))
    high = PrepaymentAccount(simple(), bru(2026, 6, 1), carried_over_eur=D("25.00"))
    assert (high.balance_eur, high.start_credit_due_eur) == (D("25.00"), D("0.00"))


def _run_down(acc: PrepaymentAccount, kwh: int, start_minute: int = 0) -> dict[int, list[K]]:
    """Consume 1 kWh (day tariff) per minute; return the notifications by kWh count."""
    seen: dict[int, list[K]] = {}
    for i in range(1, kwh + 1):
        notes = acc.consume(D(1), "day", bru(2026, 6, 1, 9) + timedelta(minutes=start_minute + i))
        if notes:
            seen[i] = kinds(notes)
    return seen


def test_low_credit_emergency_and_interruption_figures() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 1, 9))
    seen = _run_down(acc, 140)
    # 20 EUR at 0.25 EUR/kWh: 5.00 EUR left after 60 kWh, 0 after 80, the 15 EUR emergency
    # credit is gone after 140.
    assert seen == {
        60: [K.LOW_CREDIT],
        80: [K.EMERGENCY_CREDIT_IN_USE],
        140: [K.SUPPLY_INTERRUPTED],
    }
    assert acc.balance_eur == D("-15.00")
    assert emergency(acc) is EmergencyState.EXHAUSTED
    assert supply(acc) is SupplyState.DISCONNECTED and not acc.supply_open
    p1 = p1_values(acc)
    assert p1["0-0:96.3.10"] == (0, None)
    assert p1["0-0:19.10.0"] == (D("-15.00"), "EUR")
    assert p1["0-0:19.10.1"] == (D("0.00"), "EUR")
    assert p1["0-0:19.11.1"] == (4, None)
    assert p1["0-0:19.0.0"] == (2 | 64, None)  # low credit + out of credit


def test_emergency_credit_in_use_state_midway() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 1, 9))
    _run_down(acc, 100)  # balance -5.00
    assert emergency(acc) is EmergencyState.IN_USE
    assert acc.emergency_remaining_eur == D("10.00")
    assert acc.supply_open
    assert acc.state()["what_to_do"].startswith("Emergency credit in use (10.00 EUR left)")


def test_top_up_to_040_does_not_reconnect_050_and_button_does() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 1, 9))
    _run_down(acc, 140)
    t = bru(2026, 6, 1, 12)
    res = acc.top_up("tx-1", D("15.40"), t)
    assert res.balance_eur == D("0.40") and not res.duplicate
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED]
    assert supply(acc) is SupplyState.DISCONNECTED
    assert acc.state()["what_to_do"] == "Top up at least 0.10 EUR, then hold the green button for 3 s"
    acc.press_button(t + timedelta(seconds=10))
    assert supply(acc) is SupplyState.DISCONNECTED  # a press without 0.50 EUR does nothing
    res = acc.top_up("tx-2", D("0.10"), t + timedelta(minutes=1))
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED, K.RECONNECTION_POSSIBLE]
    assert supply(acc) is SupplyState.READY and p1_values(acc)["0-0:96.3.10"] == (2, None)
    assert not acc.supply_open
    acc.press_button(t + timedelta(minutes=2), held_s=1)  # too short
    assert supply(acc) is SupplyState.READY
    notes = acc.press_button(t + timedelta(minutes=3), held_s=5)
    assert kinds(notes) == [K.SUPPLY_RESTORED]
    assert supply(acc) is SupplyState.CONNECTED and p1_values(acc)["0-0:96.3.10"] == (1, None)
    assert emergency(acc) is EmergencyState.ENABLED
    assert acc.emergency_remaining_eur == D("15.00")


def test_what_to_do_names_the_missing_amount() -> None:
    acc = PrepaymentAccount(simple(emergency_credit_eur=D("0")), bru(2026, 6, 1, 9))
    _run_down(acc, 80)
    acc.top_up("a", D("0.15"), bru(2026, 6, 1, 11))
    assert acc.balance_eur == D("0.15")
    assert acc.state()["what_to_do"] == "Top up at least 0.35 EUR, then hold the green button for 3 s"


def test_button_activated_emergency_credit() -> None:
    cfg = simple(emergency_activation="button")
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    seen = _run_down(acc, 80)
    assert seen[76] == [K.EMERGENCY_CREDIT_AVAILABLE]  # balance 1.00 EUR: selectable
    assert seen[80] == [K.SUPPLY_INTERRUPTED]  # not invoked: zero balance cuts
    assert emergency(acc) is EmergencyState.SELECTABLE
    notes = acc.press_button(bru(2026, 6, 1, 11))
    assert K.SUPPLY_RESTORED in kinds(notes)
    assert acc.supply_open and acc.emergency_remaining_eur == D("15.00")
    acc.consume(D(4), "day", bru(2026, 6, 1, 11, 1))
    assert emergency(acc) is EmergencyState.IN_USE
    assert acc.emergency_remaining_eur == D("14.00")


def test_duplicate_top_up_is_credited_once_and_conflict_is_refused() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 1, 9))
    first = acc.top_up("bpost-77", D("10.00"), bru(2026, 6, 1, 10))
    again = acc.top_up("bpost-77", D("10.00"), bru(2026, 6, 1, 11))
    assert first.balance_eur == D("30.00") and not first.duplicate
    assert again.duplicate and again.to_balance_eur == D("0") and again.notifications == ()
    assert acc.balance_eur == D("30.00")
    with pytest.raises(TopUpConflict, match=r"already credited with 10\.00 EUR"):
        acc.top_up("bpost-77", D("20.00"), bru(2026, 6, 1, 12))
    assert acc.balance_eur == D("30.00")


def test_tiny_energies_are_billed_exactly_in_whole_cents() -> None:
    cfg = simple(tariffs_eur={"day": D("0.2537")})
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 0, 0, 1))
    t = bru(2026, 6, 1, 0, 0, 1)
    for s in range(86_000):  # ~one simulated day, one call per second
        acc.consume(D("0.000123"), "day", t + timedelta(seconds=s))
    # 10.578 kWh x 0.2537 = 2.6836386 EUR: 2.68 billed, 0.36 cent carried
    assert acc.ledger.consumption_cents == 268
    assert acc.balance_eur == D("17.32")
    acc.consume(D("0.03"), "day", t + timedelta(seconds=86_001))  # +0.761 cent: 10.608 kWh -> 2.6912
    assert acc.ledger.consumption_cents == 269


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.consume(D("-1"), "day", bru(2026, 6, 1, 10)), "non-negative"),
        (lambda a: a.consume(D("NaN"), "day", bru(2026, 6, 1, 10)), "finite"),
        (lambda a: a.consume(0.5, "day", bru(2026, 6, 1, 10)), "must be a Decimal"),
        (lambda a: a.consume(D(1), "peak", bru(2026, 6, 1, 10)), "unknown tariff period 'peak'"),
        (lambda a: a.consume(D(1), "day", bru(2026, 6, 1, 8)), "time went backwards"),
        (lambda a: a.consume(D("1e-70"), "day", bru(2026, 6, 1, 10)), "too many digits"),
        (lambda a: a.advance(bru(2026, 6, 1, 10).replace(tzinfo=None)), "aware"),
        (lambda a: a.top_up("x", D("1.005"), bru(2026, 6, 1, 10)), "whole number of cents"),
        (lambda a: a.top_up("x", D("0"), bru(2026, 6, 1, 10)), "positive"),
        (lambda a: a.top_up("", D("1"), bru(2026, 6, 1, 10)), "non-empty"),
        (lambda a: a.start_leak_test(bru(2026, 6, 1, 10)), "gas accounts only"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    call: Callable[[PrepaymentAccount], object], message: str
) -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 1, 9))
    acc.consume(D(2), "day", bru(2026, 6, 1, 9, 30))
    before = acc.snapshot()
    with pytest.raises(ValueError, match=message):
        call(acc)
    assert acc.snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tariffs_eur": {}}, "at least one tariff"),
        ({"tariffs_eur": {"day": D("-0.1")}}, "non-negative"),
        ({"emergency_credit_eur": D("15.001")}, "whole number of cents"),
        ({"energy": "water"}, "electricity"),
        ({"energy_unit": "m3"}, "does not fit electricity"),
        ({"after_exhaustion": "limit"}, "needs limiter_kw"),
    ],
)
def test_bad_configuration_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AccountConfig(**overrides)


def test_config_json_round_trip() -> None:
    cfg = ores_electricity(protected_customer=True)
    assert AccountConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="unknown configuration fields"):
        AccountConfig.from_json({"balance": 3})


def test_notification_preferences_filter_kinds() -> None:
    from prepayment import NotificationThresholds

    cfg = simple(notifications=NotificationThresholds(enabled=frozenset({"supply_interrupted"})))
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    seen = _run_down(acc, 140)
    assert seen == {140: [K.SUPPLY_INTERRUPTED]}


def test_top_up_below_050_after_a_cut_does_not_re_enable_emergency_credit() -> None:
    acc = PrepaymentAccount(simple(), bru(2026, 6, 1, 9))
    _run_down(acc, 140)  # cut at -15.00
    res = acc.top_up("small", D("0.40"), bru(2026, 6, 1, 12))
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED]  # no "Emergency credit in use: 0.40 EUR left"
    assert acc.balance_eur == D("-14.60") and acc.exhausted
    assert emergency(acc) is EmergencyState.EXHAUSTED
    p1 = p1_values(acc)
    assert p1["0-0:19.0.0"] == (2 | 64, None)  # not 034 (in use + low)
    assert p1["0-0:19.11.1"] == (4, None)  # not 3
    assert p1["0-0:19.10.1"] == (D("0.00"), "EUR")
    assert supply(acc) is SupplyState.DISCONNECTED
    res = acc.top_up("more", D("15.00"), bru(2026, 6, 1, 12, 3))  # 0.40 EUR: in credit, still below 0.50
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED] and acc.balance_eur == D("0.40")
    assert emergency(acc) is EmergencyState.EXHAUSTED and acc.emergency_remaining_eur == D("0.00")
    res = acc.top_up("enough", D("0.10"), bru(2026, 6, 1, 12, 5))  # 0.50 EUR: ready, credit back
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED, K.RECONNECTION_POSSIBLE]
    assert emergency(acc) is EmergencyState.ENABLED and acc.emergency_remaining_eur == D("15.00")


def test_small_top_up_under_the_fluvius_limiter_keeps_the_emergency_credit_spent() -> None:
    from prepayment import fluvius_electricity

    cfg = fluvius_electricity(tariffs_eur={"day": D("0.25")}, standing_charge_eur_per_day=D("0"))
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    acc.consume(D(280), "day", bru(2026, 6, 1, 10))  # 70 EUR: balance -50, limited
    res = acc.top_up("small", D("0.40"), bru(2026, 6, 1, 11))
    assert kinds(res.notifications) == [K.TOP_UP_ACCEPTED]
    assert supply(acc) is SupplyState.LIMITED and emergency(acc) is EmergencyState.EXHAUSTED


def test_button_hold_time_in_messages_comes_from_the_configuration() -> None:
    from prepayment import ores_gas

    acc = PrepaymentAccount(simple(button_hold_s=7), bru(2026, 6, 1, 9))
    _run_down(acc, 140)
    assert acc.state()["what_to_do"] == "Top up at least 15.50 EUR, then hold the green button for 7 s"
    res = acc.top_up("t", D("15.50"), bru(2026, 6, 1, 12))
    assert res.notifications[-1].message == "Electricity can be reconnected: hold the green button for 7 s"
    acc.press_button(bru(2026, 6, 1, 12, 1), held_s=5)  # shorter than the configured 7 s
    assert supply(acc) is SupplyState.READY
    acc.press_button(bru(2026, 6, 1, 12, 2))  # held as long as configured
    assert supply(acc) is SupplyState.CONNECTED
    gas = PrepaymentAccount(ores_gas(accounting="immediate", button_hold_s=4), bru(2026, 6, 1, 9))
    gas.consume(D(400), "single", bru(2026, 6, 1, 10))
    gas.top_up("g", D("30.00"), bru(2026, 6, 1, 11))
    assert gas.state()["what_to_do"] == (
        "Close all gas appliances and hold the red button for 4 s to start the leak test"
        " to restore the supply"
    )
    button = PrepaymentAccount(simple(emergency_activation="button", button_hold_s=6), bru(2026, 6, 1, 9))
    notes = button.consume(D(76), "day", bru(2026, 6, 1, 10))  # balance 1.00: selectable
    assert notes[-1].message == "Emergency credit of 15.00 EUR available: hold the button for 6 s"
    assert "hold the button for 6 s" in button.state()["what_to_do"]


def test_configuration_written_with_the_old_winter_field_still_loads() -> None:
    data = ores_electricity(protected_customer=True).to_json()
    del data["protection"]
    data["winter"] = {"start": [11, 1], "end": [3, 15], "limiter_kw": "2.3"}
    assert AccountConfig.from_json(data) == ores_electricity(protected_customer=True)


def test_version_1_snapshot_restores_with_protection_from_the_opening() -> None:
    acc = PrepaymentAccount(simple(protected_customer=True), bru(2026, 6, 1, 9))
    snap = acc.snapshot()
    snap["version"] = 1
    for key in ("emergency_spent", "protected_since", "protection_debt_cents"):
        del snap[key]
    del snap["totals"]["protected_supply_to_debt_cents"]
    back = PrepaymentAccount.restore(snap)
    assert back.protected_since == bru(2026, 6, 1, 9) and back.snapshot() == acc.snapshot()
