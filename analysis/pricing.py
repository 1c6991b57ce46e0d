"""What a kWh costs, behind one function: `energy_cost_eur`.

Strategy: a price is anything with `cost_eur(kwh, start, end)`. `FlatPrice` is one €/kWh for every kWh
(the configuration's `meter.price_eur_kwh` or `--price`). `TariffPrice` prices by WHEN the energy was
drawn: [start, end) is cut at every local hour (the band calendars change band on whole local hours,
and Belgian UTC offsets are whole hours), the energy is spread evenly over the time, and each piece
costs its kWh x the all-in price of its band. A band's price is the marginal kWh as `tariffs.bill.price`
bills it — one Wh more in a quarter-hour of that band, every component, levy and the VAT included — so
no price is derived here. Money is Decimal, rounded to the cent at the end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Protocol

import numpy as np

from metering.quarter_hours import quarter_start
from tariffs.bands import ZONE, BandCalendar, get_calendar
from tariffs.bill import price as price_bill
from tariffs.model import Kind, Regime, Tariff
from tariffs.series import Usage

CENT = Decimal("0.01")
HOUR_S = 3600


class EnergyPrice(Protocol):
    """Anything that prices energy drawn over [start, end)."""

    def cost_eur(self, kwh: Decimal, start: datetime, end: datetime) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class FlatPrice:
    """One price for every kWh, all taxes included."""

    eur_per_kwh: Decimal

    def cost_eur(self, kwh: Decimal, start: datetime, end: datetime) -> Decimal:
        return kwh * self.eur_per_kwh


def band_price_eur_kwh(tariff: Tariff, option: str, band_ts: int) -> Fraction:
    """The all-in price (€/kWh, VAT included) of one more kWh imported in the quarter-hour holding Unix
    second `band_ts`, as `tariffs.bill.price` bills it (standard regime: import billed as measured)."""
    start = np.array([quarter_start(band_ts)], dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)
    bills = [
        price_bill(Usage(start, np.array([wh], dtype=np.int64), zero), tariff, option, Regime.STANDARD)
        for wh in (0, 1)
    ]
    return (bills[1].exact_total - bills[0].exact_total) * 1000


@dataclass(frozen=True)
class TariffPrice:
    """A tariff option's price per band of its calendar (€/kWh, all in), applied by when energy is drawn."""

    tariff: Tariff
    option: str
    calendar: BandCalendar
    band_eur_kwh: Mapping[str, Fraction]  # the rates in force on the day `of` was given (shown, flat uses)
    changes: tuple[tuple[int, Mapping[str, Fraction]], ...] = ()  # (from Unix time, band prices), in order

    @classmethod
    def of(cls, tariff: Tariff, option: str, on: date | None = None) -> TariffPrice:
        """Price each band of ``option`` under ``tariff``: ``band_eur_kwh`` at the rates in force on ``on``
        (default: the tariff's first day), and, when a rate changes within the year (the federal excise on
        1 August 2026), the prices from each change on, so that `cost_eur` prices energy at the rates of the
        day it was drawn. ValueError for an unknown option or an indexed offer (its price changes every
        quarter-hour: give a flat price instead)."""
        if option not in tariff.options:
            raise ValueError(f"{tariff.name} has no {option!r} option (has {', '.join(tariff.options)})")
        if any(c.kind is Kind.INDEXED for c in tariff.components):
            raise ValueError(
                f"{tariff.offer or tariff.name} is indexed (a price per quarter-hour): appliances are "
                "priced with a fixed offer or a flat price (--price)"
            )
        calendar = get_calendar(tariff.options[option])
        days = sorted({d for c in tariff.components for d in (c.valid_from, c.valid_until) if d is not None})
        changes: tuple[tuple[int, Mapping[str, Fraction]], ...] = ()
        if days:  # before the first change: the rates of the week before it; then from each change on
            before = (-(2**62), _band_prices(tariff, option, calendar, days[0] - timedelta(days=8)))
            changes = (before, *((_midnight(d), _band_prices(tariff, option, calendar, d)) for d in days))
        return cls(
            tariff, option, calendar, _band_prices(tariff, option, calendar, on or tariff.valid_from), changes
        )

    def band_at(self, at: datetime) -> str:
        return self.calendar.band_at(at.astimezone(ZONE))

    def cost_eur(self, kwh: Decimal, start: datetime, end: datetime) -> Decimal:
        """``kwh`` spread evenly over [start, end), each local hour's share at its band's price that day."""
        lo, hi = Fraction(start.timestamp()), Fraction(end.timestamp())
        if hi <= lo:  # an instant: its band's price
            return _decimal(Fraction(kwh) * self._eur_kwh(start))
        total = Fraction(0)
        for hour in range(math.floor(lo) // HOUR_S, math.ceil(hi) // HOUR_S + 1):
            piece = min(hi, Fraction((hour + 1) * HOUR_S)) - max(lo, Fraction(hour * HOUR_S))
            if piece > 0:
                band = self.calendar.band_at(datetime.fromtimestamp(hour * HOUR_S, UTC).astimezone(ZONE))
                total += piece * self._band_price(band, hour * HOUR_S)
        return _decimal(Fraction(kwh) * total / (hi - lo))

    def _eur_kwh(self, at: datetime) -> Fraction:
        return self._band_price(self.band_at(at), int(at.timestamp()))

    def _band_price(self, band: str, ts: int) -> Fraction:
        prices = self.band_eur_kwh if not self.changes else self._prices_at(ts)
        if band not in prices:  # a band met in no week of the calendar (none is shipped)
            raise ValueError(f"band {band!r} of {self.calendar.name} was not priced")
        return prices[band]

    def _prices_at(self, ts: int) -> Mapping[str, Fraction]:
        found = self.changes[0][1]
        for since, prices in self.changes:
            if ts < since:
                break
            found = prices
        return found

    def describe(self) -> dict[str, object]:
        """What priced the report: the tariff, the option, each band's hours and €/kWh (4 decimals)."""
        return {
            "tariff": self.tariff.id,
            "name": self.tariff.name,
            "offer": self.tariff.offer,
            "offer_is_example": self.tariff.offer_is_example,
            "option": self.option,
            "valid_from": self.tariff.valid_from.isoformat(),
            "valid_until": self.tariff.valid_until.isoformat(),
            "bands": [
                {
                    "band": band,
                    "hours": self.calendar.describe_band(band),
                    "eur_per_kwh": str(to_eur_kwh(value)),
                }
                for band in self.calendar.bands
                if (value := self.band_eur_kwh.get(band)) is not None
            ],
        }


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())


