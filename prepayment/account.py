"""The prepayment account of one energy: pure state machine, events and time in, notifications out.

`PrepaymentAccount` is the public face: the events (consumption, time, top-ups, the button, leak tests,
power cuts, protection, debt) with the time they happened. Its fields and read side are
`prepayment.account_base`, the rules `prepayment.rules`, the arithmetic `prepayment.money`.

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

from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from . import calendar as cal
from . import messages
from .account_base import CUT_BY_POWER_CUT
from .config import PaymentPlan
from .events import EmergencyState, Notification, NotificationKind, SupplyState, TopUpConflict, TopUpResult
from .money import EXACT, ZERO, cents_to_eur, to_cents
from .rules import CreditRules
from .view import AccountStateJson, account_state


class PrepaymentAccount(CreditRules):
    """A prepayment account (balance, start credit, emergency credit, debt, supply state).

    Create with `PrepaymentAccount(config, opened_at)`; feed `consume()`, `advance()`, `top_up()`,
    `press_button()`, leak-test and power-cut events, each with the time it happened; read the
    properties, `state()` (JSON for MQTT/HTTP) and `snapshot()` (exact, for the journal).
    """

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
            total = EXACT.add(meter.energy, energy)
            day_total = EXACT.add(day.energy, energy)
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
            self._fail_leak_test(at, notes, messages.gas_flowed_during_test())
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
        cents = to_cents("amount_eur", amount_eur)
        if cents <= 0:
            raise ValueError(f"a top-up must be positive, got {amount_eur} EUR")
        known = self._top_ups.get(top_up_id)
        if known is not None:
            if known != cents:
                raise TopUpConflict(
                    f"top-up {top_up_id!r} was already credited with {cents_to_eur(known)} EUR, "
                    f"not {amount_eur} EUR"
                )
            return TopUpResult(top_up_id, amount_eur, True, ZERO, ZERO, self.balance_eur, ())
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
            messages.top_up_accepted(amount_eur, self.balance_eur),
        )
        self._evaluate(at, notes)
        return TopUpResult(
            top_up_id,
            amount_eur,
            False,
            cents_to_eur(cents - to_debt),
            cents_to_eur(to_debt),
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
                self._note(notes, NotificationKind.SUPPLY_RESTORED, at, messages.electricity_back_on())
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
                messages.leak_test_started(f"{self._leak_deadline.astimezone(self._tz):%H:%M}"),
            )
        return notes

    def report_flow(self, volume: Decimal, at: datetime) -> list[Notification]:
        """Gas flow seen by the meter (in the energy unit) during a leak test; above the tolerance
        the test fails. Outside a test this only advances time (bill flow with `consume`)."""
        notes = self.advance(at)
        if self._leak_deadline is not None and volume > self.config.leak_test_tolerance:
            self._fail_leak_test(at, notes, messages.unexpected_gas_flow())
        return notes

    def finish_leak_test(self, at: datetime, flow_detected: bool) -> list[Notification]:
        """The meter concludes the running leak test (it may end before the deadline)."""
        if self._leak_deadline is None:
            raise ValueError("no leak test is running")
        notes = self.advance(at)
        if self._leak_deadline is None:  # the deadline passed inside advance(): already concluded
            return notes
        if flow_detected:
            self._fail_leak_test(at, notes, messages.unexpected_gas_flow())
        else:
            self._pass_leak_test(at, notes)
        return notes

    def power_cut(self, at: datetime) -> list[Notification]:
        """The mains failed. Electricity resumes by itself; a gas valve closes and needs a new leak test."""
        notes = self.advance(at)
        if self.config.energy == "gas":
            self._leak_deadline = None
            if self._supply in (SupplyState.CONNECTED, SupplyState.LIMITED):
                self._set_supply(SupplyState.READY, CUT_BY_POWER_CUT)
                self._note(
                    notes,
                    NotificationKind.RECONNECTION_POSSIBLE,
                    at,
                    messages.gas_closed_after_power_cut(),
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
                f"the protection can end only once the {cents_to_eur(self._protection_debt)} EUR drawn "
                "under it is repaid (payment plan or top-ups with a share for the debt)"
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
        cents = to_cents("amount_eur", amount_eur)
        if cents <= 0:
            raise ValueError(f"a debt must be positive, got {amount_eur} EUR")
        notes = self.advance(at)
        self._debt += cents
        self._totals["debt_added_cents"] += cents
        self._note(notes, NotificationKind.DEBT_ADDED, at, messages.debt_added(amount_eur, reason))
        return notes

    def set_payment_plan(self, plan: PaymentPlan | None, at: datetime) -> list[Notification]:
        """Start (or replace, or with None stop) the payment plan."""
        notes = self.advance(at)
        self._plan = plan
        self._plan_next = None if plan is None else plan.first_due
        return notes

    def state(self) -> AccountStateJson:
        """JSON-friendly state for the gateway's `prepayment` topic and `/api/v1/prepayment`."""
        return account_state(self)

    to_json = state


def _as_energy(energy: object) -> Decimal:
    if isinstance(energy, bool) or not isinstance(energy, int | Decimal):
        raise ValueError(f"energy must be a Decimal (or int), got {type(energy).__name__} {energy!r}")
    return Decimal(energy)
