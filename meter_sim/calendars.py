"""Tariff calendars as data: which period ("day" = peak, "night" = off-peak) is active at a local time.

Strategy: a calendar is a frozen record of whole-hour peak windows per weekday plus two flags (weekends and
public holidays off-peak). Switches happen on local whole hours only, so `next_switch(ts)` scans hour by
hour in UTC (at most a week and a bit) and the per-second model only compares an integer. Local time is
Europe/Brussels (DST included); the meter's tariff number for a period is country data (Belgium: day = 1,
night = 2; the Netherlands: night/low = 1, day/normal = 2), see `TARIFF_NUMBER`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from prepayment.config import belgian_public_holidays

ZONE = ZoneInfo("Europe/Brussels")
TARIFF_NUMBER: dict[str, dict[str, int]] = {"BE": {"day": 1, "night": 2}, "NL": {"night": 1, "day": 2}}


@dataclass(frozen=True, slots=True)
class TariffCalendar:
    """Peak ("day") windows as local [start_h, end_h) hours; everything else is off-peak ("night")."""

    name: str
    peak_hours: tuple[tuple[int, int], ...]
    weekends_off_peak: bool = False
    holidays_off_peak: bool = False
    single: bool = False
    description: str = ""

    def period_at_local(self, local: datetime) -> str:
        """ "day" or "night" at a local wall-clock time."""
        if self.single:
            return "day"
        d = local.date()
        if self.weekends_off_peak and d.weekday() >= 5:
            return "night"
        if self.holidays_off_peak and d in _holidays(d.year):
            return "night"
        h = local.hour
        return "day" if any(a <= h < b for a, b in self.peak_hours) else "night"

    def period_at(self, ts: int) -> str:
        """The period at Unix time `ts`."""
        return self.period_at_local(datetime.fromtimestamp(ts, UTC).astimezone(ZONE))

    def next_switch(self, ts: int) -> int:
        """The first Unix time after `ts` whose period differs from the one at `ts` (at most ~9 days)."""
        current = self.period_at(ts)
        t = ts - ts % 3600 + 3600
        for _ in range(24 * 9):
            if self.period_at(t) != current:
                return t
            t += 3600
        return t  # single tariff: "next check" in 9 days


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return belgian_public_holidays(year)


CALENDARS: dict[str, TariffCalendar] = {
    c.name: c
    for c in (
        TariffCalendar(
            "wallonia-2026",
            ((7, 11), (17, 22)),
            description="Wallonia from 2026: peak 07-11 h and 17-22 h, off-peak otherwise, every day",
        ),
        TariffCalendar(
            "wallonia-legacy",
            ((7, 22),),
            weekends_off_peak=True,
            description="Wallonia before 2026: night 22-07 h plus weekends",
        ),
        TariffCalendar(
            "flanders-legacy",
            ((7, 22),),
            weekends_off_peak=True,
            description="Flanders (dual tariff): night 22-07 h plus weekends",
        ),
        TariffCalendar(
            "brussels",
            ((7, 22),),
            weekends_off_peak=True,
            holidays_off_peak=True,
            description="Brussels: 22-07 weekdays, Friday 22 h to Monday 07 h, public holidays",
        ),
        TariffCalendar(
            "nl",
            ((7, 23),),
            weekends_off_peak=True,
            description="Netherlands: low tariff 23-07 h plus weekends",
        ),
        TariffCalendar("single", (), single=True, description="single tariff: always tariff 1"),
    )
}


def get_calendar(name: str) -> TariffCalendar:
    """A calendar by name, with a clear error listing the known ones."""
    try:
        return CALENDARS[name]
    except KeyError:
        raise ValueError(f"unknown tariff calendar {name!r}; known: {', '.join(CALENDARS)}") from None


def local_quarter_start(ts: int) -> int:
    """Start (Unix s) of the quarter-hour containing `ts` (Belgian offsets are whole hours)."""
    return ts - ts % 900


def month_start_local(ts: int) -> datetime:
    """Local midnight of the first day of the month containing `ts`."""
    local = datetime.fromtimestamp(ts, UTC).astimezone(ZONE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(ZONE)


def next_month_start_ts(ts: int) -> int:
    """Unix time of the next local month start after `ts`."""
    first = month_start_local(ts)
    nxt = (first.replace(tzinfo=None) + timedelta(days=32)).replace(day=1)
    return int(nxt.replace(tzinfo=ZONE).timestamp())