def _band_prices(tariff: Tariff, option: str, calendar: BandCalendar, day: date) -> dict[str, Fraction]:
    """Each band's all-in €/kWh as billed in the 8 days from ``day`` (they meet every band of the week)."""
    found: dict[str, int] = {}
    first = _midnight(day)
    for hour in range(24 * 8):
        at = first + hour * HOUR_S
        found.setdefault(calendar.band_at(datetime.fromtimestamp(at, UTC).astimezone(ZONE)), at)
    return {band: band_price_eur_kwh(tariff, option, at) for band, at in found.items()}


def _decimal(value: Fraction) -> Decimal:
    """An exact amount as a Decimal (28 significant digits: far below the cent the total is rounded to)."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def to_eur_kwh(value: Fraction) -> Decimal:
    """A €/kWh price shown with 4 decimals."""
    return _decimal(value).quantize(Decimal("0.0001"))


def energy_cost_eur(
    price: EnergyPrice | None, uses: Iterable[tuple[Decimal, datetime, datetime]]
) -> Decimal | None:
    """The cost (€, to the cent) of the energy drawn in `uses` — (kWh, start, end) each, priced by when it
    was drawn, summed exactly, rounded once; None when no price is known."""
    if price is None:
        return None
    total = sum((price.cost_eur(kwh, start, end) for kwh, start, end in uses), Decimal(0))
    return total.quantize(CENT, rounding=ROUND_HALF_EVEN)
