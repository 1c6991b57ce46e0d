"""Every sentence a prepayment customer is told (notifications, button hints), as English templates.

Strategy: one home for these sentences. Each is a `Text`: an English template marked with `N_` (gettext's
no-op marker, so `python -m gateway.i18n.extract` puts it in the French and Dutch catalogs) and its
parameters. `str(text)` is the English sentence (what `Notification.message` holds); the shell translates
the template and fills it in the customer's language (`gateway.i18n.render`). A parameter may itself be a
`Text` (a button hint inside a sentence). Durations and limits are arguments, never literals: they come
from `AccountConfig` (`button_hold_s`, the limiter's kW). Pure: no catalog is read here.

Example:
    str(reconnection_possible("electricity", 5))
    # "Electricity can be reconnected: hold the green button for 5 s"
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def N_(message: str) -> str:  # gettext's conventional name for the no-op marker
    """Mark an English template for the catalogs; it is translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class Text:
    """An English template (`{name}` placeholders) and its parameters, sorted by name."""

    template: str
    params: tuple[tuple[str, str | int | Decimal | Text | None], ...] = ()

    @classmethod
    def of(cls, template: str, **params: str | int | Decimal | Text | None) -> Text:
        return cls(template, tuple(sorted(params.items())))

    def __str__(self) -> str:
        return self.template.format(**dict(self.params))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def hold_button(energy: str, hold_s: int) -> Text:
    """What to do with the button to restore the supply (lower-case start, no full stop)."""
    if energy == "gas":
        return Text.of(
            N_("close all gas appliances and hold the red button for {seconds} s to start the leak test"),
            seconds=hold_s,
        )
    return Text.of(N_("hold the green button for {seconds} s"), seconds=hold_s)


def select_emergency_credit(hold_s: int) -> Text:
    """How to invoke a selectable emergency credit."""
    return Text.of(N_("hold the button for {seconds} s"), seconds=hold_s)


def reconnection_possible(energy: str, hold_s: int) -> Text:
    """The `reconnection_possible` notification."""
    if energy == "gas":
        return Text.of(N_("Gas can be reopened: {action}"), action=hold_button("gas", hold_s))
    return Text.of(N_("Electricity can be reconnected: {action}"), action=hold_button("electricity", hold_s))


def emergency_credit_available(limit_eur: Decimal, hold_s: int) -> Text:
    """The `emergency_credit_available` notification."""
    return Text.of(
        N_("Emergency credit of {amount} EUR available: {action}"),
        amount=limit_eur,
        action=select_emergency_credit(hold_s),
    )


def supply_limited(limit_kw: Decimal | None) -> Text:
    """The `supply_limited` notification."""
    return Text.of(N_("Credit exhausted: supply limited to {limit} kW"), limit=limit_kw)


# the account's other notifications (prepayment.rules, prepayment.account)


def low_credit(balance_eur: Decimal) -> Text:
    return Text.of(N_("Low credit: balance {balance} EUR, please top up"), balance=balance_eur)


def emergency_credit_in_use(remaining_eur: Decimal | None) -> Text:
    return Text.of(N_("Emergency credit in use: {amount} EUR left"), amount=remaining_eur)


def power_limit_lifted() -> Text:
    return Text.of(N_("Power limit lifted"))


def interruption_deferred(until: str) -> Text:
    """`until`: the local time of the interruption, `YYYY-MM-DD HH:MM`."""
    return Text.of(
        N_("Credit exhausted: supply will be interrupted at {until} unless you top up"), until=until
    )


def supply_interrupted(balance_eur: Decimal) -> Text:
    return Text.of(
        N_("Supply interrupted: balance {balance} EUR and emergency credit exhausted"), balance=balance_eur
    )


def leak_test_passed() -> Text:
    return Text.of(N_("Leak test passed: gas is back on"))


def unexpected_gas_flow() -> Text:
    return Text.of(N_("unexpected gas flow"))


def gas_flowed_during_test() -> Text:
    return Text.of(N_("gas flowed during the leak test"))


def leak_test_failed(why: Text) -> Text:
    return Text.of(N_("Leak test failed ({why}): close all gas appliances and try again"), why=why)


