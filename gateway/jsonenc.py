"""The shell's one JSON encoding: `dumps(value)` gives compact JSON text on one line, numbers exact.

Rules (the same for HTTP bodies, the live stream and, once they adopt it, the store and MQTT):
- a `Decimal` is a JSON number with its own digits, never through a float: `Decimal("05.980")` -> `5.980`,
  `Decimal("1E-7")` -> `0.0000001` (no exponent); an int is an int, a float its shortest round-trip repr;
- a number that is not finite (NaN, Infinity, as float or Decimal) is `null`: the text is always JSON;
- `datetime`, `date` and `time` are ISO 8601 strings (`isoformat()`, the offset kept);
- text is UTF-8 (not ASCII-escaped); a line break inside a string is escaped, so the whole value is one
  line (an SSE `data:` line, a JSON-lines record);
- dict keys are strings (int, float, bool and None keys written as `json` writes them); lists and tuples
  are arrays; anything else raises TypeError.

Strategy: the C encoder of the `json` package writes everything but a Decimal's digits (it can only print a
float). So `dumps` asks it first, with a `default` that turns times into text and gives up at the first
Decimal or non-finite float; such a value (a telegram, a prepayment state) is then written by `_write`, a
short walker over the same rules. Both paths give the same text for the same value (tests/gateway/
test_jsonenc.py checks it).

Example:
    dumps({"value": Decimal("05.980"), "unit": "kWh"})   # '{"value":5.980,"unit":"kWh"}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from json.encoder import encode_basestring as _string  # C: escapes quotes and controls, keeps UTF-8

__all__ = ["dumps"]


class _NeedsWalker(Exception):
    """The C encoder met a value it cannot write exactly (a Decimal, a non-finite number)."""


def _fast_default(value: object) -> object:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        raise _NeedsWalker
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: object, *, sort_keys: bool = False) -> str:
    """`value` as compact JSON text on one line (see the module for the rules).

    Args:
        value: dicts, lists, tuples, strings, numbers (Decimal kept to its digits), booleans, None, times.
        sort_keys: write each object's keys in sorted order (a stable text for the same value).
    """
    try:
        return json.dumps(
            value,
            default=_fast_default,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            sort_keys=sort_keys,
        )
    except (_NeedsWalker, ValueError):  # ValueError: a NaN or infinite float (allow_nan=False)
        parts: list[str] = []
        _write(value, parts.append, sort_keys)
        return "".join(parts)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        return "null"
    text = str(value)  # the digits as given: Decimal("5.980") -> "5.980"
    return format(value, "f") if "E" in text else text  # 1E-7 -> 0.0000001, 1.5E+3 -> 1500


def _float(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else "null"


def _key(key: object) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is None or isinstance(key, bool):
        return _string(json.dumps(key))
    if isinstance(key, int):
        return _string(int.__repr__(key))
    if isinstance(key, float):
        return _string(float.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _write(value: object, out: Callable[[str], object], sort_keys: bool) -> None:
    if isinstance(value, str):
        out(_string(value))
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, float):
        out(_float(value))
    elif isinstance(value, Decimal):
        out(_decimal(value))
    elif isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        out("{")
        for index, (key, item) in enumerate(items):
            out(("," if index else "") + _key(key) + ":")
            _write(item, out, sort_keys)
        out("}")
    elif isinstance(value, list | tuple):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _write(item, out, sort_keys)
        out("]")
    elif isinstance(value, datetime | date | time):
        out(_string(value.isoformat()))
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
