"""The tariff model: versioned price components with their sources, and a priced option.

Strategy: a `Tariff` is a list of `Component`s (distribution, transport, levies, the supplier's energy
price, fixed fees, the capacity term, the prosumer tariff, the injection price) built from data files
(see `tariffs.load`). Every component carries its source (publisher, document, date) and whether the
figure was checked against that source. Prices are `Decimal`; rates per kWh are looked up by tariff
option (``single``, ``dual``, ``impact``) and band (``all``, ``peak``, ``offpeak``, ``cheap``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class Kind(StrEnum):
    """What a component is billed on."""

    ENERGY = "energy"  # € per billed kWh of import, per option and band
    INDEXED = "indexed"  # € per billed kWh: multiplier x price series (€/MWh) / 1000 + adder
    FIXED = "fixed"  # € per year, prorated per quarter-hour
    CAPACITY = "capacity"  # € per kW per year on the mean of monthly peaks (floor min_kw)
    PROSUMER = "prosumer"  # € per kVA of inverter per year (compensation regime)
    INJECTION = "injection"  # € per kWh exported: a fee (> 0) or the injection price paid (< 0)


class Regime(StrEnum):
    """How import and export are settled."""

    STANDARD = "standard"  # no production: import billed as measured
    COMPENSATION = "compensation"  # Walloon net metering, per register, negative register bills 0
    INJECTION_SALE = "injection_sale"  # gross import billed, export sold to the supplier
    COMMUNITY = "community"  # energy sharing: part of the import bought from the community


@dataclass(frozen=True)
class Source:
    """Where a figure comes from and whether it was checked against that document."""

    publisher: str
    document: str = ""
    date: str = ""
    verified: bool = False
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "publisher": self.publisher,
            "document": self.document,
            "date": self.date,
            "verified": self.verified,
            "note": self.note,
        }


@dataclass(frozen=True)
class Component:
    """One line of a bill. ``per_kwh[option][band]`` with ``*`` as the wildcard option or band."""

    id: str
    label: str
    kind: Kind
    source: Source
    per_kwh: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    per_year: Decimal = ZERO
    per_kw_year: Decimal = ZERO
    min_kw: Decimal = ZERO
    per_kva_year: Decimal = ZERO
    multiplier: Decimal = Decimal(1)
    regimes: frozenset[Regime] | None = None  # None: every regime
    vat: bool = True
    supplier_energy: bool = False  # replaced by the community price for shared kWh
    valid_from: date | None = None  # a rate that changes within the year: energy drawn on or after this day
    valid_until: date | None = None  # ... and before this day (None: open-ended)

    def applies(self, regime: Regime) -> bool:
        return self.regimes is None or regime in self.regimes

    @property
    def dated(self) -> bool:
        """True when the component applies only to energy drawn within [valid_from, valid_until)."""
        return self.valid_from is not None or self.valid_until is not None

    def rate(self, option: str, band: str) -> Decimal:
        """€/kWh for a band of an option (wildcards ``*``); ValueError when the data has none."""
        for opt in (option, "*"):
            bands = self.per_kwh.get(opt)
            if bands is None:
                continue
            for b in (band, "*"):
                if b in bands:
                    return bands[b]
        raise ValueError(f"component {self.id!r} has no rate for option {option!r}, band {band!r}")


@dataclass(frozen=True)
class Tariff:
    """A grid tariff plus levies plus a supplier offer, valid over [valid_from, valid_until)."""

    id: str
    name: str
    region: str
    dso: str
    valid_from: date
    valid_until: date
    vat_pct: Decimal
    options: Mapping[str, str]  # option name -> calendar name
    components: tuple[Component, ...]
    prosumer_regimes: tuple[Regime, ...]
    files: tuple[str, ...] = ()
    offer: str = ""
    offer_is_example: bool = False

    def component(self, component_id: str) -> Component:
        for c in self.components:
            if c.id == component_id:
                return c
        raise KeyError(component_id)
