"""The shipped calendars put each local hour in the band DOMAIN.md §2 gives, DST and holidays included."""

from __future__ import annotations

import numpy as np
import pytest

from tariffs.bands import TariffDataError, calendar_from_table, get_calendar
from tests.tariffs.helpers import local_ts


def bands_of_day(name: str, y: int, m: int, d: int) -> str:
    cal = get_calendar(name)
    starts = np.array([local_ts(y, m, d, h) for h in range(24)], dtype=np.int64)
    return "".join(cal.bands[i][0] for i in cal.band_index(starts))


def test_wallonia_2026_dual_peak_is_07_11_and_17_22_every_day() -> None:
    expected = "ooooooo" + "pppp" + "oooooo" + "ppppp" + "oo"
    assert bands_of_day("wallonia-2026-dual", 2026, 3, 4) == expected  # a Wednesday
    assert bands_of_day("wallonia-2026-dual", 2026, 3, 7) == expected  # a Saturday: same windows


def test_impact_cheap_medium_peak() -> None:
    # 00 medium, 01-07 cheap, 07-11 medium, 11-17 cheap, 17-22 peak, 22-01 medium
    assert (
        bands_of_day("wallonia-2026-impact", 2026, 3, 4) == "m" + "c" * 6 + "m" * 4 + "c" * 6 + "p" * 5 + "mm"
    )


def test_legacy_wallonia_and_flanders_weekends_are_off_peak() -> None:
    for name in ("wallonia-legacy-dual", "flanders-dual"):
        assert bands_of_day(name, 2025, 3, 5) == "o" * 7 + "p" * 15 + "oo"
        assert bands_of_day(name, 2025, 3, 8) == "o" * 24


def test_brussels_public_holidays_are_off_peak() -> None:
    assert bands_of_day("brussels-dual", 2026, 12, 24) == "o" * 7 + "p" * 15 + "oo"  # Thursday
    assert bands_of_day("brussels-dual", 2026, 12, 25) == "o" * 24  # Christmas, a Friday
    assert bands_of_day("flanders-dual", 2026, 12, 25) == "o" * 7 + "p" * 15 + "oo"


def test_bands_follow_local_time_across_dst() -> None:
    cal = get_calendar("wallonia-2026-dual")
    # 2026-03-29: 02:00 local does not exist; 07:00 local (CEST) is 05:00 UTC
    seven = local_ts(2026, 3, 29, 7)
    got = cal.band_index(np.array([seven - 900, seven], dtype=np.int64))
    assert [cal.bands[i] for i in got] == ["offpeak", "peak"]


def test_describe_band_joins_windows_across_midnight() -> None:
    assert get_calendar("wallonia-2026-dual").describe_band("offpeak") == "11-17 h, 22-07 h"
    assert get_calendar("wallonia-2026-impact").describe_band("medium") == "07-11 h, 22-01 h"


def test_bad_calendar_data_names_file_and_key() -> None:
    with pytest.raises(TariffDataError, match=r"my\.toml: calendar\.x\.windows\.peak: window \[7, 25\]"):
        calendar_from_table("x", {"default": "o", "windows": {"peak": [[7, 25]]}}, "my.toml")
    with pytest.raises(TariffDataError, match=r"registers lacks peak"):
        calendar_from_table("x", {"default": "o", "windows": {"peak": [[7, 9]]}, "registers": {"o": 2}}, "f")
