"""The advisor's reasons: computed facts about the ranked options turned into `Message`s (`tariffs.text`
makes them sentences): the gap to the runner-up, where the PV export lands on the registers and what a
negative register loses, compensation against injection sale, joining the community, and the caveats
(a completed year, an estimated inverter, a tariff outside its validity, placeholders, an example offer).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np

from tariffs.bands import BandCalendar, get_calendar
from tariffs.bill import CommunityTerms
from tariffs.model import Regime, Tariff
from tariffs.money import kwh, to_cents, to_decimal
from tariffs.options import Priced
from tariffs.series import Completion, Usage
from tariffs.text import Message, option_label


def eur(value: Decimal | Fraction) -> str:
    """Euros as messages and `advice.json` give them: a Decimal as it is, a Fraction in cents."""
    return str(value if isinstance(value, Decimal) else to_cents(value))


def cheapest_reason(ranked: tuple[Priced, ...], out: list[Message]) -> None:
    best = ranked[0]
    if len(ranked) == 1:
        out.append(Message("only_option", {"option": best.label, "total": eur(best.total_eur)}))
        return
    second = ranked[1]
    out.append(
        Message(
            "cheapest",
            {
                "option": best.label,
                "total": eur(best.total_eur),
                "gap": eur(second.total_eur - best.total_eur),
                "second": second.label,
            },
        )
    )


def _export_share_register2(usage: Usage, calendar: BandCalendar) -> Fraction | None:
    total = int(usage.export_wh.sum())
    if not total:
        return None
    idx = calendar.band_index(usage.start_ts)
    reg2 = [i for i, b in enumerate(calendar.bands) if calendar.registers[b] == 2]
    return Fraction(int(usage.export_wh[np.isin(idx, reg2)].sum()), total)


def register_reasons(usage: Usage, ranked: tuple[Priced, ...], out: list[Message]) -> None:
    dual = next((p for p in ranked if p.regime is Regime.COMPENSATION and p.option == "dual"), None)
    if dual is None:
        return
    now = _export_share_register2(usage, dual.bill.calendar)
    if dual.bill.calendar.name == "wallonia-2026-dual" and now is not None:
        before = _export_share_register2(usage, get_calendar("wallonia-legacy-dual"))
        out.append(
            Message(
                "register_shift",
                {
                    "pct_2026": str(to_decimal(now * 100, 0)),
                    "pct_legacy": str(to_decimal((before or Fraction(0)) * 100, 0)),
                },
            )
        )
    for band in dual.bill.bands:
        lost = band.uncompensated_export_wh
        if lost:
            out.append(
                Message(
                    "negative_register",
                    {"register": str(band.register), "band": band.band, "lost": str(to_decimal(kwh(lost)))},
                )
            )


def compensation_reason(ranked: tuple[Priced, ...], out: list[Message]) -> None:
    by_key = {(p.option, p.regime): p for p in ranked}
    for option in dict.fromkeys(p.option for p in ranked):
        comp, sale = by_key.get((option, Regime.COMPENSATION)), by_key.get((option, Regime.INJECTION_SALE))
        if comp is None or sale is None:
            continue
        gap = sale.total_eur - comp.total_eur
        out.append(
            Message(
                "compensation_vs_sale",
                {
                    "option": option_label(option, ""),
                    "compensation": eur(comp.total_eur),
                    "sale": eur(sale.total_eur),
                    "better": "cheaper" if gap >= 0 else "dearer",
                    "gap": eur(abs(gap)),
                },
            )
        )
        return


def community_reasons(
    ranked: tuple[Priced, ...], community: CommunityTerms | None, out: list[Message]
) -> None:
    best = next((p for p in ranked if p.regime is Regime.COMMUNITY), None)
    alone = next((p for p in ranked if p.regime is not Regime.COMMUNITY), None)
    if best is None or community is None or alone is None:
        return
    gap = alone.total_eur - best.total_eur
    out.append(
        Message(
            "community",
            {
                "share": str(community.share_pct),
                "price": str(community.price_eur_per_kwh),
                "total": eur(best.total_eur),
                "option": option_label(best.option, ""),
                "gap": eur(abs(gap)),
                "direction": "less" if gap >= 0 else "more",
            },
        )
    )
    if any(p.regime is Regime.COMPENSATION for p in ranked):
        out.append(Message("community_gives_up", {}))


def completion_reasons(c: Completion, out: list[Message]) -> None:
    if c.complete:
        return
    total = c.recorded_quarter_hours + c.filled_quarter_hours
    end = c.window_end - timedelta(days=1)
    out.append(
        Message(
            "completed",
            {
                "first": str(c.first_recorded),
                "last": str(c.last_recorded),
                "filled": str(c.filled_quarter_hours),
                "total": str(total),
                "start": str(c.window_start),
                "end": str(end),
                "pct": str(to_decimal(Fraction(c.filled_quarter_hours * 100, max(total, 1)), 1)),
            },
        )
    )
    if c.empty_months:
        out.append(Message("completed_months", {"months": ", ".join(c.empty_months)}))


def caveats(
    tariff: Tariff,
    completion: Completion,
    ranked: tuple[Priced, ...],
    inverter_kva: Decimal,
    *,
    estimated_kva: bool,
    out: list[Message],
) -> None:
    """What the figures rest on: a completed year, an estimated inverter power (when compensation is
    priced), a year outside the tariff's validity, unverified components, an example offer."""
    completion_reasons(completion, out)
    if estimated_kva and any(p.regime is Regime.COMPENSATION for p in ranked):
        out.append(Message("inverter_estimated", {"kva": str(inverter_kva)}))
    if completion.window_start < tariff.valid_from or completion.window_end > tariff.valid_until:
        out.append(
            Message(
                "validity",
                {
                    "tariff": tariff.name,
                    "valid_from": str(tariff.valid_from),
                    "valid_until": str(tariff.valid_until - timedelta(days=1)),
                },
            )
        )
    unverified = {c.id for c in tariff.components if not c.source.verified}
    if unverified:
        out.append(Message("placeholders", {"count": str(len(unverified))}))
    if tariff.offer_is_example:
        out.append(Message("example_offer", {}))
