"""The prepayment account of one energy: pure state machine, events and time in, notifications out.

Strategy:
- Money is integer cents internally (`Decimal` euros at the edges); energy is `Decimal` accumulated
  exactly (a private 60-digit context that traps rounding, so an input too precise to add exactly is a
  `ValueError`, never a silent loss).
- Billing is done once per cent: per tariff period the account keeps the cumulative energy and the
  cents already billed; the bill is always `floor(energy x price)` in cents, the remainder (< 1 cent)
  is carried. A cached energy threshold for the next cent makes `consume()` one addition and one
  comparison in the common case; the exact multiplication only runs when a cent is crossed. Standing
  charges use the same carry. Hence money is never created nor lost: see `ledger`.
- Time is always a parameter and must not go backwards. Time-driven rules (local midnight: standing
  charge, start-credit and plan instalments; the central morning update; the end of a friendly period;
  the gas winter aid's boundaries; the leak-test deadline) are events processed in order by `advance()`, which
  `consume()` calls only when the next cached wake-up time has been reached.
- In "central" accounting the charges go to per-day buckets posted to the meter's balance at the
  next daily update (the previous days, as ORES does); top-ups are credited at once in both modes.
- Exhaustion spends the emergency credit for good: until a top-up brings the balance to
  `reconnect_min_eur` it stays exhausted (a smaller top-up neither reconnects nor re-enables it).
- A protected customer is supplied although exhausted (electricity: under the limiter, any time of
  year; gas: the winter aid); what is charged meanwhile goes to the debt, not to the balance.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import (
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any

from . import calendar as cal
from . import messages
from .config import AccountConfig, PaymentPlan
from .events import (
    EmergencyState,
    Notification,
    NotificationKind,
    SupplyState,
    TopUpConflict,
    TopUpResult,
)

_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])
_FLOOR = Context(prec=60, rounding=ROUND_FLOOR)
_INF = Decimal("Infinity")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
_CREDIT = "credit"
_POWER_CUT = "power_cut"
SNAPSHOT_VERSION = 2


def _eur(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _to_cents(name: str, amount: Decimal) -> int:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"{name} must be a finite Decimal in EUR, got {amount!r}")
    if amount != amount.quantize(_CENT):
        raise ValueError(f"{name} must be a whole number of cents, got {amount}")
    return int(amount * 100)


def _floor_cents(amount_eur: Decimal) -> int:
    return int(_EXACT.multiply(amount_eur, _HUNDRED).to_integral_value(ROUND_FLOOR))


class _Meter:
    """Energy and cents billed in one tariff period (the carry lives in `energy`)."""

    __slots__ = ("cents", "energy", "next_energy", "price_c")

    def __init__(self, price_eur: Decimal, energy: Decimal = _ZERO, cents: int = 0) -> None:
        self.price_c = price_eur * _HUNDRED  # exact: a shift of the exponent
        self.energy = energy
        self.cents = cents
        self.next_energy = self._threshold()

    def _threshold(self) -> Decimal:
        if not self.price_c:
            return _INF
        # Rounded down, so `energy < next_energy` proves no cent is due yet.
        return _FLOOR.divide(Decimal(self.cents + 1), self.price_c)

    def bill(self) -> int:
        """Cents newly due after `energy` crossed `next_energy`."""
        total = int(_EXACT.multiply(self.energy, self.price_c).to_integral_value(ROUND_FLOOR))
        due = total - self.cents
        self.cents = total
        self.next_energy = self._threshold()
        return due


class _Day:
    """One local day of the history."""

    __slots__ = ("charges_cents", "consumption_cents", "energy", "top_ups_cents")

    def __init__(self) -> None:
        self.energy = _ZERO
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


_TOTALS = [f.name for f in fields(Ledger) if f.name != "unposted_cents"]


class PrepaymentAccount:
    """A prepayment account (balance, start credit, emergency credit, debt, supply state).

    Create with `PrepaymentAccount(config, opened_at)`; feed `consume()`, `advance()`, `top_up()`,
    `press_button()`, leak-test and power-cut events, each with the time it happened; read the
    properties, `state()` (JSON for MQTT/HTTP) and `snapshot()` (exact, for the journal).
    """

    def __init__(
        self,
        config: AccountConfig,
        opened_at: datetime,
        *,
        carried_over_eur: Decimal = _ZERO,
    ) -> None:
        """Open the account at `opened_at`, balance = carried-over balance topped up to the start
        credit; the amount advanced is the start credit to recover."""
        _check_aware(opened_at)
        self.config = config
        self._tz = cal.zone(config.timezone)
        carried = _to_cents("carried_over_eur", carried_over_eur)
        start = _to_cents("start_credit_eur", config.start_credit_eur)
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
        self._meters = {p: _Meter(price) for p, price in config.tariffs_eur.items()}
        self._standing_eur = _ZERO  # cumulative standing charge accrued, exact
        self._standing_billed = 0
        self._top_ups: dict[str, int] = {}
        self._totals = dict.fromkeys(_TOTALS, 0)
        self._unposted: dict[date, int] = {}
        self._history: dict[date, _Day] = {}
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
        self._min_c = _to_cents("reconnect_min_eur", config.reconnect_min_eur)
        self._low_c = _to_cents("low_credit_eur", config.notifications.low_credit_eur)
        self._selectable_c = _to_cents(
            "emergency_selectable_eur", config.notifications.emergency_selectable_eur
        )
        self._emergency_c = _to_cents("emergency_credit_eur", config.emergency_credit_eur)
        self._recovery_c = _to_cents(
            "start_credit_recovery_eur_per_day", config.start_credit_recovery_eur_per_day
        )
        self._wakeup = self._next_wakeup()

    # ----------------------------------------------------------------- events in

    def consume(self, energy: Decimal, period: str, at: datetime) -> list[Notification]:
        """Bill `energy` (in `config.energy_unit`, >= 0) used in tariff `period`, metered at `at`.

        Cheap: one exact addition and one comparison unless a cent is crossed or a timed event is due.
        Energy metered while the supply is off is still billed; gas flowing during a leak test fails it.
        """
        if at.tzinfo is None or at < self._now:
            self._check_time(at)
        meter = self._meters.get(period)
        if meter is None:
            self.config.price_eur(period)  # raises the explanatory ValueError
            raise AssertionError  # pragma: no cover
        if energy.__class__ is not Decimal:
            energy = _as_energy(energy)
        if not energy.is_finite() or energy < 0:
            raise ValueError(f"energy must be a finite, non-negative Decimal, got {energy!r}")
        if not energy:
            zero_notes = self._advance_to(at) if at >= self._wakeup else []
            self._now = at
            return zero_notes
        day = self._today
        try:
            total = _EXACT.add(meter.energy, energy)
            day_total = _EXACT.add(day.energy, energy)
        except ArithmeticError:
            raise ValueError(
                f"energy {energy!r} has too many digits to accumulate exactly; round it first"
            ) from None
        notes: list[Notification] = self._advance_to(at) if at >= self._wakeup else []
        self._now = at
        if self._today is not day:  # a new local day began: its energy starts from zero
            day_total = energy
        meter.energy = total
        self._today.energy = day_total
        self._last_period = period
        if self._leak_deadline is not None and energy > self.config.leak_test_tolerance:
            self._fail_leak_test(at, notes, "gas flowed during the leak test")
        if meter.energy >= meter.next_energy:
            cents = meter.bill()
            if cents:
                self._today.consumption_cents += cents
                self._totals["consumption_cents"] += cents
                if self._under_protection(at):
                    self._debt += cents
                    self._protection_debt += cents
                    self._totals["protected_supply_to_debt_cents"] += cents
                else:
                    self._charge(cents, at)
                self._evaluate(at, notes)
        return notes

    def advance(self, at: datetime) -> list[Notification]:
        """Let time pass to `at`: daily charges, central update, deferred cuts, winter, leak test."""
        self._check_time(at)
        notes = self._advance_to(at)
        self._now = at
        self._evaluate(at, notes)
        return notes

    def top_up(self, top_up_id: str, amount_eur: Decimal, at: datetime) -> TopUpResult:
        """Credit a top-up once per `top_up_id` (a repeat with the same amount is a no-op duplicate,
        with another amount a `TopUpConflict`). A payment plan may withhold its share for the debt."""
        if not isinstance(top_up_id, str) or not top_up_id.strip():
            raise ValueError("top_up_id must be a non-empty string")
        cents = _to_cents("amount_eur", amount_eur)
        if cents <= 0:
            raise ValueError(f"a top-up must be positive, got {amount_eur} EUR")
        known = self._top_ups.get(top_up_id)
        if known is not None:
            if known != cents:
                raise TopUpConflict(
                    f"top-up {top_up_id!r} was already credited with {_eur(known)} EUR, not {amount_eur} EUR"
                )
            return TopUpResult(top_up_id, amount_eur, True, _ZERO, _ZERO, self.balance_eur, ())
        notes = self.advance(at)
        to_debt = 0
        plan = self._plan
        if plan is not None and plan.top_up_share and self._debt > 0:
            share = int((cents * plan.top_up_share).to_integral_value(ROUND_FLOOR))
            to_debt = min(self._debt, share)
            self._repay(to_debt)
        self._top_ups[top_up_id] = cents
        self._balance += cents - to_debt
        self._totals["top_ups_cents"] += cents
        self._totals["to_debt_from_top_ups_cents"] += to_debt
        self._today.top_ups_cents += cents
        if self._balance > 0:
            self._emergency_invoked = False
        if self.config.accounting == "immediate":
            self._balance_updated_at = at
        self._note(
            notes,
            NotificationKind.TOP_UP_ACCEPTED,
            at,
            f"Top-up of {amount_eur} EUR accepted; balance {self.balance_eur} EUR",
        )
        self._evaluate(at, notes)
        return TopUpResult(
            top_up_id,
            amount_eur,
            False,
            _eur(cents - to_debt),
            _eur(to_debt),
            self.balance_eur,
            tuple(notes),
        )

    def press_button(self, at: datetime, held_s: int | None = None) -> list[Notification]:
        """The customer holds the meter's button `held_s` seconds (default: `config.button_hold_s`):
        reconnects a ready breaker (electricity), starts the leak test of a ready valve (gas), or
        invokes a selectable emergency credit. A press shorter than `config.button_hold_s` does nothing."""
        notes = self.advance(at)
        if held_s is not None and held_s < self.config.button_hold_s:
            return notes
        if self.emergency_state is EmergencyState.SELECTABLE:
            self._emergency_invoked = True
            self._last_emergency = self.emergency_state
            if self._supply is SupplyState.DISCONNECTED and not self._exhausted():
                self._set_supply(SupplyState.READY, None)
        if self._supply is SupplyState.READY:
            if self.config.energy == "gas":
                notes.extend(self.start_leak_test(at))
            else:
                self._set_supply(SupplyState.CONNECTED, None)
                self._note(notes, NotificationKind.SUPPLY_RESTORED, at, "Electricity is back on")
        self._evaluate(at, notes)
        return notes

    def start_leak_test(self, at: datetime) -> list[Notification]:
        """Gas: the customer starts the leak test (all appliances closed); the valve must be ready."""
        if self.config.energy != "gas":
            raise ValueError("the leak test exists for gas accounts only")
        notes = self.advance(at)
        if self._supply is not SupplyState.READY:
            raise ValueError(f"the valve is {self._supply.value}, a leak test needs it 'ready'")
        if self._leak_deadline is None:
            self._leak_deadline = at + timedelta(seconds=self.config.leak_test_duration_s)
            self._wakeup = self._next_wakeup()
            self._note(
                notes,
                NotificationKind.LEAK_TEST_STARTED,
                at,
                f"Leak test running until {self._leak_deadline.astimezone(self._tz):%H:%M}: "
                "keep all gas appliances closed",
            )
        return notes

    def report_flow(self, volume: Decimal, at: datetime) -> list[Notification]:
        """Gas flow seen by the meter (in the energy unit) during a leak test; above the tolerance
        the test fails. Outside a test this only advances time (bill flow with `consume`)."""
        notes = self.advance(at)
        if self._leak_deadline is not None and volume > self.config.leak_test_tolerance:
            self._fail_leak_test(at, notes, "unexpected gas flow")
        return notes

    def finish_leak_test(self, at: datetime, flow_detected: bool) -> list[Notification]:
        """The meter concludes the running leak test (it may end before the deadline)."""
        if self._leak_deadline is None:
            raise ValueError("no leak test is running")
        notes = self.advance(at)
        if self._leak_deadline is None:  # the deadline passed inside advance(): already concluded
            return notes
        if flow_detected:
            self._fail_leak_test(at, notes, "unexpected gas flow")
        else:
            self._pass_leak_test(at, notes)
        return notes

    def power_cut(self, at: datetime) -> list[Notification]:
        """The mains failed. Electricity resumes by itself; a gas valve closes and needs a new leak test."""
        notes = self.advance(at)
        if self.config.energy == "gas":
            self._leak_deadline = None
            if self._supply in (SupplyState.CONNECTED, SupplyState.LIMITED):
                self._set_supply(SupplyState.READY, _POWER_CUT)
                self._note(
                    notes,
                    NotificationKind.RECONNECTION_POSSIBLE,
                    at,
                    "Gas valve closed after a power cut: run the leak test to reopen it",
                )
            self._wakeup = self._next_wakeup()
            self._evaluate(at, notes)
        return notes

    def start_protection(self, at: datetime) -> list[Notification]:
        """The customer becomes a protected customer (on request of the CPAS, any time of year):
        from now on exhaustion limits the electricity instead of cutting it (a cut customer goes to
        the limiter at once), and gas gets the winter aid. A no-op when already protected."""
        notes = self.advance(at)
        if self._protected_since is None:
            self._protected_since = at
            self._winter_next = cal.next_winter_boundary(at, self.config.protection, self._tz)
            self._evaluate(at, notes)
        return notes

    def end_protection(self, at: datetime) -> list[Notification]:
        """The customer asks to end the protection (and its limiter). Refused (ValueError) while the
        debt drawn under it is not repaid, and for electricity before `protection_guaranteed_until`
        (at least `protection.minimum_months`, and through the winter period)."""
        notes = self.advance(at)
        if self._protected_since is None:
            raise ValueError("the customer is not protected")
        if self._protection_debt > 0:
            raise ValueError(
                f"the protection can end only once the {_eur(self._protection_debt)} EUR drawn under it "
                "is repaid (payment plan or top-ups with a share for the debt)"
            )
        until = self.protection_guaranteed_until
        if until is not None and self.config.energy == "electricity" and at < until:
            raise ValueError(
                f"the protection is guaranteed until {until.astimezone(self._tz):%Y-%m-%d %H:%M}"
            )
        self._protected_since = None
        self._winter_next = None
        self._evaluate(at, notes)
        return notes

    def add_debt(self, amount_eur: Decimal, at: datetime, reason: str = "") -> list[Notification]:
        """Record a debt (arrears, fees) to be recovered by the payment plan."""
        cents = _to_cents("amount_eur", amount_eur)
        if cents <= 0:
            raise ValueError(f"a debt must be positive, got {amount_eur} EUR")
        notes = self.advance(at)
        self._debt += cents
        self._totals["debt_added_cents"] += cents
        self._note(notes, NotificationKind.DEBT_ADDED, at, f"Debt of {amount_eur} EUR added {reason}".strip())
        return notes

    def set_payment_plan(self, plan: PaymentPlan | None, at: datetime) -> list[Notification]:
        """Start (or replace, or with None stop) the payment plan."""
        notes = self.advance(at)
        self._plan = plan
        self._plan_next = None if plan is None else plan.first_due
        return notes

    # ----------------------------------------------------------------- read side

    @property
    def balance_eur(self) -> Decimal:
        """The balance as the meter knows it (central mode: as of the last daily update)."""
        return _eur(self._balance)

    @property
    def debt_eur(self) -> Decimal:
        return _eur(self._debt)

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
        return _eur(self._protection_debt)

    @property
    def start_credit_due_eur(self) -> Decimal:
        return _eur(self._start_due)

    @property
    def unposted_eur(self) -> Decimal:
        """Central mode: charges not yet posted to the meter's balance (0 in immediate mode)."""
        return _eur(sum(self._unposted.values()))

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
        return _eur(self._emergency_c)

    @property
    def emergency_remaining_eur(self) -> Decimal:
        if self._emergency_spent:
            return _ZERO.quantize(_CENT)
        if not self._emergency_usable():
            return _eur(self._emergency_c)
        return _eur(max(0, self._emergency_c - max(0, -self._balance)))

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
                out.append((d, _ZERO, _ZERO))
            else:
                out.append((d, rec.energy, _eur(rec.consumption_cents)))
        return out

    def state(self) -> dict[str, Any]:
        """JSON-friendly state for the gateway's `prepayment` topic and `/api/v1/prepayment`."""
        from .view import account_state

        return account_state(self)

    to_json = state

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
    def restore(cls, snap: dict[str, Any]) -> PrepaymentAccount:
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
            p: _Meter(config.price_eur(p), Decimal(e), int(c)) for p, (e, c) in snap["meters"].items()
        }
        acc._standing_eur = Decimal(snap["standing_eur"])
        acc._standing_billed = int(snap["standing_billed"])
        acc._top_ups = {str(k): int(v) for k, v in snap["top_ups"].items()}
        acc._totals = dict.fromkeys(_TOTALS, 0) | {k: int(v) for k, v in snap["totals"].items()}
        acc._unposted = {date.fromisoformat(d): int(c) for d, c in snap["unposted"].items()}
        acc._history = {}
        for d, r in snap["history"].items():
            day = _Day()
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

    # ----------------------------------------------------------------- internals

    def _check_time(self, at: datetime) -> None:
        _check_aware(at)
        if at < self._now:
            raise ValueError(f"time went backwards: {at.isoformat()} < {self._now.isoformat()}")

    def _day(self, d: date) -> _Day:
        rec = self._history.get(d)
        if rec is None:
            rec = self._history[d] = _Day()
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

    def _advance_to(self, at: datetime) -> list[Notification]:
        notes: list[Notification] = []
        while self._wakeup <= at:
            t = self._wakeup
            self._now = t
            if t == self._leak_deadline:
                self._pass_leak_test(t, notes)
            if t == self._next_midnight:
                self._new_day(t, notes)
            if t == self._next_update:
                self._post(t, notes)
            if t == self._winter_next:
                self._winter_next = cal.next_winter_boundary(t, self.config.protection, self._tz)
            if t == self._deferred_until:
                self._deferred_until = None
            self._evaluate(t, notes)
            self._wakeup = self._next_wakeup()
        return notes

    def _new_day(self, t: datetime, notes: list[Notification]) -> None:
        day = t.astimezone(self._tz).date()
        self._next_midnight = cal.local_midnight(day + timedelta(days=1), self._tz)
        self._today = self._day(day)
        # No supply, or supply only thanks to a protection: charges become debt, recovery pauses.
        cut = self._cut_reason == _CREDIT or self._under_protection(t)
        self._standing_eur = _EXACT.add(self._standing_eur, self.config.standing_charge_eur_per_day)
        total = _floor_cents(self._standing_eur)
        standing = total - self._standing_billed
        self._standing_billed = total
        self._totals["standing_cents"] += standing
        if cut:  # no supply: the standing charge becomes debt, recovered by the payment plan
            self._debt += standing
            self._totals["standing_to_debt_cents"] += standing
        else:
            self._today.charges_cents += standing
            self._charge(standing, t)
        if cut:
            return
        if self._start_due > 0:
            part = min(self._recovery_c, self._start_due)
            self._start_due -= part
            self._totals["start_credit_recovered_cents"] += part
            self._today.charges_cents += part
            self._charge(part, t)
            if self._start_due == 0:
                self._note(notes, NotificationKind.START_CREDIT_RECOVERED, t, "Start credit fully recovered")
        plan = self._plan
        if plan is not None and self._plan_next is not None and day >= self._plan_next:
            self._plan_next = day + timedelta(days=plan.interval_days)
            part = min(_to_cents("instalment_eur", plan.instalment_eur), self._debt)
            if part > 0:
                self._repay(part)
                self._totals["instalments_cents"] += part
                self._today.charges_cents += part
                self._charge(part, t)

    def _charge(self, cents: int, at: datetime) -> None:
        if self._next_update is None:
            self._balance -= cents
            self._balance_updated_at = at
        else:
            day = at.astimezone(self._tz).date()
            self._unposted[day] = self._unposted.get(day, 0) + cents

    def _post(self, t: datetime, notes: list[Notification]) -> None:
        """Central daily update: post the charges of the previous local days to the meter."""
        today = t.astimezone(self._tz).date()
        self._next_update = cal.at_local(today + timedelta(days=1), self.config.daily_update_at, self._tz)
        due = [d for d in self._unposted if d < today]
        cents = sum(self._unposted.pop(d) for d in due)
        self._balance -= cents
        self._balance_updated_at = t
        self._note(
            notes,
            NotificationKind.BALANCE_UPDATED,
            t,
            f"Balance updated: {_eur(cents)} EUR charged, balance {self.balance_eur} EUR",
        )

    def _repay(self, cents: int) -> None:
        """Repay debt; repayments clear the debt drawn under a protection first."""
        self._debt -= cents
        self._protection_debt = max(0, self._protection_debt - cents)

    def _under_protection(self, at: datetime) -> bool:
        """Exhausted yet supplied because of a protection (limiter, gas winter aid): charges are debt."""
        if self._protected_since is None or not self.supply_open or not self._exhausted():
            return False
        return self.config.energy == "electricity" or self._gas_winter_aid(at)

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

    def _set_supply(self, state: SupplyState, reason: str | None) -> None:
        self._supply = state
        self._cut_reason = reason

    def _evaluate(self, at: datetime, notes: list[Notification]) -> None:
        """Apply the credit rules after any change: notifications, cut, limiter, reconnection."""
        bal = self._balance
        if self._emergency_spent and bal >= self._min_c:
            self._emergency_spent = False
        if bal <= self._low_c:
            if not self._low_notified:
                self._low_notified = True
                self._note(
                    notes,
                    NotificationKind.LOW_CREDIT,
                    at,
                    f"Low credit: balance {self.balance_eur} EUR, please top up",
                )
        else:
            self._low_notified = False
        emergency = self.emergency_state
        if emergency is not self._last_emergency:
            if emergency is EmergencyState.SELECTABLE:
                self._note(
                    notes,
                    NotificationKind.EMERGENCY_CREDIT_AVAILABLE,
                    at,
                    messages.emergency_credit_available(self.emergency_limit_eur, self.config.button_hold_s),
                )
            elif emergency is EmergencyState.IN_USE:
                self._note(
                    notes,
                    NotificationKind.EMERGENCY_CREDIT_IN_USE,
                    at,
                    f"Emergency credit in use: {self.emergency_remaining_eur} EUR left",
                )
            self._last_emergency = emergency
        supply = self._supply
        exhausted = self._exhausted()
        if supply is SupplyState.CONNECTED or supply is SupplyState.LIMITED:
            if exhausted:
                self._on_exhausted(at, notes)
            else:
                self._deferred_until = None
                if supply is SupplyState.LIMITED and (bal >= self._min_c or self._limit_kw() is None):
                    self._set_supply(SupplyState.CONNECTED, None)
                    self._note(notes, NotificationKind.SUPPLY_RESTORED, at, "Power limit lifted")
        elif self._cut_reason == _CREDIT:
            if supply is SupplyState.DISCONNECTED and bal >= self._min_c:
                self._set_supply(SupplyState.READY, _CREDIT)
                self._note(notes, NotificationKind.RECONNECTION_POSSIBLE, at, self._reconnect_hint())
            elif supply is SupplyState.READY and bal < self._min_c:
                self._set_supply(SupplyState.DISCONNECTED, _CREDIT)
            elif supply is SupplyState.DISCONNECTED and self._limit_kw() is not None:
                self._set_supply(SupplyState.LIMITED, None)
                self._note(notes, NotificationKind.SUPPLY_LIMITED, at, self._limited_message())
            elif supply is SupplyState.DISCONNECTED and self._gas_winter_aid(at):
                self._set_supply(SupplyState.READY, _CREDIT)
                self._note(notes, NotificationKind.RECONNECTION_POSSIBLE, at, self._reconnect_hint())
        elif supply is SupplyState.READY and self._cut_reason == _POWER_CUT and exhausted:
            self._set_supply(SupplyState.DISCONNECTED, _CREDIT)
        self._wakeup = self._next_wakeup()

    def _on_exhausted(self, at: datetime, notes: list[Notification]) -> None:
        if self._emergency_usable():
            self._emergency_spent = True  # until the balance is back to reconnect_min_eur
        if self._limit_kw() is not None:
            if self._supply is not SupplyState.LIMITED:
                self._set_supply(SupplyState.LIMITED, None)
                self._note(notes, NotificationKind.SUPPLY_LIMITED, at, self._limited_message())
            return
        if self._gas_winter_aid(at):  # gas: the DSO keeps supplying in winter, as debt
            return
        if self._deferred_until is not None and at < self._deferred_until:
            return
        until = cal.friendly_until(at, self.config.friendly, self._tz)
        if until is not None:
            self._deferred_until = until
            self._note(
                notes,
                NotificationKind.INTERRUPTION_DEFERRED,
                at,
                f"Credit exhausted: supply will be interrupted at "
                f"{until.astimezone(self._tz):%Y-%m-%d %H:%M} unless you top up",
            )
            return
        self._deferred_until = None
        self._leak_deadline = None
        self._set_supply(SupplyState.DISCONNECTED, _CREDIT)
        self._note(
            notes,
            NotificationKind.SUPPLY_INTERRUPTED,
            at,
            f"Supply interrupted: balance {self.balance_eur} EUR and emergency credit exhausted",
        )

    def _limited_message(self) -> str:
        return messages.supply_limited(self._limit_kw())

    def _reconnect_hint(self) -> str:
        return messages.reconnection_possible(self.config.energy, self.config.button_hold_s)

    def _pass_leak_test(self, at: datetime, notes: list[Notification]) -> None:
        self._leak_deadline = None
        self._set_supply(SupplyState.CONNECTED, None)
        self._note(notes, NotificationKind.SUPPLY_RESTORED, at, "Leak test passed: gas is back on")
        self._wakeup = self._next_wakeup()

    def _fail_leak_test(self, at: datetime, notes: list[Notification], why: str) -> None:
        self._leak_deadline = None
        self._note(
            notes,
            NotificationKind.LEAK_TEST_FAILED,
            at,
            f"Leak test failed ({why}): close all gas appliances and try again",
        )
        self._wakeup = self._next_wakeup()

    def _note(self, notes: list[Notification], kind: NotificationKind, at: datetime, message: str) -> None:
        enabled = self.config.notifications.enabled
        if enabled is None or kind.value in enabled:
            notes.append(Notification(kind, at, self.config.energy, message, self.balance_eur))


def _check_aware(at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"times must be aware datetimes, got {at!r}")


def _as_energy(energy: object) -> Decimal:
    if isinstance(energy, bool) or not isinstance(energy, int | Decimal):
        raise ValueError(f"energy must be a Decimal (or int), got {type(energy).__name__} {energy!r}")
    return Decimal(energy)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _from_iso(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)
