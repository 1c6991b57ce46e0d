"""Exact money and energy arithmetic of the account: integer cents, exact `Decimal` energy, per-tariff
billing with a carry, the per-day record and the ledger of running totals.

Strategy: money is integer cents (`Decimal` euros only at the edges); energy is accumulated in a private
60-digit context that traps rounding (`EXACT`), so an input too precise to add exactly is an error, never a
silent loss. A `TariffMeter` bills `floor(energy x price)` cents and carries the remainder; it caches the
energy of the next cent so that most additions need no multiplication.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import (
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])
FLOOR = Context(prec=60, rounding=ROUND_FLOOR)
INFINITY = Decimal("Infinity")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def cents_to_eur(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def to_cents(name: str, amount: Decimal) -> int:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"{name} must be a finite Decimal in EUR, got {amount!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{name} must be a whole number of cents, got {amount}")
    return int(amount * 100)


def floor_cents(amount_eur: Decimal) -> int:
    return int(EXACT.multiply(amount_eur, HUNDRED).to_integral_value(ROUND_FLOOR))


class TariffMeter:
    """Energy and cents billed in one tariff period (the carry lives in `energy`)."""

    __slots__ = ("cents", "energy", "next_energy", "price_c")

    def __init__(self, price_eur: Decimal, energy: Decimal = ZERO, cents: int = 0) -> None:
        self.price_c = price_eur * HUNDRED  # exact: a shift of the exponent
        self.energy = energy
        self.cents = cents
        self.next_energy = self._threshold()

    def _threshold(self) -> Decimal:
        if not self.price_c:
            return INFINITY
        # Rounded down, so `energy < next_energy` proves no cent is due yet.
        return FLOOR.divide(Decimal(self.cents + 1), self.price_c)

    def bill(self) -> int:
        """Cents newly due after `energy` crossed `next_energy`."""
        total = int(EXACT.multiply(self.energy, self.price_c).to_integral_value(ROUND_FLOOR))
        due = total - self.cents
        self.cents = total
        self.next_energy = self._threshold()
        return due


class DayRecord:
    """One local day of the history."""

    __slots__ = ("charges_cents", "consumption_cents", "energy", "top_ups_cents")

    def __init__(self) -> None:
        self.energy = ZERO
        self.consumption_cents = 0
        self.charges_cents = 0
        self.top_ups_cents = 0

    def to_json(self) -> dict[str, str | int]:
        return {
            "energy": str(self.energy),
            "consumption_cents": self.consumption_cents,
            "charges_cents": self.charges_cents,
            "top_ups_cents": self.top_ups_cents,
        }


@dataclass(frozen=True, slots=True)
class Ledger:
    """Running totals in cents since the account opened (for audits and conservation checks)."""

    top_ups_cents: int
    to_debt_from_top_ups_cents: int
    consumption_cents: int
    standing_cents: int
    standing_to_debt_cents: int
    start_credit_recovered_cents: int
    instalments_cents: int
    debt_added_cents: int
    protected_supply_to_debt_cents: int
    unposted_cents: int


LEDGER_TOTALS = [f.name for f in fields(Ledger) if f.name != "unposted_cents"]
