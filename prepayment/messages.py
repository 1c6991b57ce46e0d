"""Customer-facing sentences that depend on the configuration (button hold time, limit).

Strategy: one home for the sentences a customer reads about the meter's buttons and the limiter,
so a translation (French, Dutch) replaces this module's functions only. Durations and limits are
arguments, never literals: they come from `AccountConfig` (`button_hold_s`, the limiter's kW).
"""

from __future__ import annotations

from decimal import Decimal


def hold_button(energy: str, hold_s: int) -> str:
    """What to do with the button to restore the supply (lower-case start, no full stop)."""
    if energy == "gas":
        return f"close all gas appliances and hold the red button for {hold_s} s to start the leak test"
    return f"hold the green button for {hold_s} s"


def select_emergency_credit(hold_s: int) -> str:
    """How to invoke a selectable emergency credit."""
    return f"hold the button for {hold_s} s"


def reconnection_possible(energy: str, hold_s: int) -> str:
    """The `reconnection_possible` notification."""
    if energy == "gas":
        return f"Gas can be reopened: {hold_button('gas', hold_s)}"
    return f"Electricity can be reconnected: {hold_button('electricity', hold_s)}"


def emergency_credit_available(limit_eur: Decimal, hold_s: int) -> str:
    """The `emergency_credit_available` notification."""
    return f"Emergency credit of {limit_eur} EUR available: {select_emergency_credit(hold_s)}"


def supply_limited(limit_kw: Decimal | None) -> str:
    """The `supply_limited` notification."""
    return f"Credit exhausted: supply limited to {limit_kw} kW"
