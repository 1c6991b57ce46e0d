"""Small hand-computable tariffs and quarter-hour series for the tariff tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np

from tariffs.bands import ZONE
from tariffs.load import build, merge, read_toml_text
from tariffs.model import Tariff
from tariffs.series import Usage, local_midnight_ts

# round figures so every expected euro below can be checked by hand
TOY = """
[tariff]
id = "toy"
region = "wallonia"
dso = "toy"
valid_from = 2026-01-01
valid_until = 2027-01-01
vat_pct = 6
options = { single = "single", dual = "wallonia-2026-dual", impact = "wallonia-2026-impact" }
prosumer_regimes = ["compensation", "injection_sale", "community"]

[[component]]
id = "grid"
kind = "energy"
per_kwh.single = 0.10
per_kwh.dual = { peak = 0.12, offpeak = 0.08 }
per_kwh.impact = { peak = 0.20, medium = 0.10, cheap = 0.05 }
source = "test"
verified = true

[[component]]
id = "energy"
kind = "energy"
supplier_energy = true
per_kwh = 0.15
source = "test"
verified = true

[[component]]
id = "fixed"
kind = "fixed"
per_year = 73
source = "test"
verified = true

[[component]]
id = "prosumer"
kind = "prosumer"
per_kva_year = 80
regimes = ["compensation"]
source = "test"
verified = true

[[component]]
id = "injection_price"
kind = "injection"
per_kwh = -0.04
regimes = ["injection_sale", "community"]
vat = false
source = "test"
verified = true
"""

CAPACITY = """
[[component]]
id = "capacity"
kind = "capacity"
per_kw_year = 60
min_kw = 2.5
source = "test"
verified = true
"""


def toy_tariff(*extra: str, **meta: Any) -> Tariff:
    docs = [read_toml_text(TOY, "toy.toml"), *(read_toml_text(x, "extra.toml") for x in extra)]
    if meta:
        docs.append({"tariff": meta})
    return build(merge(docs))


def local_ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix time of a Europe/Brussels wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZONE).timestamp())


def flat_year(year: int = 2026, import_wh: int = 100, export_wh: int = 0) -> Usage:
    lo, hi = local_midnight_ts(date(year, 1, 1)), local_midnight_ts(date(year + 1, 1, 1))
    ts = np.arange(lo, hi, 900, dtype=np.int64)
    return Usage(ts, np.full(ts.size, import_wh, dtype=np.int64), np.full(ts.size, export_wh, dtype=np.int64))


def usage_at(points: dict[int, tuple[int, int]]) -> Usage:
    """Usage from {start_ts: (import Wh, export Wh)}."""
    ts = np.array(sorted(points), dtype=np.int64)
    imp = np.array([points[t][0] for t in ts.tolist()], dtype=np.int64)
    exp = np.array([points[t][1] for t in ts.tolist()], dtype=np.int64)
    return Usage(ts, imp, exp)
