"""Hand-computed bills for every option and regime, and cost additivity over any split of the period.

The toy tariff (tests/tariffs/helpers.py) has round prices: grid 0.10 single, 0.12 peak / 0.08 off-peak
(dual), 0.20 / 0.10 / 0.05 (Impact); energy 0.15; 73 €/year fixed; prosumer 80 €/kVA/year; injection
bought at 0.04; VAT 6 %. Each expected euro is worked out in the test's comment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs.bill import Bill, CommunityTerms, price
from tariffs.model import Regime
from tariffs.series import Usage, local_midnight_ts
from tests.tariffs.helpers import CAPACITY, flat_year, local_ts, toy_tariff, usage_at

# DOMAIN §3's example: night (register 2) +1500 kWh, day (register 1) -1000 kWh.
NETTING = usage_at(
    {
        local_ts(2026, 3, 2, 8): (500_000, 0),  # 08:00 peak: register 1 import 500 kWh
        local_ts(2026, 3, 2, 9): (0, 1_500_000),  # 09:00 peak: register 1 export 1500 kWh
        local_ts(2026, 3, 2, 3): (2_000_000, 0),  # 03:00 off-peak: register 2 import 2000 kWh
        local_ts(2026, 3, 2, 13): (0, 500_000),  # 13:00 off-peak since 2026: register 2 export 500 kWh
    }
)


def amounts(bill: Bill) -> dict[str, Decimal]:
    return {line.id: line.amount_eur for line in bill.lines}


def test_compensation_nets_per_register_and_a_negative_register_bills_zero() -> None:
    bill = price(NETTING, toy_tariff(), "dual", Regime.COMPENSATION, inverter_kva=Decimal(5))
    by_band = {b.band: b for b in bill.bands}
    assert by_band["offpeak"].billed_import_wh == 1_500_000  # 2000 - 500
    assert by_band["peak"].billed_import_wh == 0  # 500 - 1500 < 0 -> 0, not -1000
    assert by_band["peak"].uncompensated_export_wh == 1_000_000
    got = amounts(bill)
    assert got["grid:offpeak"] == Decimal("120.00")  # 1500 x 0.08
    assert got["grid:peak"] == Decimal("0.00")
    assert got["energy:offpeak"] == Decimal("225.00")  # 1500 x 0.15
    assert got["fixed"] == Decimal("0.01")  # 73 x 4 / 35040 = 0.0083
    assert got["prosumer"] == Decimal("0.05")  # 5 kVA x 80 x 4 / 35040 = 0.0457
    assert "injection_price:peak" not in got  # no injection price under compensation
    assert bill.excl_vat_eur == Decimal("345.06")
    assert bill.vat_eur == Decimal("20.70")  # 6 % of 345.06 = 20.7036
    assert bill.total_eur == Decimal("365.76")


def test_single_tariff_compensation_adds_both_registers() -> None:
    bill = price(NETTING, toy_tariff(), "single", Regime.COMPENSATION, inverter_kva=Decimal(5))
    assert [b.billed_import_wh for b in bill.bands] == [500_000]  # 2500 - 2000
    got = amounts(bill)
    assert got["grid:all"] == Decimal("50.00") and got["energy:all"] == Decimal("75.00")
    assert bill.total_eur == Decimal("132.56")  # 125.06 + 7.50 VAT


def test_injection_sale_bills_gross_import_and_pays_the_export() -> None:
    bill = price(NETTING, toy_tariff(), "dual", Regime.INJECTION_SALE)
    got = amounts(bill)
    assert got["grid:peak"] == Decimal("60.00") and got["grid:offpeak"] == Decimal("160.00")
    assert got["energy:peak"] + got["energy:offpeak"] == Decimal("375.00")
    assert got["injection_price:peak"] == Decimal("-60.00")  # 1500 x 0.04, no VAT
    assert got["injection_price:offpeak"] == Decimal("-20.00")
    assert "prosumer" not in got
    assert bill.vat_eur == Decimal("35.70")  # 6 % of 595.01
    assert bill.total_eur == Decimal("550.71")  # 595.01 - 80 + 35.70


def test_compensation_refuses_a_calendar_with_two_bands_on_one_register() -> None:
    with pytest.raises(ValueError, match="one band per register"):
        price(NETTING, toy_tariff(), "impact", Regime.COMPENSATION, inverter_kva=Decimal(5))


def test_impact_prices_three_bands() -> None:
    usage = usage_at({local_ts(2026, 5, 4, h): (1000, 0) for h in (3, 8, 12, 18, 23)})
    got = amounts(price(usage, toy_tariff(), "impact", Regime.STANDARD))
    # cheap 03 h and 12 h, medium 08 h and 23 h, peak 18 h
    assert got["grid:cheap"] == Decimal("0.10")
    assert got["grid:medium"] == Decimal("0.20")
    assert got["grid:peak"] == Decimal("0.20")


def test_community_covers_a_share_at_its_price_and_the_supplier_the_rest() -> None:
    usage = usage_at({local_ts(2026, 5, 4, 10, 15 * k): (1000, 0) for k in range(4)})
    terms = CommunityTerms(Decimal(25), Decimal("0.10"), Decimal("0.005"))
    bill = price(usage, toy_tariff(), "single", Regime.COMMUNITY, community=terms)
    got = amounts(bill)
    assert got["grid:all"] == Decimal("0.40")  # the grid is paid on all 4 kWh
    assert got["energy:all"] == Decimal("0.45")  # the supplier sells 3 kWh
    assert got["community_energy"] == Decimal("0.10")  # 1 kWh from the community
    assert got["community_fee"] == Decimal("0.01")  # 0.005 rounds half away from zero
    assert bill.total_eur == Decimal("1.03")  # 0.97 + 0.06 VAT


def test_capacity_term_counts_every_month_at_least_2_5_kw() -> None:
    year = flat_year(import_wh=0)
    imp = year.import_wh.copy()
    for month, wh in ((1, 500), (2, 1000), (3, 750)):  # 2.0 kW, 4.0 kW, 3.0 kW
        imp[int(np.searchsorted(year.start_ts, local_ts(2026, month, 10, 18)))] = wh
    tariff = toy_tariff(CAPACITY, options={"single": "single"})
    bill = price(Usage(year.start_ts, imp, year.export_wh), tariff, "single", Regime.STANDARD)
    capacity = next(line for line in bill.lines if line.id == "capacity")
    # (2.5 + 4 + 3 + 9 x 2.5) / 12 = 32 / 12 kW, x 60 €/kW/year = 160 €
    assert capacity.quantity == Fraction(32, 12)
    assert capacity.amount_eur == Decimal("160.00")
    assert [p.peak_kw for p in bill.peaks[:4]] == [2, 4, 3, 0]


def test_printed_total_is_the_sum_of_printed_lines() -> None:
    bill = price(flat_year(import_wh=37, export_wh=11), toy_tariff(), "dual", Regime.INJECTION_SALE)
    assert bill.total_eur == sum(line.amount_eur for line in bill.lines) + bill.vat_eur
    assert abs(Fraction(bill.total_eur) - bill.exact_total) <= Fraction(len(bill.lines) + 1, 200)


def test_indexed_energy_follows_the_price_series() -> None:
    indexed = """
