"""QuarterHourAggregator: exact Wh per clock quarter-hour, DST days, gaps, rejections, snapshot/restore.

Telegrams are real: built with `dsmr_parser.build_telegram` and parsed back, from synthetic registers.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dsmr_parser import Telegram, Value, build_telegram, parse_telegram
from metering.quarter_hours import QuarterHour, QuarterHourAggregator

BRUSSELS = ZoneInfo("Europe/Brussels")
CODES = ("1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2")


def make_telegram(
    moment: datetime,
    wh: tuple[int, int, int, int],
    *,
    unit: str = "kWh",
    extra: dict[str, Value] | None = None,
) -> Telegram:
    """A parsed e-MUCS-like telegram at `moment` with registers `wh` (Wh), via the real builder."""
    values: dict[str, Value] = {"0-0:96.1.4": Value("50217"), "0-0:1.0.0": Value(moment)}
    for code, register in zip(CODES, wh, strict=True):
        number = Decimal(register) / 1000 if unit == "kWh" else Decimal(register)
        values[code] = Value(number, unit)
    values.update(extra or {})
    return parse_telegram(build_telegram("FLU5\\253769484_A", values))


def utc(text: str) -> datetime:
    """Local Brussels wall time (first occurrence) -> UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS).astimezone(UTC)


def steady(
    start: datetime, seconds: int, step_s: int, watts: tuple[int, int, int, int]
) -> Iterator[Telegram]:
    """Telegrams every `step_s` with registers growing at constant power per register (W), exact in Wh
    when the elapsed seconds x watts is a multiple of 3600."""
    for offset in range(0, seconds, step_s):
        moment = start + timedelta(seconds=offset)
        yield make_telegram(moment, regs_at(offset, watts))


