"""The shipped 2026 figures against the tariff cards they were read from, and two yearly bills by hand.

Sources (April 2026 supplier tariff cards, which reprint the regulator-approved grid tariffs and the levies;
read from the copies in the public repository renaudallard/homeassistant_be_electricity_prices,
tests/fixtures/, commit 5d7c28f):

* Eneco "Zon & Wind Vast", april 2026 (incl. 6 % VAT), table "Gebruik van distributie- en transportnet":
  https://cdn.eneco.be/downloads/nl/general/tk/BC_032_012604_NL_ENECO_POWER_FIX.pdf
* Mega "Smart Fixed 2Y" 04/2026, Wallonie and Bruxelles (incl. 6 % VAT), published 22-04-2026.
* Ecopower "Groene burgerstroom", april 2026 (excl. VAT), "Nettarieven" and "Heffingen".
* ENGIE "Easy Fixed", Flanders, April 2026 (incl. 6 % VAT), "Distribution", digital meter.

No DSO or regulator publication of a 2026 yearly bill example with a result to the cent could be found
(docs/tariffs.md, "What is verified"), so the yearly bills below are computed by hand from the card figures,
each step in the comments; the household inputs are the regulators' usual ones (CWaPE's 3 500 kWh with
1 600 kWh in peak and 1 900 kWh in off-peak hours; VREG's 3 500 kWh with a 4.28 kW mean monthly peak).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from tariffs.bill import Bill, price
from tariffs.load import load_tariff
from tariffs.model import Regime
from tests.tariffs.helpers import flat_year, local_ts

VAT = Decimal("1.06")
GRID_ONLY = {"offer": {"id": "grid-only", "name": "grid and levies only", "example": False}}

# Printed incl. 6 % VAT on Eneco's card (c€/kWh; €/year): single, day, night, PIC, MEDIUM, ECO, fixed term,
# prosumer (€/kVA/year). Transport is 2.74 c€/kWh for every Walloon DSO.
WALLONIA_CARD = {
    "ores": ("11.98", "13.27", "7.39", "16.57", "10.83", "5.09", "14.10", "85.84"),
    "resa": ("11.06", "12.20", "7.01", "15.11", "10.05", "4.99", "26.50", "84.22"),
    "aieg": ("10.87", "12.05", "6.66", "15.08", "9.82", "4.56", "19.49", "81.04"),
    "aiesh": ("13.64", "15.17", "8.21", "19.07", "12.28", "5.50", "17.92", "99.29"),
    "rew": ("12.48", "13.78", "7.84", "17.11", "11.32", "5.52", "26.44", "93.00"),
}


def incl_vat(value: Decimal, places: str) -> Decimal:
    return (value * VAT).quantize(Decimal(places), ROUND_HALF_UP)


@pytest.mark.parametrize("dso", sorted(WALLONIA_CARD))
def test_walloon_figures_times_vat_give_back_the_printed_card(dso: str) -> None:
    """Every rate is compared to the card's hundredth of a cent, every yearly term to its cent."""
    tariff = load_tariff("wallonia", dso, offer=GRID_ONLY)
    dist = tariff.component("distribution")
    single, day, night, pic, medium, eco, fixed, prosumer = (Decimal(x) for x in WALLONIA_CARD[dso])
    assert incl_vat(dist.rate("single", "all"), "0.0001") == single / 100
    assert incl_vat(dist.rate("dual", "peak"), "0.0001") == day / 100
    assert incl_vat(dist.rate("dual", "offpeak"), "0.0001") == night / 100
    assert incl_vat(dist.rate("impact", "peak"), "0.0001") == pic / 100
    assert incl_vat(dist.rate("impact", "medium"), "0.0001") == medium / 100
    assert incl_vat(dist.rate("impact", "cheap"), "0.0001") == eco / 100
    assert incl_vat(tariff.component("transport").rate("single", "all"), "0.0001") == Decimal("0.0274")
    assert incl_vat(tariff.component("metering").per_year, "0.01") == fixed
    assert incl_vat(tariff.component("prosumer").per_kva_year, "0.01") == prosumer


