"""Tariff calendars as data, per contract: which period ("day" = peak, "night" = off-peak) is active at a
local time, and which meter tariff number each period is counted on.

Strategy: a calendar is a frozen record of whole-hour peak windows plus two flags (weekends and Belgian
public holidays off-peak) and the contract's day/night mapping (`day_tariff`: Belgian contracts count day on
tariff 1, Dutch ones on tariff 2; e-MUCS says "generally", so it is data, not a country rule). Switches
happen on local whole hours only, so `next_switch(ts)` scans hour by hour (at most a week and a bit) and the
per-second model only compares an integer. Local time is Europe/Brussels (DST included). Which calendar a
contract uses is `CONTRACT_CALENDARS`; a zone or contract not listed is described with `parse_calendar`
("peak=6-21,weekends"). Pure: no clock is read, every time is an argument.

API (shared with pricing code): `get_calendar(name_or_spec)`, `calendar_for_contract(dso)`,
`TariffCalendar.period_at_local(dt) / period_at(ts) / next_switch(ts) / tariff_number(period)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from prepayment.config import belgian_public_holidays

ZONE = ZoneInfo("Europe/Brussels")
PERIODS = ("day", "night")


@dataclass(frozen=True, slots=True)
class TariffCalendar:
    """Peak ("day") windows as local [start_h, end_h) hours; everything else is off-peak ("night").

    Args:
        name: the name `--calendar` takes.
        peak_hours: local whole-hour windows of the peak period, e.g. ((7, 11), (17, 22)).
        weekends_off_peak: Saturday and Sunday are off-peak all day.
        holidays_off_peak: Belgian public holidays are off-peak all day.
        single: one tariff: always "day".
        day_tariff: the meter's tariff number (1 or 2) counting "day"; "night" is the other one.
        applies_to: where and when the calendar applies (documentation).
        description: the rule in words.
    """

    name: str
    peak_hours: tuple[tuple[int, int], ...]
    weekends_off_peak: bool = False
    holidays_off_peak: bool = False
    single: bool = False
    day_tariff: int = 1
    applies_to: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.day_tariff not in (1, 2):
            raise ValueError(f"calendar {self.name!r}: day_tariff must be 1 or 2")
        for a, b in self.peak_hours:
            if not 0 <= a < b <= 24:
                raise ValueError(f"calendar {self.name!r}: peak window {a}-{b} h is not within 0-24 h")

    def tariff_number(self, period: str) -> int:
        """The meter's tariff number (1 or 2) for "day" or "night" under this contract."""
        if period == "day":
            return self.day_tariff
        if period == "night":
            return 3 - self.day_tariff
        raise ValueError(f"unknown period {period!r}; expected 'day' or 'night'")

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


_WALLOON_DSOS = "the Walloon DSOs (ORES, RESA, AIEG, AIESH, REW)"

CALENDARS: dict[str, TariffCalendar] = {
    c.name: c
    for c in (
        TariffCalendar(
            "wallonia-2026",
            ((7, 11), (17, 22)),
            applies_to=f"{_WALLOON_DSOS}, from 1 January 2026",
            description="peak 07-11 h and 17-22 h, off-peak 11-17 h and 22-07 h, every day incl. weekends",
        ),
        TariffCalendar(
            "wallonia-legacy",
            ((7, 22),),
            weekends_off_peak=True,
            applies_to=f"{_WALLOON_DSOS}, digital meters until 31 December 2025",
            description="night 22-07 h plus weekends",
        ),
        TariffCalendar(
            "brussels",
            ((7, 22),),
            weekends_off_peak=True,
            holidays_off_peak=True,
            applies_to="Sibelga (Brussels)",
            description="off-peak 22-07 h on weekdays, Friday 22 h to Monday 07 h, and public holidays",
        ),
        TariffCalendar(
            "flanders-22-7",
            ((7, 22),),
            weekends_off_peak=True,
            applies_to="Fluvius zones switching at 22 h / 07 h (dual tariff); check the zone's hours",
            description="night 22-07 h plus weekends",
        ),
        TariffCalendar(
            "flanders-21-6",
            ((6, 21),),
            weekends_off_peak=True,
            applies_to="Fluvius zones switching at 21 h / 06 h (dual tariff); check the zone's hours",
            description="night 21-06 h plus weekends",
        ),
        TariffCalendar(
            "nl",
            ((7, 23),),
            weekends_off_peak=True,
            day_tariff=2,
            applies_to="the Netherlands (DSMR: tariff 1 = low, 2 = normal)",
            description="low tariff 23-07 h plus weekends",
        ),
        TariffCalendar(
            "single", (), single=True, applies_to="single-tariff contracts", description="always tariff 1"
        ),
    )
}

