"""Euros for the dashboard: the one place energy and capacity become money (pure).

Strategy: until the `tariffs` package is wired in, prices are flat and come from the gateway config's
`[tariff]` section: € per kWh for import in each tariff period (day / night), € per kWh paid for export,
and the capacity tariff in € per kW per year. `cost()` prices a bucket of energy, `new_peak_cost()` what a
higher month peak adds to the next 12 monthly bills. Point these two at the tariffs package later; nothing
else in the dashboard computes money. All prices zero (the default) = no euros shown.

Example:
    prices = Prices(import_day=Decimal("0.32"), import_night=Decimal("0.25"), export=Decimal("0.04"),
                    capacity_per_kw_year=Decimal("53.2"))
    cost(1000, 500, 2000, prices)          # Wh in -> Decimal("0.365") € (0.32 + 0.125 - 0.08)
    new_peak_cost(Decimal("3.1"), Decimal("2.5"), prices)   # Decimal("2.66")
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
MONTHS_BILLED = 12


@dataclass(frozen=True, slots=True)
class Prices:
    """Flat prices (VAT included, as on the bill). Zero everywhere = prices unknown."""

    import_day: Decimal = Decimal(0)
    import_night: Decimal = Decimal(0)
    export: Decimal = Decimal(0)
    capacity_per_kw_year: Decimal = Decimal(0)

    @property
    def known(self) -> bool:
        return any((self.import_day, self.import_night, self.export, self.capacity_per_kw_year))


def cost(import_day_wh: int, import_night_wh: int, export_wh: int, prices: Prices) -> Decimal:
    """What the energy costs (import) minus what the export earns, in € (unrounded)."""
    return (
        Decimal(import_day_wh) * prices.import_day
        + Decimal(import_night_wh) * prices.import_night
        - Decimal(export_wh) * prices.export
    ) / 1000


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