# Fluvius: Ecopower prints excl. VAT, ENGIE incl. VAT; two independent cards must agree.
# zone: (Ecopower kWh excl. VAT, ENGIE kWh incl. VAT in c€, Ecopower capacity excl. VAT, ENGIE capacity incl.)
FLUVIUS_CARDS = {
    "fluvius-antwerpen": ("0.0505027", "5.35329", "49.40", "52.3679"),
    "fluvius-imewo": ("0.0522864", "5.54236", "54.20", "57.4530"),
    "fluvius-limburg": ("0.0542695", "5.75257", "49.05", "51.9898"),
}


@pytest.mark.parametrize("zone", sorted(FLUVIUS_CARDS))
def test_fluvius_figures_agree_with_both_cards(zone: str) -> None:
    tariff = load_tariff("flanders", zone, offer=GRID_ONLY)
    eco_kwh, engie_kwh_cents, eco_cap, engie_cap = (Decimal(x) for x in FLUVIUS_CARDS[zone])
    kwh = tariff.component("distribution").rate("single", "all")
    assert kwh == eco_kwh and incl_vat(kwh, "0.0000001") == engie_kwh_cents / 100
    cap = tariff.component("capacity").per_kw_year
    assert cap.quantize(Decimal("0.01"), ROUND_HALF_UP) == eco_cap
    assert incl_vat(cap, "0.0001") == engie_cap
    assert incl_vat(tariff.component("data").per_year, "0.01") == Decimal("18.92")  # Eneco / ENGIE print it
    assert not any(c.id == "transport" for c in tariff.components)  # included in Fluvius' kWh tariff


def test_federal_levies_are_the_same_on_the_excl_and_incl_vat_cards() -> None:
    for region in ("wallonia", "flanders", "brussels"):
        tariff = load_tariff(region, offer=GRID_ONLY)
        assert incl_vat(tariff.component("excise").rate("single", "all"), "0.0000001") == Decimal("0.0503288")
        contribution = tariff.component("energy_contribution").rate("single", "all")
        assert incl_vat(contribution, "0.0000001") == Decimal("0.0020417")


def lines(bill: Bill) -> dict[str, Decimal]:
    return {line.id: line.amount_eur for line in bill.lines}


def test_cwape_type_household_on_ores_dual_by_hand() -> None:
    """3 500 kWh, 1 600 in peak and 1 900 in off-peak hours (the CWaPE residential type), ORES, dual, 2026.

    Every quarter-hour of 2026 is present; the year's peak energy sits on one peak quarter-hour (Monday
    2 March, 08:00) and the off-peak energy on one off-peak quarter-hour (03:00): Wallonia has no capacity
    term, so only the band matters. Per line, excl. VAT, rounded half away from zero to the cent:
      distribution  1600 x 0.12518868 = 200.301888 -> 200.30   1900 x 0.06971698 = 132.462262 -> 132.46
      transport     1600 x 0.02584906 =  41.358496 ->  41.36   1900 x 0.02584906 =  49.113214 ->  49.11
      excise        1600 x 0.04748    =  75.968    ->  75.97   1900 x 0.04748    =  90.212    ->  90.21
      contribution  1600 x 0.0019261  =   3.08176  ->   3.08   1900 x 0.0019261  =   3.65959  ->   3.66
      connection    1600 x 0.00075    =   1.20     ->   1.20   1900 x 0.00075    =   1.425    ->   1.43
      metering      13.301887 x a whole year                  ->  13.30
    VAT-able lines (all but the connection levy): 609.45; VAT 6 % = 36.567 -> 36.57.
    Total: 609.45 + 1.20 + 1.43 + 36.57 = 648.65.
    """
    year = flat_year(import_wh=0)
    imp = year.import_wh.copy()
    imp[int(np.searchsorted(year.start_ts, local_ts(2026, 3, 2, 8)))] = 1_600_000
    imp[int(np.searchsorted(year.start_ts, local_ts(2026, 3, 2, 3)))] = 1_900_000
    year = type(year)(year.start_ts, imp, year.export_wh)
    bill = price(year, load_tariff("wallonia", "ores", offer=GRID_ONLY), "dual", Regime.STANDARD)
    got = lines(bill)
    assert got == {
        "distribution:peak": Decimal("200.30"),
        "distribution:offpeak": Decimal("132.46"),
        "transport:peak": Decimal("41.36"),
        "transport:offpeak": Decimal("49.11"),
        "excise:peak": Decimal("75.97"),
        "excise:offpeak": Decimal("90.21"),
        "energy_contribution:peak": Decimal("3.08"),
        "energy_contribution:offpeak": Decimal("3.66"),
        "regional_levy:peak": Decimal("1.20"),
        "regional_levy:offpeak": Decimal("1.43"),
        "metering": Decimal("13.30"),
    }
    assert bill.vat_eur == Decimal("36.57")
    assert bill.total_eur == Decimal("648.65")
    # The grid part with VAT is what the card's incl.-VAT figures give, give or take the rounding of lines:
    # 1600 x 0.1327 + 1900 x 0.0739 + 3500 x 0.0274 + 14.10 = 462.73 (ours: 436.53 x 1.06 = 462.7218).
    grid = sum(v for k, v in got.items() if k.split(":")[0] in ("distribution", "transport", "metering"))
    assert grid == Decimal("436.53")
    assert abs(grid * VAT - Decimal("462.73")) < Decimal("0.01")


