"""Pricing a period of quarter-hours under one tariff option and one regime.

Strategy: energies are summed per band once (integer Wh), then each component is priced exactly:
per-kWh components on the *billed* import of each band (measured import; under compensation, import
minus export per register over the period with a negative register billing 0; in a community, the
supplier's energy only on what the community did not cover), fixed and per-kVA fees prorated by
quarter-hours over a 365-day year (35 040 quarter-hours), the capacity term on the mean of monthly
peaks (floor per month), indexed energy per quarter-hour against a price series. Amounts stay exact
(`Fraction`) until each line is rounded to the cent; VAT is computed on the rounded VAT-able lines,
and the total is the sum of what is printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np

from tariffs.bands import ZONE, BandCalendar, IntArray, get_calendar
from tariffs.capacity import MonthPeak, billed_kw, monthly_peaks
from tariffs.model import Component, Kind, Regime, Source, Tariff
from tariffs.money import frac, kwh, to_cents
from tariffs.series import Usage

QUARTER_HOURS_PER_YEAR = 365 * 96
COMMUNITY_SOURCE = Source("your community", "community terms given to the advisor", verified=True)


@dataclass(frozen=True)
class CommunityTerms:
    """Joining a community: which part of each quarter-hour's import it covers, and at what price."""

    share_pct: Decimal
    price_eur_per_kwh: Decimal
    fee_eur_per_kwh: Decimal = Decimal("0.005")
    injection_eur_per_kwh: Decimal | None = None  # price the community pays for export; None: supplier's

    def shared_wh(self, import_wh: IntArray) -> IntArray:
        """Covered Wh per quarter-hour, floored (never more than the import)."""
        ppm = int(self.share_pct * 10_000)
        out: IntArray = import_wh * ppm // 1_000_000
        return out


@dataclass(frozen=True)
class Line:
    """One bill line: exact amount excl. VAT and its rounded value."""

    id: str
    label: str
    quantity: Fraction
    unit: str
    amount: Fraction
    vat: bool
    source: Source

    @property
    def amount_eur(self) -> Decimal:
        return to_cents(self.amount)


@dataclass(frozen=True)
class BandUse:
    """Energy of one band over the period (Wh) and what was billed."""

    band: str
    register: int
    import_wh: int
    export_wh: int
    billed_import_wh: int
    netted: bool = False  # compensation: billed = max(0, import - export)

    @property
    def uncompensated_export_wh(self) -> int:
        """Export a negative register could not offset (compensation): lost, billed 0."""
        return max(0, self.export_wh - self.import_wh) if self.netted else 0


@dataclass(frozen=True)
class Bill:
    """The priced period."""

    option: str
    regime: Regime
    calendar: BandCalendar
    lines: tuple[Line, ...]
    vat_pct: Decimal
    bands: tuple[BandUse, ...]
    quarter_hours: int
    peaks: tuple[MonthPeak, ...] = ()
    notes: Mapping[str, object] = field(default_factory=dict)

    @property
    def exact_excl_vat(self) -> Fraction:
        return sum((line.amount for line in self.lines), Fraction(0))

    @property
    def exact_vat(self) -> Fraction:
        base = sum((line.amount for line in self.lines if line.vat), Fraction(0))
        return base * frac(self.vat_pct) / 100

    @property
    def exact_total(self) -> Fraction:
        return self.exact_excl_vat + self.exact_vat

    @property
    def excl_vat_eur(self) -> Decimal:
        return sum((line.amount_eur for line in self.lines), Decimal("0.00"))

    @property
    def vat_eur(self) -> Decimal:
        base = sum((line.amount_eur for line in self.lines if line.vat), Decimal("0.00"))
        return to_cents(frac(base) * frac(self.vat_pct) / 100)

    @property
    def total_eur(self) -> Decimal:
        return self.excl_vat_eur + self.vat_eur


def _applies(component: Component, regime: Regime) -> bool:
    effective = Regime.INJECTION_SALE if regime is Regime.STANDARD else regime
    return component.applies(effective)


