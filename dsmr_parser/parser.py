"""Telegram text -> `Telegram`. Never raises on content: what it cannot read is kept, raw.

Strategy: the body is split into lines with `str.split` and each line into code and brackets with
`str.partition` (cheaper than any regular expression for P1's rigid layout); each code's converter comes
from a dict built once from the registry (`dsmr_parser.decoding`), and the commonest kind (a number with its
unit) is converted inline. A meter repeats its layout every second, so a telegram shaped like the stream's
previous one converts only the lines that changed, each checked against the previous line's `code(` and
`*unit)` (`_changed_lines`); lines seen recently (voltages, currents, thresholds) come from a bounded cache
of whole lines. Lines that change every second (clock, powers, registers) are always converted. A converter
that fails on odd input keeps the value as raw text; a line is never dropped; a code the registry does not
know is typed by its shape (`decoding.shaped_value`). Wheels compile this module with mypyc (setup.py).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from itertools import compress
from operator import ne

from .decoding import CONVERSION_ERRORS, EMPTY, NUMBER, Converter, converters_by_code, shaped_value, value_of
from .errors import ParseError
from .registry import REGISTRY, ObisObject
from .timestamps import DEFAULT_TZ, meter_clock
from .values import CrcStatus, Raw, Telegram, Value

_OBIS = re.compile(r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(?:\*\d{1,3})?")
_LINE_CACHE_LIMIT = 2048
# per line: code, `code(` prefix, closing tail (`*unit)` or `)`), the value's slice (start, stop), unit,
# converter (None: a number with its unit, converted inline), worth the line cache
_LinePlan = tuple[str, str, str, int, int, str | None, Converter | None, bool]
_NEVER: _LinePlan = ("", "\0", ")", 0, -1, None, None, False)
_Previous = tuple[list[str], dict[str, Value], list[str], list[_LinePlan]]


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
    convert = converters_by_code(meter_clock(tz))  # None: the inline fast path, a number with its unit
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
                    if NUMBER(text) is None:
                        if text:
                            return None
                        value = EMPTY
                    else:
                        value = tuple.__new__(Value, (Decimal(text), unit, None))
                else:
                    value = converter(text)
            except CONVERSION_ERRORS:
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
            value = value_of(self._convert[code], raw)
        except CONVERSION_ERRORS:
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
                except CONVERSION_ERRORS:
                    entries[index - 1] = (code, Value(Raw(joined)))
                return ()
        code, bracket, raw = stripped.partition("(")
        if bracket and _OBIS.fullmatch(code):
            base = code.partition("*")[0]
            if raw.endswith(")"):
                try:
                    if base in self._convert:
                        return (base, value_of(self._convert[base], raw))
                    return (base, shaped_value(raw[:-1], self.clock.parse))
                except CONVERSION_ERRORS:
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
