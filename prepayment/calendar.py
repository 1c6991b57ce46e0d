"""Local-calendar questions the protections ask: friendly periods, winter, local midnights.

Strategy: every question takes an aware datetime and the configuration; local dates and wall times
come from `zoneinfo` (the tz database, no clock). Boundaries are computed by walking from one
candidate boundary to the next (local midnight, end of the night window), which stays correct
across DST changes and chains of friendly days (Friday night -> weekend -> Monday morning).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from .config import FriendlyPeriods, WinterProtection


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


def in_winter(at: datetime, winter: WinterProtection, tz: tzinfo) -> bool:
    """True when the local date of `at` lies in the protected winter (inclusive bounds)."""
    md = at.astimezone(tz).date()
    key = (md.month, md.day)
    if winter.start <= winter.end:
        return winter.start <= key <= winter.end
    return key >= winter.start or key <= winter.end


def next_winter_boundary(at: datetime, winter: WinterProtection, tz: tzinfo) -> datetime:
    """The next instant after `at` where `in_winter` changes (start day 00:00 or day after end)."""
    year = at.astimezone(tz).year
    candidates = []
    for y in (year - 1, year, year + 1):
        candidates.append(local_midnight(date(y, *winter.start), tz))
        candidates.append(local_midnight(date(y, *winter.end) + timedelta(days=1), tz))
    return min(c for c in candidates if c > at)
