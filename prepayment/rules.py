"""The credit rules of the account: what happens after any change, and when time passes.

Strategy: time-driven rules (local midnight: standing charge, start-credit and plan instalments; the central
morning update; the end of a friendly period; the gas winter aid's boundaries; the leak-test deadline) are
wake-ups processed in order by `_advance_to`; after every event `_evaluate` applies the credit rules
(notifications, cut, limiter, reconnection) once. In "central" accounting charges go to per-day buckets
posted at the next daily update. Exhaustion spends the emergency credit for good until a top-up brings the
balance to `reconnect_min_eur`; a protected customer is supplied although exhausted, the charges going to
the debt.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import calendar as cal
from . import messages
from .account_base import CUT_BY_CREDIT, CUT_BY_POWER_CUT, AccountBase
from .events import EmergencyState, Notification, NotificationKind, SupplyState
from .messages import Text
from .money import EXACT, cents_to_eur, floor_cents, to_cents


class CreditRules(AccountBase):
    """The rules applied to an account's fields (internal: `PrepaymentAccount` is the public face)."""

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
        cut = self._cut_reason == CUT_BY_CREDIT or self._under_protection(t)
        self._standing_eur = EXACT.add(self._standing_eur, self.config.standing_charge_eur_per_day)
        total = floor_cents(self._standing_eur)
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
                self._note(
                    notes, NotificationKind.START_CREDIT_RECOVERED, t, messages.start_credit_recovered()
                )
        plan = self._plan
        if plan is not None and self._plan_next is not None and day >= self._plan_next:
            self._plan_next = day + timedelta(days=plan.interval_days)
            part = min(to_cents("instalment_eur", plan.instalment_eur), self._debt)
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
            messages.balance_updated(cents_to_eur(cents), self.balance_eur),
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
                    messages.low_credit(self.balance_eur),
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
                    messages.emergency_credit_in_use(self.emergency_remaining_eur),
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
                    self._note(notes, NotificationKind.SUPPLY_RESTORED, at, messages.power_limit_lifted())
        elif self._cut_reason == CUT_BY_CREDIT:
            if supply is SupplyState.DISCONNECTED and bal >= self._min_c:
                self._set_supply(SupplyState.READY, CUT_BY_CREDIT)
                self._note(notes, NotificationKind.RECONNECTION_POSSIBLE, at, self._reconnect_hint())
            elif supply is SupplyState.READY and bal < self._min_c:
                self._set_supply(SupplyState.DISCONNECTED, CUT_BY_CREDIT)
            elif supply is SupplyState.DISCONNECTED and self._limit_kw() is not None:
                self._set_supply(SupplyState.LIMITED, None)
                self._note(notes, NotificationKind.SUPPLY_LIMITED, at, self._limited_message())
            elif supply is SupplyState.DISCONNECTED and self._gas_winter_aid(at):
                self._set_supply(SupplyState.READY, CUT_BY_CREDIT)
                self._note(notes, NotificationKind.RECONNECTION_POSSIBLE, at, self._reconnect_hint())
        elif supply is SupplyState.READY and self._cut_reason == CUT_BY_POWER_CUT and exhausted:
            self._set_supply(SupplyState.DISCONNECTED, CUT_BY_CREDIT)
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
                messages.interruption_deferred(f"{until.astimezone(self._tz):%Y-%m-%d %H:%M}"),
            )
            return
        self._deferred_until = None
        self._leak_deadline = None
        self._set_supply(SupplyState.DISCONNECTED, CUT_BY_CREDIT)
        self._note(
            notes,
            NotificationKind.SUPPLY_INTERRUPTED,
            at,
            messages.supply_interrupted(self.balance_eur),
        )

    def _limited_message(self) -> Text:
        return messages.supply_limited(self._limit_kw())

    def _reconnect_hint(self) -> Text:
        return messages.reconnection_possible(self.config.energy, self.config.button_hold_s)

    def _pass_leak_test(self, at: datetime, notes: list[Notification]) -> None:
        self._leak_deadline = None
        self._set_supply(SupplyState.CONNECTED, None)
        self._note(notes, NotificationKind.SUPPLY_RESTORED, at, messages.leak_test_passed())
        self._wakeup = self._next_wakeup()

    def _fail_leak_test(self, at: datetime, notes: list[Notification], why: Text) -> None:
        self._leak_deadline = None
        self._note(
            notes,
            NotificationKind.LEAK_TEST_FAILED,
            at,
            messages.leak_test_failed(why),
        )
        self._wakeup = self._next_wakeup()

    def _note(self, notes: list[Notification], kind: NotificationKind, at: datetime, message: Text) -> None:
        enabled = self.config.notifications.enabled
        if enabled is None or kind.value in enabled:
            notes.append(Notification(kind, at, self.config.energy, str(message), self.balance_eur, message))
