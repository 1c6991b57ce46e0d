"""The community's monthly statement: a hand-computed example, balance to the cent, reconciliation."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sharing.engine import Role, allocate
from sharing.keys import DynamicProportional
from tariffs.statement import (
    AllocationArrays,
    CommunityPrices,
    StatementMember,
    monthly_statement,
    our_rows,
    reconcile,
)
from tariffs.statement_report import check_balance, community_rows, member_rows
from tests.tariffs.helpers import local_ts

MEMBERS = [
    StatementMember("541449000000000001", "Anna", "consumer"),
    StatementMember("541449000000000002", "Bert", "consumer"),
    StatementMember("541449000000000009", "PV roof", "producer"),
]
PRICES = CommunityPrices(Decimal("0.12"), Decimal("0.08"), Decimal(5))
T = [local_ts(2026, 4, 10, 12), local_ts(2026, 4, 10, 13), local_ts(2026, 5, 3, 12)]


def hand_example() -> AllocationArrays:
    return AllocationArrays(
        start_ts=np.array(T, dtype=np.int64),
        month_idx=np.array([0, 0, 1], dtype=np.int64),
        months=["2026-04", "2026-05"],
        consumption_wh=np.array([[1000, 3000, 0], [1000, 1000, 0], [2000, 0, 0]]),
        injection_wh=np.array([[0, 0, 2000], [0, 0, 3000], [0, 0, 1000]]),
        received_wh=np.array([[500, 1500, 0], [1000, 1000, 0], [1000, 0, 0]]),
        shared_injection_wh=np.array([[0, 0, 2000], [0, 0, 2000], [0, 0, 1000]]),
    )


def test_hand_computed_statement() -> None:
    surplus_prices = {T[1]: Decimal(80)}  # 80 €/MWh when the producer had 1 kWh of surplus
    statement = monthly_statement(MEMBERS, hand_example(), PRICES, surplus_prices)
    april = {r.member.name: r for r in statement.rows if r.month == "2026-04"}
    assert (april["Anna"].shared_cost_eur, april["Anna"].fee_eur) == (Decimal("0.18"), Decimal("0.01"))
    assert april["Anna"].balance_eur == Decimal("0.19")  # 1.5 kWh x 0.12 + 1.5 kWh x 5 €/MWh
    assert april["Bert"].balance_eur == Decimal("0.31")  # 2.5 kWh x 0.12 + 0.0125 -> 0.01
    assert april["PV roof"].producer_revenue_eur == Decimal("0.32")  # 4 kWh shared x 0.08
    assert april["PV roof"].surplus_value_eur == Decimal("0.08")  # 1 kWh x 80 €/MWh
    assert april["PV roof"].balance_eur == Decimal("-0.32")
    m_april, m_may = statement.months
    assert (m_april.collected_eur, m_april.fees_eur, m_april.paid_to_producers_eur, m_april.margin_eur) == (
        Decimal("0.50"),
        Decimal("0.02"),
        Decimal("0.32"),
        Decimal("0.16"),
    )
    assert (m_may.collected_eur, m_may.paid_to_producers_eur, m_may.margin_eur) == (
        Decimal("0.13"),
        Decimal("0.08"),
        Decimal("0.04"),
    )
    total = statement.total()
    assert (total.collected_eur, total.fees_eur, total.paid_to_producers_eur, total.margin_eur) == (
        Decimal("0.63"),
        Decimal("0.03"),
        Decimal("0.40"),
        Decimal("0.20"),
    )
    assert check_balance(statement) == []


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.lists(st.integers(0, 5000), min_size=4, max_size=4), min_size=3, max_size=200),
    shared=st.decimals("0.01", "0.50", places=4),
    producer=st.decimals("0.01", "0.50", places=4),
    fee=st.decimals("0", "20", places=3),
)
def test_statement_balances_to_the_cent(
    data: list[list[int]], shared: Decimal, producer: Decimal, fee: Decimal
) -> None:
    rows = np.array(data, dtype=np.int64)
    consumption = np.column_stack([rows[:, 0], rows[:, 1], rows[:, 2], np.zeros(len(rows), dtype=np.int64)])
    injection = np.zeros_like(consumption)
    injection[:, 2], injection[:, 3] = rows[:, 3] // 3, rows[:, 3]  # a prosumer and a producer
    roles = [Role.CONSUMER, Role.CONSUMER, Role.PROSUMER, Role.PRODUCER]
    alloc = allocate(consumption, injection, roles, DynamicProportional())
    shared_inj = np.zeros_like(consumption)
    shared_inj[:, alloc.giver_columns] = alloc.shared_injection_wh
    n = len(rows)
    arrays = AllocationArrays(
        start_ts=local_ts(2026, 1, 31, 20) + 900 * np.arange(n, dtype=np.int64),  # crosses into February
        month_idx=(np.arange(n) >= 16).astype(np.int64),
        months=["2026-01", "2026-02"],
        consumption_wh=consumption,
        injection_wh=injection,
        received_wh=alloc.received_wh,
        shared_injection_wh=shared_inj,
    )
    members = [*MEMBERS[:2], StatementMember("541449000000000003", "Cleo", "prosumer"), MEMBERS[2]]
    statement = monthly_statement(members, arrays, CommunityPrices(shared, producer, fee, Decimal(55)))
    assert check_balance(statement) == []
    # the CSV rows add up to the community lines, to the cent
    member_csv = list(member_rows(statement))
    community_csv = {r[0]: r for r in community_rows(statement)}
    for month in ("2026-01", "2026-02"):
        rows_m = [r for r in member_csv if r[0] == month]
        collected = sum(Decimal(r[6]) + Decimal(r[7]) for r in rows_m)
        paid = sum(Decimal(r[10]) for r in rows_m)
        assert (collected, paid) == (Decimal(community_csv[month][4]), Decimal(community_csv[month][6]))
        assert sum(Decimal(r[13]) for r in rows_m) == collected - paid
    assert Decimal(community_csv["total"][4]) == sum(Decimal(r[6]) + Decimal(r[7]) for r in member_csv)


def test_reconciliation_flags_every_difference_beyond_1_wh() -> None:
    arrays = hand_example()
    eans = [m.ean for m in MEMBERS]
    ours = our_rows(eans, arrays)
    assert ours[(T[0], eans[0])] == (1000, 500, 500, 0, 0, 0)  # gross, shared, net; same for injection
    assert ours[(T[1], eans[2])] == (0, 0, 0, 3000, 2000, 1000)
    dso = dict(ours)
    dso[(T[0], eans[0])] = (1000, 501, 499, 0, 0, 0)  # 1 Wh: within tolerance
    dso[(T[0], eans[1])] = (3000, 1498, 1502, 0, 0, 0)  # 2 Wh: flagged twice (shared and net)
    del dso[(T[2], eans[1])]  # a row the DSO did not send
    diffs = reconcile(dso, ours)
    assert [(d.ean, d.field, d.diff_wh) for d in diffs] == [
        (eans[1], "shared_consumption", -2),
        (eans[1], "net_consumption", 2),
        (eans[1], "row", None),
    ]
    assert diffs[2].dso_wh is None and diffs[2].start_ts == T[2]