def test_vreg_type_household_on_fluvius_antwerpen_by_hand() -> None:
    """3 500 kWh and a 4.28 kW peak every month (mean monthly peak 4.28 kW), Fluvius Antwerpen, 2026.

    VREG describes its typical household this way (3 500 kWh, mean monthly peak 4.28 kW: its 2024 tariff
    announcement). Each month has one quarter-hour of 1 070 Wh (= 4.28 kW); the other 35 028 quarter-hours of
    2026 share the remaining 3 487 160 Wh (99 or 100 Wh each). Per line, excl. VAT:
      distribution  3500 x 0.0505027 = 176.75945  -> 176.76
      capacity      4.28 x 49.4037   = 211.447836 -> 211.45   (12 months at 4.28 kW, above the 2.5 kW floor)
      data          17.85 for the whole year      ->  17.85
      The federal levies change on 1 August 2026 (the energy contribution is folded into a flat excise).
      January to July: 20 348 quarter-hours, 7 peaks of 1 070 Wh, the 19 388 quarter-hours of 100 Wh and
      953 of 99 Wh: 2 040 637 Wh; August to December: the other 1 459 363 Wh.
      excise to July  2040.637 x 0.04748   = 96.88944476 -> 96.89
      contribution    2040.637 x 0.0019261 =  3.93047093 ->  3.93
      excise from Aug 1459.363 x 0.046     = 67.130698   -> 67.13
      energy fund   0 (domiciled household, no VAT) -> 0.00
    Sum 574.01; VAT 6 % = 34.4406 -> 34.44; total 608.45. The grid part (distribution, capacity, data)
    is 406.06 excl. VAT, 430.42 incl. VAT.
    """
    year = flat_year(import_wh=99)
    imp = year.import_wh.copy()
    peaks = [int(np.searchsorted(year.start_ts, local_ts(2026, month, 15, 19))) for month in range(1, 13)]
    others = np.setdiff1d(np.arange(imp.size), peaks)
    assert others.size == 35_028
    imp[peaks] = 1_070
    imp[others[: 3_487_160 - 99 * 35_028]] = 100  # 19 388 quarter-hours get the extra Wh
    assert int(imp.sum()) == 3_500_000
    year = type(year)(year.start_ts, imp, year.export_wh)
    bill = price(
        year, load_tariff("flanders", "fluvius-antwerpen", offer=GRID_ONLY), "single", Regime.STANDARD
    )
    got = lines(bill)
    assert [p.peak_kw for p in bill.peaks] == [Decimal("4.28")] * 12
    assert got == {
        "distribution:all": Decimal("176.76"),
        "capacity": Decimal("211.45"),
        "data": Decimal("17.85"),
        "excise:all": Decimal("96.89"),
        "energy_contribution:all": Decimal("3.93"),
        "excise_from_august:all": Decimal("67.13"),
        "regional_levy": Decimal("0.00"),
    }
    assert bill.vat_eur == Decimal("34.44")
    assert bill.total_eur == Decimal("608.45")
    grid = got["distribution:all"] + got["capacity"] + got["data"]
    assert grid == Decimal("406.06") and incl_vat(grid, "0.01") == Decimal("430.42")
