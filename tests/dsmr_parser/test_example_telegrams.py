"""Every example telegram parses to the values printed in it (concrete values, not only 'no exception')."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from dsmr_parser import (
    FramingError,
    MonthlyPeak,
    PowerFailure,
    Telegram,
    TelegramReader,
    Value,
    telegram_dict,
    telegram_json,
)

from ..telegram_values import peaks, text

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))


def read_one(data: bytes, *, check_crc: bool = True) -> Telegram:
    reader = TelegramReader(check_crc=check_crc)
    events = reader.feed(data) + reader.close()
    telegrams = [e for e in events if isinstance(e, Telegram)]
    assert len(telegrams) == 1, events
    return telegrams[0]


def test_fluvius_171(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("fluvius_v171.txt"))
    assert t.header == "FLU5\\253769484_A"
    assert t.crc == "ok"
    assert t.version == "50217"
    assert t.meter_id == "1SAG3101021605"
    assert t.timestamp == datetime(2020, 5, 12, 13, 54, 9, tzinfo=CEST)
    assert t.values["1-0:1.8.1"] == Value(Decimal("0.034"), "kWh")
    assert t.values["1-0:1.8.2"] == Value(Decimal("15.758"), "kWh")
    assert t.values["1-0:2.8.2"] == Value(Decimal("0.011"), "kWh")
    assert t.values["1-0:1.4.0"] == Value(Decimal("2.351"), "kW")
    assert t.values["1-0:1.6.0"] == Value(
        Decimal("2.589"), "kW", datetime(2020, 5, 9, 13, 45, 58, tzinfo=CEST)
    )
    peaks = t.get("0-0:98.1.0")
    assert peaks == (
        MonthlyPeak(
            datetime(2020, 5, 1, tzinfo=CEST),
            datetime(2020, 4, 23, 19, 25, 38, tzinfo=CEST),
            Decimal("3.695"),
        ),
        MonthlyPeak(
            datetime(2020, 4, 1, tzinfo=CEST), datetime(2020, 3, 5, 12, 21, 39, tzinfo=CEST), Decimal("5.980")
        ),
        MonthlyPeak(
            datetime(2020, 3, 1, tzinfo=CEST), datetime(2020, 2, 10, 3, 54, 21, tzinfo=CET), Decimal("4.318")
        ),
    )
    assert t.get("0-0:96.14.0") == 1
    assert t.values["1-0:32.7.0"] == Value(Decimal("234.7"), "V")
    assert t.values["1-0:31.7.0"] == Value(Decimal("0.00"), "A")
    assert t.get("0-0:96.3.10") == 1
    assert t.values["0-0:17.0.0"] == Value(Decimal("999.9"), "kW")
    assert t.values["1-0:31.4.0"] == Value(Decimal("999"), "A")
    assert t.get("0-0:96.13.0") == ""
    assert t.get("0-1:24.1.0") == 3
    assert t.get("0-1:96.1.1") == "7FLO2119033733"
    assert t.get("0-1:24.4.0") == 1
    assert t.values["0-1:24.2.3"] == Value(
        Decimal("112.384"), "m3", datetime(2020, 5, 12, 13, 45, 58, tzinfo=CEST)
    )
    assert t.get("0-2:24.1.0") == 7
    assert t.get("0-2:96.1.1") == "8SAG1234567890"
    assert t.values["0-2:24.2.1"].value == Decimal("872.234")
    assert t.unparsed == []


def test_fluvius_invalid_peak_timestamp_becomes_none(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("fluvius_v171_alt.txt"))
    peaks = t.get("0-0:98.1.0")
    assert isinstance(peaks, tuple) and len(peaks) == 4
    assert peaks[0] == MonthlyPeak(datetime(2023, 8, 1, tzinfo=CEST), None, Decimal("0.000"))
    assert peaks[3].peak_time == datetime(2023, 10, 16, 13, 0, tzinfo=CEST)
    assert peaks[3].month_start == datetime(2023, 11, 1, tzinfo=CET)
    assert t.values["1-0:1.6.0"] == Value(Decimal("3.064"), "kW", datetime(2023, 11, 2, 11, 45, tzinfo=CET))
    assert t.get("0-2:96.1.1") == "8SET0000961173"


def test_real_fluvius_3phase(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("real/be_fluvius_50217_3phase_gas_ha107813.txt"))
    assert t.timestamp == datetime(2024, 1, 12, 23, 18, 3, tzinfo=CET)
    assert t.get("1-0:1.8.1") == Decimal("116.372")
    assert t.get("1-0:2.8.2") == Decimal("42.757")
    assert t.get("0-0:96.14.0") == 2
    assert [p.value for p in peaks(t.values, "0-0:98.1.0")] == [
        Decimal("1.747"),
        Decimal("3.260"),
        Decimal("1.981"),
    ]
    assert t.values["0-1:24.2.3"] == Value(
        Decimal("338.711"), "m3", datetime(2024, 1, 12, 23, 16, 46, tzinfo=CET)
    )
    assert t.get("1-0:51.7.0") == Decimal("0.49")


def test_real_fluvius_1phase(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("real/be_fluvius_50215_1phase_gas_homebridge47.txt"))
    assert t.version == "50215"
    assert t.get("1-0:1.8.2") == Decimal("1651.825")
    assert t.get("1-0:2.8.1") == Decimal("1885.818")
    assert t.get("1-0:21.7.0") == Decimal("0.438")
    assert "1-0:52.7.0" not in t.values
    assert t.get("0-1:24.2.3") == Decimal("2559.077")


def test_dsmr_spec_example_with_wrong_crc_is_rejected(telegram_bytes: Callable[[str], bytes]) -> None:
    data = telegram_bytes("real/dsmr502_spec_example_as_printed_EF2F.txt")
    reader = TelegramReader()
    events = reader.feed(data) + reader.close()
    assert len(events) == 1 and isinstance(events[0], FramingError)
    assert events[0].reason == "bad_crc"
    assert "E47C" in events[0].detail and events[0].offset == 0
    # accepted only when told to skip CRC checks
    t = read_one(data, check_crc=False)
    assert t.header == "ISk5\\2MT382-1000"


def test_dsmr22_two_line_gas(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("v2_2.txt"))
    assert t.crc == "absent"
    gas = t.values["0-1:24.3.0"]
    assert gas.value == Decimal("1.001") and gas.unit == "m3"
    assert gas.timestamp == datetime(2016, 11, 7, 19, 0, tzinfo=CET)
    assert t.values["1-0:1.7.0"] == Value(Decimal("1.01"), "kW")
    assert t.values["0-0:17.0.0"] == Value(Decimal("999.00"), "kW")


def test_dsmr3(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("v3.txt"))
    assert t.crc == "absent"
    assert t.meter_id == "K8EG004046395507"
    assert t.get("1-0:1.8.1") == Decimal("12345.678")
    assert t.values["0-0:17.0.0"] == Value(Decimal("16"), "A")
    assert t.get("0-0:96.13.1") == "012345678"
    assert t.get("0-0:96.13.0") == "0123456789:;<=>?" * 5
    assert t.get("0-1:24.3.0") == Decimal("1.001")


def test_dsmr42_power_failure_log(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("v4_2.txt"))
    assert t.version == "42"
    assert t.timestamp == datetime(2016, 11, 13, 20, 57, 57, tzinfo=CET)
    log = t.get("1-0:99.97.0")
    assert log == (
        PowerFailure(datetime(2000, 1, 4, 18, 3, 20, tzinfo=CET), 237126),
        PowerFailure(datetime(2000, 1, 1, 0, 0, 1, tzinfo=CET), 2147583646),
        PowerFailure(datetime(2000, 1, 2, 0, 0, 3, tzinfo=CET), 2317482647),
    )
    assert t.values["1-0:31.7.0"] == Value(Decimal("0"), "A")
    assert t.get("0-1:24.2.1") == Decimal("981.443")
    assert t.get("0-1:96.1.0") == "4819243993373755377509728609491464"


def test_dsmr5(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("v5.txt"))
    assert t.get("1-0:99.97.0") == ()
    assert t.get("0-0:96.7.21") == 13
    assert t.values["1-0:31.7.0"] == Value(Decimal("0.48"), "A")
    assert t.values["1-0:32.7.0"] == Value(Decimal("230.0"), "V")
    assert t.get("0-1:96.1.0") == "2222ABCD123456789"
    assert t.get("0-2:96.1.0") == ""


def test_dsmr5_two_mbus(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("v5_two_mbus.txt"))
    # the empty channel's 700101010000W is "no capture yet" (the Unix epoch), not 2070-01-01
    assert t.values["0-1:24.2.1"] == Value(Decimal("0"), None, None)
    assert t.values["0-2:24.2.1"] == Value(
        Decimal("246.138"), "m3", datetime(2020, 4, 26, 22, 30, 1, tzinfo=CEST)
    )
    assert t.get("1-0:99.97.0") == (PowerFailure(datetime(2019, 3, 26, 9, 50, 15, tzinfo=CET), 2014),)


def test_hungarian(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("v5_eon_hu.txt"))
    assert t.get("1-0:1.8.0") == Decimal("173.640")
    assert t.values["1-0:3.8.0"] == Value(Decimal("0.123"), "kvarh")
    assert t.values["1-0:14.7.0"] == Value(Decimal("50.00"), "Hz")
    assert t.get("1-0:13.7.0") == Decimal("4.556")
    assert t.get("0-0:42.0.0") == "SAG3082200002160"
    # the Hungarian 98.1.0 layout differs: kept raw, never dropped
    assert text(t.values, "0-0:98.1.0").startswith("(230701000000S)(000040.777*kWh)")


def test_austrian_wh_units(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("sagemcom_t210_d_r.txt"))
    assert t.values["1-0:1.8.0"] == Value(Decimal("6545766"), "Wh")
    assert t.values["1-0:1.7.0"] == Value(Decimal("286"), "W")
    assert t.values["1-0:3.8.1"] == Value(Decimal("0"), "varh")  # unknown to the registry, typed by shape


def test_irish_header_with_control_byte(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("iskra_ie.txt"))
    assert t.header == "ISk5\x02MIE5T-200"
    assert t.get("0-0:96.1.0") == "09610"
    assert t.get("1-0:2.7.0") == Decimal("0.270")
    assert t.timestamp == datetime(2023, 2, 2, 13, 27, 47, tzinfo=CEST)


def test_unpadded_three_digit_crc(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("unpadded_crc.txt"))
    assert t.crc == "ok"
    assert t.values["0-1:24.2.1"] == Value(
        Decimal("240.860"), "GJ", datetime(2026, 2, 15, 20, 5, 23, tzinfo=CET)
    )


@pytest.mark.parametrize(
    ("name", "import_kwh"),
    [("esy5q3da1004_v304.txt", "32549.5061662"), ("esy5q3db1024_v304.txt", "52185.7825309")],
)
def test_easymeter_with_appended_lines(
    telegram_bytes: Callable[[str], bytes], name: str, import_kwh: str
) -> None:
    reader = TelegramReader()
    events = reader.feed(telegram_bytes(name)) + reader.close()
    telegrams = [e for e in events if isinstance(e, Telegram)]
    errors = [e for e in events if isinstance(e, FramingError)]
    assert len(telegrams) == 1 and telegrams[0].crc == "absent"
    assert telegrams[0].get("1-0:1.8.0") == Decimal(import_kwh)
    assert telegrams[0].values["1-0:1.7.0"].unit == "W"
    assert [e.reason for e in errors] == ["garbage"]  # the gateway's appended lines are reported


def test_json_output_matches_contract(telegram_bytes: Callable[[str], bytes]) -> None:
    t = read_one(telegram_bytes("fluvius_v171.txt"))
    doc = telegram_dict(t)
    assert doc["meter_id"] == "1SAG3101021605"
    assert doc["crc"] == "ok"
    assert doc["timestamp"] == "2020-05-12T13:54:09+02:00"
    assert doc["values"]["1-0:1.8.2"] == {"value": 15.758, "unit": "kWh"}
    assert doc["values"]["0-1:24.2.3"] == {
        "value": 112.384,
        "unit": "m3",
        "timestamp": "2020-05-12T13:45:58+02:00",
    }
    assert doc["values"]["0-0:98.1.0"]["value"][0]["value"] == 3.695
    # the text keeps the meter's digits: 05.980 is the JSON number 5.980, not 5.98
    text = telegram_json(t)
    assert json.loads(text) == doc
    exact = json.loads(text, parse_float=Decimal)
    assert str(exact["values"]["1-0:1.8.2"]["value"]) == "15.758"
    assert '"value":5.980,"unit":"kW"' in text


def test_parse_telegram_checks_the_crc_itself(telegram_bytes: Callable[[str], bytes]) -> None:
    from dsmr_parser import parse_telegram

    assert parse_telegram(telegram_bytes("fluvius_v171.txt")).crc == "ok"
    assert parse_telegram(telegram_bytes("v2_2.txt")).crc == "absent"
    with pytest.raises(ValueError, match="bad CRC"):
        parse_telegram(telegram_bytes("real/dsmr502_spec_example_as_printed_EF2F.txt"))
    # told the status (as TelegramReader does), it does not check again
    assert parse_telegram(telegram_bytes("real/dsmr502_spec_example_as_printed_EF2F.txt"), crc="ok").header
