"""The meter model: exact registers, tariffs by calendar in local time, DST, capacity objects, determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dsmr_parser import TelegramReader, build_telegram, parse_telegram
from meter_sim import Meter, PrepaymentOptions
from meter_sim.calendars import CALENDARS
from prepayment import belgian_public_holidays

from ..telegram_values import moment, number, peaks

BXL = ZoneInfo("Europe/Brussels")
KINDS = ["be-1ph", "be-3ph", "nl-dsmr5", "dsmr22"]


@pytest.mark.parametrize("kind", KINDS)
def test_fast_telegram_equals_builder_and_parses(kind: str) -> None:
    m = Meter(kind, seed=5, start=datetime(2026, 10, 25, 1, 50, tzinfo=BXL))
    for step in (1, 1, 7, 599, 3600, 86400 * 3):
        m.step(step)
        frame = m.telegram()
        assert frame == build_telegram(m.kind.header, m.values(), crc=kind != "dsmr22")
        (tg,) = TelegramReader().feed(frame)
        assert not isinstance(tg, Exception) and tg.unparsed == []
        assert tg.crc == ("absent" if kind == "dsmr22" else "ok")


def test_fast_telegram_equals_builder_with_prepayment() -> None:
    m = Meter("be-3ph", seed=1, start=datetime(2026, 1, 5, tzinfo=BXL), prepayment=PrepaymentOptions())
    m.set_extra_load(5, 3600)
    for _ in range(5):
        m.step(61)
        assert m.telegram() == build_telegram(m.kind.header, m.values())
    assert "0-0:19.10.0" in parse_telegram(m.telegram()).values


def test_determinism_per_seed() -> None:
    start = datetime(2026, 5, 1, 12, tzinfo=BXL)
    a, b, c = (Meter("be-3ph", seed=s, start=start) for s in (7, 7, 8))
    for m in (a, b, c):
        m.step(3 * 3600 + 17)
    assert a.telegram() == b.telegram()
    assert a.telegram() != c.telegram()


def test_vector_steps_equal_second_steps() -> None:
    start = datetime(2026, 3, 28, 20, tzinfo=BXL)
    a, b = Meter("be-3ph", seed=3, start=start), Meter("be-3ph", seed=3, start=start)
    a.step(2 * 86400 + 13)
    for _ in range(2 * 86400 + 13):
        b.step(1)
    assert (a.import_j, a.export_j, a.gas_ml, a.water_ml) == (b.import_j, b.export_j, b.gas_ml, b.water_ml)
    assert a.drain_quarter_hours() == b.drain_quarter_hours()
    assert a.telegram() == b.telegram()


@pytest.mark.parametrize("kind", ["be-1ph", "be-3ph"])
def test_energy_conservation_and_monotonic_registers(kind: str) -> None:
    m = Meter(kind, seed=11, start=datetime(2026, 6, 20, 0, tzinfo=BXL))  # PV: both import and export
    imp0, exp0 = sum(m.import_j), sum(m.export_j)
    regs0 = m._regs_wh()
    steps_imp = steps_exp = 0
    last = regs0
    for _ in range(86400):
        m.step(1)
        steps_imp += m.last_step_import_j
        steps_exp += m.last_step_export_j
        if m.ts % 600 == 0:
            regs = m._regs_wh()
            assert all(x >= y for x, y in zip(regs, last, strict=True))
            last = regs
    assert sum(m.import_j) - imp0 == steps_imp > 0
    assert sum(m.export_j) - exp0 == steps_exp > 0
    qhs = m.drain_quarter_hours()
    regs = m._regs_wh()
    assert sum(q.import_wh for q in qhs) == regs[0] + regs[1] - regs0[0] - regs0[1]
    assert sum(q.export_wh for q in qhs) == regs[2] + regs[3] - regs0[2] - regs0[3]


def _expected_period(name: str, local: datetime) -> str:
    """An independent statement of each calendar's rule."""
    h, wd, d = local.hour, local.weekday(), local.date()
    if name == "single":
        return "day"
    if name == "wallonia-2026":
        return "day" if 7 <= h < 11 or 17 <= h < 22 else "night"
    if name == "flanders-21-6":
        return "night" if wd >= 5 or not 6 <= h < 21 else "day"
    if name == "nl":
        return "night" if wd >= 5 or not 7 <= h < 23 else "day"
    if name == "brussels" and d in belgian_public_holidays(d.year):
        return "night"
    return "night" if wd >= 5 or not 7 <= h < 22 else "day"


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_tariff_switching_in_local_time(name: str) -> None:
    # a fortnight around the spring DST change, the autumn change, and Brussels' Easter Monday/Ascension
    kind = "nl-dsmr5" if name == "nl" else "be-1ph"
    tariff_of = {"day": 2, "night": 1} if name == "nl" else {"day": 1, "night": 2}
    for first in (date(2026, 3, 27), date(2026, 10, 23), date(2026, 4, 4), date(2026, 5, 13)):
        start = datetime(first.year, first.month, first.day, tzinfo=BXL)
        m = Meter(kind, seed=1, start=start, calendar=name)
        for _ in range(4 * 24 * 4):
            m.step(900)
            m.step(1)  # the tariff of the second after the boundary
            local = datetime.fromtimestamp(m.ts - 1, UTC).astimezone(BXL)
            assert m.tariff == tariff_of[_expected_period(name, local)], (name, local)
            tg = parse_telegram(m.telegram())
            assert tg.values["0-0:96.14.0"].value == m.tariff
            m.step(899 - 1)


