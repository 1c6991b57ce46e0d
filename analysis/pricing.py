"""What a kWh costs, behind one function: `energy_cost_eur`.

Strategy: today a flat price (€/kWh, from the configuration or `--price`); the tariffs package, when it lands,
plugs in here by giving `energy_cost_eur` an object with the same `cost_eur(kwh, start, end)` method (a
time-of-use or dynamic tariff prices a run by when it ran). Money is Decimal, rounded to the cent at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

CENT = Decimal("0.01")


class EnergyPrice(Protocol):
    """Anything that prices energy drawn over [start, end)."""

    def cost_eur(self, kwh: Decimal, start: datetime, end: datetime) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class FlatPrice:
    """One price for every kWh, all taxes included."""

    eur_per_kwh: Decimal

    def cost_eur(self, kwh: Decimal, start: datetime, end: datetime) -> Decimal:
        return kwh * self.eur_per_kwh


def energy_cost_eur(
    price: EnergyPrice | None, kwh: Decimal, start: datetime, end: datetime
) -> Decimal | None:
    """The cost (€, to the cent) of `kwh` drawn over [start, end); None when no price is known."""
    if price is None:
        return None
    return price.cost_eur(kwh, start, end).quantize(CENT, rounding=ROUND_HALF_EVEN)
