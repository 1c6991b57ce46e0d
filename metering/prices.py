"""Euros for the dashboard: the one place energy and capacity become money (pure).

Strategy: flat prices come from the gateway config's `[dashboard]` section: € per kWh for import in each
tariff period (day / night), € per kWh paid for export, and the capacity tariff in € per kW per year. When
`[tariff]` names a tariff, the shell adds `BandPrices`: the all-in € per kWh of each time band of the
tariff's calendar (from the tariffs package, built in the shell) and the band of any moment; import is then
priced per band (`band_cost()`), export and a missing capacity term keep the flat prices. `source` says
which prices were used (`prices_source` in the API). `cost()` prices a bucket of energy by register,
`new_peak_cost()` what a higher month peak adds to the next 12 monthly bills; nothing else in the dashboard
computes money. All prices zero and no bands (the default) = no euros shown.

Example:
    prices = Prices(import_day=Decimal("0.32"), import_night=Decimal("0.25"), export=Decimal("0.04"),
                    capacity_per_kw_year=Decimal("53.2"))
    cost(1000, 500, 2000, prices)          # Wh in -> Decimal("0.365") € (0.32 + 0.125 - 0.08)
    new_peak_cost(Decimal("3.1"), Decimal("2.5"), prices)   # Decimal("2.66")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
MONTHS_BILLED = 12


def _no_band(at: datetime) -> str:
    raise ValueError("no band calendar")


@dataclass(frozen=True, slots=True)
class BandPrices:
    """A tariff's import prices: € per kWh of each time band (all in: energy, distribution, levies, VAT),
    `band_at` the band of a moment, `name` what they come from (`tariff:<id>:<option>`)."""

    eur_per_kwh: Mapping[str, Decimal] = field(default_factory=dict)
    band_at: Callable[[datetime], str] = _no_band
    name: str = "tariff"


@dataclass(frozen=True, slots=True)
class Prices:
    """Flat prices (VAT included, as on the bill), and a tariff's band prices for import when known.
    Zero everywhere and no bands = prices unknown."""

    import_day: Decimal = Decimal(0)
    import_night: Decimal = Decimal(0)
    export: Decimal = Decimal(0)
    capacity_per_kw_year: Decimal = Decimal(0)
    bands: BandPrices | None = None
    capacity_from_tariff: bool = False

    @property
    def known(self) -> bool:
        return self.bands is not None or any(
            (self.import_day, self.import_night, self.export, self.capacity_per_kw_year)
        )

    @property
    def source(self) -> str:
        """Which prices make the euros: `tariff:<id>:<option>` (import per band, capacity when the tariff
        has one; export flat), `dashboard` (the flat `[dashboard]` prices), or `none`."""
        if self.bands is not None:
            return self.bands.name
        return "dashboard" if self.known else "none"

    def with_tariff(self, bands: BandPrices, capacity_per_kw_year: Decimal | None) -> Prices:
        """These prices with a tariff's bands for import and, when it has one, its capacity term."""
        if capacity_per_kw_year is None:
            return replace(self, bands=bands)
        return replace(
            self, bands=bands, capacity_per_kw_year=capacity_per_kw_year, capacity_from_tariff=True
        )


def cost(import_day_wh: int, import_night_wh: int, export_wh: int, prices: Prices) -> Decimal:
    """What the energy costs (import) minus what the export earns, in € (unrounded)."""
    return (
        Decimal(import_day_wh) * prices.import_day
        + Decimal(import_night_wh) * prices.import_night
        - Decimal(export_wh) * prices.export
    ) / 1000


def band_cost(import_wh_by_band: Mapping[str, int], export_wh: int, prices: Prices) -> Decimal:
    """Import priced per band of `prices.bands` minus the export at the flat export price, in €
    (unrounded); ValueError for a band the tariff has no price for."""
    bands = prices.bands.eur_per_kwh if prices.bands is not None else {}
    total = Decimal(0)
    for band, wh in import_wh_by_band.items():
        if band not in bands:
            raise ValueError(f"band {band!r} has no price")
        total += Decimal(wh) * bands[band]
    return (total - Decimal(export_wh) * prices.export) / 1000


def new_peak_cost(new_peak_kw: Decimal, current_kw: Decimal, prices: Prices) -> Decimal:
    """The extra capacity charge, in € over the next 12 monthly bills, if this month's billed peak rises
    from `current_kw` (the larger of the month's peak and the floor) to `new_peak_kw`: the month counts for
    1/12 of the mean on each of the 12 bills, each bill being mean x price / 12, so Δ x price / 12."""
    rise = max(new_peak_kw - current_kw, Decimal(0))
    return (rise * prices.capacity_per_kw_year / MONTHS_BILLED).quantize(CENT)


def dashboard_prices(config: Any) -> Prices:
    """`Prices` from the config's `[dashboard]` section (floats in TOML, exact Decimals here)."""
    return Prices(
        import_day=Decimal(str(config.import_day_eur_per_kwh)),
        import_night=Decimal(str(config.import_night_eur_per_kwh)),
        export=Decimal(str(config.export_eur_per_kwh)),
        capacity_per_kw_year=Decimal(str(config.capacity_eur_per_kw_year)),
    )