def regs_at(
    offset_s: int, watts: tuple[int, int, int, int], base: int = 1_000_000
) -> tuple[int, int, int, int]:
    a, b, c, d = (base + offset_s * w // 3600 for w in watts)
    return (a, b, c, d)


def feed(agg: QuarterHourAggregator, telegrams: Iterator[Telegram] | list[Telegram]) -> list[QuarterHour]:
    closed: list[QuarterHour] = []
    for telegram in telegrams:
        added = agg.add(telegram)
        assert added.rejected is None, added.rejected
        closed.extend(added)
    return closed


def test_one_hour_of_one_second_telegrams_gives_four_exact_complete_quarter_hours() -> None:
    agg = QuarterHourAggregator()
    closed = feed(agg, steady(utc("2026-11-22T14:00:00"), 3601, 1, (3600, 0, 0, 1800)))
    assert [q.start.isoformat() for q in closed] == [
        "2026-11-22T14:00:00+01:00",
        "2026-11-22T14:15:00+01:00",
        "2026-11-22T14:30:00+01:00",
        "2026-11-22T14:45:00+01:00",
    ]
    for q in closed:
        assert (q.import_day_wh, q.import_night_wh, q.export_day_wh, q.export_night_wh) == (900, 0, 0, 450)
        assert q.complete and not q.estimated and q.telegrams == 900
    record = closed[0].to_json("1SAG1100000292", "541449000000000001")
    assert record == {
        "meter_id": "1SAG1100000292",
        "ean": "541449000000000001",
        "start": "2026-11-22T14:00:00+01:00",
        "end": "2026-11-22T14:15:00+01:00",
        "import_day": 0.9,
        "import_night": 0.0,
        "export_day": 0.0,
        "export_night": 0.45,
        "import_kwh": 0.9,
        "export_kwh": 0.45,
        "avg_import_kw": 3.6,
        "avg_export_kw": 1.8,
        "complete": True,
        "estimated": False,
        "telegrams": 900,
    }


def test_wh_registers_are_normalised_like_kwh() -> None:
    moments = [utc("2026-11-22T14:14:58") + timedelta(seconds=s) for s in range(4)]
    results = []
    for unit in ("kWh", "Wh"):
        agg = QuarterHourAggregator()
        closed = [
            q
            for i, m in enumerate(moments)
            for q in agg.add(make_telegram(m, (5_017_120 + i, 7, 0, 0), unit=unit))
        ]
        results.append((closed, agg.current()))
    assert results[0] == results[1]
    assert results[0][0][0].import_day_wh == 2


def test_dutch_tariff_labels_map_tariff_1_to_night() -> None:
    agg = QuarterHourAggregator(tariff_labels={1: "night", 2: "day"})
    closed = feed(agg, steady(utc("2026-11-22T14:00:00"), 901, 1, (3600, 7200, 0, 0)))
    assert (closed[0].import_night_wh, closed[0].import_day_wh) == (900, 1800)


def day_of_telegrams(local_day: str, step_s: int = 10) -> tuple[list[QuarterHour], QuarterHourAggregator]:
    start = utc(f"{local_day}T00:00:00")
    end = (datetime.fromisoformat(local_day) + timedelta(days=1)).replace(tzinfo=BRUSSELS).astimezone(UTC)
    seconds = int((end - start).total_seconds())
    agg = QuarterHourAggregator()
    closed = feed(agg, steady(start, seconds + 1, step_s, (1800, 0, 360, 0)))
    return closed, agg


def test_spring_dst_day_has_92_quarter_hours() -> None:
    closed, _ = day_of_telegrams("2026-03-29")
    assert len(closed) == 92
    starts = [q.start.isoformat() for q in closed]
    i = starts.index("2026-03-29T01:45:00+01:00")
    assert starts[i + 1] == "2026-03-29T03:00:00+02:00"
    assert closed[i].end.isoformat() == "2026-03-29T03:00:00+02:00"
    assert all(q.import_day_wh == 450 and q.export_day_wh == 90 and q.complete for q in closed)
    assert all((q.end - q.start) == timedelta(minutes=15) for q in closed)


def test_autumn_dst_day_has_100_quarter_hours_with_the_repeated_hour_twice() -> None:
    closed, _ = day_of_telegrams("2026-10-25")
    assert len(closed) == 100
    starts = [q.start.isoformat() for q in closed]
    assert len(set(starts)) == 100
    assert "2026-10-25T02:00:00+02:00" in starts and "2026-10-25T02:00:00+01:00" in starts
    assert starts.index("2026-10-25T02:00:00+01:00") == starts.index("2026-10-25T02:00:00+02:00") + 4
    first, second = (q for q in closed if q.start.isoformat().startswith("2026-10-25T02:00:00"))
    assert first != second and first.start != second.start
    assert first.import_day_wh == second.import_day_wh == 450
    assert sum(q.import_day_wh for q in closed) == 25 * 1800


def test_gap_over_several_quarter_hours_is_interpolated_from_registers_not_power() -> None:
    agg = QuarterHourAggregator()
    t0 = utc("2026-11-22T14:00:00")
    before = feed(agg, steady(t0, 201, 1, (3600, 0, 0, 0)))  # until 14:03:20, 200 Wh
    assert before == []
    # the gateway misses 14:03:21 .. 14:52:39; the registers moved by 6000 Wh in those 2960 s
    resumed = t0 + timedelta(seconds=3160)
    bogus_power = {"1-0:1.7.0": Value(Decimal("99.999"), "kW")}  # must not matter
    added = agg.add(
        make_telegram(resumed, (1_000_000 + 200 + 6000, 1_000_000, 1_000_000, 1_000_000), extra=bogus_power)
    )
    assert added.rejected is None
    assert [q.start.isoformat()[11:16] for q in added] == ["14:00", "14:15", "14:30"]

    # boundary values: linear between (200 s, 200 Wh) and (3160 s, 6200 Wh), rounded half up
    def at(s: int) -> int:
        return 200 + (6000 * (s - 200) * 2 + 2960) // (2 * 2960)

    assert [q.import_day_wh for q in added] == [at(900), at(1800) - at(900), at(2700) - at(1800)]
    assert all(q.estimated and not q.complete for q in added)
    assert [q.telegrams for q in added] == [201, 0, 0]
    current = agg.current()
    assert current is not None and current.estimated and current.import_day_wh == 6200 - at(2700)
    # the telescoping sum is exactly the register difference
    assert sum(q.import_day_wh for q in added) + current.import_day_wh == 6200


def test_gap_inside_one_quarter_hour_is_incomplete_but_exact() -> None:
    agg = QuarterHourAggregator()
    t0 = utc("2026-11-22T14:00:00")
    telegrams = [t for i, t in enumerate(steady(t0, 901, 1, (3600, 0, 0, 0))) if not 100 <= i < 400]
    closed = feed(agg, telegrams)
    assert len(closed) == 1
    assert closed[0].import_day_wh == 900 and not closed[0].complete and not closed[0].estimated
    assert closed[0].telegrams == 600


def test_a_boundary_interpolated_over_a_short_gap_flags_both_neighbours_estimated_and_incomplete() -> None:
    """One telegram lost, the one stamped at 14:15:00 (a 2 s gap, under max_gap_s): the boundary value is
    interpolated, and it is off the meter's own reading there, so neither neighbour is exact."""
    agg = QuarterHourAggregator()
    t0 = utc("2026-11-22T14:00:00")
    # the register steps by whole Wh: +1 Wh on odd seconds only, so the meter read 450 Wh at 900 s
    telegrams = [
        make_telegram(t0 + timedelta(seconds=s), (1_000_000 + (s + 1) // 2, 0, 0, 0)) for s in range(1801)
    ]
    closed = feed(agg, [t for s, t in enumerate(telegrams) if s != 900])
    assert [q.start.isoformat()[11:16] for q in closed] == ["14:00", "14:15"]
    # interpolated at 900 s between (899 s, 450 Wh) and (901 s, 451 Wh): 450.5 rounds half up to 451
    assert [q.import_day_wh for q in closed] == [451, 900 - 451]
    assert [q.import_day_wh for q in feed(QuarterHourAggregator(), telegrams)] == [450, 450]  # the truth
    assert all(q.estimated and not q.complete for q in closed)
    assert [q.telegrams for q in closed] == [900, 899]
    # the open one (from 14:30:00, read exactly) is not estimated
    current = agg.current()
    assert current is not None and current.start.isoformat()[11:16] == "14:30" and not current.estimated


def test_an_exact_boundary_after_a_long_gap_leaves_only_the_gap_quarter_hour_incomplete() -> None:
    """A 40 s outage ending with the telegram stamped exactly at 14:15:00: no boundary is interpolated, so
    nothing is estimated; the quarter-hour the gap cut into is incomplete, the next one complete."""
    agg = QuarterHourAggregator()
    t0 = utc("2026-11-22T14:00:00")
    telegrams = [t for s, t in enumerate(steady(t0, 1801, 1, (3600, 0, 0, 0))) if not 860 < s < 900]
    closed = feed(agg, telegrams)
    assert [q.import_day_wh for q in closed] == [900, 900]
    assert not any(q.estimated for q in closed)
    assert [q.complete for q in closed] == [False, True]


def test_cold_start_mid_quarter_is_incomplete() -> None:
    agg = QuarterHourAggregator()
    closed = feed(agg, steady(utc("2026-11-22T14:07:00"), 8 * 60 + 1, 1, (3600, 0, 0, 0)))
    assert len(closed) == 1 and not closed[0].complete and closed[0].import_day_wh == 480


def test_backwards_clock_and_registers_are_rejected_with_a_reason_and_change_nothing() -> None:
    agg = QuarterHourAggregator()
    t0 = utc("2026-11-22T14:00:00")
    feed(agg, steady(t0, 10, 1, (3600, 0, 0, 0)))
    before = agg.snapshot()
    cases = {
        "clock_backwards": make_telegram(t0 + timedelta(seconds=3), regs_at(20, (3600, 0, 0, 0))),
        "register_backwards": make_telegram(
            t0 + timedelta(seconds=11), (999_000, 1_000_000, 1_000_000, 1_000_000)
        ),
    }
    for kind, telegram in cases.items():
        added = agg.add(telegram)
        assert added == [] and added.rejected is not None and added.rejected.kind == kind
        assert agg.check(telegram) == added.rejected
        assert agg.snapshot() == before
    repeated = agg.add(make_telegram(t0 + timedelta(seconds=9), regs_at(9, (3600, 0, 0, 0))))
    assert repeated.rejected is not None and "repeats" in repeated.rejected.reason
    no_clock = parse_telegram(build_telegram("FLU5\\x", {"1-0:1.8.1": Value(Decimal("1.000"), "kWh")}))
    assert (rejected := agg.add(no_clock).rejected) is not None and rejected.kind == "no_timestamp"
    no_regs = parse_telegram(build_telegram("FLU5\\x", {"0-0:1.0.0": Value(t0 + timedelta(seconds=30))}))
    assert (rejected := agg.add(no_regs).rejected) is not None and rejected.kind == "no_registers"
    bad_unit = make_telegram(t0 + timedelta(seconds=30), regs_at(30, (3600, 0, 0, 0)), unit="kvarh")
    assert (rejected := agg.add(bad_unit).rejected) is not None and rejected.kind == "bad_register"
    assert agg.snapshot() == before
    # and the stream goes on
    closed = feed(agg, list(steady(t0, 901, 1, (3600, 0, 0, 0)))[10:])
    assert closed[0].import_day_wh == 900 and closed[0].complete


def test_meter_clock_jump_forward_and_back_neither_loses_nor_doubles_energy() -> None:
    agg = QuarterHourAggregator()
    t0 = utc("2026-11-22T14:00:00")
    jumped = []
    for i in range(3 * 3600 // 5):
        offset = 5 * i
        # between 14:20 and 14:40 the meter's clock reads one hour ahead, then it is set back
        moment = t0 + timedelta(seconds=offset + (3600 if 1200 <= offset < 2400 else 0))
        jumped.append(make_telegram(moment, regs_at(offset, (3600, 0, 0, 0))))
    closed: list[QuarterHour] = []
    rejected = 0
    for t in jumped:
        added = agg.add(t)
        rejected += added.rejected is not None
        closed.extend(added)
    assert rejected > 0
    starts = [q.start for q in closed]
    assert len(starts) == len(set(starts)) and starts == sorted(starts)
    current = agg.current()
    assert current is not None
    last_accepted = agg.last_reading
    assert last_accepted is not None
    total = sum(q.import_day_wh for q in closed) + current.import_day_wh
    assert total == last_accepted[1][0] - 1_000_000


def test_snapshot_restore_continues_exactly_and_replays_are_rejected() -> None:
    telegrams = list(steady(utc("2026-11-22T13:58:00"), 3000, 1, (3600, 720, 360, 0)))
    reference = feed(QuarterHourAggregator(), telegrams)
    first = QuarterHourAggregator()
    closed = feed(first, telegrams[:1234])
    state = json.loads(json.dumps(first.snapshot()))
    second = QuarterHourAggregator()
    second.restore(state)
    replayed = [second.add(t) for t in telegrams[1200:1234]]
    assert all(r.rejected is not None and r.rejected.kind == "clock_backwards" for r in replayed)
    closed += feed(second, telegrams[1234:])
    assert closed == reference


def test_restore_refuses_a_broken_or_foreign_snapshot() -> None:
    agg = QuarterHourAggregator()
    for bad in (
        {"version": 99},
        {"version": 1, "tz": "Europe/Amsterdam"},
        {"version": 1, "tz": "Europe/Brussels"},
    ):
        try:
            agg.restore(bad)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"accepted {bad}")


def test_current_reports_energy_so_far() -> None:
    agg = QuarterHourAggregator()
    assert agg.current() is None
    feed(agg, steady(utc("2026-11-22T14:15:00"), 301, 1, (3600, 0, 0, 0)))
    current = agg.current()
    assert current is not None and current.as_of is not None
    assert current.import_day_wh == 300 and current.duration_s == 300
    assert current.avg_import_kw == Decimal("3.600")
    assert current.to_json("m")["as_of"] == "2026-11-22T14:20:00+01:00"


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 2000), st.integers(0, 3000), st.integers(0, 500)), min_size=1, max_size=60
    ),
    start_offset=st.integers(0, 899),
)
def test_any_stream_telescopes_exactly_and_covers_every_quarter_hour_once(
    steps: list[tuple[int, int, int]], start_offset: int
) -> None:
    agg = QuarterHourAggregator()
    moment = utc("2026-10-25T01:00:00") + timedelta(seconds=start_offset)
    regs = [5_000, 0, 7_000, 0]
    first = make_telegram(moment, (regs[0], regs[1], regs[2], regs[3]))
    assert agg.add(first).rejected is None
    closed: list[QuarterHour] = []
    for dt, d_import, d_export in steps:
        moment += timedelta(seconds=dt)
        regs[0] += d_import
        regs[2] += d_export
        added = agg.add(make_telegram(moment, (regs[0], regs[1], regs[2], regs[3])))
        assert added.rejected is None
        closed.extend(added)
    current = agg.current()
    assert current is not None
    for a, b in itertools.pairwise(closed):
        assert a.end == b.start
    if closed:
        assert closed[-1].end == current.start
    assert sum(q.import_day_wh for q in closed) + current.import_day_wh == regs[0] - 5_000
    assert sum(q.export_day_wh for q in closed) + current.export_day_wh == regs[2] - 7_000
    assert all(q.import_day_wh >= 0 and q.export_day_wh >= 0 for q in closed)


def test_non_finite_and_absurd_registers_are_rejected_not_raised() -> None:
    agg = QuarterHourAggregator()
    at = utc("2026-11-22T13:00:00")
    assert not agg.add(make_telegram(at, (1_000_000, 2_000_000, 0, 0))).rejected
    for value in ("NaN", "sNaN", "Infinity", "-Infinity", "1E+20"):
        telegram = make_telegram(at + timedelta(seconds=1), (1_000_000, 2_000_000, 0, 0))
        telegram.values["1-0:1.8.1"] = Value(Decimal(value), "kWh")
        added = agg.add(telegram)
        assert added.rejected is not None and added.rejected.kind == "bad_register", value
    # a register growing faster than any meter could (1 GWh in a second) is not used either
    jump = agg.add(make_telegram(at + timedelta(seconds=2), (1_000_000_000_000, 2_000_000, 0, 0)))
    assert jump.rejected is not None and jump.rejected.kind == "register_jump"
    assert not agg.add(make_telegram(at + timedelta(seconds=3), (1_000_001, 2_000_000, 0, 0))).rejected
