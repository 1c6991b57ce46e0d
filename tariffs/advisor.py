"""The tariff advisor: the user's last 12 months priced under every option open to them, ranked, explained.

Strategy: complete the year (`tariffs.series`), then price it under each tariff option of the region
crossed with each settlement the household can use (`tariffs.options`). Reasons are computed facts turned
into sentences (`tariffs.reasons`, `tariffs.text`); the capacity term and what shifting peak consumption
would save come from re-pricing (`tariffs.savings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tariffs.bill import CommunityTerms
from tariffs.model import Tariff
from tariffs.options import Priced, best_per_option, price_every_option
from tariffs.reasons import caveats, cheapest_reason, community_reasons, compensation_reason, register_reasons
from tariffs.savings import capacity_advice, shift_advice
from tariffs.series import Completion, Usage, last_twelve_months
from tariffs.text import Message


@dataclass(frozen=True)
class Advice:
    """The ranked options, the reasons and the shifting advice."""

    tariff: Tariff
    completion: Completion
    usage: Usage
    ranked: tuple[Priced, ...]
    reasons: tuple[Message, ...]
    shifting: tuple[dict[str, object], ...]
    capacity: dict[str, object] | None

    @property
    def cheapest(self) -> Priced:
        return self.ranked[0]


def advise(
    recorded: Usage,
    tariff: Tariff,
    *,
    compensation_eligible: bool = False,
    inverter_kva: Decimal | None = None,
    community: CommunityTerms | None = None,
    prices_eur_mwh: Mapping[int, Decimal] | None = None,
) -> Advice:
    """Price the last 12 months of ``recorded`` under every option and regime, rank and explain.

    Args:
        recorded: the household's quarter-hours (any length; the year is completed).
        tariff: the region's grid tariff + levies + a supplier offer.
        compensation_eligible: PV installed before 2024 (Wallonia: compensation until 2030).
        inverter_kva: inverter power for the prosumer tariff (default: the largest quarter-hour export).
        community: the community's terms, to price joining it.
        prices_eur_mwh: price series for an indexed offer.
    """
    usage, completion = last_twelve_months(recorded)
    estimated_kva = inverter_kva is None
    if inverter_kva is None:
        inverter_kva = Decimal(int(usage.export_wh.max(initial=0)) * 4 // 100) / 10  # 0.1 kVA steps
    ranked = price_every_option(
        usage,
        tariff,
        compensation_eligible=compensation_eligible,
        inverter_kva=inverter_kva,
        community=community,
        prices_eur_mwh=prices_eur_mwh,
    )
    reasons: list[Message] = []
    cheapest_reason(ranked, reasons)
    register_reasons(usage, ranked, reasons)
    compensation_reason(ranked, reasons)
    community_reasons(ranked, community, reasons)
    capacity = capacity_advice(tariff, ranked[0], reasons)
    shifting = tuple(
        shift_advice(usage, tariff, p, inverter_kva, community, prices_eur_mwh, reasons)
        for p in best_per_option(ranked)
        if len(p.bill.calendar.bands) > 1
    )
    caveats(tariff, completion, ranked, inverter_kva, estimated_kva=estimated_kva, out=reasons)
    return Advice(tariff, completion, usage, ranked, tuple(reasons), shifting, capacity)
