"""P1 timestamps `YYMMDDhhmmssX` to aware datetimes, and back.

X is `S` (summer time) or `W` (winter time). The meter states its own offset, so a flagged timestamp
becomes a datetime with a fixed offset — unambiguous even in the repeated autumn hour. The offsets of S and W
come from the configured zone (Europe/Brussels: W = UTC+1, S = UTC+2; Europe/Dublin: W = UTC+0, S = UTC+1).
Timestamps without a flag (DSMR 2.2/3) are wall-clock times in the zone (first occurrence when repeated).
Impossible timestamps (real meters send `632525252525W` for "no peak yet") become None, never an error, and
so does the Unix epoch (`700101010000W`: an empty M-Bus channel's "no capture yet"), never 2070-01-01.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Europe/Brussels"
_SECONDS = [timedelta(seconds=s) for s in range(60)]
_EPOCH_DAY = "700101"  # 1970-01-01: a clock that was never set, printed by empty M-Bus channels


class MeterClock:
    """Turns the meter's timestamps into aware datetimes for one time zone.

    A telegram's clock changes every second but its minute rarely: the datetime of each minute is built once
    (bounded cache) and the seconds added, which is several times cheaper than building it anew.
    """

    __slots__ = ("_minutes", "summer", "winter", "zone")

    def __init__(self, tz: str = DEFAULT_TZ) -> None:
        self.zone: tzinfo = ZoneInfo(tz)
        winter_offset = datetime(2021, 1, 15, 12, tzinfo=self.zone).utcoffset() or timedelta(0)
        summer_offset = datetime(2021, 7, 15, 12, tzinfo=self.zone).utcoffset() or timedelta(0)
        self.winter = timezone(winter_offset)
        self.summer = timezone(summer_offset)
        self._minutes: dict[str, datetime | None] = {}

    def parse(self, text: str) -> datetime | None:
        """`YYMMDDhhmmss[S|W]` -> aware datetime, or None if it is not a real instant."""
        length = len(text)
        if length == 13:
            key = text[:10] + text[12]
        elif length == 12:
            key = text[:10]
        else:
            return None
        minutes = self._minutes
        try:
            base = minutes[key]
        except KeyError:
            base = self._minute(key)
            if len(minutes) >= 1024:
                minutes.clear()
            minutes[key] = base
        seconds = text[10:12]
        if base is None or not (seconds.isascii() and seconds.isdigit()):
            return None
        second = int(seconds)
        if second > 59:
            return None
        # within a minute no DST change can happen (they fall on whole hours): adding is exact
        return base + _SECONDS[second] if second else base

    def _minute(self, key: str) -> datetime | None:
        """`YYMMDDhhmm[S|W]` -> the aware datetime of that minute, or None."""
        if len(key) == 11:
            flag = key[10]
            if flag == "S":
                tz: tzinfo = self.summer
            elif flag == "W":
                tz = self.winter
            else:
                return None
        else:
            tz = self.zone
        digits = key[:10]
        if not (digits.isascii() and digits.isdigit()) or digits.startswith(_EPOCH_DAY):
            return None
        try:
            return datetime(
                2000 + int(digits[0:2]),
                int(digits[2:4]),
                int(digits[4:6]),
                int(digits[6:8]),
                int(digits[8:10]),
                tzinfo=tz,
            )
        except ValueError:
            return None

    def format(self, moment: datetime | None, *, flag: bool = True) -> str:
        """Aware datetime -> `YYMMDDhhmmssX` in the meter's local time (the builder's inverse of parse)."""
        if moment is None:
            return "632525252525W" if flag else "632525252525"
        local = moment.astimezone(self.zone)
        text = local.strftime("%y%m%d%H%M%S")
        if not flag:
            return text
        return text + ("S" if local.utcoffset() == self.summer.utcoffset(None) else "W")


@lru_cache(maxsize=16)
def meter_clock(tz: str = DEFAULT_TZ) -> MeterClock:
    """The shared `MeterClock` of a zone."""
    return MeterClock(tz)
