"""Central (daily update) vs immediate accounting, debt and payment plan, history, JSON and P1 views."""

from __future__ import annotations

import json
from datetime import date

import pytest

from prepayment import (
    NotificationKind,
    PaymentPlan,
    PrepaymentAccount,
    SupplyState,
    ores_electricity,
    ores_gas,
    p1_values,
)

from .support import D, bru, kinds

K = NotificationKind


def _pair() -> tuple[PrepaymentAccount, PrepaymentAccount]:
    tariffs = {"day": D("0.25"), "night": D("0.20")}
    central = PrepaymentAccount(ores_electricity(tariffs_eur=tariffs), bru(2026, 6, 1, 9))
    immediate = PrepaymentAccount(
        ores_electricity(tariffs_eur=tariffs, accounting="immediate"), bru(2026, 6, 1, 9)
    )
    return central, immediate


def test_central_balance_moves_once_a_morning_immediate_at_once() -> None:
    central, immediate = _pair()
    for acc in (central, immediate):
        acc.consume(D(10), "day", bru(2026, 6, 1, 14))  # 2.50 EUR
        acc.consume(D(2), "night", bru(2026, 6, 2, 5))  # 0.40 EUR, after midnight (1.30 EUR)
    assert immediate.balance_eur == D("20.00") - D("2.50") - D("1.30") - D("0.40")
    assert central.balance_eur == D("20.00")  # nothing posted before the morning update
    assert central.unposted_eur == D("4.20")
    notes = central.advance(bru(2026, 6, 2, 6))
    assert kinds(notes) == [K.BALANCE_UPDATED]
    # the update posts the previous day (1 June: 2.50); 2 June's midnight charges and its 0.40 EUR
    # of night consumption wait for 3 June's update
    assert central.balance_eur == D("17.50")
    assert central.balance_updated_at == bru(2026, 6, 2, 6)
    assert central.unposted_eur == D("1.70")
    central.advance(bru(2026, 6, 3, 6))
    immediate.advance(bru(2026, 6, 3, 6))
    assert immediate.balance_eur == D("14.50")
    assert central.balance_eur == D("15.80")  # 3 June's daily charges (1.30) wait for 4 June
    assert central.balance_eur - central.unposted_eur == immediate.balance_eur
    assert central.state()["balance_updated_at"] == "2026-06-03T06:00:00+02:00"


def test_central_cut_waits_for_the_morning_update() -> None:
    central, immediate = _pair()
    for acc in (central, immediate):
        acc.consume(D(140), "day", bru(2026, 6, 1, 14))  # 35 EUR: balance and emergency gone
    assert immediate.supply_state is SupplyState.DISCONNECTED
    assert central.supply_state is SupplyState.CONNECTED
    central.advance(bru(2026, 6, 2, 5, 59, 59))
    assert central.supply_open
    notes = kinds(central.advance(bru(2026, 6, 2, 6)))
    assert notes == [
        K.BALANCE_UPDATED,
        K.LOW_CREDIT,
        K.SUPPLY_INTERRUPTED,
    ]
    assert central.balance_eur == D("-15.00")


def test_debt_is_recovered_by_instalments_and_top_up_share() -> None:
    cfg = ores_electricity(
        accounting="immediate",
        standing_charge_eur_per_day=D("0"),
        start_credit_recovery_eur_per_day=D("0"),
    )
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    acc.add_debt(D("30.00"), bru(2026, 6, 1, 10), "arrears")
    plan = PaymentPlan(D("5.00"), first_due=date(2026, 6, 3), interval_days=7, top_up_share=D("0.25"))
    acc.set_payment_plan(plan, bru(2026, 6, 1, 11))
    acc.advance(bru(2026, 6, 2, 12))
    assert (acc.balance_eur, acc.debt_eur) == (D("20.00"), D("30.00"))
    acc.advance(bru(2026, 6, 3, 0))
    assert (acc.balance_eur, acc.debt_eur) == (D("15.00"), D("25.00"))
    acc.advance(bru(2026, 6, 10, 0))
    assert (acc.balance_eur, acc.debt_eur) == (D("10.00"), D("20.00"))
    res = acc.top_up("t1", D("40.00"), bru(2026, 6, 10, 9))
    assert (res.to_balance_eur, res.to_debt_eur) == (D("30.00"), D("10.00"))
    assert (acc.balance_eur, acc.debt_eur) == (D("40.00"), D("10.00"))
    state = acc.state()
    assert state["debt_eur"] == 10.0
    assert state["payment_plan"] == {
        "instalment_eur": 5.0,
        "interval_days": 7,
        "top_up_share": 0.25,
        "next_due": "2026-06-17",
        "remaining_instalments": 2,
    }
    acc.advance(bru(2026, 6, 24, 0))
    assert (acc.balance_eur, acc.debt_eur) == (D("30.00"), D("0.00"))
    acc.advance(bru(2026, 7, 1, 0))
    assert acc.balance_eur == D("30.00")  # nothing more once the debt is paid
    assert p1_values(acc)["0-0:19.10.2"] == (D("0.00"), "EUR")