def _band_lines(comp: Component, option: str, bands: tuple[str, ...], wh: IntArray) -> list[Line]:
    """One line per time band: `wh[b]` Wh at the component's rate of band `b` (energy or injection)."""
    out = []
    for b, band in enumerate(bands):
        amount = kwh(int(wh[b]))
        label = comp.label if len(bands) == 1 else f"{comp.label}, {band}"
        rate = frac(comp.rate(option, band))
        out.append(Line(f"{comp.id}:{band}", label, amount, "kWh", amount * rate, comp.vat, comp.source))
    return out


def _day_start(day: date | None, default: int) -> int:
    return default if day is None else int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())


def _within_validity(
    comp: Component, usage: Usage, band_idx: IntArray, imp: IntArray, base: IntArray
) -> IntArray:
    """The part of each band's billed Wh drawn while `comp` applies (local days [valid_from, valid_until)).

    Billed as measured, that is exactly the import of those days. After per-register netting (compensation)
    the billed Wh of a band has no time of its own: it is shared out in proportion to the band's import in
    and out of the period (pro rata, as a yearly bill with a mid-year price change does), to the Wh.
    """
    lo = _day_start(comp.valid_from, -(2**62))
    hi = _day_start(comp.valid_until, 2**62)
    inside = (usage.start_ts >= lo) & (usage.start_ts < hi)
    out = np.zeros_like(base)
    for b in range(base.size):
        within = int(usage.import_wh[inside & (band_idx == b)].sum())
        total = int(imp[b])
        out[b] = (
            int(base[b]) if within == total else (int(base[b]) * within + total // 2) // total if total else 0
        )
    return out


def _price_at(prices_eur_mwh: Mapping[int, Decimal], ts: int) -> Decimal:
    price = prices_eur_mwh.get(ts, prices_eur_mwh.get(ts - ts % 3600))
    if price is None:
        at = datetime.fromtimestamp(ts, UTC).astimezone(ZONE).isoformat()
        raise ValueError(
            f"the price series has no price for {at}: it must cover every quarter-hour priced "
            "(the advisor prices 12 whole months)"
        )
    return price


def price(
    usage: Usage,
    tariff: Tariff,
    option: str,
    regime: Regime,
    *,
    inverter_kva: Decimal | None = None,
    community: CommunityTerms | None = None,
    prices_eur_mwh: Mapping[int, Decimal] | None = None,
) -> Bill:
    """Price ``usage`` under ``tariff``'s ``option`` (single, dual, impact) and ``regime``.

    Args:
        usage: the quarter-hours of the period.
        tariff: grid + levies + offer.
        option: a key of ``tariff.options``.
        regime: how import and export are settled.
        inverter_kva: the PV inverter's power, for the prosumer tariff (compensation).
        community: the community's terms (regime COMMUNITY).
        prices_eur_mwh: quarter-hour (or hour) start -> €/MWh, for indexed components.
    """
    if option not in tariff.options:
        raise ValueError(f"{tariff.name} has no {option!r} option (has {', '.join(tariff.options)})")
    if regime is Regime.COMMUNITY and community is None:
        raise ValueError("the community regime needs the community's terms")
    calendar = get_calendar(tariff.options[option])
    band_idx = calendar.band_index(usage.start_ts)
    n_bands = len(calendar.bands)
    imp = np.array([int(usage.import_wh[band_idx == b].sum()) for b in range(n_bands)], dtype=np.int64)
    exp = np.array([int(usage.export_wh[band_idx == b].sum()) for b in range(n_bands)], dtype=np.int64)
    billed = imp.copy()
    if regime is Regime.COMPENSATION:
        registers = [calendar.registers[b] for b in calendar.bands]
        if len(set(registers)) != len(registers):
            raise ValueError(f"compensation needs one band per register; {calendar.name} has several")
        billed = np.maximum(imp - exp, 0)
    shared = (
        community.shared_wh(usage.import_wh)
        if community is not None and regime is Regime.COMMUNITY
        else np.zeros_like(usage.import_wh)
    )
    shared_by_band = np.array([int(shared[band_idx == b].sum()) for b in range(n_bands)], dtype=np.int64)
    years = Fraction(int(usage.start_ts.size), QUARTER_HOURS_PER_YEAR)
    lines: list[Line] = []
    peaks: list[MonthPeak] = []
    for comp in tariff.components:
        if not _applies(comp, regime):
            continue
        if comp.kind is Kind.ENERGY:
            base = billed - shared_by_band if comp.supplier_energy else billed
            if comp.dated:
                base = _within_validity(comp, usage, band_idx, imp, base)
                if not base.any():
                    continue  # a rate of another part of the year: no line
            lines += _band_lines(comp, option, calendar.bands, base)
        elif comp.kind is Kind.INDEXED:
            if regime is Regime.COMPENSATION:
                raise ValueError(
                    "an indexed offer cannot be settled by compensation (no per-quarter-hour price)"
                )
            if prices_eur_mwh is None:
                raise ValueError(f"{comp.label}: an indexed price needs a price series (--prices FILE)")
            adder, mult = frac(comp.rate(option, "*")), frac(comp.multiplier)
            amount, energy = Fraction(0), 0
            own = usage.import_wh - shared
            for ts, wh in zip(usage.start_ts.tolist(), own.tolist(), strict=True):
                if wh:
                    energy += wh
                    amount += kwh(wh) * (mult * frac(_price_at(prices_eur_mwh, ts)) / 1000 + adder)
            lines.append(Line(comp.id, comp.label, kwh(energy), "kWh", amount, comp.vat, comp.source))
        elif comp.kind is Kind.FIXED:
            lines.append(
                Line(comp.id, comp.label, years, "year", years * frac(comp.per_year), comp.vat, comp.source)
            )
        elif comp.kind is Kind.PROSUMER:
            if inverter_kva is None:
                raise ValueError("the prosumer tariff needs the inverter's power (--inverter-kva)")
            kva = frac(inverter_kva)
            lines.append(
                Line(
                    comp.id,
                    comp.label,
                    kva,
                    "kVA",
                    kva * years * frac(comp.per_kva_year),
                    comp.vat,
                    comp.source,
                )
            )
        elif comp.kind is Kind.CAPACITY:
            peaks = monthly_peaks(usage)
            kw = billed_kw(peaks, frac(comp.min_kw))
            lines.append(
                Line(
                    comp.id, comp.label, kw, "kW", kw * years * frac(comp.per_kw_year), comp.vat, comp.source
                )
            )
        elif comp.kind is Kind.INJECTION:
            if regime is Regime.COMMUNITY and community and community.injection_eur_per_kwh is not None:
                continue  # the community buys the export instead
            lines += _band_lines(comp, option, calendar.bands, exp)
    if regime is Regime.COMMUNITY and community is not None:
        total_shared = kwh(int(shared.sum()))
        lines.append(
            Line(
                "community_energy",
                "Energy bought from the community",
                total_shared,
                "kWh",
                total_shared * frac(community.price_eur_per_kwh),
                True,
                COMMUNITY_SOURCE,
            )
        )
        lines.append(
            Line(
                "community_fee",
                "Community management fee",
                total_shared,
                "kWh",
                total_shared * frac(community.fee_eur_per_kwh),
                True,
                COMMUNITY_SOURCE,
            )
        )
        if community.injection_eur_per_kwh is not None:
            total_exp = kwh(int(usage.export_wh.sum()))
            lines.append(
                Line(
                    "community_injection",
                    "Injection sold to the community",
                    total_exp,
                    "kWh",
                    -total_exp * frac(community.injection_eur_per_kwh),
                    False,
                    COMMUNITY_SOURCE,
                )
            )
    bands = tuple(
        BandUse(
            band,
            calendar.registers[band],
            int(imp[b]),
            int(exp[b]),
            int(billed[b]),
            regime is Regime.COMPENSATION,
        )
        for b, band in enumerate(calendar.bands)
    )
    return Bill(
        option=option,
        regime=regime,
        calendar=calendar,
        lines=tuple(lines),
        vat_pct=tariff.vat_pct,
        bands=bands,
        quarter_hours=int(usage.start_ts.size),
        peaks=tuple(peaks),
        notes={"shared_wh": int(shared.sum())},
    )
