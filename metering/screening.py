"""What a telegram must pass before anything is published from it (pure: no I/O, no clock reads).

Strategy: two checks the pipeline runs before its fan-out, each answering with a `Rejection` (kind and
reason) instead of raising:
- `non_finite`: every number of the telegram is finite (a `NaN` or `Infinity` that a parser let through
  must never reach Home Assistant, the store or a sum);
- `RegisterFloor`: the cumulative registers (`total_increasing` state values with a device class: energy,
  gas, water, heat) of one meter id never go down. The floor is the highest value accepted per meter id and
  name; `snapshot()` / `restore()` carry it across a gateway restart through the store, so a restarted
  meter (or simulator) that comes back lower is rejected until it passes what was published before. Home
  Assistant reads a decrease of a `total_increasing` sensor as a meter reset (and counts the whole register
  again as consumption), so a decrease must never be published.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dsmr_parser import StateValue, Telegram
from metering.readings import Rejection

FLOOR_VERSION = 1


def _numbers(value: Any) -> list[Decimal | float]:
    """The Decimal and float numbers inside a value (tuples of profile buffers included)."""
    if isinstance(value, Decimal | float):
        return [value]
    if isinstance(value, tuple):
        return [n for item in value for n in _numbers(item)]
    return []


def non_finite(telegram: Telegram) -> Rejection | None:
    """A rejection naming the first value that is NaN or infinite (None when every number is finite)."""
    for code, found in telegram.values.items():
        for number in _numbers(found.value):
            finite = number.is_finite() if isinstance(number, Decimal) else number - number == 0
            if not finite:
                return Rejection("bad_value", f"{code} is not a finite number: {number}")
    return None


def _register(state: StateValue) -> Decimal | None:
    """The value of a cumulative register (None for anything else)."""
    raw = state.value.value
    if state.state_class != "total_increasing" or state.device_class is None or isinstance(raw, bool):
        return None
    return Decimal(raw) if isinstance(raw, Decimal | int) else None


class RegisterFloor:
    """The highest accepted value of every cumulative register, per meter id (see the module docstring)."""

    def __init__(self) -> None:
        self._floor: dict[str, dict[str, Decimal]] = {}

    def check(self, meter_id: str, states: Mapping[str, StateValue]) -> Rejection | None:
        """Why these state values must not be published (a register below its floor), or None."""
        floor = self._floor.get(meter_id)
        if not floor:
            return None
        for name, state in states.items():
            low, value = floor.get(name), _register(state)
            if low is not None and value is not None and value < low:
                return Rejection(
                    "register_backwards",
                    f"{name} went backwards from {low} to {state.value.value} {state.unit or ''}".rstrip(),
                )
        return None

    def accept(self, meter_id: str, states: Mapping[str, StateValue]) -> None:
        """Raise the floor to these (accepted) values."""
        floor = self._floor.setdefault(meter_id, {})
        for name, state in states.items():
            value = _register(state)
            if value is not None and value > floor.get(name, value - 1):
                floor[name] = value

    def merge(self, other: RegisterFloor) -> None:
        """Raise every floor to `other`'s where it is higher."""
        for meter, names in other._floor.items():
            floor = self._floor.setdefault(meter, {})
            for name, value in names.items():
                if value > floor.get(name, value - 1):
                    floor[name] = value

    def snapshot(self) -> dict[str, Any]:
        """The floors as JSON (values as exact decimal text)."""
        return {
            "version": FLOOR_VERSION,
            "meters": {m: {n: str(v) for n, v in names.items()} for m, names in self._floor.items()},
        }

    def restore(self, snapshot: Mapping[str, Any] | None) -> None:
        """Continue from a `snapshot()` (None: no floor). Raises ValueError on a broken one."""
        self._floor = {}
        if snapshot is None:
            return
        if snapshot.get("version") != FLOOR_VERSION:
            raise ValueError(f"unsupported register floor version {snapshot.get('version')!r}")
        try:
            for meter, names in dict(snapshot["meters"]).items():
                self._floor[str(meter)] = {str(n): Decimal(str(v)) for n, v in dict(names).items()}
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            self._floor = {}
            raise ValueError(f"broken register floor: {exc!r}") from exc