@pytest.mark.parametrize(("day", "quarters"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_dst_days_have_92_and_100_quarter_hours(day: date, quarters: int) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=BXL)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), BXL)
    m = Meter("be-3ph", seed=2, start=start)
    m.step(int(end.timestamp() - start.timestamp()))
    qhs = m.drain_quarter_hours()
    assert len(qhs) == quarters
    assert all(q.start.astimezone(BXL).date() == day for q in qhs)
    assert len({q.start.timestamp() for q in qhs}) == quarters  # aware instants, not wall times


def test_summer_winter_flags_across_both_changes() -> None:
    m = Meter("be-1ph", seed=1, start=datetime(2026, 3, 29, 1, 59, 58, tzinfo=BXL))
    seen = []
    for _ in range(3):
        m.step(1)
        seen.append(moment(parse_telegram(m.telegram()).values, "0-0:1.0.0"))
    assert m.telegram().count(b"260329030000S") == 1
    assert [t.utcoffset() for t in seen] == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=2)]
    assert seen[1] - seen[0] == timedelta(seconds=1)
    # autumn: 02:59:59 S is followed by 02:00:00 W
    m = Meter("be-1ph", seed=1, start=datetime(2026, 10, 25, 0, 59, 58, tzinfo=UTC))
    m.step(1)
    assert b"261025025959S" in m.telegram()
    m.step(1)
    assert b"261025020000W" in m.telegram()


def test_capacity_objects_match_the_quarter_hours() -> None:
    start = datetime(2026, 1, 1, tzinfo=BXL)
    m = Meter("be-3ph", seed=4, start=start)
    months: dict[tuple[int, int], tuple[int, datetime]] = {}
    running_checked = False
    for _ in range(64 * 96):  # 64 days: two month changes
        m.step(450)
        tg = parse_telegram(m.telegram())
        # 1.4.0: running average import power of the open quarter-hour
        assert number(tg.values, "1-0:1.4.0") * 1000 == m._qh_import_j // 450
        running_checked = True
        m.step(450)
        for q in m.drain_quarter_hours():
            key = (q.start.astimezone(BXL).year, q.start.astimezone(BXL).month)
            best = months.get(key)
            if best is None or 4 * q.import_wh > best[0]:
                months[key] = (4 * q.import_wh, q.start)
    assert running_checked
    tg = parse_telegram(m.telegram())
    now_key = (m.time.year, m.time.month)
    assert number(tg.values, "1-0:1.6.0") * 1000 == months[now_key][0]
    assert tg.values["1-0:1.6.0"].timestamp == months[now_key][1]
    history = peaks(tg.values, "0-0:98.1.0")
    assert [(p.value * 1000, p.peak_time) for p in history] == [
        (Decimal(months[k][0]), months[k][1]) for k in sorted(months) if k != now_key
    ]
    assert [p.month_start and p.month_start.month for p in history] == [
        2,
        3,
    ]  # stamped with the following month's start


@pytest.mark.slow
def test_a_year_of_registers_and_98_1_0() -> None:
    m = Meter("be-3ph", seed=9, start=datetime(2026, 1, 1, tzinfo=BXL))
    imp0 = m._regs_wh()
    m.step(400 * 86400)
    qhs = m.drain_quarter_hours()
    assert len(qhs) == 400 * 96
    regs = m._regs_wh()
    assert sum(q.import_wh for q in qhs) == regs[0] + regs[1] - imp0[0] - imp0[1]
    assert len(peaks(parse_telegram(m.telegram()).values, "0-0:98.1.0")) == 13
