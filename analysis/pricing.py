"""What a kWh costs, behind one function: `energy_cost_eur`.

Strategy: today a flat price (€/kWh, from the configuration or `--price`); the tariffs package, when it lands,
plugs in here by giving `energy_cost_eur` an object with the same `cost_eur(kwh, start, end)` method (a
time-of-use or dynamic tariff prices a run by when it ran). Money is Decimal, rounded to the cent at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    price: EnergyPrice | None, uses: Iterable[tuple[Decimal, datetime, datetime]]
) -> Decimal | None:
    """The cost (€, to the cent) of the energy drawn in `uses` — (kWh, start, end) each, priced by when it
    was drawn, summed exactly, rounded once; None when no price is known."""
    if price is None:
        return None
    total = sum((price.cost_eur(kwh, start, end) for kwh, start, end in uses), Decimal(0))
    return total.quantize(CENT, rounding=ROUND_HALF_EVEN)
