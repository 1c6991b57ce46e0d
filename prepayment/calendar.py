"""Local-calendar questions the protections ask: friendly periods, winter period, guarantees, midnights.

Strategy: every question takes an aware datetime and the configuration; local dates and wall times
come from `zoneinfo` (the tz database, no clock). Boundaries are computed by walking from one
candidate boundary to the next (local midnight, end of the night window), which stays correct
across DST changes and chains of friendly days (Friday night -> weekend -> Monday morning).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from .config import FriendlyPeriods, Protection


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The aware start of local `day`."""
    return datetime.combine(day, time(0), tzinfo=tz)


def at_local(day: date, wall: time, tz: tzinfo) -> datetime:
    """The aware instant of local wall time `wall` on `day` (the first one on DST ambiguity)."""
    return datetime.combine(day, wall, tzinfo=tz)


def _in_night(wall: time, night: tuple[time, time]) -> bool:
    start, end = night
    if start <= end:
        return start <= wall < end
    return wall >= start or wall < end


def is_friendly(at: datetime, friendly: FriendlyPeriods | None, tz: tzinfo) -> bool:
    """True when an interruption must not happen at `at`."""
    if friendly is None:
        return False
    local = at.astimezone(tz)
    day = local.date()
    if friendly.weekends and day.weekday() >= 5:
        return True
    if day in friendly.holidays:
        return True
    return friendly.night is not None and _in_night(local.time().replace(tzinfo=None), friendly.night)


def friendly_until(at: datetime, friendly: FriendlyPeriods | None, tz: tzinfo) -> datetime | None:
    """The end of the friendly period containing `at`, or None if `at` is not friendly."""
    if not is_friendly(at, friendly, tz):
        return None
    assert friendly is not None
    t = at
    for _ in range(1000):  # a year of friendly days at most; configuration errors stop here
        if not is_friendly(t, friendly, tz):
            return t
        local = t.astimezone(tz)
        candidates = [local_midnight(local.date() + timedelta(days=1), tz)]
        if friendly.night is not None:
            end = at_local(local.date(), friendly.night[1], tz)
            if end <= t:
                end = at_local(local.date() + timedelta(days=1), friendly.night[1], tz)
            candidates.append(end)
        t = min(candidates)
    raise ValueError("friendly periods never end (check the configuration)")


def in_winter(at: datetime, protection: Protection, tz: tzinfo) -> bool:
    """True when the local date of `at` lies in the winter period (inclusive bounds)."""
    md = at.astimezone(tz).date()
    key = (md.month, md.day)
    start, end = protection.winter_start, protection.winter_end
    if start <= end:
        return start <= key <= end
    return key >= start or key <= end


def next_winter_boundary(at: datetime, protection: Protection, tz: tzinfo) -> datetime:
    """The next instant after `at` where `in_winter` changes (start day 00:00 or day after end)."""
    year = at.astimezone(tz).year
    candidates = []
    for y in (year - 1, year, year + 1):
        candidates.append(local_midnight(date(y, *protection.winter_start), tz))
        candidates.append(local_midnight(date(y, *protection.winter_end) + timedelta(days=1), tz))
    return min(c for c in candidates if c > at)


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, clamped to the month's last day (31 Aug + 6 -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def protection_guaranteed_until(since: datetime, protection: Protection, tz: tzinfo) -> datetime:
    """The first instant a protection active since `since` may end: the same local wall time
    `minimum_months` later, pushed to the end of the winter period when that falls inside it."""
    local = since.astimezone(tz)
    wall = local.time().replace(tzinfo=None, fold=0)
    until = at_local(add_months(local.date(), protection.minimum_months), wall, tz)
    if in_winter(until, protection, tz):
        until = next_winter_boundary(until, protection, tz)
    return until
