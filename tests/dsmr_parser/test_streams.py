"""Framing over real byte streams: garbage, truncation, corruption, line endings, chunking, bounds."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import pytest

from dsmr_parser import Framer, FramingError, Telegram, TelegramReader, Value, telegram_dict

FILES = [
    "fluvius_v171.txt",
    "fluvius_v171_alt.txt",
    "real/be_fluvius_50217_3phase_gas_ha107813.txt",
    "v5.txt",
    "v4_2.txt",
    "unpadded_crc.txt",
    "v2_2.txt",
]


def run(data: bytes, chunk: int | None = None) -> list[Telegram | FramingError]:
    reader = TelegramReader()
    events: list[Telegram | FramingError] = []
    if chunk is None:
        events += reader.feed(data)
    else:
        for i in range(0, len(data), chunk):
            events += reader.feed(data[i : i + chunk])
    return events + reader.close()


def telegrams(events: list[Telegram | FramingError]) -> list[Telegram]:
    return [e for e in events if isinstance(e, Telegram)]


def errors(events: list[Telegram | FramingError]) -> list[str]:
    return [e.reason for e in events if isinstance(e, FramingError)]


@pytest.fixture
def stream(telegram_bytes: Callable[[str], bytes]) -> bytes:
    return b"".join(telegram_bytes(name) for name in FILES)


def test_every_split_point_yields_the_same_telegrams(telegram_bytes: Callable[[str], bytes]) -> None:
    data = telegram_bytes("fluvius_v171.txt") + telegram_bytes("v5.txt")
    expected = telegrams(run(data))
    assert len(expected) == 2
    for cut in range(1, len(data)):
        reader = TelegramReader()
        events = reader.feed(data[:cut]) + reader.feed(data[cut:]) + reader.close()
        assert telegrams(events) == expected, cut
        assert errors(events) == [], cut


def test_one_byte_chunks(stream: bytes) -> None:
    assert telegrams(run(stream, chunk=1)) == telegrams(run(stream))
    assert len(telegrams(run(stream, chunk=1))) == len(FILES)


def test_garbage_between_telegrams_is_reported_with_offset(telegram_bytes: Callable[[str], bytes]) -> None:
    first = telegram_bytes("fluvius_v171.txt")
    junk = b"\x00\xff garbage!! \xfe\r\n"
    data = first + junk + telegram_bytes("v5.txt")
    events = run(data)
    assert len(telegrams(events)) == 2
    (error,) = [e for e in events if isinstance(e, FramingError)]
    assert error.reason == "garbage"
    assert first.rstrip(b"\r\n") == data[: error.offset].rstrip(b"\r\n")


def test_truncated_telegram_then_a_good_one(telegram_bytes: Callable[[str], bytes]) -> None:
    good = telegram_bytes("fluvius_v171.txt")
    data = good[:400] + b"\r\n" + good
    events = run(data)
    assert errors(events) == ["truncated"]
    assert [e.offset for e in events if isinstance(e, FramingError)] == [0]
    assert len(telegrams(events)) == 1


def test_corrupted_digit_fails_crc_and_neighbours_survive(telegram_bytes: Callable[[str], bytes]) -> None:
    good = telegram_bytes("fluvius_v171.txt")
    bad = good.replace(b"000015.758", b"000015.759")
    events = run(good + bad + good)
    assert errors(events) == ["bad_crc"]
    assert len(telegrams(events)) == 2


@pytest.mark.parametrize("ending", [b"\n", b"\r"])
def test_lf_only_and_cr_only_line_endings(telegram_bytes: Callable[[str], bytes], ending: bytes) -> None:
    text = telegram_bytes("v2_2.txt").replace(b"\r\n", ending)  # no CRC: content unchanged
    (t,) = telegrams(run(text * 2)[:1])
    assert t.get("1-0:1.8.1") is not None
    assert str(t.get("0-1:24.3.0")) == "1.001"
    assert len(telegrams(run(text * 3))) == 3


def test_lf_only_with_crc_recomputed(telegram_bytes: Callable[[str], bytes]) -> None:
    from dsmr_parser import build_telegram

    original = telegrams(run(telegram_bytes("fluvius_v171.txt")))[0]
    data = build_telegram(original.header, original.values, newline="\n")
    (t,) = telegrams(run(data))
    assert t.values == original.values


def test_glued_telegrams_without_line_break(telegram_bytes: Callable[[str], bytes]) -> None:
    a = telegram_bytes("fluvius_v171.txt").rstrip(b"\r\n")
    b = telegram_bytes("v5.txt")
    events = run(a + b)
    assert errors(events) == []
    assert len(telegrams(events)) == 2


def test_missing_crc_on_emucs_is_an_error(telegram_bytes: Callable[[str], bytes]) -> None:
    data = telegram_bytes("fluvius_v171.txt").replace(b"!3AD7", b"!")
    assert errors(run(data)) == ["missing_crc"]


def test_malformed_crc_line(telegram_bytes: Callable[[str], bytes]) -> None:
    data = telegram_bytes("fluvius_v171.txt").replace(b"!3AD7", b"!3AZ7")
    assert errors(run(data)) == ["malformed_crc"]


def test_frame_too_long_and_memory_bounded() -> None:
    framer = Framer(max_frame=4096)
    events = []
    events += framer.feed(b"/HEADER\r\n\r\n")
    for _ in range(1000):
        events += framer.feed(b"1-0:1.8.1(000001.000*kWh)\r\n")
        assert framer.buffered < 4096 + 64
    assert all(isinstance(e, FramingError) for e in events)  # no frame: nothing here is a telegram
    reasons = [e.reason for e in events if isinstance(e, FramingError)]
    # the over-long frame is reported once; what follows it (no '/') is garbage, reported per max_frame
    assert reasons[0] == "too_long"
    assert set(reasons[1:]) <= {"garbage"}
    assert len(reasons) <= 1000 * 27 // 4096 + 2


def test_endless_garbage_keeps_memory_bounded() -> None:
    framer = Framer(max_frame=2048)
    reasons = []
    for _ in range(2000):
        fed = framer.feed(b"noise without a slash " * 4)
        assert all(isinstance(e, FramingError) for e in fed)  # garbage only
        reasons += [e.reason for e in fed if isinstance(e, FramingError)]
        assert framer.buffered <= 2048 + 100
    assert reasons and set(reasons) == {"garbage"}


def test_random_corruption_never_raises_and_keeps_good_telegrams(stream: bytes) -> None:
    rng = random.Random(7)
    good_count = 0
    corrupted = bytearray()
    untouched = 0
    for _ in range(60):
        piece = bytearray(stream)
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 5)):
                piece[rng.randrange(len(piece))] = rng.randrange(256)
        else:
            untouched += 1
            good_count += len(FILES)
        corrupted += piece
    events = run(bytes(corrupted), chunk=997)
    # every untouched copy is recovered; corrupted ones may lose only their damaged telegrams
    assert len(telegrams(events)) >= good_count
    assert untouched > 0


def test_unknown_lines_are_kept(telegram_bytes: Callable[[str], bytes]) -> None:
    from dsmr_parser import build_telegram

    base = telegrams(run(telegram_bytes("fluvius_v171.txt")))[0]
    text = build_telegram(base.header, base.values).decode()
    text = text.replace("0-0:96.14.0(0001)", "0-0:96.14.0(0001)\r\n1-0:99.99.9(42*xyz)\r\nhello world")
    from dsmr_parser.crc import crc_text

    body = text[: text.rindex("!") + 1]
    data = (body + crc_text(body.encode()) + "\r\n").encode()
    (t,) = telegrams(run(data))
    assert t.values["1-0:99.99.9"] == Value(Decimal("42"), "xyz")  # unknown, but shaped: typed
    assert t.unparsed == ["hello world"]
    assert telegram_dict(t)["values"]["1-0:99.99.9"] == {"value": 42, "unit": "xyz"}
