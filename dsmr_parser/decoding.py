"""A line's brackets -> `Value`: one converter per OBIS kind, and the shapes values are accepted in.

Numbers are accepted only in the shape meters print them (`NUMBER`: digits, an optional fraction, no sign
except where the registry allows one, no exponent, at most 12 + 9 digits): `NaN`, `Infinity`, `1E+1000000`,
5,000 digits or a negative duration stay raw text (`Raw`), never a value nor an exception. Lines of codes the
registry does not know are typed by their shape (`shaped_value`): `(123.4*kVAr)` a Decimal with its unit,
`(YYMMDDhhmmssX)` a timestamp, `(text)` a str, `()` None; only what has no such shape stays raw. A converter
raises one of `CONVERSION_ERRORS` on odd input (the parser keeps the value raw). Hot path: wheels compile
this module with mypyc (setup.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from .registry import REGISTRY, ObisObject
from .timestamps import MeterClock
from .values import MonthlyPeak, PowerFailure, Value

# the shapes values are accepted in (ASCII digits only: `\d` would take any script's digits)
NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?").fullmatch
_SIGNED_NUMBER = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,9})?").fullmatch
_COUNT = re.compile(r"[0-9]{1,10}").fullmatch
_UNIT = re.compile(r"[A-Za-z][A-Za-z0-9]{0,7}").fullmatch
_TEXT = re.compile(r"[ -')+-~]*").fullmatch  # printable ASCII without ( ) *
_TIMESTAMP = re.compile(r"[0-9]{12}[SW]").fullmatch
EMPTY = Value(None)
_GROUP = re.compile(r"\(([^()]*)\)")

Converter = Callable[[str], Value]
# ArithmeticError covers decimal's InvalidOperation and OverflowError: the shape checks keep them out,
# this keeps any that slip through a raw value rather than an exception out of `feed()`
CONVERSION_ERRORS = (ValueError, ArithmeticError, IndexError, UnicodeDecodeError)


def _memoised(convert: Converter, limit: int = 256) -> Converter:
    cache: dict[str, Value] = {}

    def memo(raw: str) -> Value:
        try:
            return cache[raw]
        except KeyError:
            if len(cache) >= limit:
                cache.clear()
            value = cache[raw] = convert(raw)
            return value

    return memo


def _decimal(text: str, signed: bool = False) -> Decimal:
    """A meter's number (`00123.456`) as an exact Decimal; ValueError for any other shape or size."""
    if (_SIGNED_NUMBER if signed else NUMBER)(text) is None:
        raise ValueError(f"not a number as meters print them: {text[:24]!r}")
    return Decimal(text)


def _count(text: str) -> int:
    """Digits only (counters, states, durations): an int; ValueError for anything else."""
    if _COUNT(text) is None:
        raise ValueError(f"not a count: {text[:24]!r}")
    return int(text)


def _text(text: str) -> str:
    """Printable ASCII without brackets (empty included); ValueError for anything else."""
    if _TEXT(text) is None:
        raise ValueError(f"not text: {text[:24]!r}")
    return text


def _number(text: str, signed: bool = False) -> tuple[Decimal, str | None]:
    number, _, unit = text.partition("*")
    return _decimal(number, signed), unit or None


def shaped_value(inner: str, parse_time: Callable[[str], datetime | None]) -> Value:
    """The value of a code the registry does not know, by its shape (`inner`: between the outer brackets).
    ValueError when it has none (the caller keeps the line raw)."""
    groups = inner.split(")(")
    if len(groups) > 2:
        raise ValueError("several groups")
    reading = groups[-1]
    stamp = parse_time(groups[0]) if len(groups) == 2 and _TIMESTAMP(groups[0]) else None
    if len(groups) == 2 and stamp is None and _TIMESTAMP(groups[0]) is None:
        raise ValueError("two groups, the first not a timestamp")
    if not reading:
        return Value(None, None, stamp)
    number, star, unit = reading.partition("*")
    if star:
        if _UNIT(unit) is None:
            raise ValueError(f"not a unit: {unit[:24]!r}")
        return Value(_decimal(number, True), unit, stamp)
    if len(groups) == 1 and _TIMESTAMP(reading):
        return Value(parse_time(reading))
    return Value(_text(reading), None, stamp)


