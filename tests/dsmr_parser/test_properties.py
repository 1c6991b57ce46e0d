"""Property tests: parse(build(x)) == x over generated telegrams; fuzzed streams never raise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dsmr_parser import (
    REGISTRY,
    FramingError,
    MonthlyPeak,
    ObisObject,
    PowerFailure,
    Telegram,
    TelegramReader,
    Value,
    build_telegram,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
CODES = sorted(REGISTRY)

instants = st.integers(
    min_value=int(datetime(2000, 1, 2, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2098, 12, 30, tzinfo=UTC).timestamp()),
).map(lambda ts: datetime.fromtimestamp(ts, UTC))


def decimals(obj: ObisObject, signed: bool = False) -> st.SearchStrategy[Decimal]:
    limit = 10 ** (obj.digits + obj.decimals) - 1
    low = -(10 ** (obj.digits + obj.decimals - 1) - 1) if signed else 0
    return st.integers(low, limit).map(lambda n: Decimal(n).scaleb(-obj.decimals))


def unambiguous_local(moment: datetime) -> bool:
    """A wall-clock time without S/W flag names one instant only outside the repeated hour."""
    local = moment.astimezone(BRUSSELS)
    naive = local.replace(tzinfo=None)
    return naive.replace(tzinfo=BRUSSELS, fold=0) == naive.replace(tzinfo=BRUSSELS, fold=1)


@st.composite
def values_for(draw: st.DrawFn, obj: ObisObject) -> Value:
    kind = obj.kind
    if kind in ("decimal",):
        return Value(draw(decimals(obj, signed=obj.unit == "EUR")), obj.unit)
    if kind == "int":
        return Value(draw(st.integers(0, 10**obj.digits - 1)))
    if kind == "str":
        return Value(draw(st.text("0123456789ABCDEFXYZ", min_size=1, max_size=12)))
    if kind == "hex":
        return Value(draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)))
    if kind == "timestamp":
        return Value(draw(instants | st.none()))
    if kind == "timestamped":
        return Value(draw(decimals(obj)), obj.unit, draw(instants))
    if kind == "peaks":
        peaks = draw(
            st.lists(
                st.builds(
                    MonthlyPeak, instants | st.none(), instants | st.none(), decimals(obj), st.just("kW")
                ),
                max_size=13,
            )
        )
        return Value(tuple(peaks), "kW")
    if kind == "failures":
        entries = draw(st.lists(st.builds(PowerFailure, instants, st.integers(0, 10**10 - 1)), max_size=10))
        return Value(tuple(entries), "s")
    if kind == "legacy_gas":
        moment = draw(instants)
        assume(unambiguous_local(moment))
        return Value(draw(decimals(obj)), "m3", moment)
    raise AssertionError(kind)


@st.composite
def telegrams(draw: st.DrawFn) -> tuple[str, dict[str, Value]]:
    header = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789\\_-", min_size=1, max_size=24))
    codes = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=40))
    return header, {code: draw(values_for(REGISTRY[code])) for code in codes}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(telegrams())
def test_parse_build_roundtrip(case: tuple[str, dict[str, Value]]) -> None:
    header, values = case
    reader = TelegramReader()
    events = reader.feed(build_telegram(header, values)) + reader.close()
    assert len(events) == 1 and isinstance(events[0], Telegram), events
    assert events[0].header == header
    assert events[0].values == values
    assert events[0].unparsed == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_random_bytes_never_raise(data: bytes, chunk: int) -> None:
    reader = TelegramReader(max_frame=1024)
    for i in range(0, len(data), chunk):
        reader.feed(data[i : i + chunk])
        assert reader.framer.buffered <= 1024 + 8 + chunk
    reader.close()


@settings(max_examples=200, deadline=None)
@given(telegrams(), st.lists(st.binary(max_size=200), min_size=1, max_size=4), st.integers(1, 300))
def test_valid_telegrams_survive_surrounding_garbage(
    case: tuple[str, dict[str, Value]], noise: list[bytes], chunk: int
) -> None:
    header, values = case
    good = build_telegram(header, values)
    stream = b"".join(junk + good for junk in noise)
    reader = TelegramReader()
    events: list[Telegram | FramingError] = []
    for i in range(0, len(stream), chunk):
        events += reader.feed(stream[i : i + chunk])
    events += reader.close()
    recovered = [e for e in events if isinstance(e, Telegram) and e.header == header and e.values == values]
    assert len(recovered) == len(noise)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=4000), st.data())
def test_mutated_real_telegram_never_raises(noise: bytes, data: st.DataObject) -> None:
    base = bytearray(build_telegram("FLU5\\253769484_A", {"1-0:1.8.1": Value(Decimal("1.000"), "kWh")}))
    position = data.draw(st.integers(0, len(base)))
    base[position:position] = noise
    reader = TelegramReader()
    events = reader.feed(bytes(base)) + reader.close()
    assert all(isinstance(e, Telegram | FramingError) for e in events)


def test_dst_transitions_both_directions() -> None:
    """Timestamps across 2026's changes: the repeated autumn hour gives distinct, ordered instants."""
    spring = datetime(2026, 3, 29, 0, 59, 58, tzinfo=UTC)
    autumn = datetime(2026, 10, 25, 0, 59, 58, tzinfo=UTC)
    for first in (spring, autumn):
        moments = [first + timedelta(seconds=s) for s in range(0, 3700, 1)]
        stream = b"".join(
            build_telegram("FLU5\\253769484_A", {"0-0:96.1.4": Value("50217"), "0-0:1.0.0": Value(m)})
            for m in moments
        )
        parsed = [e.timestamp for e in TelegramReader().feed(stream) if isinstance(e, Telegram)]
        assert parsed == moments
    text = build_telegram("X", {"0-0:1.0.0": Value(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))})
    assert b"(261025023000S)" in text
    text = build_telegram("X", {"0-0:1.0.0": Value(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))})
    assert b"(261025023000W)" in text
    text = build_telegram("X", {"0-0:1.0.0": Value(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))})
    assert b"(260329030000S)" in text