def test_standing_charges_become_debt_while_cut() -> None:
    cfg = ores_electricity(accounting="immediate", tariffs_eur={"day": D("0.25")})
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    acc.consume(D(140), "day", bru(2026, 6, 1, 10))
    assert acc.supply_state is SupplyState.DISCONNECTED
    acc.advance(bru(2026, 6, 4, 0))  # three cut days: 3 x 0.30 to debt, no start-credit recovery
    assert acc.debt_eur == D("0.90")
    assert acc.start_credit_due_eur == D("20.00")
    assert acc.balance_eur == D("-15.00")
    assert p1_values(acc)["0-0:19.10.2"] == (D("0.90"), "EUR")


def test_state_json_history_and_energy_balance() -> None:
    cfg = ores_electricity(accounting="immediate", tariffs_eur={"day": D("0.25"), "night": D("0.20")})
    acc = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    for day in range(1, 5):
        acc.consume(D(day), "day", bru(2026, 6, day, 12))
    acc.consume(D("0.5"), "night", bru(2026, 6, 4, 23))
    state = json.loads(json.dumps(acc.state()))
    assert state["supply_state"] == "connected" and state["breaker_state"] == 1
    assert state["balance_eur"] == 20.0 - 2.5 - 3 * 1.3 - 0.1
    assert state["tariff_period"] == "night"
    assert state["balance_energy"] == 67.5  # 13.50 EUR at 0.20 EUR/kWh
    assert state["emergency_credit_eur"] == {"remaining": 15.0, "limit": 15.0}
    assert state["start_credit_due_eur"] == 17.0
    assert state["what_to_do"] == "Nothing to do"
    hist = state["history"]
    assert len(hist) == 30 and hist[-1]["date"] == "2026-06-04"
    assert hist[-4:] == [
        {"date": "2026-06-01", "energy": 1.0, "eur": 0.25},
        {"date": "2026-06-02", "energy": 2.0, "eur": 0.5},
        {"date": "2026-06-03", "energy": 3.0, "eur": 0.75},
        {"date": "2026-06-04", "energy": 4.5, "eur": 1.1},
    ]
    before = acc.history(date(2026, 6, 3), days=30)
    assert before[0][0] == date(2026, 5, 4) and before[-1] == (date(2026, 6, 2), D(2), D("0.50"))


def test_snapshot_round_trip_continues_identically() -> None:
    cfg = ores_gas(protected_customer=True)
    a = PrepaymentAccount(cfg, bru(2026, 6, 1, 9))
    a.consume(D("12.345678"), "single", bru(2026, 6, 1, 12))
    a.set_payment_plan(PaymentPlan(D("1.00"), date(2026, 6, 5)), bru(2026, 6, 1, 13))
    a.add_debt(D("3.00"), bru(2026, 6, 1, 13))
    b = PrepaymentAccount.restore(json.loads(json.dumps(a.snapshot())))
    assert b.snapshot() == a.snapshot()
    for acc in (a, b):
        acc.consume(D("100.000001"), "single", bru(2026, 6, 7, 12))
        acc.top_up("x", D("5.55"), bru(2026, 6, 8, 7))
    assert b.snapshot() == a.snapshot() and b.state() == a.state()
    with pytest.raises(ValueError, match="snapshot version"):
        PrepaymentAccount.restore({"version": 99})


def test_p1_gas_channel_and_bad_channel() -> None:
    acc = PrepaymentAccount(ores_gas(), bru(2026, 6, 1, 9))
    values = p1_values(acc, channel=2)
    assert set(values) == {
        "0-2:19.0.0",
        "0-2:19.10.0",
        "0-2:19.10.1",
        "0-2:19.10.2",
        "0-2:19.11.1",
        "0-2:19.20.0",
        "0-2:24.4.0",
    }
    assert values["0-2:19.20.0"] == (D("20.00"), "EUR")
    with pytest.raises(ValueError, match="channel 0"):
        p1_values(acc, channel=0)


def test_p1_values_survive_the_telegram_builder_and_parser() -> None:
    dsmr = pytest.importorskip("dsmr_parser")
    if not hasattr(dsmr, "build_telegram"):
        pytest.skip("dsmr_parser builder not available yet")
    acc = PrepaymentAccount(ores_electricity(accounting="immediate"), bru(2026, 1, 5, 9))
    acc.consume(D(200), "day", bru(2026, 1, 5, 10))  # cut: 70 EUR > 35 EUR of credit
    values = p1_values(acc)
    frame = dsmr.build_telegram("/FLU5\\253769484_A", {k: dsmr.Value(v, u) for k, (v, u) in values.items()})
    assert b"0-0:19.10.0(-0050.00*EUR)" in frame and b"0-0:96.3.10(0)" in frame
    parsed = dsmr.parse_telegram(frame)
    assert {k: (parsed.values[k].value, parsed.values[k].unit) for k in values} == values
