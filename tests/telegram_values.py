"""Typed reads of a parsed telegram's values for the tests: each one states the shape the meter sends for
that code (a number, text, a time, a profile buffer) and fails the test, naming the code, if it is not."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from dsmr_parser import MonthlyPeak, PowerFailure, Value


def number(values: Mapping[str, Value], code: str) -> Decimal | int:
    """A register, power, voltage, current or counter."""
    value = values[code].value
    assert isinstance(value, Decimal | int), (code, value)
    return value


def text(values: Mapping[str, Value], code: str) -> str:
    """An equipment identifier, a message, a version."""
    value = values[code].value
    assert isinstance(value, str), (code, value)
    return value


def moment(values: Mapping[str, Value], code: str) -> datetime:
    """A value that is itself a time (the telegram's 0-0:1.0.0)."""
    value = values[code].value
    assert isinstance(value, datetime), (code, value)
    return value


def stamp(values: Mapping[str, Value], code: str) -> datetime:
    """The capture time sent with the value (gas, water, the month's peak)."""
    captured = values[code].timestamp
    assert captured is not None, code
    return captured


def peaks(values: Mapping[str, Value], code: str) -> tuple[MonthlyPeak, ...]:
    """A profile buffer of monthly peaks (0-0:98.1.0)."""
    value = values[code].value
    assert isinstance(value, tuple), (code, value)
    found = tuple(p for p in value if isinstance(p, MonthlyPeak))
    assert len(found) == len(value), (code, value)
    return found


def failures(values: Mapping[str, Value], code: str) -> tuple[PowerFailure, ...]:
    """A power-failure event log (1-0:99.97.0)."""
    value = values[code].value
    assert isinstance(value, tuple), (code, value)
    found = tuple(p for p in value if isinstance(p, PowerFailure))
    assert len(found) == len(value), (code, value)
    return found