def test_configurable_zone_gives_flags_their_offsets() -> None:
    frame = b"/ISk5MIE5T-200\r\n\r\n0-0:1.0.0(230202132747W)\r\n!"
    from dsmr_parser import parse_telegram

    dublin = parse_telegram(frame, tz="Europe/Dublin").timestamp
    brussels = parse_telegram(frame).timestamp
    assert dublin is not None and dublin.utcoffset() == timedelta(0)
    assert brussels is not None and brussels.utcoffset() == timedelta(hours=1)
    assert dublin - brussels == timedelta(hours=1)


@settings(max_examples=150, deadline=None)
@given(telegrams(), st.lists(st.tuples(st.integers(0, 39), st.data()), max_size=12), st.data())
def test_changed_lines_shortcut_equals_the_full_parse(
    case: tuple[str, dict[str, Value]], edits: list[tuple[int, st.DataObject]], data: st.DataObject
) -> None:
    """A stream parser converts only lines that changed since the previous telegram; the result must be the
    same as parsing each telegram on its own (no shortcut), whatever changes: values, lines added or
    removed, codes swapped, a code printed twice."""
    from dsmr_parser import TelegramParser

    header, values = case
    stream_parser = TelegramParser()
    frames = []
    current = dict(values)
    for position, draw in edits:
        codes = list(current)
        action = draw.draw(
            st.sampled_from(["value", "value", "value", "add", "remove", "swap", "replace", "twice"])
        )
        if action == "value" and codes:
            code = codes[position % len(codes)]
            current[code] = draw.draw(values_for(REGISTRY[code]))
        elif action == "add":
            code = draw.draw(st.sampled_from(CODES))
            current[code] = draw.draw(values_for(REGISTRY[code]))
        elif action == "remove" and codes:
            current.pop(codes[position % len(codes)])
        elif action == "replace" and codes:
            # another code with a new value at the same place: same shape, different object
            new_code = draw.draw(st.sampled_from([c for c in CODES if c not in current]))
            items = list(current.items())
            items[position % len(items)] = (new_code, draw.draw(values_for(REGISTRY[new_code])))
            current = dict(items)
        elif action == "swap" and len(codes) >= 2:
            a, b = codes[position % len(codes)], codes[(position + 1) % len(codes)]
            items = list(current.items())
            i, j = codes.index(a), codes.index(b)
            items[i], items[j] = items[j], items[i]
            current = dict(items)
        frame = build_telegram(header, current)
        if action == "twice" and codes:
            line = frame.split(b"\r\n")[2 + position % len(codes)]
            body = frame[: frame.rindex(b"!")] + line + b"\r\n!"
            from dsmr_parser.crc import crc_text

            frame = body + crc_text(body).encode() + b"\r\n"
        frames.append(frame)
    for frame in frames:
        alone = TelegramParser(line_cache=False).parse(frame[: frame.rindex(b"!") + 1])
        streamed = stream_parser.parse(frame[: frame.rindex(b"!") + 1])
        assert streamed == alone
