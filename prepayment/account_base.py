"""The account's state: its fields, opened from a configuration, what it reads out, and its exact snapshot.

Strategy: `AccountBase` holds every field of a prepayment account (integer cents, exact energy per tariff
period, the supply state and why it was cut, the cached wake-up time of the next timed rule) and answers
every read-only question about it (`balance_eur`, `emergency_state`, `exhausted`, ...). The rules that
change it are `prepayment.rules.CreditRules`; the events that drive them are
`prepayment.account.PrepaymentAccount`. `snapshot()` / `restore()` rebuild an account exactly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from . import calendar as cal
from .config import AccountConfig, PaymentPlan
from .events import EmergencyState, SupplyState
from .money import (
    CENT,
    LEDGER_TOTALS,
    ZERO,
    DayRecord,
    Ledger,
    TariffMeter,
    cents_to_eur,
    to_cents,
)

CUT_BY_CREDIT = "credit"  # why the supply is off: credit exhausted (or a power cut, for a gas valve)
CUT_BY_POWER_CUT = "power_cut"
SNAPSHOT_VERSION = 2


class AccountBase:
    """The fields of a prepayment account and its read side (see `PrepaymentAccount` for the events)."""

    def __init__(
        self,
        config: AccountConfig,
        opened_at: datetime,
        *,
        carried_over_eur: Decimal = ZERO,
    ) -> None:
        """Open the account at `opened_at`, balance = carried-over balance topped up to the start
        credit; the amount advanced is the start credit to recover."""
        check_aware(opened_at)
        self.config = config
        self._tz = cal.zone(config.timezone)
        carried = to_cents("carried_over_eur", carried_over_eur)
        start = to_cents("start_credit_eur", config.start_credit_eur)
        advance = max(0, start - carried)
        self._balance = carried + advance
        self._start_due = advance
        self._debt = 0
        self._plan: PaymentPlan | None = None
        self._plan_next: date | None = None
        self._supply = SupplyState.CONNECTED
        self._cut_reason: str | None = None
        self._emergency_invoked = False
        self._low_notified = False
        self._last_emergency = EmergencyState.ENABLED
        self._deferred_until: datetime | None = None
        self._leak_deadline: datetime | None = None
        self._last_period = next(iter(config.tariffs_eur))
        self._meters = {p: TariffMeter(price) for p, price in config.tariffs_eur.items()}
        self._standing_eur = ZERO  # cumulative standing charge accrued, exact
        self._standing_billed = 0
        self._top_ups: dict[str, int] = {}
        self._totals = dict.fromkeys(LEDGER_TOTALS, 0)
        self._unposted: dict[date, int] = {}
        self._history: dict[date, DayRecord] = {}
        self._now = opened_at
        self._opened_at = opened_at
        self._balance_updated_at = opened_at
        today = opened_at.astimezone(self._tz).date()
        self._today = self._day(today)
        self._next_midnight = cal.local_midnight(today + timedelta(days=1), self._tz)
        self._next_update: datetime | None = None
        if config.accounting == "central":
            self._next_update = self._update_after(opened_at)
        self._emergency_spent = False
        self._protected_since: datetime | None = opened_at if config.protected_customer else None
        self._protection_debt = 0
        self._winter_next: datetime | None = None
        if config.protected_customer:
            self._winter_next = cal.next_winter_boundary(opened_at, config.protection, self._tz)
        self._min_c = to_cents("reconnect_min_eur", config.reconnect_min_eur)
        self._low_c = to_cents("low_credit_eur", config.notifications.low_credit_eur)
        self._selectable_c = to_cents(
            "emergency_selectable_eur", config.notifications.emergency_selectable_eur
        )
        self._emergency_c = to_cents("emergency_credit_eur", config.emergency_credit_eur)
        self._recovery_c = to_cents(
            "start_credit_recovery_eur_per_day", config.start_credit_recovery_eur_per_day
        )
        self._wakeup = self._next_wakeup()

    @property
    def balance_eur(self) -> Decimal:
        """The balance as the meter knows it (central mode: as of the last daily update)."""
        return cents_to_eur(self._balance)

    @property
    def debt_eur(self) -> Decimal:
        return cents_to_eur(self._debt)

    @property
    def protected_since(self) -> datetime | None:
        """When the current protection started (None: not a protected customer)."""
        return self._protected_since

    @property
    def protection_guaranteed_until(self) -> datetime | None:
        """The first instant the protection may be ended on request (None: not protected)."""
        if self._protected_since is None:
            return None
        return cal.protection_guaranteed_until(self._protected_since, self.config.protection, self._tz)

    @property
    def protection_debt_eur(self) -> Decimal:
        """The part of the debt drawn under the protection, still to repay before it may end."""
        return cents_to_eur(self._protection_debt)

    @property
    def start_credit_due_eur(self) -> Decimal:
        return cents_to_eur(self._start_due)

    @property
    def unposted_eur(self) -> Decimal:
        """Central mode: charges not yet posted to the meter's balance (0 in immediate mode)."""
        return cents_to_eur(sum(self._unposted.values()))

    @property
    def payment_plan(self) -> PaymentPlan | None:
        return self._plan

    @property
    def payment_plan_next_due(self) -> date | None:
        return self._plan_next

    @property
    def supply_state(self) -> SupplyState:
        return self._supply

    @property
    def supply_open(self) -> bool:
        """True when energy can flow (breaker closed / gas valve open), limited or not."""
        return self._supply is SupplyState.CONNECTED or self._supply is SupplyState.LIMITED

    @property
    def power_limit_kw(self) -> Decimal | None:
        """The active power limit (shown in 0-0:17.0.0), or None."""
        if self._supply is not SupplyState.LIMITED:
            return None
        return self._limit_kw()

    @property
    def emergency_limit_eur(self) -> Decimal:
        return cents_to_eur(self._emergency_c)

    @property
    def emergency_remaining_eur(self) -> Decimal:
        if self._emergency_spent:
            return ZERO.quantize(CENT)
        if not self._emergency_usable():
            return cents_to_eur(self._emergency_c)
        return cents_to_eur(max(0, self._emergency_c - max(0, -self._balance)))

    @property
    def emergency_state(self) -> EmergencyState:
        if self._emergency_spent:  # exhausted until the balance is back to reconnect_min_eur
            return EmergencyState.EXHAUSTED
        bal = self._balance
        if bal > 0:
            if self.config.emergency_activation == "auto" or self._emergency_c == 0:
                return EmergencyState.ENABLED
            if self._emergency_invoked:
                return EmergencyState.INVOKED
            if bal <= self._selectable_c:
                return EmergencyState.SELECTABLE
            return EmergencyState.ENABLED
        if not self._emergency_usable():
            return EmergencyState.SELECTABLE if self._emergency_c else EmergencyState.EXHAUSTED
        return EmergencyState.EXHAUSTED if bal <= -self._emergency_c else EmergencyState.IN_USE

    @property
    def leak_test_until(self) -> datetime | None:
        return self._leak_deadline

    @property
    def interruption_deferred_until(self) -> datetime | None:
        return self._deferred_until

    @property
    def balance_updated_at(self) -> datetime:
        return self._balance_updated_at

    @property
    def now(self) -> datetime:
        """The latest time the account has seen."""
        return self._now

    @property
    def current_period(self) -> str:
        """The tariff period of the latest consumption (the first configured one before any)."""
        return self._last_period

    @property
    def exhausted(self) -> bool:
        """Balance and (usable) emergency credit are both used up."""
        return self._exhausted()

    @property
    def low_credit(self) -> bool:
        return self._balance <= self._low_c

    @property
    def ledger(self) -> Ledger:
        return Ledger(**(self._totals | {"unposted_cents": sum(self._unposted.values())}))

    def top_up_ids(self) -> frozenset[str]:
        return frozenset(self._top_ups)

    def history(self, before: date, days: int = 30) -> list[tuple[date, Decimal, Decimal]]:
        """(local date, energy, consumption EUR) for each of the `days` days before `before`."""
        out = []
        for i in range(days, 0, -1):
            d = before - timedelta(days=i)
            rec = self._history.get(d)
            if rec is None:
                out.append((d, ZERO, ZERO))
            else:
                out.append((d, rec.energy, cents_to_eur(rec.consumption_cents)))
        return out

    # ----------------------------------------------------------------- snapshots

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to rebuild the account exactly (JSON-serialisable, Decimal as str)."""
        return {
            "version": SNAPSHOT_VERSION,
            "config": self.config.to_json(),
            "balance_cents": self._balance,
            "start_due_cents": self._start_due,
            "debt_cents": self._debt,
            "plan": None if self._plan is None else self._plan.to_json(),
            "plan_next": None if self._plan_next is None else self._plan_next.isoformat(),
            "supply": self._supply.value,
            "cut_reason": self._cut_reason,
            "emergency_invoked": self._emergency_invoked,
            "low_notified": self._low_notified,
            "last_emergency": int(self._last_emergency),
            "deferred_until": _iso(self._deferred_until),
            "leak_deadline": _iso(self._leak_deadline),
            "last_period": self._last_period,
            "meters": {p: [str(m.energy), m.cents] for p, m in self._meters.items()},
            "standing_eur": str(self._standing_eur),
            "standing_billed": self._standing_billed,
            "top_ups": dict(self._top_ups),
            "totals": dict(self._totals),
            "unposted": {d.isoformat(): c for d, c in self._unposted.items()},
            "history": {d.isoformat(): r.to_json() for d, r in self._history.items()},
            "now": self._now.isoformat(),
            "opened_at": self._opened_at.isoformat(),
            "balance_updated_at": self._balance_updated_at.isoformat(),
            "next_midnight": self._next_midnight.isoformat(),
            "next_update": _iso(self._next_update),
            "winter_next": _iso(self._winter_next),
            "emergency_spent": self._emergency_spent,
            "protected_since": _iso(self._protected_since),
            "protection_debt_cents": self._protection_debt,
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Self:
        """Rebuild an account from `snapshot()`; ValueError on an unknown snapshot version."""
        if snap.get("version") not in (1, SNAPSHOT_VERSION):
            raise ValueError(f"unsupported snapshot version {snap.get('version')!r}")
        config = AccountConfig.from_json(snap["config"])
        acc = cls(config, datetime.fromisoformat(snap["opened_at"]))
        acc._balance = int(snap["balance_cents"])
        acc._start_due = int(snap["start_due_cents"])
        acc._debt = int(snap["debt_cents"])
        acc._plan = None if snap["plan"] is None else PaymentPlan.from_json(snap["plan"])
        acc._plan_next = None if snap["plan_next"] is None else date.fromisoformat(snap["plan_next"])
        acc._supply = SupplyState(snap["supply"])
        acc._cut_reason = snap["cut_reason"]
        acc._emergency_invoked = bool(snap["emergency_invoked"])
        acc._low_notified = bool(snap["low_notified"])
        acc._last_emergency = EmergencyState(int(snap["last_emergency"]))
        acc._deferred_until = _from_iso(snap["deferred_until"])
        acc._leak_deadline = _from_iso(snap["leak_deadline"])
        acc._last_period = str(snap["last_period"])
        acc._meters = {
            p: TariffMeter(config.price_eur(p), Decimal(e), int(c)) for p, (e, c) in snap["meters"].items()
        }
        acc._standing_eur = Decimal(snap["standing_eur"])
        acc._standing_billed = int(snap["standing_billed"])
        acc._top_ups = {str(k): int(v) for k, v in snap["top_ups"].items()}
        acc._totals = dict.fromkeys(LEDGER_TOTALS, 0) | {k: int(v) for k, v in snap["totals"].items()}
        acc._unposted = {date.fromisoformat(d): int(c) for d, c in snap["unposted"].items()}
        acc._history = {}
        for d, r in snap["history"].items():
            day = DayRecord()
            day.energy = Decimal(r["energy"])
            day.consumption_cents = int(r["consumption_cents"])
            day.charges_cents = int(r["charges_cents"])
            day.top_ups_cents = int(r["top_ups_cents"])
            acc._history[date.fromisoformat(d)] = day
        acc._now = datetime.fromisoformat(snap["now"])
        acc._balance_updated_at = datetime.fromisoformat(snap["balance_updated_at"])
        acc._next_midnight = datetime.fromisoformat(snap["next_midnight"])
        acc._next_update = _from_iso(snap["next_update"])
        acc._winter_next = _from_iso(snap["winter_next"])
        # Version 1 had no protection state: a protected customer's protection began at the opening.
        acc._emergency_spent = bool(snap.get("emergency_spent", False))
        acc._protected_since = _from_iso(
            snap.get("protected_since", snap["opened_at"] if config.protected_customer else None)
        )
        acc._protection_debt = int(snap.get("protection_debt_cents", 0))
        acc._today = acc._day(acc._now.astimezone(acc._tz).date())
        acc._wakeup = acc._next_wakeup()
        return acc

    # ----------------------------------------------------------------- helpers of the read side

    def _check_time(self, at: datetime) -> None:
        check_aware(at)
        if at < self._now:
            raise ValueError(f"time went backwards: {at.isoformat()} < {self._now.isoformat()}")

    def _day(self, d: date) -> DayRecord:
        rec = self._history.get(d)
        if rec is None:
            rec = self._history[d] = DayRecord()
            if len(self._history) > self.config.history_days:
                for old in sorted(self._history)[: len(self._history) - self.config.history_days]:
                    del self._history[old]
        return rec

    def _update_after(self, at: datetime) -> datetime:
        d = at.astimezone(self._tz).date()
        t = cal.at_local(d, self.config.daily_update_at, self._tz)
        return t if t > at else cal.at_local(d + timedelta(days=1), self.config.daily_update_at, self._tz)

    def _next_wakeup(self) -> datetime:
        t = self._next_midnight
        for other in (self._next_update, self._deferred_until, self._winter_next, self._leak_deadline):
            if other is not None and other < t:
                t = other
        return t

    def _emergency_usable(self) -> bool:
        return self._emergency_c > 0 and (
            self.config.emergency_activation == "auto" or self._emergency_invoked
        )

    def _exhausted(self) -> bool:
        bal = self._balance
        if bal > 0:
            return False
        if self._emergency_spent:
            return True
        return not self._emergency_usable() or bal <= -self._emergency_c

    def _limit_kw(self) -> Decimal | None:
        cfg = self.config
        if cfg.energy != "electricity":
            return None
        if self._protected_since is not None:  # the protected customer's limiter: any time of year
            return cfg.protection.limiter_kw
        if cfg.after_exhaustion == "limit":
            return cfg.limiter_kw
        return None

    def _gas_winter_aid(self, at: datetime) -> bool:
        return (
            self.config.energy == "gas"
            and self._protected_since is not None
            and cal.in_winter(at, self.config.protection, self._tz)
        )


def check_aware(at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"times must be aware datetimes, got {at!r}")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _from_iso(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)
