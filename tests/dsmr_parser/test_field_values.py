"""Values a consumer can use without type-checking (issue 9) and hostile values that never get in (issue 10).

Each telegram here carries a valid CRC (recomputed), as an adversary or a buggy meter would send it.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from dsmr_parser import Raw, Telegram, TelegramReader, Value, state_values, telegram_json
from dsmr_parser.crc import crc_text

from .conftest import TELEGRAMS

FLUVIUS = (TELEGRAMS / "fluvius_v171.txt").read_bytes().decode("latin-1")


def telegram(text: str, *, replace: dict[str, str] | None = None, add: list[str] | None = None) -> str:
    """`text` with whole lines replaced (by code; added when missing) or added before the `!`, its CRC
    recomputed."""
    body = text[: text.rindex("!")]
    lines = body.split("\r\n")
    extra = list(add or [])
    for code, line in (replace or {}).items():
        if any(old.startswith(code + "(") for old in lines):
            lines = [line if old.startswith(code + "(") else old for old in lines]
        else:
            extra.append(line)
    lines[-1:-1] = extra
    framed = "\r\n".join(lines) + "!"
    return framed + crc_text(framed.encode("latin-1")) + "\r\n"


def read(text: str, chunk: int | None = None) -> Telegram:
    reader = TelegramReader()
    data = text.encode("latin-1")
    step = chunk or len(data)
    events = [e for i in range(0, len(data), step) for e in reader.feed(data[i : i + step])]
    events += reader.close()
    (found,) = [e for e in events if isinstance(e, Telegram)]
    return found


# -- unknown codes of a regular shape are typed ---------------------------------------------------------


def test_unknown_codes_with_a_regular_shape_are_typed() -> None:
    t = read(
        telegram(
            FLUVIUS,
            add=[
                "1-0:23.7.0(0000.000*kVAr)",
                "1-0:3.8.1(000000000*varh)",
                "1-0:96.5.5(80)",
                "0-0:96.1.255(1ESY1313002565)",
                "0-0:96.7.19(260101000000W)",
                "1-0:99.1.0(no(shape)",
            ],
            replace={"0-1:24.1.0": "0-1:24.1.0()"},
        )
    )
    assert t.values["1-0:23.7.0"] == Value(Decimal("0.000"), "kVAr")
    assert str(t.values["1-0:23.7.0"].value) == "0.000"
    assert t.values["1-0:3.8.1"] == Value(Decimal("0"), "varh")
    assert t.values["1-0:96.5.5"] == Value("80")
    assert t.values["0-0:96.1.255"] == Value("1ESY1313002565")
    assert t.values["0-1:24.1.0"] == Value(None)
    assert isinstance(t.values["0-0:96.7.19"].value, datetime)
    # only what has no recognisable shape stays raw, and the JSON says which is which
    assert t.raw_codes == ["1-0:99.1.0"]
    assert isinstance(t.values["1-0:99.1.0"].value, Raw)
    values = json.loads(telegram_json(t))["values"]
    assert values["1-0:99.1.0"] == {"value": None, "raw": "(no(shape)"}
    assert values["1-0:96.5.5"] == {"value": "80"}
    assert values["0-1:24.1.0"] == {"value": None}
    assert '"1-0:23.7.0":{"value":0.000,"unit":"kVAr"}' in telegram_json(t)


def test_empty_mbus_channel_has_no_capture_time() -> None:
    t = read(telegram(FLUVIUS, add=["0-2:24.2.1(700101010000W)(00000000)"]))
    assert t.values["0-2:24.2.1"] == Value(Decimal("0"), None, None)


def test_json_keeps_the_meters_digits() -> None:
    t = read(telegram(FLUVIUS, replace={"1-0:1.8.1": "1-0:1.8.1(000005.980*kWh)"}))
    text = telegram_json(t)
    assert '"1-0:1.8.1":{"value":5.980,"unit":"kWh"}' in text
    assert json.loads(text, parse_float=Decimal)["values"]["1-0:1.8.1"]["value"] == Decimal("5.980")


# -- meter_id ----------------------------------------------------------------------------------------------


def test_meter_id_is_the_equipment_id_made_safe_for_topics_and_files() -> None:
    hex_id = b"1SAG 31\\021605".hex().upper()
    t = read(telegram(FLUVIUS, replace={"0-0:96.1.1": f"0-0:96.1.1({hex_id})"}))
    assert t.meter_id == "1SAG_31_021605"
    plain = read(telegram(FLUVIUS, replace={"0-0:96.1.1": "0-0:96.1.1(3960221976967177082151037881335713)"}))
    assert plain.meter_id == "3960221976967177082151037881335713"  # not hex text: used as printed
    assert not plain.meter_id_derived


@pytest.mark.parametrize("name", ["v2_2.txt", "sagemcom_t210_d_r.txt"])
def test_meter_without_an_id_gets_a_derived_stable_id_never_its_header(name: str) -> None:
    raw = (TELEGRAMS / name).read_bytes()
    reader = TelegramReader()
    (t,) = [e for e in reader.feed(raw) + reader.close() if isinstance(e, Telegram)]
    assert t.meter_id != t.header
    assert t.meter_id.startswith("p1-") and len(t.meter_id) == 13
    assert t.meter_id_derived
    doc = json.loads(telegram_json(t))
    assert doc["meter_id"] == t.meter_id and doc["meter_id_derived"] is True
    again = TelegramReader()
    assert [e.meter_id for e in again.feed(raw) + again.close() if isinstance(e, Telegram)] == [t.meter_id]


# -- hostile values (valid CRC): never a value, never an exception ----------------------------------------

HOSTILE = [
    ("1-0:1.8.1", "1-0:1.8.1(NaN*kWh)"),
    ("1-0:1.8.1", "1-0:1.8.1(sNaN*kWh)"),
    ("1-0:1.7.0", "1-0:1.7.0(Infinity*kW)"),
    ("1-0:1.7.0", "1-0:1.7.0(-01.000*kW)"),
    ("1-0:1.8.2", "1-0:1.8.2(1E+3*kWh)"),
    ("1-0:1.8.2", "1-0:1.8.2(1_000.5*kWh)"),
    ("1-0:1.8.2", "1-0:1.8.2(" + "9" * 5000 + "*kWh)"),
    ("0-1:24.2.3", "0-1:24.2.3(200512134558S)(NaN*m3)"),
    ("1-0:99.97.0", "1-0:99.97.0(1)(0-0:96.7.19)(260101000000W)(Infinity*s)"),
    ("1-0:99.97.0", "1-0:99.97.0(1)(0-0:96.7.19)(260101000000W)(1E+1000000*s)"),
    ("1-0:99.97.0", "1-0:99.97.0(1)(0-0:96.7.19)(260101000000W)(-0000000042*s)"),
    ("0-0:96.7.21", "0-0:96.7.21(" + "1" * 5000 + ")"),
    ("0-0:98.1.0", "0-0:98.1.0(99999)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)"),
]


@pytest.mark.parametrize(("code", "line"), HOSTILE)
@pytest.mark.parametrize("chunk", [None, 7])
def test_hostile_values_stay_raw_and_are_reported(code: str, line: str, chunk: int | None) -> None:
    text = telegram(FLUVIUS, replace={code: line})
    assert line in text
    t = read(text, chunk)
    assert isinstance(t.values[code].value, Raw), t.values[code]
    assert code in t.raw_codes
    assert json.loads(telegram_json(t))["values"][code]["value"] is None
    assert code not in {state.code for state in state_values(t).values()}


def test_hostile_value_in_a_stream_of_good_ones_takes_the_full_path() -> None:
    """The parser converts only changed lines of a same-shaped telegram: a hostile change must not slip
    through that shortcut."""
    good = telegram(FLUVIUS)
    bad = telegram(FLUVIUS, replace={"1-0:1.8.1": "1-0:1.8.1(NaN*kWh)"})
    worse = telegram(FLUVIUS, replace={"1-0:99.97.0": "1-0:99.97.0(1)(0-0:96.7.19)(260101000000W)(-5*s)"})
    reader = TelegramReader()
    events = reader.feed((good + bad + worse + good).encode("latin-1"))
    assert [isinstance(e, Telegram) for e in events] == [True] * 4
    first, second, third, fourth = [e for e in events if isinstance(e, Telegram)]
    assert isinstance(second.values["1-0:1.8.1"].value, Raw)
    assert isinstance(third.values["1-0:99.97.0"].value, Raw)
    assert first == fourth