[[component]]
id = "energy"
kind = "indexed"
supplier_energy = true
multiplier = 1.1
per_kwh = 0.02
source = "test"
verified = true
"""
    t0 = local_ts(2026, 5, 4, 10)
    usage = usage_at({t0: (1000, 0), t0 + 900: (2000, 0)})
    prices = {t0 - t0 % 3600: Decimal(100)}  # an hourly price covers both quarter-hours
    got = amounts(price(usage, toy_tariff(indexed), "single", Regime.STANDARD, prices_eur_mwh=prices))
    assert got["energy"] == Decimal("0.39")  # 3 kWh x (1.1 x 0.100 + 0.02)
    with pytest.raises(ValueError, match="price series"):
        price(usage, toy_tariff(indexed), "single", Regime.STANDARD)


YEAR_START = local_midnight_ts(date(2026, 1, 1))


@settings(max_examples=60, deadline=None)
@given(
    offset=st.integers(0, 364 * 96),
    values=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), min_size=2, max_size=300),
    cut=st.integers(1, 299),
    option=st.sampled_from(["single", "dual", "impact"]),
    regime=st.sampled_from([Regime.STANDARD, Regime.INJECTION_SALE, Regime.COMMUNITY]),
)
def test_cost_is_additive_over_any_split(
    offset: int, values: list[tuple[int, int]], cut: int, option: str, regime: Regime
) -> None:
    ts = YEAR_START + 900 * (offset + np.arange(len(values), dtype=np.int64))
    usage = Usage(ts, np.array([v[0] for v in values]), np.array([v[1] for v in values]))
    k = min(cut, len(values) - 1)
    terms = CommunityTerms(Decimal("33.3"), Decimal("0.11"))
    tariff = toy_tariff()

    def cost(part: Usage) -> Fraction:
        return price(part, tariff, option, regime, community=terms).exact_total

    head, tail = usage.select(np.arange(len(values)) < k), usage.select(np.arange(len(values)) >= k)
    assert cost(head) + cost(tail) == cost(usage)
