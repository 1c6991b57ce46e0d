"""The tariff advisor: the user's last 12 months priced under every option open to them, ranked, explained.

Strategy: complete the year (`tariffs.series`), then price it (`tariffs.bill`) for each tariff option of
the region (single, dual, Impact) crossed with each settlement the household can use (no export:
standard; export: injection sale, compensation where the region has it and the PV predates 2024, the
community when its terms are given). Reasons are computed facts turned into sentences
(`tariffs.text`): the gap to the runner-up, where the PV export lands on the registers, what a negative
register loses, compensation against injection sale, the capacity term and what 1 kW less saves, and
what shifting peak consumption would save (found by re-pricing a shifted copy of the year, so every rule
— netting, capacity — is honoured).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np

from tariffs.bands import BandCalendar, get_calendar
from tariffs.bill import QUARTER_HOURS_PER_YEAR, Bill, CommunityTerms, price
from tariffs.capacity import billed_kw
from tariffs.model import Kind, Regime, Tariff
from tariffs.money import frac, kwh, to_cents, to_decimal
from tariffs.series import Completion, Usage, last_twelve_months, local_fields
from tariffs.text import Message, option_label

SHIFT_PCT = 10


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


def _vat_factor(tariff: Tariff) -> Fraction:
    return 1 + frac(tariff.vat_pct) / 100


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
    indexed = any(c.kind is Kind.INDEXED for c in tariff.components)
    estimated_kva = inverter_kva is None
    if inverter_kva is None:
        inverter_kva = Decimal(int(usage.export_wh.max(initial=0)) * 4 // 100) / 10  # 0.1 kVA steps
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
    ranked = tuple(sorted(priced, key=lambda p: (p.total_eur, p.option, p.regime.value)))
    reasons: list[Message] = []
    _reason_cheapest(ranked, reasons)
    _reason_registers(usage, ranked, reasons)
    _reason_compensation(ranked, reasons)
    _reason_community(ranked, community, reasons)
    capacity = _capacity(tariff, ranked[0], reasons)
    shifting = tuple(
        _shift(usage, tariff, p, inverter_kva, community, prices_eur_mwh, reasons)
        for p in _best_per_option(ranked)
        if len(p.bill.calendar.bands) > 1
    )
    _reason_completion(completion, reasons)
    if estimated_kva and any(p.regime is Regime.COMPENSATION for p in ranked):
        reasons.append(Message("inverter_estimated", {"kva": str(inverter_kva)}))
    if completion.window_start < tariff.valid_from or completion.window_end > tariff.valid_until:
        reasons.append(
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
        reasons.append(Message("placeholders", {"count": str(len(unverified))}))
    if tariff.offer_is_example:
        reasons.append(Message("example_offer", {}))
    return Advice(tariff, completion, usage, ranked, tuple(reasons), shifting, capacity)


def _best_per_option(ranked: tuple[Priced, ...]) -> list[Priced]:
    seen: dict[str, Priced] = {}
    for p in ranked:
        seen.setdefault(p.option, p)
    return list(seen.values())


def _eur(value: Decimal | Fraction) -> str:
    return str(value if isinstance(value, Decimal) else to_cents(value))


def _reason_cheapest(ranked: tuple[Priced, ...], out: list[Message]) -> None:
    best = ranked[0]
    if len(ranked) == 1:
        out.append(Message("only_option", {"option": best.label, "total": _eur(best.total_eur)}))
        return
    second = ranked[1]
    out.append(
        Message(
            "cheapest",
            {
                "option": best.label,
                "total": _eur(best.total_eur),
                "gap": _eur(second.total_eur - best.total_eur),
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


def _reason_registers(usage: Usage, ranked: tuple[Priced, ...], out: list[Message]) -> None:
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


def _reason_compensation(ranked: tuple[Priced, ...], out: list[Message]) -> None:
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
                    "compensation": _eur(comp.total_eur),
                    "sale": _eur(sale.total_eur),
                    "better": "cheaper" if gap >= 0 else "dearer",
                    "gap": _eur(abs(gap)),
                },
            )
        )
        return


def _reason_community(
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
                "total": _eur(best.total_eur),
                "option": option_label(best.option, ""),
                "gap": _eur(abs(gap)),
                "direction": "less" if gap >= 0 else "more",
            },
        )
    )
    if any(p.regime is Regime.COMPENSATION for p in ranked):
        out.append(Message("community_gives_up", {}))


def _capacity(tariff: Tariff, best: Priced, out: list[Message]) -> dict[str, object] | None:
    comp = next((c for c in tariff.components if c.kind is Kind.CAPACITY), None)
    if comp is None or not best.bill.peaks:
        return None
    years = Fraction(best.bill.quarter_hours, QUARTER_HOURS_PER_YEAR)
    peaks = list(best.bill.peaks)
    kw = billed_kw(peaks, frac(comp.min_kw))
    lower = billed_kw(peaks, frac(comp.min_kw), lower_by_kw=Fraction(1))
    rate = frac(comp.per_kw_year) * years * _vat_factor(tariff)
    cost, saving = kw * rate, (kw - lower) * rate
    out.append(
        Message(
            "capacity",
            {
                "kw": str(to_decimal(kw)),
                "min_kw": str(comp.min_kw),
                "cost": _eur(cost),
                "saving": _eur(saving),
            },
        )
    )
    return {
        "billed_kw": str(to_decimal(kw)),
        "min_kw": str(comp.min_kw),
        "cost_eur_incl_vat": _eur(cost),
        "saving_per_kw_eur_incl_vat": _eur(saving),
        "monthly_peaks": [
            {"month": p.month, "peak_kw": str(to_decimal(p.peak_kw)), "at_ts": p.at_ts} for p in peaks
        ],
    }


def _cheapest_band(bill: Bill, tariff: Tariff) -> str:
    """The band with the lowest sum of per-kWh rates."""

    def rate(band: str) -> Decimal:
        return sum(
            (c.rate(bill.option, band) for c in tariff.components if c.kind is Kind.ENERGY),
            Decimal(0),
        )

    return min(bill.calendar.bands, key=rate)


def _peak_band(bill: Bill, tariff: Tariff) -> str:
    def rate(band: str) -> Decimal:
        return sum(
            (c.rate(bill.option, band) for c in tariff.components if c.kind is Kind.ENERGY),
            Decimal(0),
        )

    return max(bill.calendar.bands, key=rate)


def _shift(
    usage: Usage,
    tariff: Tariff,
    priced: Priced,
    inverter_kva: Decimal,
    community: CommunityTerms | None,
    prices: Mapping[int, Decimal] | None,
    out: list[Message],
) -> dict[str, object]:
    """Move SHIFT_PCT % of each peak quarter-hour's import to the same day's cheapest band; re-price."""
    bill, calendar = priced.bill, priced.bill.calendar
    peak, cheap = _peak_band(bill, tariff), _cheapest_band(bill, tariff)
    idx = calendar.band_index(usage.start_ts)
    day, slot = local_fields(usage.start_ts)
    peak_rows = idx == calendar.bands.index(peak)
    cheap_rows = idx == calendar.bands.index(cheap)
    moved = np.where(peak_rows, usage.import_wh * SHIFT_PCT // 100, 0)
    shifted = usage.import_wh - moved
    moved_per_day = np.bincount(day - day.min(), weights=moved).astype(np.int64)
    cheap_count = np.bincount(day - day.min(), weights=cheap_rows).astype(np.int64)
    d = day - day.min()
    share = np.where(cheap_rows & (cheap_count[d] > 0), moved_per_day[d] // np.maximum(cheap_count[d], 1), 0)
    shifted = shifted + share
    # whatever integer division left over stays where it was (energy is never created)
    leftover = moved_per_day - np.bincount(d, weights=share, minlength=moved_per_day.size).astype(np.int64)
    first_peak_row_of_day: dict[int, int] = {}
    for row in np.flatnonzero(peak_rows).tolist():
        first_peak_row_of_day.setdefault(int(d[row]), row)
    for dd, row in first_peak_row_of_day.items():
        shifted[row] += leftover[dd]
    after = price(
        Usage(usage.start_ts, shifted, usage.export_wh),
        tariff,
        priced.option,
        priced.regime,
        inverter_kva=inverter_kva,
        community=community,
        prices_eur_mwh=prices,
    )
    saving = bill.total_eur - after.total_eur
    peak_wh = int(usage.import_wh[peak_rows].sum())
    hours = (slot // 4)[peak_rows]
    by_hour = np.bincount(hours, weights=usage.import_wh[peak_rows], minlength=24)
    top = sorted(np.argsort(by_hour)[::-1][:2].tolist())
    top_hours = " and ".join(f"{h:02d}-{h + 1:02d} h" for h in top)
    moved_wh = int(moved.sum() - leftover.sum())
    params = {
        "option": option_label(priced.option, ""),
        "peak_kwh": str(to_decimal(kwh(peak_wh), 0)),
        "band": peak,
        "hours": calendar.describe_band(peak),
        "top_hours": top_hours,
        "pct": str(SHIFT_PCT),
        "moved_kwh": str(to_decimal(kwh(moved_wh), 0)),
        "cheap_band": cheap,
        "cheap_hours": calendar.describe_band(cheap),
        "saving": _eur(saving),
    }
    out.append(Message("shift", params))
    return {
        "option": priced.option,
        "regime": priced.regime.value,
        "from_band": peak,
        "to_band": cheap,
        "peak_kwh": str(to_decimal(kwh(peak_wh))),
        "moved_pct": SHIFT_PCT,
        "moved_kwh": str(to_decimal(kwh(moved_wh))),
        "saving_eur": _eur(saving),
        "saving_per_kwh_eur": _eur(frac(saving) / kwh(moved_wh)) if moved_wh else "0.00",
        "peak_kwh_by_hour": [str(to_decimal(kwh(int(w)))) for w in by_hour.tolist()],
    }


def _reason_completion(c: Completion, out: list[Message]) -> None:
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
