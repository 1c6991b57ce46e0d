"""The telegram JSON of docs/ARCHITECTURE.md §3, as text: the one encoder for `p1gw parse`, MQTT and HTTP.

Numbers keep the meter's digits: a Decimal is printed as a JSON number literal with its own digits
(`05.980` -> `5.980`, `000000.000` -> `0.000`), never through a float; ints as ints; timestamps ISO 8601 with
their offset; a `Raw` value as `{"value": null, "raw": "(NaN*kWh)"}`; strings ASCII-escaped.

Strategy: a telegram is mostly the previous telegram's `Value` objects (the parser keeps unchanged lines'
values), so `TelegramEncoder` remembers the previous telegram's values and their encoded text and encodes
only the values that are new objects; the 13-month peaks, thresholds and ids are encoded once per change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import compress
from json.encoder import encode_basestring_ascii as _string
from operator import is_not

from .values import MonthlyPeak, PowerFailure, Raw, Telegram, Value, meter_identity


def _number(value: Decimal) -> str:
    # format "f" never uses an exponent; a non-finite Decimal (built by hand, never parsed) is null
    return format(value, "f") if value.is_finite() else "null"


def _time(moment: datetime | None) -> str:
    return "null" if moment is None else f'"{moment.isoformat()}"'


def _scalar(value: object) -> str:
    kind = type(value)
    if kind is Decimal:
        return _number(value)  # type: ignore[arg-type]
    if kind is str:
        return _string(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, MonthlyPeak):
        unit = "null" if value.unit is None else _string(value.unit)
        return (
            f'{{"month_start":{_time(value.month_start)},"peak_time":{_time(value.peak_time)},'
            f'"value":{_scalar(value.value)},"unit":{unit}}}'
        )
    if isinstance(value, PowerFailure):
        return f'{{"end":{_time(value.end)},"duration_s":{value.duration_s}}}'
    if isinstance(value, tuple):
        return "[" + ",".join(map(_scalar, value)) + "]"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return _string(str(value))
    raise TypeError(f"{kind.__name__} is not a telegram value")


def value_json(value: Value) -> str:
    """One value: `{"value": ..., "unit": ..., "timestamp": ...}` (unit and timestamp only when set)."""
    inner = value.value
    if isinstance(inner, Raw):
        text = f'{{"value":null,"raw":{_string(inner)}'
    else:
        text = f'{{"value":{_scalar(inner)}'
    if value.unit is not None:
        text += f',"unit":{_string(value.unit)}'
    if value.timestamp is not None:
        text += f',"timestamp":"{value.timestamp.isoformat()}"'
    return text + "}"


class TelegramEncoder:
    """Encodes the telegrams of one stream; remembers the previous one's encoded values (see the module)."""

    __slots__ = ("_codes", "_parts", "_values")

    def __init__(self) -> None:
        self._codes: list[str] = []
        self._values: list[Value] = []
        self._parts: list[str] = []

    def encode(self, telegram: Telegram) -> str:
        """The telegram JSON of one telegram, on one line."""
        values = telegram.values
        codes = list(values)
        current = list(values.values())
        if codes == self._codes:
            parts = self._parts
            for index in compress(range(len(current)), map(is_not, current, self._values)):
                parts[index] = f"{_string(codes[index])}:{value_json(current[index])}"
        else:
            parts = [
                f"{_string(code)}:{value_json(value)}" for code, value in zip(codes, current, strict=True)
            ]
            self._codes = codes
            self._parts = parts
        self._values = current
        meter_id, derived = meter_identity(values, telegram.header)
        clock = values.get("0-0:1.0.0")
        moment = clock.value if clock is not None and isinstance(clock.value, datetime) else None
        head = (
            f'{{"meter_id":{_string(meter_id)},'
            + ('"meter_id_derived":true,' if derived else "")
            + f'"header":{_string(telegram.header)},"crc":"{telegram.crc}","timestamp":{_time(moment)},'
            + '"values":{'
        )
        tail = "}}"
        if telegram.unparsed:
            tail = '},"unparsed":[' + ",".join(map(_string, telegram.unparsed)) + "]}"
        return head + ",".join(parts) + tail


def telegram_json(telegram: Telegram) -> str:
    """The telegram JSON of one telegram (ARCHITECTURE.md §3) as compact text; for a stream, a
    `TelegramEncoder` of its own is faster."""
    return TelegramEncoder().encode(telegram)
