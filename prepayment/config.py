"""Account configuration: one frozen dataclass per energy, presets per DSO, JSON round trip.

Strategy: every rule that differs between DSOs, regions or years is a field here, never a branch in the
account code. Money is `Decimal` euros (amounts given to the cent; tariffs and standing charges may carry
more decimals, the account bills them in whole cents with a carried remainder). `to_json`/`from_json`
give a plain dict (Decimals as strings, dates ISO) so a journal can store the configuration beside the
account snapshot. The presets are examples built from public DSO rules; tariffs in them are
illustrative, pass your own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

Energy = Literal["electricity", "gas"]
Accounting = Literal["immediate", "central"]
Activation = Literal["auto", "button"]
AfterExhaustion = Literal["interrupt", "limit"]

_CENT = Decimal("0.01")


def _cents_amount(name: str, value: Decimal, *, allow_negative: bool = False) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if value != value.quantize(_CENT):
        raise ValueError(f"{name} must be a whole number of cents, got {value}")
    if value < 0 and not allow_negative:
        raise ValueError(f"{name} must not be negative, got {value}")


def _rate(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite, non-negative Decimal, got {value!r}")


@dataclass(frozen=True, slots=True)
class FriendlyPeriods:
    """When the supply is never interrupted; an interruption falling inside is deferred to the end.

    Args:
        night: local (start, end) window, may cross midnight, e.g. (16:00, 08:00); None for none.
        weekends: Saturday and Sunday (local dates) are friendly all day.
        holidays: local dates friendly all day (see `belgian_public_holidays`).
    """

    night: tuple[time, time] | None = None
    weekends: bool = False
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class Protection:
    """The protections of protected customers (Wallonia; DOMAIN.md section 4). Not a winter measure
    for electricity: the limiter works whenever the protection is active, any time of year.

    Args:
        limiter_kw: electricity: instead of a cut, the supply is limited to this (10 A x 230 V =
            2.3 kW); the energy drawn under the limiter is debt.
        minimum_months: electricity: once active, the protection (and its limiter) is guaranteed for
            at least this many months ...
        winter_start: ... and through the winter period: (month, day) its first local day (1 Nov) ...
        winter_end: ... and its last local day, inclusive (15 Mar). The same period is the **gas**
            winter aid: from `winter_start` to `winter_end` the DSO keeps supplying gas to a protected
            customer who cannot top up (the gas is debt); outside it an exhausted gas account is cut.
    """

    limiter_kw: Decimal = Decimal("2.3")
    minimum_months: int = 6
    winter_start: tuple[int, int] = (11, 1)
    winter_end: tuple[int, int] = (3, 15)


@dataclass(frozen=True, slots=True)
class NotificationThresholds:
    """Thresholds and the customer's choice of notifications.

    Args:
        low_credit_eur: a `low_credit` notification when the balance falls to or below this.
        emergency_selectable_eur: with button activation, the emergency credit becomes selectable
            when the balance falls to or below this.
        enabled: the notification kinds the customer wants (values of `NotificationKind`);
            None means all.
    """

    low_credit_eur: Decimal = Decimal("5.00")
    emergency_selectable_eur: Decimal = Decimal("1.00")
    enabled: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """Everything that parametrises one prepayment account (one energy, one meter).

    Args:
        energy: "electricity" or "gas".
        energy_unit: the unit of `consume()` energies and of tariffs: "kWh" or (gas) "m3".
        tariffs_eur: price per energy unit per tariff period name ("day", "night", "peak", ...).
        standing_charge_eur_per_day: fixed charge per local day (billed in cents with carry).
        start_credit_eur: credit advanced when the account opens (balance topped up to it).
        start_credit_recovery_eur_per_day: recovered each local day on top of consumption.
        emergency_credit_eur: emergency credit limit (0 disables it).
        emergency_activation: "auto" (starts when the balance reaches zero, ORES) or "button".
        after_exhaustion: "interrupt" (cut the supply) or "limit" (Fluvius: limiter instead of cut).
        limiter_kw: limit used when `after_exhaustion == "limit"`.
        reconnect_min_eur: balance needed before the supply may be reconnected.
        accounting: "immediate" (in-meter, every cent at once) or "central" (the meter's balance is
            refreshed once a day at `daily_update_at` with the previous days' charges).
        daily_update_at: local time of the central daily update.
        friendly: friendly periods (no interruption), or None.
        protected_customer: the customer is protected from the opening of the account (automatic
            for prepayment activated since 2023); `PrepaymentAccount.start_protection` starts it later
            (on request of the CPAS, any time of year).
        protection: the rules of that protection (limiter, guarantee, gas winter aid).
        button_hold_s: how long the button must be held (reconnection, leak test); customer
            messages quote it.
        leak_test_duration_s: gas leak test duration (passes at the end if no flow was seen).
        leak_test_tolerance: largest volume (energy unit) tolerated during the leak test.
        notifications: thresholds and preferences.
        timezone: IANA zone defining local days, nights and the update time.
        history_days: how many local days of consumption history are kept.
    """

    energy: Energy = "electricity"
    energy_unit: str = "kWh"
    tariffs_eur: Mapping[str, Decimal] = field(
        default_factory=lambda: {"day": Decimal("0.3500"), "night": Decimal("0.2800")}
    )
    standing_charge_eur_per_day: Decimal = Decimal("0.30")
    start_credit_eur: Decimal = Decimal("20.00")
    start_credit_recovery_eur_per_day: Decimal = Decimal("1.00")
    emergency_credit_eur: Decimal = Decimal("15.00")
    emergency_activation: Activation = "auto"
    after_exhaustion: AfterExhaustion = "interrupt"
    limiter_kw: Decimal | None = None
    reconnect_min_eur: Decimal = Decimal("0.50")
    accounting: Accounting = "immediate"
    daily_update_at: time = time(6, 0)
    friendly: FriendlyPeriods | None = None
    protected_customer: bool = False
    protection: Protection = field(default_factory=Protection)
    button_hold_s: int = 3
    leak_test_duration_s: int = 720
    leak_test_tolerance: Decimal = Decimal("0")
    notifications: NotificationThresholds = field(default_factory=NotificationThresholds)
    timezone: str = "Europe/Brussels"
    history_days: int = 400

    def __post_init__(self) -> None:
        if self.energy not in ("electricity", "gas"):
            raise ValueError(f"energy must be 'electricity' or 'gas', got {self.energy!r}")
        if self.energy_unit not in ("kWh", "m3") or (
            self.energy == "electricity" and self.energy_unit != "kWh"
        ):
            raise ValueError(f"energy_unit {self.energy_unit!r} does not fit {self.energy}")
        if not self.tariffs_eur:
            raise ValueError("tariffs_eur needs at least one tariff period")
        for period, price in self.tariffs_eur.items():
            _rate(f"tariff {period!r}", price)
        object.__setattr__(self, "tariffs_eur", MappingProxyType(dict(self.tariffs_eur)))
        _rate("standing_charge_eur_per_day", self.standing_charge_eur_per_day)
        for name in (
            "start_credit_eur",
            "start_credit_recovery_eur_per_day",
            "emergency_credit_eur",
            "reconnect_min_eur",
        ):
            _cents_amount(name, getattr(self, name))
        _cents_amount("low_credit_eur", self.notifications.low_credit_eur, allow_negative=True)
        _cents_amount(
            "emergency_selectable_eur",
            self.notifications.emergency_selectable_eur,
            allow_negative=True,
        )
        if self.emergency_activation not in ("auto", "button"):
            raise ValueError(f"emergency_activation: 'auto' or 'button', not {self.emergency_activation!r}")
        if self.accounting not in ("immediate", "central"):
            raise ValueError(f"accounting: 'immediate' or 'central', not {self.accounting!r}")
        if self.after_exhaustion not in ("interrupt", "limit"):
            raise ValueError(f"after_exhaustion: 'interrupt' or 'limit', not {self.after_exhaustion!r}")
        if self.after_exhaustion == "limit" and self.limiter_kw is None:
            raise ValueError("after_exhaustion='limit' needs limiter_kw")
        if self.history_days < 1 or self.leak_test_duration_s < 1 or self.button_hold_s < 0:
            raise ValueError("history_days, leak_test_duration_s must be >= 1, button_hold_s >= 0")
        for month, day in (self.protection.winter_start, self.protection.winter_end):
            date(2024, month, day)  # raises ValueError on an impossible day
        if self.protection.minimum_months < 0 or self.protection.limiter_kw <= 0:
            raise ValueError("protection: minimum_months must be >= 0 and limiter_kw positive")

    def price_eur(self, period: str) -> Decimal:
        """The price per energy unit in `period`; ValueError for an unknown period."""
        try:
            return self.tariffs_eur[period]
        except KeyError:
            known = ", ".join(sorted(self.tariffs_eur))
            raise ValueError(f"unknown tariff period {period!r} (known: {known})") from None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (Decimal as strings); `from_json` is its inverse."""
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountConfig:
        """Rebuild a configuration written by `to_json`; ValueError on unknown fields."""
        names = {f.name for f in dataclasses.fields(cls)} | {"winter"}  # "winter": before `protection`
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown configuration fields: {sorted(unknown)}")
        kw: dict[str, Any] = dict(data)
        for key in (
            "standing_charge_eur_per_day",
            "start_credit_eur",
            "start_credit_recovery_eur_per_day",
            "emergency_credit_eur",
            "reconnect_min_eur",
            "leak_test_tolerance",
        ):
            if key in kw:
                kw[key] = Decimal(kw[key])
        if "tariffs_eur" in kw:
            kw["tariffs_eur"] = {k: Decimal(v) for k, v in kw["tariffs_eur"].items()}
        if kw.get("limiter_kw") is not None:
            kw["limiter_kw"] = Decimal(kw["limiter_kw"])
        if "daily_update_at" in kw:
            kw["daily_update_at"] = time.fromisoformat(kw["daily_update_at"])
        if kw.get("friendly") is not None:
            f = kw["friendly"]
            night = f.get("night")
            kw["friendly"] = FriendlyPeriods(
                night=None if night is None else (time.fromisoformat(night[0]), time.fromisoformat(night[1])),
                weekends=bool(f.get("weekends", False)),
                holidays=frozenset(date.fromisoformat(d) for d in f.get("holidays", [])),
            )
        if "winter" in kw:  # configurations written before `protection` (a winter-only limiter)
            w = kw.pop("winter")
            kw.setdefault(
                "protection",
                {
                    "winter_start": w["start"],
                    "winter_end": w["end"],
                    "limiter_kw": w.get("limiter_kw") or str(Protection().limiter_kw),
                },
            )
        if "protection" in kw:
            pr, default = kw["protection"], Protection()
            kw["protection"] = Protection(
                limiter_kw=Decimal(pr.get("limiter_kw", default.limiter_kw)),
                minimum_months=int(pr.get("minimum_months", default.minimum_months)),
                winter_start=(int(pr["winter_start"][0]), int(pr["winter_start"][1])),
                winter_end=(int(pr["winter_end"][0]), int(pr["winter_end"][1])),
            )
        if "notifications" in kw:
            n = kw["notifications"]
            enabled = n.get("enabled")
            kw["notifications"] = NotificationThresholds(
                low_credit_eur=Decimal(n["low_credit_eur"]),
                emergency_selectable_eur=Decimal(n["emergency_selectable_eur"]),
                enabled=None if enabled is None else frozenset(enabled),
            )
        return cls(**kw)


def _encode(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, time | date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(_encode(v) for v in value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def belgian_public_holidays(*years: int) -> frozenset[date]:
    """The 10 Belgian legal public holidays of the given years (for `FriendlyPeriods.holidays`)."""
    days: set[date] = set()
    for y in years:
        easter = _easter(y)
        days |= {
            date(y, 1, 1),
            easter + timedelta(days=1),
            date(y, 5, 1),
            easter + timedelta(days=39),
            easter + timedelta(days=50),
            date(y, 7, 21),
            date(y, 8, 15),
            date(y, 11, 1),
            date(y, 11, 11),
            date(y, 12, 25),
        }
    return frozenset(days)


# Old card budget meters: no cut on weekdays 16:00-08:00 nor at weekends (DOMAIN.md §4).
CARD_METER_FRIENDLY = FriendlyPeriods(night=(time(16, 0), time(8, 0)), weekends=True)


def ores_electricity(**overrides: Any) -> AccountConfig:
    """ORES electricity: 20 EUR start credit (1 EUR/day), 15 EUR emergency credit started
    automatically at zero balance, cut below it, central account updated each morning."""
    base: dict[str, Any] = {"energy": "electricity", "accounting": "central"}
    return AccountConfig(**(base | overrides))


def ores_gas(**overrides: Any) -> AccountConfig:
    """ORES gas (billed per kWh): same credit rules, valve reopened only after a leak test;
    protected customers get the winter aid (gas supplied 1 Nov - 15 Mar, as debt; no gas limiter)."""
    base: dict[str, Any] = {
        "energy": "gas",
        "energy_unit": "kWh",
        "tariffs_eur": {"single": Decimal("0.1100")},
        "standing_charge_eur_per_day": Decimal("0.25"),
        "accounting": "central",
    }
    return AccountConfig(**(base | overrides))


def fluvius_electricity(**overrides: Any) -> AccountConfig:
    """Fluvius electricity: 50 EUR emergency credit, then a 10 A (2.3 kW) limiter instead of a cut."""
    base: dict[str, Any] = {
        "energy": "electricity",
        "emergency_credit_eur": Decimal("50.00"),
        "after_exhaustion": "limit",
        "limiter_kw": Decimal("2.3"),
        "accounting": "immediate",
    }
    return AccountConfig(**(base | overrides))


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """Debt recovery by instalments, agreed with the DSO/supplier.

    Args:
        instalment_eur: taken from the balance on each due day (at most the remaining debt).
        interval_days: days between instalments (1 daily, 7 weekly, 30 monthly).
        first_due: local date of the first instalment.
        top_up_share: fraction (0..1) of every top-up withheld for the debt (0 for none).
    """

    instalment_eur: Decimal
    first_due: date
    interval_days: int = 7
    top_up_share: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        _cents_amount("instalment_eur", self.instalment_eur)
        if self.interval_days < 1:
            raise ValueError(f"interval_days must be >= 1, got {self.interval_days}")
        if not isinstance(self.top_up_share, Decimal) or not Decimal(0) <= self.top_up_share <= 1:
            raise ValueError(f"top_up_share must be a Decimal in 0..1, got {self.top_up_share!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "instalment_eur": str(self.instalment_eur),
            "first_due": self.first_due.isoformat(),
            "interval_days": self.interval_days,
            "top_up_share": str(self.top_up_share),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentPlan:
        return cls(
            instalment_eur=Decimal(data["instalment_eur"]),
            first_due=date.fromisoformat(data["first_due"]),
            interval_days=int(data["interval_days"]),
            top_up_share=Decimal(data["top_up_share"]),
        )
