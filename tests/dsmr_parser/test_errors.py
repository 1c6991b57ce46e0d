"""The parser's error family: one `TelegramError(ValueError)` with an offset and a closed set of reasons."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import get_args

import pytest

from dsmr_parser import (
    REASONS,
    CrcError,
    Framer,
    FramingError,
    ParseError,
    TelegramError,
    TelegramErrorReason,
    TelegramParser,
    TelegramReader,
    parse_telegram,
)
from dsmr_parser.errors import CrcReason, FramingReason, ParseReason

BAD_CRC = "real/dsmr502_spec_example_as_printed_EF2F.txt"


def test_the_family_is_one_value_error_tree() -> None:
    assert issubclass(TelegramError, ValueError)
    assert issubclass(FramingError, TelegramError)
    assert issubclass(CrcError, FramingError)
    assert issubclass(ParseError, TelegramError)
    assert not issubclass(ParseError, FramingError)


def test_reasons_are_a_closed_set_matching_the_literals() -> None:
    assert set(get_args(TelegramErrorReason)) == REASONS
    split = set(get_args(FramingReason)) | set(get_args(CrcReason)) | set(get_args(ParseReason))
    assert split == REASONS
    assert {"garbage", "truncated", "too_long", "bad_crc", "malformed_crc", "missing_crc"} <= REASONS
    with pytest.raises(ValueError, match="unknown telegram error reason"):
        TelegramError(0, "oops", "")  # type: ignore[arg-type]


def test_errors_compare_hash_pickle_and_print_by_value() -> None:
    error = CrcError(7, "bad_crc", "stated 1234, computed ABCD")
    assert error == CrcError(7, "bad_crc", "stated 1234, computed ABCD")
    assert error != CrcError(8, "bad_crc", "stated 1234, computed ABCD")
    assert error != FramingError(7, "bad_crc", "stated 1234, computed ABCD")
    assert len({error, CrcError(7, "bad_crc", "stated 1234, computed ABCD")}) == 1
    assert pickle.loads(pickle.dumps(error)) == error
    assert str(error) == "bad CRC: stated 1234, computed ABCD (offset 7)"
    assert repr(error) == "CrcError(7, 'bad_crc', 'stated 1234, computed ABCD')"


def test_the_reader_returns_crc_errors_as_events(telegram_bytes: Callable[[str], bytes]) -> None:
    reader = TelegramReader()
    (event,) = reader.feed(telegram_bytes(BAD_CRC)) + reader.close()
    assert isinstance(event, CrcError) and isinstance(event, FramingError) and isinstance(event, ValueError)
    match event.reason:
        case "bad_crc":
            pass
        case _:
            pytest.fail(f"unexpected reason {event.reason}")
    assert event.offset == 0


def test_framing_reasons_that_are_not_crc_stay_framing_errors() -> None:
    framer = Framer()
    events = framer.feed(b"junk before\r\n/XYZ5 meter\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n") + framer.close()
    assert [type(e) for e in events] == [FramingError, FramingError]
    assert [e.reason for e in events if isinstance(e, FramingError)] == ["garbage", "truncated"]


def test_parse_telegram_raises_the_family(telegram_bytes: Callable[[str], bytes]) -> None:
    with pytest.raises(CrcError, match="bad CRC") as bad:
        parse_telegram(telegram_bytes(BAD_CRC))
    assert bad.value.reason == "bad_crc" and bad.value.offset == 0
    with pytest.raises(ParseError, match="no telegram") as empty:
        parse_telegram(b"")
    assert empty.value.reason == "no_telegram"
    good = telegram_bytes("fluvius_v171.txt")
    with pytest.raises(ParseError) as several:
        parse_telegram(good + good)
    assert several.value.reason == "several_telegrams" and several.value.offset == len(good)
    with pytest.raises(ValueError, match="starts with '/'") as not_one:  # code catching ValueError still does
        TelegramParser().parse(b"no telegram here")
    assert isinstance(not_one.value, ParseError) and not_one.value.reason == "not_a_telegram"
