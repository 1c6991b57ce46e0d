"""Time bands as calendars: the band (peak, off-peak, cheap, ...) of every quarter-hour.

Strategy: a calendar is data (``data/calendars.toml``): hour windows per band, a default band, and
optional bands forced on weekends and Belgian public holidays. `BandCalendar.band_index` maps an array
of quarter-hour start times (Unix s) to band numbers; local time is resolved once per distinct UTC
hour (Belgian offsets are whole hours), so a year costs ~9 000 zone look-ups, not 35 000.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from prepayment.config import belgian_public_holidays

IntArray = npt.NDArray[np.int64]
ZONE = ZoneInfo("Europe/Brussels")


class TariffDataError(ValueError):
    """Bad tariff data; the message names the file and the key."""


@dataclass(frozen=True)
class BandCalendar:
    """Band per local hour (24 entries) plus weekend/holiday overrides; registers per band."""

    name: str
    bands: tuple[str, ...]
    by_hour: tuple[str, ...]
    registers: Mapping[str, int]
    weekends: str | None = None
    holidays: str | None = None
    description: str = ""
    source: str = ""

    def band_at(self, local: datetime) -> str:
        """The band at a local wall-clock time."""
        if self.holidays and local.date() in belgian_public_holidays(local.year):
            return self.holidays
        if self.weekends and local.weekday() >= 5:
            return self.weekends
        return self.by_hour[local.hour]

    def band_index(self, start_ts: IntArray) -> IntArray:
        """Index into `bands` for each quarter-hour start (Unix s)."""
        if start_ts.size == 0:
            return np.zeros(0, dtype=np.int64)
        hours, inverse = np.unique(start_ts // 3600, return_inverse=True)
        lookup = {band: i for i, band in enumerate(self.bands)}
        per_hour = np.fromiter(
            (
                lookup[self.band_at(datetime.fromtimestamp(int(h) * 3600, UTC).astimezone(ZONE))]
                for h in hours
            ),
            dtype=np.int64,
            count=hours.size,
        )
        out: IntArray = per_hour[inverse.reshape(-1)]
        return out

    def describe_band(self, band: str) -> str:
        """Hours of a band as text, e.g. ``07-11 h, 17-22 h`` (plus weekends/holidays)."""
        spans: list[tuple[int, int]] = []
        start: int | None = None
        for hour in range(25):
            inside = hour < 24 and self.by_hour[hour] == band
            if inside and start is None:
                start = hour
            elif not inside and start is not None:
                spans.append((start, hour))
                start = None
        if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == 24:  # a window across midnight
            spans = [(spans[-1][0], spans[0][1]), *spans[1:-1]]
        spans.sort()
        text = ", ".join(f"{a:02d}-{b % 24:02d} h" for a, b in spans) if spans else "never on weekdays"
        if self.weekends == band:
            text += " + weekends"
        if self.holidays == band:
            text += " + public holidays"
        return "all hours" if len(self.bands) == 1 else text


def _hours(spec: Any, where: str) -> list[tuple[int, int]]:
    try:
        pairs = [(int(a), int(b)) for a, b in spec]
    except (TypeError, ValueError):
        raise TariffDataError(f"{where}: expected a list of [start_hour, end_hour] pairs") from None
    for a, b in pairs:
        if not (0 <= a <= 23 and 0 <= b <= 24 and a != b):
            raise TariffDataError(f"{where}: window [{a}, {b}] is not within 0..24 h")
    return pairs


def calendar_from_table(name: str, table: Mapping[str, Any], where: str) -> BandCalendar:
    """Build a calendar from its TOML table (``where`` names the file for errors)."""
    default = str(table.get("default", ""))
    if not default:
        raise TariffDataError(f"{where}: calendar.{name} has no `default` band")
    by_hour = [default] * 24
    windows: Mapping[str, Any] = table.get("windows", {})
    for band, spec in windows.items():
        for a, b in _hours(spec, f"{where}: calendar.{name}.windows.{band}"):
            for hour in range(a, b) if a < b else [*range(a, 24), *range(b)]:
                by_hour[hour] = band
    registers_raw: Mapping[str, Any] = table.get("registers", {})
    bands = tuple(dict.fromkeys([default, *windows, *registers_raw]))
    missing = [b for b in bands if b not in registers_raw]
    if missing:
        raise TariffDataError(f"{where}: calendar.{name}.registers lacks {', '.join(missing)}")
    weekends = table.get("weekends")
    holidays = table.get("holidays")
    for key, value in (("weekends", weekends), ("holidays", holidays)):
        if value is not None and value not in bands:
            raise TariffDataError(f"{where}: calendar.{name}.{key} = {value!r} is not one of {list(bands)}")
    return BandCalendar(
        name=name,
        bands=bands,
        by_hour=tuple(by_hour),
        registers={b: int(r) for b, r in registers_raw.items()},
        weekends=weekends,
        holidays=holidays,
        description=str(table.get("description", "")),
        source=str(table.get("source", "")),
    )


@cache
def builtin_calendars() -> dict[str, BandCalendar]:
    """The calendars shipped in ``tariffs/data/calendars.toml``."""
    text = resources.files("tariffs").joinpath("data/calendars.toml").read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    return {
        name: calendar_from_table(name, table, "tariffs/data/calendars.toml")
        for name, table in doc.get("calendar", {}).items()
    }


def get_calendar(name: str) -> BandCalendar:
    """A shipped calendar by name; ValueError listing the known ones."""
    calendars = builtin_calendars()
    if name not in calendars:
        raise TariffDataError(f"unknown calendar {name!r}; known: {', '.join(calendars)}")
    return calendars[name]
