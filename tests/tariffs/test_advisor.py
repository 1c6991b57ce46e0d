"""The advisor on the simulator's prosumer and heat-pump households: the documented ranking and its reasons.

The households are a year (2026) of `meter_sim.profiles` quarter-hours (tests/tariffs/households.py). The
rankings below are the ones docs/tariffs.md documents; they hold for the shipped 2026 grid figures (read on
suppliers' April 2026 tariff cards) and the made-up example offer, so a change to a shipped figure that
reorders them must update the docs too. They are outputs of the engine, not hand computations: the
hand-computed bills with the real figures are in test_published_figures.py.
"""

from __future__ import annotations

from decimal import Decimal

from tariffs.advisor import advise
from tariffs.bill import CommunityTerms, price
from tariffs.load import load_tariff
from tariffs.model import Regime
from tests.tariffs.helpers import local_ts
from tests.tariffs.households import household_year

COMMUNITY = CommunityTerms(Decimal(25), Decimal("0.10"))


def ranking(kind: str, region: str, **kw: object) -> list[tuple[str, str]]:
    advice = advise(household_year(kind), load_tariff(region), **kw)  # type: ignore[arg-type]
    return [(p.option, p.regime.value) for p in advice.ranked]


def test_wallonia_prosumer_ranking_and_why() -> None:
    advice = advise(
        household_year("prosumer"),
        load_tariff("wallonia"),
        compensation_eligible=True,
        inverter_kva=Decimal(5),
        community=COMMUNITY,
    )
    assert [(p.option, p.regime.value) for p in advice.ranked] == [
        ("single", "compensation"),
        ("dual", "community"),
        ("dual", "injection_sale"),
        ("single", "community"),
        ("single", "injection_sale"),
        ("impact", "community"),
        ("impact", "injection_sale"),
        ("dual", "compensation"),
    ]
    ids = [m.id for m in advice.reasons]
    assert ids[:2] == ["cheapest", "register_shift"]
    shift = advice.reasons[1].params
    assert int(shift["pct_2026"]) > 70 > 30 > int(shift["pct_legacy"])  # 11-17 h export moved to register 2
    lost = next(m for m in advice.reasons if m.id == "negative_register")
    assert lost.params["register"] == "2"
    assert "community_gives_up" in ids and "compensation_vs_sale" in ids
    # the gap it reports is the gap between the two bills
    best, second = advice.ranked[0], advice.ranked[1]
    assert advice.reasons[0].params["gap"] == str(second.total_eur - best.total_eur)


def test_wallonia_prosumer_without_compensation_sells_its_injection() -> None:
    assert ranking("prosumer", "wallonia") == [
        ("dual", "injection_sale"),
        ("single", "injection_sale"),
        ("impact", "injection_sale"),
    ]


def test_heat_pump_ranking_in_each_region() -> None:
    assert ranking("heat_pump", "wallonia") == [
        ("impact", "standard"),
        ("dual", "standard"),
        ("single", "standard"),
    ]
    assert ranking("heat_pump", "flanders") == [("dual", "standard"), ("single", "standard")]
    assert ranking("heat_pump", "brussels") == [("dual", "standard"), ("single", "standard")]


def test_flanders_capacity_term_is_in_every_option_with_the_1_kw_saving() -> None:
    tariff = load_tariff("flanders")
    advice = advise(household_year("heat_pump"), tariff)
    for p in advice.ranked:
        assert any(line.id == "capacity" for line in p.bill.lines)
    assert advice.capacity is not None
    assert Decimal(str(advice.capacity["saving_per_kw_eur_incl_vat"])) > 0
    # the saving is what the bill says when every monthly peak is 1 kW lower: 1 kW x rate x 1.06
    rate = tariff.component("capacity").per_kw_year
    assert Decimal(str(advice.capacity["saving_per_kw_eur_incl_vat"])) == (rate * Decimal("1.06")).quantize(
        Decimal("0.01")
    )


def test_shifting_peak_consumption_saves_what_repricing_says() -> None:
    usage = household_year("heat_pump")
    tariff = load_tariff("wallonia")
    advice = advise(usage, tariff)
    dual = next(s for s in advice.shifting if s["option"] == "dual")
    assert dual["from_band"] == "peak" and dual["to_band"] == "offpeak"
    assert Decimal(str(dual["saving_eur"])) > 0
    # without netting or capacity, each kWh moved saves the peak-offpeak gap of every per-kWh price, incl.
    # VAT (give or take the cent rounding of the ~20 lines of each bill)
    full_gap = sum(
        c.rate("dual", "peak") - c.rate("dual", "offpeak")
        for c in tariff.components
        if c.kind.value == "energy"
    ) * Decimal("1.06")
    assert abs(Decimal(str(dual["saving_eur"])) - Decimal(str(dual["moved_kwh"])) * full_gap) <= Decimal(
        "0.10"
    )
    unshifted = price(advice.usage, tariff, "dual", Regime.STANDARD)
    assert unshifted.total_eur == next(p for p in advice.ranked if p.option == "dual").total_eur


def test_a_partial_year_says_how_it_was_completed() -> None:
    usage = household_year("prosumer")
    partial = usage.between(local_ts(2026, 5, 1), local_ts(2026, 7, 20))
    advice = advise(partial, load_tariff("wallonia"), compensation_eligible=True)
    completed = next(m for m in advice.reasons if m.id == "completed")
    assert completed.params["first"] == "2026-05-01" and completed.params["last"] == "2026-07-19"
    assert "nearest recorded day of the same weekday" in completed.text
    assert any(m.id == "completed_months" for m in advice.reasons)
    ids = {m.id: m for m in advice.reasons}
    # 2025-08..2026-07 is priced at 2026 prices, and says so; the inverter was guessed, and says so
    assert ids["validity"].params["valid_from"] == "2026-01-01"
    assert Decimal(ids["inverter_estimated"].params["kva"]) > 0
