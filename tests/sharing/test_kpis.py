"""KPIs: the HOSPIGREEN pilot's published rates, real keys, peaks and the k-th monthly peak."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharing.engine import Role, allocate
from sharing.keys import DynamicProportional
from sharing.kpis import Rates, kth_peak_by_group, peaks, percent, percent_milli, real_key, sum_by_group

# DOMAIN.md §5 / pilot report §7: (consumption, self-consumed, produced) in MWh -> (%ACC, %COUV)
PHASE1 = (14_423, 5_110, 5_711)
PHASE2 = (21_384, 6_959, 7_389)


@pytest.mark.parametrize(
    ("totals", "acc", "couv", "surplus"),
    [
        (PHASE1, "89.5", "35.4", "10.5"),
        (PHASE2, "94.2", "32.5", "5.8"),
        (tuple(a + b for a, b in zip(PHASE1, PHASE2, strict=True)), "92.1", "33.7", "7.9"),
    ],
)
def test_pilot_rates_from_published_totals(
    totals: tuple[int, int, int], acc: str, couv: str, surplus: str
) -> None:
    consumption, shared, produced = totals
    rates = Rates(shared, produced, consumption)
    assert percent(rates.self_consumption) == Decimal(acc)
    assert percent(rates.coverage) == Decimal(couv)
    assert percent(rates.surplus_rate) == Decimal(surplus)  # "plus de 10 %", "moins de 6 %", "8 %"


def test_pilot_rates_through_the_engine() -> None:
    """Two quarter-hours whose allocation reproduces phase 1's totals (MWh as Wh units)."""
    consumption, shared, produced = PHASE1
    cons = np.array([[shared, 0], [consumption - shared, 0]], dtype=np.int64)
    inj = np.array([[0, produced], [0, 0]], dtype=np.int64)
    result = allocate(cons, inj, [Role.CONSUMER, Role.PRODUCER], DynamicProportional())
    rates = Rates(int(result.received_wh.sum()), int(inj.sum()), int(cons.sum()))
    assert int(result.surplus_wh.sum()) == 601
    assert (percent(rates.self_consumption), percent(rates.coverage)) == (
        Decimal("89.5"),
        Decimal("35.4"),
    )
    phase2 = Rates(PHASE2[1], PHASE2[2], PHASE2[0])  # shared, produced, consumption
    assert percent((rates + phase2).self_consumption) == Decimal("92.1")
    assert percent((rates + phase2).coverage) == Decimal("33.7")


def test_rates_without_production_are_undefined_not_zero() -> None:
    assert Rates(0, 0, 100).self_consumption is None
    assert percent(None) is None


def test_real_key_and_monthly_sums() -> None:
    assert real_key(np.array([30, 10, 0])) == [Fraction(3, 4), Fraction(1, 4), 0]
    months = np.array([0, 0, 1, 1, 1])
    values = np.array([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]])
    assert sum_by_group(values, months).tolist() == [[4, 6], [21, 24]]


def test_peaks_rank_attenuation_and_top_residuals() -> None:
    before = np.array([1000, 4000, 3000, 2000], dtype=np.int64)  # Wh per quarter-hour
    after = np.array([1000, 2000, 3000, 1000], dtype=np.int64)
    result = peaks(before, after, 2)
    assert result.rows.tolist() == [1, 2]
    assert result.before_kw.tolist() == [16.0, 12.0]
    assert result.after_same_kw.tolist() == [8.0, 12.0]
    assert result.after_top_kw.tolist() == [12.0, 8.0]
    assert result.attenuation.tolist() == [0.5, 0.0]
    assert result.mean_attenuation == 0.25


def test_kth_monthly_peak() -> None:
    series = np.arange(30, dtype=np.int64) * 250  # kW = index
    months = np.array([0] * 20 + [1] * 10)
    got = kth_peak_by_group(series, months, 11)
    assert got[0] == 9.0  # 20 values 0..19 kW: the 11th largest is 9
    assert np.isnan(got[1])  # only 10 quarter-hours: no 11th peak


@given(
    st.lists(
        st.tuples(st.integers(1, 10**18), st.floats(0, 1)).map(
            lambda t: (min(round(t[0] * t[1]), t[0]), t[0])
        ),
        min_size=1,
        max_size=50,
    ),
)
def test_percent_milli_rounds_like_percent(pairs: list[tuple[int, int]]) -> None:
    """The vectorised percentage of a share (thousandths, half-even) equals the exact one, past what
    int64 can scale too."""
    num = np.array([n for n, _ in pairs], np.int64)
    den = np.array([d for _, d in pairs], np.int64)
    expected = [percent(Fraction(n, d), 3) for n, d in pairs]
    assert [Decimal(int(x)).scaleb(-3) for x in percent_milli(num, den)] == expected


def test_percent_milli_ties_go_to_even() -> None:
    # 1/16 = 6.25 % exactly -> 6.250; 1/80000 = 0.00125 % -> 0.001 (tie, even); 3/80000 -> 0.004
    assert percent_milli(np.array([1, 1, 3]), np.array([16, 80_000, 80_000])).tolist() == [6250, 1, 4]
