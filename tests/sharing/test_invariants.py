"""Property tests: every key, any community, the engine's invariants hold exactly (integer Wh)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sharing import keys as k
from sharing.engine import Role, allocate
from sharing.keys import IntArray

Drawn = tuple[np.ndarray, np.ndarray, list[Role], np.ndarray]
"""A drawn community: consumption and injection (T, M), the roles, the weights."""


@st.composite
def communities(draw: st.DrawFn) -> Drawn:
    n_members = draw(st.integers(1, 7))
    n_rows = draw(st.integers(1, 12))
    roles = draw(st.lists(st.sampled_from(list(Role)), min_size=n_members, max_size=n_members))
    energy = st.integers(0, 5_000_000)
    cons = draw(arrays(np.int64, (n_rows, n_members), elements=energy))
    inj = draw(arrays(np.int64, (n_rows, n_members), elements=energy))
    inj[:, [r is Role.CONSUMER for r in roles]] = 0
    raw = draw(st.lists(st.integers(0, 1000), min_size=n_members, max_size=n_members))
    total = sum(raw) or 1
    weights = np.array([w * k.PPM // total for w in raw], dtype=np.int64)
    return cons, inj, roles, weights


def all_keys(weights: np.ndarray, receivers: np.ndarray) -> list[k.AllocationKey]:
    periods = np.stack([weights, np.roll(weights, 1), weights[::-1]])
    return [
        k.FixedSpecific(weights),
        k.FixedEqual(),
        k.FixedEqual(receivers),
        k.EqualActive(),
        k.StaticPerPeriod(periods),
        k.DynamicProportional(),
        k.fluvius_optimal(weights),
        k.sibelga_multi_round(weights),
        k.hybrid(weights, 300_000),
        k.MultiRound((k.Round(250_000, "equal"), k.Round(750_000, "fixed_renormalised")), weights),
    ]


@settings(max_examples=150, deadline=None)
@given(communities(), st.integers(1, 5))
def test_invariants_hold_for_every_key(data: Drawn, chunk_rows: int) -> None:
    cons, inj, roles, weights = data
    receives = np.array([r.receives for r in roles])
    gives = np.array([r.gives for r in roles])
    period = np.arange(cons.shape[0]) % 3
    for key in all_keys(weights, np.array([r.receives for r in roles])):
        result = allocate(cons, inj, roles, key, period, chunk_rows=chunk_rows)
        got = result.received_wh
        production = inj[:, gives].sum(axis=1)
        assert (got >= 0).all(), key.name
        assert (got <= cons * receives).all(), key.name  # capped at own consumption
        assert (got.sum(axis=1) <= production).all(), key.name  # never more than produced
        assert (got.sum(axis=1) + result.surplus_wh == production).all(), key.name
        assert (result.surplus_wh >= 0).all()
        residual = result.residual_wh(cons)
        assert (residual == cons - got).all() and (residual >= 0).all()
        shared = result.shared_injection_wh
        assert (shared >= 0).all() and (shared <= inj[:, gives]).all(), key.name
        assert (shared.sum(axis=1) == got.sum(axis=1)).all(), key.name
        member_surplus = result.member_surplus_wh(inj)
        assert (member_surplus >= 0).all()
        assert (member_surplus.sum(axis=1) == result.surplus_wh).all()


@settings(max_examples=100, deadline=None)
@given(communities())
def test_allocation_is_row_independent(data: Drawn) -> None:
    """A key is a function of one quarter-hour: allocating rows one by one gives the same."""
    cons, inj, roles, weights = data
    period = np.arange(cons.shape[0]) % 3
    for key in all_keys(weights, np.array([r.receives for r in roles])):
        whole = allocate(cons, inj, roles, key, period).received_wh
        rows = [allocate(cons[t : t + 1], inj[t : t + 1], roles, key, period[t : t + 1])
                for t in range(cons.shape[0])]  # fmt: skip
        assert (np.vstack([r.received_wh for r in rows]) == whole).all()


@settings(max_examples=100, deadline=None)
@given(communities())
def test_dynamic_and_optimal_leave_no_avoidable_surplus(data: Drawn) -> None:
    """Pro-rata keys hand out everything members can take, up to floor remainders (< M Wh)."""
    cons, inj, roles, weights = data
    receives = np.array([r.receives for r in roles])
    gives = np.array([r.gives for r in roles])
    production = inj[:, gives].sum(axis=1)
    takeable = np.minimum(production, (cons * receives).sum(axis=1))
    for key in (k.DynamicProportional(), k.fluvius_optimal(weights)):
        got = allocate(cons, inj, roles, key).received_wh.sum(axis=1)
        assert (takeable - got >= 0).all()
        assert (takeable - got <= 2 * len(roles)).all(), key.name


def test_int32_inputs_give_the_same_result() -> None:
    rng = np.random.default_rng(3)
    cons = rng.integers(0, 4000, (50, 6))
    inj = rng.integers(0, 9000, (50, 6))
    roles = [Role.CONSUMER] * 4 + [Role.PRODUCER, Role.PROSUMER]
    inj[:, :4] = 0
    key = k.DynamicProportional()
    wide = allocate(cons, inj, roles, key)
    narrow = allocate(cons.astype(np.int32), inj.astype(np.int32), roles, key)
    assert (wide.received_wh == narrow.received_wh).all()
    assert narrow.received_wh.dtype == np.int32


def test_bad_inputs_are_rejected() -> None:
    import pytest

    cons = np.ones((2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="negative"):
        allocate(-cons, cons, [Role.CONSUMER, Role.PRODUCER], k.DynamicProportional())
    with pytest.raises(ValueError, match="consumer but has injection"):
        allocate(cons, cons, [Role.CONSUMER, Role.PRODUCER], k.DynamicProportional())

    class Greedy:
        name = "greedy"

        def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
            return need_wh * 2

    with pytest.raises(ValueError, match="invariant"):
        allocate(cons, cons * np.array([0, 1]), [Role.CONSUMER, Role.PRODUCER], Greedy())
