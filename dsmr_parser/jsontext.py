"""The telegram JSON of docs/ARCHITECTURE.md §3, as text: the one encoder for `p1gw parse`, MQTT and HTTP.

Numbers keep the meter's digits: a Decimal is printed as a JSON number literal with its own digits
(`05.980` -> `5.980`, `000000.000` -> `0.000`), never through a float; ints as ints; timestamps ISO 8601 with
their offset; a `Raw` value as `{"value": null, "raw": "(NaN*kWh)"}`; strings ASCII-escaped.

Strategy: a telegram is mostly the previous telegram's `Value` objects (the parser keeps unchanged lines'
values), so `TelegramEncoder` remembers the previous telegram's values and their encoded text and encodes
only the values that are new objects; the 13-month peaks, thresholds and ids are encoded once per change.
"""

from __future__ import annotations

# the C string encoder of the json package, imported without the package (`p1gw parse` starts sooner)
from _json import encode_basestring_ascii as _string
from datetime import datetime
from decimal import Decimal
from itertools import compress
from operator import is_not
from typing import Any

from .values import MonthlyPeak, PowerFailure, Raw, Telegram, Value, meter_identity


def _number(value: Decimal) -> str:
    text = str(value)  # the meter's digits; 3x cheaper than format(value, "f")
    if "E" in text or not text[-1].isdigit():
        # an exponent (0.0000001 prints as 1E-7): "f" never uses one; NaN/Infinity (built by hand, never
        # parsed) are null
        return format(value, "f") if value.is_finite() else "null"
    return text


_last_time: list[tuple[datetime | None, str]] = [(None, "null")]


def _time(moment: datetime | None) -> str:
    # a telegram's clock is printed twice (its value and the telegram's timestamp): the second is free
    last = _last_time[0]
    if moment is last[0]:
        return last[1]
    text = "null" if moment is None else f'"{moment.isoformat()}"'
    _last_time[0] = (moment, text)
    return text


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


_UNIT_TAILS: dict[str, str] = {}


def _unit_tail(unit: str) -> str:
    try:
        return _UNIT_TAILS[unit]
    except KeyError:
        tail = f',"unit":{_string(unit)}}}'
        if len(_UNIT_TAILS) < 256:
            _UNIT_TAILS[unit] = tail
        return tail


def value_json(value: Value) -> str:
    """One value: `{"value": ..., "unit": ..., "timestamp": ...}` (unit and timestamp only when set)."""
    inner = value.value
    if type(inner) is Decimal and value.timestamp is None:  # the commonest: a number and its unit
        unit = value.unit
        if unit is None:
            return '{"value":' + _number(inner) + "}"
        return '{"value":' + _number(inner) + _unit_tail(unit)
    if isinstance(inner, Raw):
        text = f'{{"value":null,"raw":{_string(inner)}'
    else:
        text = f'{{"value":{_scalar(inner)}'
    if value.unit is not None:
        text += f',"unit":{_string(value.unit)}'
    if value.timestamp is not None:
        text += f',"timestamp":{_time(value.timestamp)}'
    return text + "}"


class TelegramEncoder:
    """Encodes the telegrams of one stream; remembers the previous one's encoded values (see the module)."""

    __slots__ = ("_codes", "_header", "_id_value", "_identity", "_keys", "_parts", "_values")

    def __init__(self) -> None:
        self._codes: list[str] = []
        self._keys: list[str] = []  # `"code":` per position
        self._values: list[Value] = []
        self._parts: list[str] = []
        self._id_value: Value | None = None  # the previous telegram's 0-0:96.1.1, and its head
        self._header = ""
        self._identity = ""

    def encode(self, telegram: Telegram) -> str:
        """The telegram JSON of one telegram, on one line."""
        values = telegram.values
        codes = list(values)
        current = list(values.values())
        if codes == self._codes:
            parts = self._parts
            keys = self._keys
            for index in compress(range(len(current)), map(is_not, current, self._values)):
                parts[index] = keys[index] + value_json(current[index])
        else:
            keys = [_string(code) + ":" for code in codes]
            parts = [key + value_json(value) for key, value in zip(keys, current, strict=True)]
            self._codes, self._keys, self._parts = codes, keys, parts
        self._values = current
        header = telegram.header
        id_value = values.get("0-0:96.1.1")
        if id_value is None or id_value is not self._id_value or header != self._header:
            meter_id, derived = meter_identity(values, header)
            self._identity = (
                f'{{"meter_id":{_string(meter_id)},'
                + ('"meter_id_derived":true,' if derived else "")
                + f'"header":{_string(header)}'
            )
            self._id_value, self._header = id_value, header
        clock = values.get("0-0:1.0.0")
        moment = clock.value if clock is not None and isinstance(clock.value, datetime) else None
        tail = "}}"
        if telegram.unparsed:
            tail = '},"unparsed":[' + ",".join(map(_string, telegram.unparsed)) + "]}"
        return (
            f'{self._identity},"crc":"{telegram.crc}","timestamp":{_time(moment)},"values":{{'
            + ",".join(parts)
            + tail
        )


def telegram_json(telegram: Telegram) -> str:
    """The telegram JSON of one telegram (ARCHITECTURE.md §3) as compact text; for a stream, a
    `TelegramEncoder` of its own is faster."""
    return TelegramEncoder().encode(telegram)


def telegram_dict(telegram: Telegram) -> dict[str, Any]:
    """The telegram JSON as a dict of JSON types (a fraction is a float, as `json.loads` gives it); for the
    meter's digits use the text, or `json.loads(telegram_json(t), parse_float=Decimal)`."""
    import json  # here: `p1gw parse` never needs the json package

    decoded: dict[str, Any] = json.loads(telegram_json(telegram))
    return decoded


def value_to_json(value: Value) -> dict[str, Any]:
    """The contract's JSON form of one value (`{"value": ..., "unit": ..., "timestamp": ...}`) as a dict of
    JSON types (a fraction is a float); `value_json` gives the text, digits kept."""
    import json

    decoded: dict[str, Any] = json.loads(value_json(value))
    return decoded
