"""`gateway.jsonenc.dumps`: the meter's digits kept, one line, always JSON, and its two paths agree.

Strategy: worked examples for each rule (Decimal digits and exponents, times, UTF-8, line breaks, NaN), then
hypothesis: any JSON-like value (with Decimals) reads back equal through `json.loads(parse_float=Decimal)`,
and for a value without Decimals the walker writes exactly what the C encoder writes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsmr_parser import Telegram, TelegramReader, Value, build_telegram, telegram_json
from gateway.jsonenc import _write, dumps


def walked(value: object, *, sort_keys: bool = False) -> str:
    parts: list[str] = []
    _write(value, parts.append, sort_keys)
    return "".join(parts)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("05.980"), "5.980"),
        (Decimal("000000.000"), "0.000"),
        (Decimal("-0.10"), "-0.10"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("1.5E+3"), "1500"),
        (Decimal("NaN"), "null"),
        (Decimal("-Infinity"), "null"),
        (float("nan"), "null"),
        (float("inf"), "null"),
        (0.1, "0.1"),
        (7, "7"),
        (True, "true"),
        (None, "null"),
        ("Liège\nPont", '"Liège\\nPont"'),
        ('say "hi"\t', '"say \\"hi\\"\\t"'),
        (datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=1))), '"2026-11-23T10:00:00+01:00"'),
        (date(2026, 11, 23), '"2026-11-23"'),
        (time(13, 5), '"13:05:00"'),
        ((1, Decimal("2.50")), "[1,2.50]"),
        ({"b": Decimal("1.0"), "a": [None]}, '{"b":1.0,"a":[null]}'),
        ({1: "x", None: "y", False: "z"}, '{"1":"x","null":"y","false":"z"}'),
    ],
)
def test_each_rule(value: object, text: str) -> None:
    assert dumps(value) == text
    assert dumps({"v": value}) == '{"v":' + text + "}"


def test_sort_keys_sorts_every_object() -> None:
    value = {"b": {"d": Decimal("1.10"), "c": 1}, "a": 0}
    assert dumps(value, sort_keys=True) == '{"a":0,"b":{"c":1,"d":1.10}}'
    assert dumps({"b": {"d": 1, "c": 1}, "a": 0}, sort_keys=True) == '{"a":0,"b":{"c":1,"d":1}}'


def test_other_types_are_refused() -> None:
    for value in ({1, 2}, object(), {"k": b"bytes"}, {"k": Decimal(1), "x": {1}}, {(1, 2): 3}):
        with pytest.raises(TypeError):
            dumps(value)


def test_a_telegram_reads_as_telegram_json_does() -> None:
    """A telegram decoded with its Decimals and written again has the meter's digits, as the encoder wrote."""
    values: dict[str, Value | str] = {
        "0-0:96.1.4": "50217",
        "1-0:1.8.1": Value(Decimal("001234.560"), "kWh"),
        "1-0:2.8.1": Value(Decimal("000000.000"), "kWh"),
        "1-0:1.7.0": Value(Decimal("05.980"), "kW"),
    }
    (telegram,) = TelegramReader().feed(build_telegram("FLU5\\253769484_A", values))
    assert isinstance(telegram, Telegram)
    text = telegram_json(telegram)
    decoded = json.loads(text, parse_float=Decimal)
    again = dumps(decoded)
    assert '"1-0:1.7.0":{"value":5.980,"unit":"kW"}' in again
    assert '"1-0:2.8.1":{"value":0.000,"unit":"kWh"}' in again
    assert json.loads(again, parse_float=Decimal) == decoded


json_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
exact_leaves = json_leaves | st.decimals(min_value=-(10**15), max_value=10**15, allow_nan=False, places=6)


def trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )


@given(trees(exact_leaves), st.booleans())
def test_reads_back_equal_on_one_line(value: Any, sort_keys: bool) -> None:
    text = dumps(value, sort_keys=sort_keys)
    assert "\n" not in text and "\r" not in text
    assert json.loads(text, parse_float=Decimal) == _as_read(value)


@given(trees(json_leaves), st.booleans())
def test_the_walker_writes_what_the_c_encoder_writes(value: Any, sort_keys: bool) -> None:
    assert walked(value, sort_keys=sort_keys) == dumps(value, sort_keys=sort_keys)


@given(st.datetimes(timezones=st.just(UTC)) | st.dates())
def test_times_are_iso_on_both_paths(moment: date) -> None:
    assert dumps([moment]) == walked([moment]) == f'["{moment.isoformat()}"]'
    assert dumps([moment, Decimal("1.0")]) == f'["{moment.isoformat()}",1.0]'


def _as_read(value: Any) -> Any:
    """What `json.loads(..., parse_float=Decimal)` gives back: a float as the Decimal of its repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_as_read(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_read(v) for k, v in value.items()}
    return value  # a whole Decimal without a point reads back as an int, equal to it