def leak_test_started(until: str) -> Text:
    """`until`: the local time the test ends, `HH:MM`."""
    return Text.of(N_("Leak test running until {until}: keep all gas appliances closed"), until=until)


def start_credit_recovered() -> Text:
    return Text.of(N_("Start credit fully recovered"))


def balance_updated(charged_eur: Decimal, balance_eur: Decimal) -> Text:
    return Text.of(
        N_("Balance updated: {charged} EUR charged, balance {balance} EUR"),
        charged=charged_eur,
        balance=balance_eur,
    )


def top_up_accepted(amount_eur: Decimal, balance_eur: Decimal) -> Text:
    return Text.of(
        N_("Top-up of {amount} EUR accepted; balance {balance} EUR"), amount=amount_eur, balance=balance_eur
    )


def electricity_back_on() -> Text:
    return Text.of(N_("Electricity is back on"))


def gas_closed_after_power_cut() -> Text:
    return Text.of(N_("Gas valve closed after a power cut: run the leak test to reopen it"))


def debt_added(amount_eur: Decimal, reason: str) -> Text:
    """`reason`: the caller's own words (not translated); empty: none."""
    if not reason.strip():
        return Text.of(N_("Debt of {amount} EUR added"), amount=amount_eur)
    return Text.of(N_("Debt of {amount} EUR added {reason}"), amount=amount_eur, reason=reason.rstrip())


# the notifications told from a meter's P1 lines (prepayment.p1)


def emergency_credit_available_p1() -> Text:
    return Text.of(N_("Emergency credit available"))


def interruption_deferred_p1() -> Text:
    return Text.of(N_("Credit exhausted: the supply stays on for now"))


def supply_interrupted_p1(balance_eur: Decimal) -> Text:
    return Text.of(N_("Supply interrupted: balance {balance} EUR"), balance=balance_eur)


def supply_ready_p1() -> Text:
    return Text.of(N_("Supply ready: press the meter's button to reconnect"))


def supply_restored_p1() -> Text:
    return Text.of(N_("Supply restored"))


# what to do now (`prepayment.view.what_to_do`): one sentence for the account's state


def restore_with_button(energy: str, hold_s: int) -> Text:
    if energy == "gas":
        return Text.of(
            N_(
                "Close all gas appliances and hold the red button for {seconds} s to start the leak test "
                "to restore the supply"
            ),
            seconds=hold_s,
        )
    return Text.of(N_("Hold the green button for {seconds} s to restore the supply"), seconds=hold_s)


def keep_closed_during_leak_test(until: str) -> Text:
    return Text.of(N_("Leak test running: keep all gas appliances closed until {until}"), until=until)


def top_up_then_button(amount_eur: Decimal, action: Text) -> Text:
    return Text.of(N_("Top up at least {amount} EUR, then {action}"), amount=amount_eur, action=action)


def supply_off(action: Text) -> Text:
    return Text.of(N_("Supply off: {action}"), action=action)


def top_up_to_lift_limit(limit_kw: Decimal | None, amount_eur: Decimal) -> Text:
    return Text.of(
        N_("Supply limited to {limit} kW: top up at least {amount} EUR to lift the limit"),
        limit=limit_kw,
        amount=amount_eur,
    )


def top_up_before(amount_eur: Decimal, until: str) -> Text:
    return Text.of(
        N_("Credit exhausted: top up at least {amount} EUR before {until} or the supply will be interrupted"),
        amount=amount_eur,
        until=until,
    )


def use_emergency_credit(action: Text, limit_eur: Decimal) -> Text:
    return Text.of(
        N_("Low balance: {action} to use the {amount} EUR emergency credit, or top up"),
        action=action,
        amount=limit_eur,
    )


def repay_emergency_credit(remaining_eur: Decimal, amount_eur: Decimal) -> Text:
    return Text.of(
        N_("Emergency credit in use ({remaining} EUR left): top up at least {amount} EUR to repay it"),
        remaining=remaining_eur,
        amount=amount_eur,
    )


def top_up_soon(balance_eur: Decimal) -> Text:
    return Text.of(N_("Balance low ({balance} EUR): top up soon"), balance=balance_eur)


def nothing_to_do() -> Text:
    return Text.of(N_("Nothing to do"))
