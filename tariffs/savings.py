"""What the household could save: the capacity term and what 1 kW less of monthly peak saves, and shifting
SHIFT_PCT % of peak-band consumption to the same day's cheapest band, found by re-pricing a shifted copy
of the year (so every rule, netting and capacity included, is honoured). Each adds its `Message` and returns
the figures for `advice.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

import numpy as np

from tariffs.bill import QUARTER_HOURS_PER_YEAR, Bill, CommunityTerms, price
from tariffs.capacity import billed_kw
from tariffs.model import Kind, Tariff
from tariffs.money import frac, kwh, to_decimal
from tariffs.options import Priced
from tariffs.reasons import eur
from tariffs.series import Usage, local_fields
from tariffs.text import Message, option_label

SHIFT_PCT = 10


def _vat_factor(tariff: Tariff) -> Fraction:
    return 1 + frac(tariff.vat_pct) / 100


def capacity_advice(tariff: Tariff, best: Priced, out: list[Message]) -> dict[str, object] | None:
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
                "cost": eur(cost),
                "saving": eur(saving),
            },
        )
    )
    return {
        "billed_kw": str(to_decimal(kw)),
        "min_kw": str(comp.min_kw),
        "cost_eur_incl_vat": eur(cost),
        "saving_per_kw_eur_incl_vat": eur(saving),
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


def shift_advice(
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
        "saving": eur(saving),
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
        "saving_eur": eur(saving),
        "saving_per_kwh_eur": eur(frac(saving) / kwh(moved_wh)) if moved_wh else "0.00",
        "peak_kwh_by_hour": [str(to_decimal(kwh(int(w)))) for w in by_hour.tolist()],
    }