ALIASES = {"flanders-legacy": "flanders-22-7"}
"""Former names still accepted."""

CONTRACT_CALENDARS: dict[str, str] = {
    "ores": "wallonia-2026",
    "resa": "wallonia-2026",
    "aieg": "wallonia-2026",
    "aiesh": "wallonia-2026",
    "rew": "wallonia-2026",
    "fluvius": "flanders-22-7",
    "sibelga": "brussels",
    "nl": "nl",
}
"""The default calendar of each DSO's contracts (a Fluvius zone switching 21-06 h: `flanders-21-6`)."""


def contract_country(dso: str) -> str:
    """The country of a DSO's contracts ("BE" or "NL")."""
    return "NL" if dso.lower() == "nl" else "BE"


def calendar_names() -> list[str]:
    """The names `get_calendar` knows (aliases included)."""
    return sorted([*CALENDARS, *ALIASES])


def get_calendar(name: str) -> TariffCalendar:
    """A calendar by name, or described by a spec (see `parse_calendar`); clear error otherwise."""
    if "=" in name:
        return parse_calendar(name)
    try:
        return CALENDARS[ALIASES.get(name, name)]
    except KeyError:
        raise ValueError(
            f"unknown tariff calendar {name!r}; known: {', '.join(calendar_names())}, "
            "or a spec like 'peak=6-21,weekends'"
        ) from None


def calendar_for_contract(dso: str) -> TariffCalendar:
    """The default calendar of a DSO's contracts (`CONTRACT_CALENDARS`)."""
    try:
        return CALENDARS[CONTRACT_CALENDARS[dso.lower()]]
    except KeyError:
        known = ", ".join(CONTRACT_CALENDARS)
        raise ValueError(f"no calendar known for DSO {dso!r}; known: {known}") from None


def parse_calendar(spec: str) -> TariffCalendar:
    """A calendar from a spec, for a zone or contract not in `CALENDARS`:
    ``peak=H-H[+H-H...]`` then any of ``weekends``, ``holidays`` (off-peak all day) and ``day=1|2``
    (the tariff number counting day), comma-separated: ``peak=6-21,weekends`` is a 21-06 h zone."""
    peak: tuple[tuple[int, int], ...] | None = None
    flags = {"weekends": False, "holidays": False}
    day_tariff = 1
    for raw in spec.split(","):
        part = raw.strip()
        key, _, value = part.partition("=")
        try:
            if key == "peak":
                windows = []
                for w in value.split("+"):
                    a, _, b = w.partition("-")
                    windows.append((int(a), int(b)))
                peak = tuple(windows)
            elif key == "day":
                day_tariff = int(value)
            elif part in flags:
                flags[part] = True
            else:
                raise ValueError(f"unknown item {part!r}")
        except ValueError as exc:
            raise ValueError(
                f"calendar spec {spec!r}: {exc}; "
                "expected e.g. 'peak=7-11+17-22' or 'peak=6-21,weekends,day=1'"
            ) from None
    if peak is None:
        raise ValueError(f"calendar spec {spec!r}: needs peak=H-H (e.g. 'peak=6-21,weekends')")
    return TariffCalendar(
        spec,
        peak,
        weekends_off_peak=flags["weekends"],
        holidays_off_peak=flags["holidays"],
        day_tariff=day_tariff,
        applies_to="given on the command line",
        description=spec,
    )


def month_start_local(ts: int) -> datetime:
    """Local midnight of the first day of the month containing `ts`."""
    local = datetime.fromtimestamp(ts, UTC).astimezone(ZONE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(ZONE)


def next_month_start_ts(ts: int) -> int:
    """Unix time of the next local month start after `ts`."""
    first = month_start_local(ts)
    nxt = (first.replace(tzinfo=None) + timedelta(days=32)).replace(day=1)
    return int(nxt.replace(tzinfo=ZONE).timestamp())
