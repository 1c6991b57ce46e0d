"""A year of quarter-hours for the simulator's households, straight from `meter_sim.profiles` (fast)."""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np

from meter_sim.profiles import make_profile
from tariffs.series import Usage, local_midnight_ts


@cache
def household_year(kind: str, year: int = 2026) -> Usage:
    """``prosumer`` (household + 5 kWp PV) or ``heat_pump`` (household + 3 kW heat pump), net per
    quarter-hour."""
    lo, hi = local_midnight_ts(date(year, 1, 1)), local_midnight_ts(date(year + 1, 1, 1))
    n = (hi - lo) // 900
    watts = make_profile("household", seed=11).series_w(lo, n, 900)
    if kind == "prosumer":
        watts = watts - make_profile("pv", seed=12, kwp=5.0).series_w(lo, n, 900)
    elif kind == "heat_pump":
        watts = watts + make_profile("heat_pump", seed=13).series_w(lo, n, 900)
    else:
        raise ValueError(kind)
    wh = watts * 0.25  # mean W over 15 min -> Wh
    imp = np.floor(np.clip(wh, 0, None)).astype(np.int64)
    exp = np.floor(np.clip(-wh, 0, None)).astype(np.int64)
    return Usage(np.arange(lo, hi, 900, dtype=np.int64), imp, exp)
