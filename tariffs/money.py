"""Exact money: amounts are `Fraction`s of euros until a bill line is rounded to the cent.

Strategy: prices come in as `Decimal`, energies as integer Wh, prorations as integer quarter-hours, so
every intermediate amount is an exact rational number; rounding happens once per bill line (half away
from zero, to the cent) and totals are sums of rounded lines, so a printed bill always adds up.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def frac(value: Decimal | int) -> Fraction:
    """A Decimal or int as an exact Fraction."""
    return Fraction(value)


def kwh(wh: int) -> Fraction:
    """Integer Wh as exact kWh."""
    return Fraction(int(wh), 1000)


def to_cents(amount: Fraction) -> Decimal:
    """Round an exact amount to the cent, half away from zero."""
    hundredths = abs(amount) * 100
    cents = int(hundredths + Fraction(1, 2))
    value = Decimal(cents).scaleb(-2)
    return -value if amount < 0 else value


def to_decimal(value: Fraction, places: int = 3) -> Decimal:
    """An exact value shown with ``places`` decimals (half away from zero), e.g. kWh or kW."""
    scaled = abs(value) * 10**places
    units = int(scaled + Fraction(1, 2))
    out = Decimal(units).scaleb(-places)
    return -out if value < 0 else out