def decode_hex_text(text: str) -> str:
    """Hex-encoded ASCII (equipment ids, text messages) -> text; anything else is returned unchanged."""
    if not text or len(text) % 2:
        return text
    try:
        decoded = bytes.fromhex(text).decode("ascii")
    except ValueError:
        return text
    return decoded if decoded.isprintable() else text


def _converter(obj: ObisObject, clock: MeterClock) -> Converter:
    parse_time = clock.parse
    kind = obj.kind
    signed = _signed(obj)
    if kind == "decimal":

        def decimal(inner: str) -> Value:
            if not inner:
                return EMPTY
            number, _, unit = inner.partition("*")
            return Value(_decimal(number, signed), unit or None)

        return decimal
    if kind == "int":

        def integer(inner: str) -> Value:
            if not inner:
                return EMPTY
            number, _, unit = inner.partition("*")
            return Value(_count(number), unit or None)

        return _memoised(integer)
    if kind == "str":
        return _memoised(lambda inner: Value(_text(inner)))
    if kind == "hex":
        return _memoised(lambda inner: Value(decode_hex_text(_text(inner))))
    if kind == "timestamp":
        return lambda inner: Value(parse_time(inner))

    if kind == "timestamped":

        def timestamped(inner: str) -> Value:
            if not inner:
                return EMPTY
            stamp, _, reading = inner.partition(")(")
            number, unit = _number(reading)
            return Value(number, unit, parse_time(stamp))

        return timestamped
    if kind == "peaks":

        def peaks(inner: str) -> Value:
            if not inner:
                return EMPTY
            groups = inner.split(")(")
            count = _count(groups[0])
            if len(groups) != 3 + 3 * count:
                raise ValueError(f"{count} peaks announced, {len(groups)} groups")
            entries: list[MonthlyPeak] = []
            for i in range(3, 3 + 3 * count, 3):
                number, unit = _number(groups[i + 2])
                entries.append(MonthlyPeak(parse_time(groups[i]), parse_time(groups[i + 1]), number, unit))
            return Value(tuple(entries), entries[0].unit if entries else obj.unit)

        return _memoised(peaks)
    if kind == "failures":

        def failures(inner: str) -> Value:
            if not inner:
                return EMPTY
            groups = inner.split(")(")
            count = _count(groups[0])
            if len(groups) != 2 + 2 * count:
                raise ValueError(f"{count} failures announced, {len(groups)} groups")
            entries: list[PowerFailure] = []
            for i in range(2, 2 + 2 * count, 2):
                seconds, _, _ = groups[i + 1].partition("*")
                entries.append(PowerFailure(parse_time(groups[i]), _count(seconds)))
            return Value(tuple(entries), "s")

        return _memoised(failures)
    if kind == "legacy_gas":

        def legacy_gas(inner: str) -> Value:
            if not inner:
                return EMPTY
            groups = _GROUP.findall(f"({inner})")
            return Value(_decimal(groups[6]), groups[5] or None, parse_time(groups[0]))

        return legacy_gas
    raise ValueError(f"unknown kind {kind!r}")


def value_of(converter: Converter | None, raw: str) -> Value:
    """The value of a line's brackets (`raw` is the text after the first `(`, ending with `)`); a None
    converter is the commonest kind, a number with its unit. Raises one of `CONVERSION_ERRORS`."""
    if converter is None:
        if raw == ")":
            return EMPTY
        number, _, unit = raw[:-1].partition("*")
        if NUMBER(number) is None:
            raise ValueError(f"not a number as meters print them: {number[:24]!r}")
        return tuple.__new__(Value, (Decimal(number), unit or None, None))
    return converter(raw[:-1])


def _signed(obj: ObisObject) -> bool:
    """Objects whose values may be negative: money (a balance) and power factors."""
    return obj.device_class in ("monetary", "power_factor")


def converters_by_code(clock: MeterClock) -> dict[str, Converter | None]:
    """Every registry code's converter for a meter clock; None marks the inline fast path, a number with
    its unit (`value_of` and the parser's shortcut convert it without a call)."""
    return {
        code: None if obj.kind == "decimal" and not _signed(obj) else _converter(obj, clock)
        for code, obj in REGISTRY.items()
    }
