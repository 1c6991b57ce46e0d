"""The framer's promise: every valid frame is found whatever precedes it, and any chunking of the same bytes
gives the same frames and the same errors (issue 10)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dsmr_parser import Frame, Framer, FramingError
from dsmr_parser.crc import crc16
from dsmr_parser.framing import DEFAULT_MAX_FRAME

from .conftest import TELEGRAMS

GOOD = (TELEGRAMS / "fluvius_v171.txt").read_bytes()  # ends with CR LF after its CRC
FRAME = GOOD[: GOOD.rindex(b"!") + 1]


def events_whole(data: bytes, max_frame: int = DEFAULT_MAX_FRAME) -> list[Frame | FramingError]:
    framer = Framer(max_frame)
    return framer.feed(data) + framer.close()


def events_split(
    data: bytes, cuts: list[int], max_frame: int = DEFAULT_MAX_FRAME
) -> list[Frame | FramingError]:
    framer = Framer(max_frame)
    events: list[Frame | FramingError] = []
    bounds = [0, *sorted(set(cuts)), len(data)]
    for a, b in itertools.pairwise(bounds):
        events += framer.feed(data[a:b])
    return events + framer.close()


def frames(events: list[Frame | FramingError]) -> list[tuple[int, bytes]]:
    return [(e.offset, e.data) for e in events if isinstance(e, Frame)]


def test_telegram_glued_after_many_slashes_is_found() -> None:
    for count in (1, 8, 9, 40, 500):
        stream = b"/" * count + GOOD
        assert frames(events_whole(stream)) == [(count, FRAME)], count
        assert events_split(stream, list(range(1, len(stream), 3))) == events_whole(stream)


def test_telegram_after_more_than_a_frame_of_junk_is_found_fed_whole_or_split() -> None:
    junk = (b"noise/ab(c)*1\r\n" * 1200)[:17_000]  # '/'s, line breaks, no '!': longer than max_frame
    stream = junk + GOOD
    whole = events_whole(stream)
    assert frames(whole) == [(len(junk), FRAME)]
    assert "too_long" in [e.reason for e in whole if isinstance(e, FramingError)]
    for step in (1000, 4096, 16_385):
        assert events_split(stream, list(range(step, len(stream), step))) == whole, step


def test_malformed_crc_line_split_across_feeds_gives_the_same_errors() -> None:
    stream = FRAME + b"12G4\r\n" + GOOD
    whole = events_whole(stream)
    assert [e.reason for e in whole if isinstance(e, FramingError)] == ["malformed_crc"]
    for cut in range(len(FRAME) - 1, len(FRAME) + 7):
        assert events_split(stream, [cut]) == whole, cut


def test_telegram_glued_to_a_malformed_crc_line_is_found() -> None:
    stream = FRAME + b"12G4" + GOOD
    assert frames(events_whole(stream)) == [(len(FRAME) + 4, FRAME)]


def test_endless_slashes_keep_memory_bounded() -> None:
    framer = Framer(max_frame=2048)
    errors = 0
    for _ in range(200):
        errors += len(framer.feed(b"/" * 4096))
        assert framer.buffered <= 2048 + 1 + 4096
    assert errors >= 1  # reported, not silently eaten
    assert frames(framer.feed(b"\r\n" + GOOD) + framer.close()) != []


JUNK = st.binary(max_size=300) | st.text("/!()\r\n*:.0123456789ABCDEFW ", max_size=300).map(str.encode)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(JUNK, st.booleans()), min_size=1, max_size=4), st.data())
def test_any_chunking_gives_the_same_events_and_finds_every_telegram(
    parts: list[tuple[bytes, bool]], data: st.DataObject
) -> None:
    stream = b""
    starts = []
    for junk, line_break in parts:
        stream += junk + (b"\r\n" if line_break else b"")
        starts.append(len(stream))
        stream += GOOD
    cuts = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=20))
    whole = events_whole(stream, max_frame=2048)
    assert events_split(stream, cuts, max_frame=2048) == whole
    found = frames(whole)
    for start in starts:
        assert (start, FRAME) in found


def test_a_chance_crc_match_in_noise_does_not_swallow_the_telegram() -> None:
    """`/'\\*` has CRC 0, so the frame from that noise '/' to the telegram's '!' matches the telegram's CRC
    too (1 in 65,536 per '/' in noise: the fuzz met it). The telegram's own '/' wins over one in noise."""
    noise = b"noise/'\\*"
    assert crc16(noise[5:]) == 0
    stream = noise + GOOD
    assert frames(events_whole(stream)) == [(len(noise), FRAME)]
    assert events_split(stream, list(range(1, len(stream), 5))) == events_whole(stream)
