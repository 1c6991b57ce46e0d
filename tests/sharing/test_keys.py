"""Each key on hand-computed quarter-hours, and the pilot's printed `max` formula against the cap."""

from __future__ import annotations

import numpy as np
import pytest

from sharing import keys as k

PERIOD0 = np.zeros(1, dtype=np.int64)


def row(*values: int) -> np.ndarray:
    return np.array([values], dtype=np.int64)


def pool(p: int) -> np.ndarray:
    return np.array([p], dtype=np.int64)


def test_fixed_specific_caps_at_consumption_and_leaves_surplus() -> None:
    key = k.FixedSpecific(np.array([500_000, 300_000, 200_000]))
    got = key(row(100, 1000, 1000), pool(1000), PERIOD0)
    assert got.tolist() == [[100, 300, 200]]  # member 1 capped at its 100 Wh; 400 Wh surplus


def test_fixed_specific_floors_each_share() -> None:
    key = k.FixedSpecific(np.array([333_333, 333_333, 333_334]))
    assert key(row(10, 10, 10), pool(10), PERIOD0).tolist() == [[3, 3, 3]]


def test_fixed_weights_over_100_percent_rejected() -> None:
    with pytest.raises(ValueError, match="more than 100"):
        k.FixedSpecific(np.array([600_000, 500_000]))


def test_fixed_equal_gives_each_receiver_one_nth_whatever_it_consumes() -> None:
    """CWaPE "fixe et identique": P = 9, C = 5/5/0 -> 3/3/0 and 3 Wh surplus (not 4.5/4.5/0)."""
    got = k.FixedEqual()(row(5, 5, 0), pool(9), PERIOD0)
    assert got.tolist() == [[3, 3, 0]]
    got = k.FixedEqual()(row(0, 500, 50), pool(600), PERIOD0)
    assert got.tolist() == [[0, 200, 50]]  # 1/3 each = 200, member 3 capped at 50; 350 surplus


def test_fixed_equal_counts_receivers_only() -> None:
    """1 producer + 4 consumers -> 25 % each; the producer is not one of the N."""
    key = k.FixedEqual(np.array([False, True, True, True, True]))
    got = key(row(0, 1000, 1000, 10, 0), pool(400), PERIOD0)
    assert got.tolist() == [[0, 100, 100, 10, 0]]


def test_fixed_equal_rejects_a_receiver_mask_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="one receiver flag per member"):
        k.FixedEqual(np.array([True, True]))(row(1, 1, 1), pool(3), PERIOD0)


def test_equal_active_renormalises_over_consuming_members() -> None:
    """The former `equal` behaviour, kept under its own name."""
    assert k.EqualActive()(row(5, 5, 0), pool(9), PERIOD0).tolist() == [[4, 4, 0]]
    assert k.EqualActive()(row(0, 500, 50), pool(600), PERIOD0).tolist() == [[0, 300, 50]]
    assert "equal-active" in k.key_names()


def test_static_per_period_uses_the_row_period() -> None:
    weights = np.array([[800_000, 200_000], [200_000, 800_000], [500_000, 500_000]])
    key = k.StaticPerPeriod(weights)
    need = np.array([[1000, 1000]] * 3, dtype=np.int64)
    got = key(need, np.array([100, 100, 100]), np.array([0, 1, 2]))
    assert got.tolist() == [[80, 20], [20, 80], [50, 50]]


def test_dynamic_proportional_is_pro_rata_and_capped() -> None:
    key = k.DynamicProportional()
    assert key(row(300, 100), pool(200), PERIOD0).tolist() == [[150, 50]]
    assert key(row(300, 100), pool(1000), PERIOD0).tolist() == [[300, 100]]
    assert key(row(0, 0), pool(1000), PERIOD0).tolist() == [[0, 0]]


def test_pilot_printed_max_formula_differs_from_the_cap() -> None:
    """The report prints allocated = max(share x P, C); that hands out more than produced."""
    need, production = row(300, 100), 200
    share = need / need.sum()
    printed = np.maximum(share * production, need)
    capped = k.DynamicProportional()(need, pool(production), PERIOD0)
    assert printed.sum() > production  # the printed formula creates energy
    assert capped.sum() <= production and (capped <= need).all()
    assert printed.tolist() != capped.tolist()


