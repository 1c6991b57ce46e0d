"""Telegram text -> `Telegram`. Never raises on content: what it cannot read is kept, raw.

Strategy: the body is split into lines with `str.split` and each line into code and brackets with
`str.partition` (cheaper than any regular expression for P1's rigid layout); each code's converter comes
from a dict built once from the registry, and the commonest kind (a number with its unit) is converted inline.
A meter repeats its layout every second, so a telegram shaped like the stream's previous one converts only
the lines that changed, each checked against the previous line's `code(` and `*unit)` (`_changed_lines`);
lines seen recently (voltages, currents, thresholds) come from a bounded cache of whole lines. Lines that
change every second (clock, powers, registers) are always converted. A converter that fails on odd input
keeps the value as raw text; a line is never dropped. Wheels compile this module with mypyc (setup.py).

Numbers are accepted only in the shape meters print them (`_NUMBER`: digits, an optional fraction, no sign
except where the registry allows one, no exponent, at most 12 + 9 digits): `NaN`, `Infinity`, `1E+1000000`,
5,000 digits or a negative duration stay raw text (`Raw`), never a value nor an exception. Lines of codes the
registry does not know are typed by their shape (`_shaped`): `(123.4*kVAr)` a Decimal with its unit,
`(YYMMDDhhmmssX)` a timestamp, `(text)` a str, `()` None; only what has no such shape stays raw.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import compress
from operator import ne

from .errors import ParseError
from .registry import REGISTRY, ObisObject
from .timestamps import DEFAULT_TZ, MeterClock, meter_clock
from .values import CrcStatus, MonthlyPeak, PowerFailure, Raw, Telegram, Value

_OBIS = re.compile(r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(?:\*\d{1,3})?")
# the shapes values are accepted in (ASCII digits only: `\d` would take any script's digits)
_NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?").fullmatch
_SIGNED_NUMBER = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,9})?").fullmatch
_COUNT = re.compile(r"[0-9]{1,10}").fullmatch
_UNIT = re.compile(r"[A-Za-z][A-Za-z0-9]{0,7}").fullmatch
_TEXT = re.compile(r"[ -')+-~]*").fullmatch  # printable ASCII without ( ) *
_TIMESTAMP = re.compile(r"[0-9]{12}[SW]").fullmatch
_EMPTY = Value(None)
_LINE_CACHE_LIMIT = 2048
_GROUP = re.compile(r"\(([^()]*)\)")

Converter = Callable[[str], Value]
# per line: code, `code(` prefix, closing tail (`*unit)` or `)`), the value's slice (start, stop), unit,
# converter (None: a number with its unit, converted inline), worth the line cache
_LinePlan = tuple[str, str, str, int, int, str | None, Converter | None, bool]
_NEVER: _LinePlan = ("", "\0", ")", 0, -1, None, None, False)
_Previous = tuple[list[str], dict[str, Value], list[str], list[_LinePlan]]
# ArithmeticError covers decimal's InvalidOperation and OverflowError: the shape checks keep them out,
# this keeps any that slip through a raw value rather than an exception out of `feed()`
_CONVERSION_ERRORS = (ValueError, ArithmeticError, IndexError, UnicodeDecodeError)


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
    if (_SIGNED_NUMBER if signed else _NUMBER)(text) is None:
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


def _shaped(inner: str, parse_time: Callable[[str], datetime | None]) -> Value:
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


def _converters(obj: ObisObject, clock: MeterClock) -> Converter:
    parse_time = clock.parse
    kind = obj.kind
    signed = _signed(obj)
    if kind == "decimal":

        def decimal(inner: str) -> Value:
            if not inner:
                return _EMPTY
            number, _, unit = inner.partition("*")
            return Value(_decimal(number, signed), unit or None)

        return decimal
    if kind == "int":

        def integer(inner: str) -> Value:
            if not inner:
                return _EMPTY
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
                return _EMPTY
            stamp, _, reading = inner.partition(")(")
            number, unit = _number(reading)
            return Value(number, unit, parse_time(stamp))

        return timestamped
    if kind == "peaks":

        def peaks(inner: str) -> Value:
            if not inner:
                return _EMPTY
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
                return _EMPTY
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
                return _EMPTY
            groups = _GROUP.findall(f"({inner})")
            return Value(_decimal(groups[6]), groups[5] or None, parse_time(groups[0]))

        return legacy_gas
    raise ValueError(f"unknown kind {kind!r}")


def _value_of(converter: Converter | None, raw: str) -> Value:
    """The value of a line's brackets (`raw` is the text after the first `(`, ending with `)`); a None
    converter is the commonest kind, a number with its unit. Raises one of `_CONVERSION_ERRORS`."""
    if converter is None:
        if raw == ")":
            return _EMPTY
        number, _, unit = raw[:-1].partition("*")
        if _NUMBER(number) is None:
            raise ValueError(f"not a number as meters print them: {number[:24]!r}")
        return tuple.__new__(Value, (Decimal(number), unit or None, None))
    return converter(raw[:-1])


def _signed(obj: ObisObject) -> bool:
    """Objects whose values may be negative: money (a balance) and power factors."""
    return obj.device_class in ("monetary", "power_factor")


def _never_repeats(obj: ObisObject) -> bool:
    """Objects whose line is new at every change: clocks, cumulative registers, power at 1 W resolution.
    Caching their lines costs a hash and an insert and never pays."""
    return (
        obj.kind in ("timestamp", "timestamped")
        or obj.state_class == "total_increasing"
        or obj.unit in ("kW", "kvar")
    )


@lru_cache(maxsize=8)
def _tables(
    tz: str,
) -> tuple[dict[str, Converter | None], frozenset[str], frozenset[str], dict[str, tuple[str, Value]]]:
    """Per zone, shared by every parser: converters by code, the two-line codes, the codes not worth
    caching, and the line cache."""
    clock = meter_clock(tz)
    # None marks the inline fast path: a number with its unit
    convert = {
        code: None if obj.kind == "decimal" and not _signed(obj) else _converters(obj, clock)
        for code, obj in REGISTRY.items()
    }
    legacy = frozenset(code for code, obj in REGISTRY.items() if obj.kind == "legacy_gas")
    ever_new = frozenset(code for code, obj in REGISTRY.items() if _never_repeats(obj))
    return convert, legacy, ever_new, {}


class TelegramParser:
    """Parses telegram frames for one time zone (the zone gives S/W their offsets).

    A meter sends the same lines in the same order every second, and most of them do not change: when a
    telegram has as many lines as the previous one, only the lines that differ are converted (each must keep
    its OBIS code) and the others keep the previous values. Anything else takes the full path.

    Args:
        tz: the zone of the meter.
        line_cache: serve lines identical to recently seen ones from a bounded cache (shared per zone).
    """

    def __init__(self, tz: str = DEFAULT_TZ, *, line_cache: bool = True) -> None:
        self.clock = meter_clock(tz)
        convert, legacy, ever_new, cache = _tables(tz)
        self._convert = convert
        self._legacy = legacy
        self._ever_new = ever_new
        self._cache: dict[str, tuple[str, Value]] | None = cache if line_cache else None
        # the previous telegram: body lines, values, unparsed lines, and how to read each line (`_plan`)
        self._previous: _Previous | None = None

    def parse(self, frame: bytes | str, crc: CrcStatus = "ok") -> Telegram:
        """Parse one frame (`/` up to and including `!`, CRC line optional).

        Raises `ParseError` (a ValueError, reason `not_a_telegram`) only if the frame does not start with
        `/` (it is not a telegram at all).
        """
        text = frame if isinstance(frame, str) else frame.decode("latin-1")
        if not text.startswith("/"):
            raise ParseError(0, "not_a_telegram", "a telegram starts with '/'")
        newline = "\r\n" if "\r\n" in text else ("\n" if "\n" in text else "\r")
        bang = text.rfind(newline + "!")
        lines = (text[:bang] if bang > 0 else text.rstrip("!")).split(newline)
        header = lines[0][1:].rstrip("\r\n")
        body = lines[2:] if len(lines) > 1 and not lines[1] else lines[1:]
        previous = self._previous
        if previous is not None and len(previous[0]) == len(body) and self._cache is not None:
            shortcut = self._changed_lines(body, previous)
            if shortcut is not None:
                return Telegram(header, shortcut.copy(), crc, list(previous[2]))
        unparsed: list[str] = []
        cache = self._cache
        if cache is None:
            entries: list[tuple[str, Value] | tuple[()] | None] = [None] * len(body)
        else:
            # C-level: repeated lines come straight from the cache; Python runs only for changed lines
            entries = list(map(cache.get, body))
            if len(cache) > _LINE_CACHE_LIMIT:
                cache.clear()
        index = -1
        line_entry = self._line_entry
        for _ in range(entries.count(None)):
            index = entries.index(None, index + 1)
            entries[index] = line_entry(body[index], entries, index, unparsed)
        codes = [entry[0] if entry else "" for entry in entries]
        if () in entries:
            entries = [entry for entry in entries if entry]
        values: dict[str, Value] = dict(entries)  # type: ignore[arg-type]
        # a code printed twice would make "the value of this line" ambiguous: no shortcut then
        if len(values) == len(entries) and self._cache is not None:
            self._previous = (body, values.copy(), unparsed, self._plan(codes, values))
        else:
            self._previous = None
        return Telegram(header, values, crc, list(unparsed))

    def _changed_lines(self, body: list[str], previous: _Previous) -> dict[str, Value] | None:
        """The values of a telegram shaped like the previous one, converting only the lines that changed;
        None when a changed line does not keep its code and layout (the caller then takes the full path).

        The checks and slices of each line were worked out once, from the previous telegram (`_plan`): a
        changed line must start with the same `code(` and end with the same `*unit)`, and what lies between
        is the number.
        """
        old_body, values, unparsed, plan = previous
        cache = self._cache
        assert cache is not None
        # C-level: the indices of the lines that differ from the previous telegram's
        for index in compress(range(len(body)), map(ne, body, old_body)):
            line = body[index]
            code, prefix, tail, start, stop, unit, converter, cacheable = plan[index]
            if not (line.startswith(prefix) and line.endswith(tail)):
                return None
            if cacheable:
                entry = cache.get(line)  # the same line is the same code: no check needed
                if entry is not None:
                    values[code] = entry[1]
                    continue
            text = line[start:stop]
            try:
                if converter is None:
                    if _NUMBER(text) is None:
                        if text:
                            return None
                        value = _EMPTY
                    else:
                        value = tuple.__new__(Value, (Decimal(text), unit, None))
                else:
                    value = converter(text)
            except _CONVERSION_ERRORS:
                return None
            if cacheable:
                cache[line] = (code, value)
            values[code] = value
        if len(cache) > _LINE_CACHE_LIMIT:
            cache.clear()
        # `values` is this parser's own dict (telegrams get copies), so it is updated in place; after a
        # bail-out above the full path replaces it
        self._previous = (body, values, unparsed, plan)
        return values

    def _plan(self, codes: list[str], values: dict[str, Value]) -> list[_LinePlan]:
        """Per line of a telegram, how the shortcut checks and converts it when it changes. Lines the
        shortcut must not take (no value, unknown or two-line codes) get a prefix no line starts with."""
        plan: list[_LinePlan] = []
        for code in codes:
            converter = self._convert.get(code, False)
            if not code or converter is False or code in self._legacy:
                plan.append(_NEVER)
                continue
            prefix = code + "("
            cacheable = code not in self._ever_new
            if converter is None:
                unit = values[code].unit
                tail = f"*{unit})" if unit else ")"
                plan.append((code, prefix, tail, len(prefix), -len(tail), unit, None, cacheable))
            else:
                assert callable(converter)
                plan.append((code, prefix, ")", len(prefix), -1, None, converter, cacheable))
        return plan

    def _line_entry(
        self,
        line: str,
        entries: list[tuple[str, Value] | tuple[()] | None],
        index: int,
        unparsed: list[str],
    ) -> tuple[str, Value] | tuple[()]:
        """Convert one line to `(code, value)`; `()` for a line that adds no value."""
        code, bracket, raw = line.partition("(")
        if code not in self._convert or not raw.endswith(")"):
            return self._odd_line(line, entries, index, unparsed)
        try:
            value = _value_of(self._convert[code], raw)
        except _CONVERSION_ERRORS:
            value = Value(Raw(bracket + raw))
        entry = (code, value)
        if self._cache is not None:
            self._cache[line] = entry
        return entry

    def _odd_line(
        self,
        line: str,
        entries: list[tuple[str, Value] | tuple[()] | None],
        index: int,
        unparsed: list[str],
    ) -> tuple[str, Value] | tuple[()]:
        """Blank lines, unknown codes (kept raw), `*255` suffixes, DSMR 2.2 continuation lines."""
        stripped = line.strip()
        if not stripped:
            return ()
        previous = entries[index - 1] if index > 0 else None
        if stripped.startswith("(") and previous:
            code, value = previous
            if code in self._legacy and isinstance(value.value, str):
                joined = value.value + stripped
                converter = self._convert[code]
                try:
                    entries[index - 1] = (code, converter(joined[1:-1]) if converter else Value(joined))
                except _CONVERSION_ERRORS:
                    entries[index - 1] = (code, Value(Raw(joined)))
                return ()
        code, bracket, raw = stripped.partition("(")
        if bracket and _OBIS.fullmatch(code):
            base = code.partition("*")[0]
            if raw.endswith(")"):
                try:
                    if base in self._convert:
                        return (base, _value_of(self._convert[base], raw))
                    return (base, _shaped(raw[:-1], self.clock.parse))
                except _CONVERSION_ERRORS:
                    pass
            return (base, Value(Raw(bracket + raw)))
        unparsed.append(stripped)
        return ()


@lru_cache(maxsize=8)
def telegram_parser(tz: str = DEFAULT_TZ) -> TelegramParser:
    """The shared parser of a time zone."""
    return TelegramParser(tz)


def parse_telegram(frame: bytes | str, *, crc: CrcStatus | None = None, tz: str = DEFAULT_TZ) -> Telegram:
    """Parse one whole telegram (from `/` to the CRC line).

    Without `crc`, the telegram goes through the `Framer` first, with its rules: CRC digits must match
    (a bad CRC is never data) and give `crc="ok"`; none gives `crc="absent"` (DSMR 2.2/3; an e-MUCS/DSMR 4+
    telegram must carry one). `TelegramReader` passes the status it established.

    Raises a `TelegramError` (a ValueError): the framer's first `FramingError`/`CrcError` when the input is
    not exactly one good telegram, else `ParseError` (`no_telegram`, `several_telegrams`, `not_a_telegram`).
    """
    if crc is None:
        from .framing import Frame, Framer

        framer = Framer()
        data = frame.encode("latin-1") if isinstance(frame, str) else bytes(frame)
        events = framer.feed(data) + framer.close()
        frames = [event for event in events if isinstance(event, Frame)]
        if len(frames) != 1:
            error = next((e for e in events if not isinstance(e, Frame)), None)
            if error is not None:
                raise error
            if not frames:
                raise ParseError(0, "no_telegram", f"{len(data)} bytes without a frame")
            raise ParseError(frames[1].offset, "several_telegrams", f"{len(frames)} frames, one expected")
        frame, crc = frames[0].data, frames[0].crc
    return telegram_parser(tz).parse(frame, crc)
