"""Every option open to a household, priced: the region's tariff options crossed with the settlements
(regimes) the household can use, each billed by `tariffs.bill.price` and ranked cheapest first.

Regimes: no export: standard; export: injection sale, compensation where the region has it, the PV predates
2024, each band has its own register and the offer is not indexed; the community when its terms are given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tariffs.bands import BandCalendar, get_calendar
from tariffs.bill import Bill, CommunityTerms, price
from tariffs.model import Kind, Regime, Tariff
from tariffs.series import Usage
from tariffs.text import option_label


@dataclass(frozen=True)
class Priced:
    """One option x regime and its bill."""

    option: str
    regime: Regime
    bill: Bill

    @property
    def label(self) -> str:
        return option_label(self.option, self.regime.value)

    @property
    def total_eur(self) -> Decimal:
        return self.bill.total_eur


def _regimes(
    tariff: Tariff,
    usage: Usage,
    calendar: BandCalendar,
    *,
    compensation_eligible: bool,
    community: CommunityTerms | None,
    indexed: bool,
) -> list[Regime]:
    if int(usage.export_wh.sum()) == 0:
        out = [Regime.STANDARD]
    else:
        out = [Regime.INJECTION_SALE]
        one_band_per_register = len(set(calendar.registers.values())) == len(calendar.bands)
        if (
            Regime.COMPENSATION in tariff.prosumer_regimes
            and compensation_eligible
            and one_band_per_register
            and not indexed
        ):
            out.append(Regime.COMPENSATION)
    if community is not None:
        out.append(Regime.COMMUNITY)
    return out


def price_every_option(
    usage: Usage,
    tariff: Tariff,
    *,
    compensation_eligible: bool,
    inverter_kva: Decimal,
    community: CommunityTerms | None,
    prices_eur_mwh: Mapping[int, Decimal] | None,
) -> tuple[Priced, ...]:
    """`usage` billed under every option x regime open to the household, cheapest first (ties by option,
    then regime)."""
    indexed = any(c.kind is Kind.INDEXED for c in tariff.components)
    priced: list[Priced] = []
    for option, cal_name in tariff.options.items():
        calendar = get_calendar(cal_name)
        for regime in _regimes(
            tariff,
            usage,
            calendar,
            compensation_eligible=compensation_eligible,
            community=community,
            indexed=indexed,
        ):
            bill = price(
                usage,
                tariff,
                option,
                regime,
                inverter_kva=inverter_kva,
                community=community,
                prices_eur_mwh=prices_eur_mwh,
            )
            priced.append(Priced(option, regime, bill))
    return tuple(sorted(priced, key=lambda p: (p.total_eur, p.option, p.regime.value)))


def best_per_option(ranked: tuple[Priced, ...]) -> list[Priced]:
    """The cheapest regime of each option (`ranked` is cheapest first)."""
    seen: dict[str, Priced] = {}
    for p in ranked:
        seen.setdefault(p.option, p)
    return list(seen.values())