def test_multi_round_fixed_then_pro_rata_redistributes_leftover() -> None:
    key = k.fluvius_optimal(np.array([500_000, 500_000, 0]))
    # round 1: 500/500/0, member 1 capped at 100 -> 400 left; round 2 pro rata to remaining
    # need (member 2: 500, member 3: 300) -> 250 and 150
    got = key(row(100, 1000, 300), pool(1000), PERIOD0)
    assert got.tolist() == [[100, 750, 150]]


def test_sibelga_renormalises_weights_over_members_still_short() -> None:
    key = k.sibelga_multi_round(np.array([500_000, 250_000, 250_000]), rounds=3)
    # r1: 500/250/250 -> 100 (capped), 250, 250; 400 left. r2: members 2 and 3 still short,
    # weights re-normalised 50/50 -> 200 each, member 3 capped at its last 50; 150 left.
    # r3: only member 2 short -> 150.
    got = key(row(100, 1000, 300), pool(1000), PERIOD0)
    assert got.tolist() == [[100, 600, 300]]
    assert got.sum() <= 1000


def test_hybrid_splits_production_between_fixed_and_pro_rata() -> None:
    key = k.hybrid(np.array([1_000_000, 0]), 400_000)
    # 40 % of 1000 by fixed weights (all to member 1), then 600 pro rata to remaining needs
    got = key(row(500, 500), pool(1000), PERIOD0)
    assert got.tolist() == [[500, 500]]
    # 400 to member 1; 600 pro rata to remaining needs 600 and 1000 -> 225 and 375
    got = key(row(1000, 1000), pool(1000), PERIOD0)
    assert got.tolist() == [[625, 375]]


def test_multi_round_equal_mode_and_last_round_takes_exact_rest() -> None:
    key = k.MultiRound((k.Round(333_333, "equal"), k.Round(666_667, "equal")))
    got = key(row(1000, 1000, 1000), pool(1001), PERIOD0)
    assert got.sum() <= 1001 and got.sum() >= 999


def test_multi_round_releases_must_sum_to_100() -> None:
    with pytest.raises(ValueError, match="100"):
        k.MultiRound((k.Round(500_000, "pro_rata"),))


def test_parse_rounds_and_percent() -> None:
    rounds = k.parse_rounds("60:fixed, 40:pro_rata,0:equal")
    assert [r.release_ppm for r in rounds] == [600_000, 400_000, 0]
    assert [r.mode for r in rounds] == ["fixed", "pro_rata", "equal"]
    assert k.pct_to_ppm("17.64") == 176_400
    for bad in ("50", "50:magic", "x:fixed"):
        with pytest.raises(ValueError):
            k.parse_rounds(bad)
    for bad in ("1.23456", "-3", "abc"):
        with pytest.raises(ValueError):
            k.pct_to_ppm(bad)


def test_equal_key_by_name_is_one_nth_of_the_receivers_through_the_engine() -> None:
    """`--key equal`: 1 producer + 4 consumers -> 25 % each, capped, the rest is surplus."""
    from sharing.community import Community, Member
    from sharing.engine import Role, allocate
    from sharing.keyspec import build_key

    roles = [Role.PRODUCER, Role.CONSUMER, Role.CONSUMER, Role.CONSUMER, Role.CONSUMER]
    community = Community(tuple(Member(f"54144900000000000{i}", f"m{i}", r, 0)
                                for i, r in enumerate(roles)))  # fmt: skip
    consumption = np.array([[7, 500, 500, 60, 0]], dtype=np.int64)
    injection = np.array([[1000, 0, 0, 0, 0]], dtype=np.int64)
    result = allocate(consumption, injection, roles, build_key("equal", community))
    assert result.received_wh.tolist() == [[0, 250, 250, 60, 0]]
    assert result.surplus_wh.tolist() == [440]
    active = allocate(consumption, injection, roles, build_key("equal-active", community))
    assert active.received_wh.tolist() == [[0, 333, 333, 60, 0]]  # 1000 // 3 active members
