"""Production, self-consumption and self-sufficiency in a history view (pure: the view and sums come in).

Strategy: a view of `metering.history.build` has buckets with the meter's import and export; production
per bucket key (Wh, summed from the production quarter-hours) is put beside them. Self-consumption is
production minus export, never below 0; self-sufficiency is self-consumption / (import + self-consumption).
A bucket gets these numbers only when both the meter and the production source have data for it (null
otherwise: a missing reading is not a zero). Without a production source the view says so
(`production_configured` false) and carries no production numbers at all.

Example:
    view = with_production(build(period, rows, ...), {"12:00": 812}, configured=True)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

RATIO = Decimal("0.001")


def _wh(kwh: Any) -> int:
    return int((Decimal(str(kwh)) * 1000).to_integral_value())


def solar_figures(import_wh: int, export_wh: int, production_wh: int) -> dict[str, float]:
    """production_kwh, self_consumption_kwh (production - export, at least 0) and self_sufficiency (0-1)."""
    used = max(0, production_wh - export_wh)
    demand = import_wh + used
    return {
        "production_kwh": float(Decimal(production_wh) / 1000),
        "self_consumption_kwh": float(Decimal(used) / 1000),
        "self_sufficiency": float((Decimal(used) / demand).quantize(RATIO)) if demand else 0.0,
    }


def with_production(
    view: Mapping[str, Any], production_wh: Mapping[str, int], *, configured: bool
) -> dict[str, Any]:
    """The view with `production_configured`, and per bucket and in the totals `production_kwh`,
    `self_consumption_kwh` and `self_sufficiency` (null where the meter or the production is missing)."""
    out = dict(view)
    out["production_configured"] = configured
    if not configured:
        return out
    buckets = []
    totals = [0, 0, 0, 0]  # import, export, production, self-consumption (Wh) of the buckets with both
    for bucket in view["buckets"]:
        entry = dict(bucket)
        key = str(entry["key"])
        if entry.get("has_data") and key in production_wh:
            imp, exp, prod = _wh(entry["import_kwh"]), _wh(entry["export_kwh"]), production_wh[key]
            entry.update(solar_figures(imp, exp, prod))
            totals[0] += imp
            totals[1] += exp
            totals[2] += prod
            totals[3] += max(0, prod - exp)
        else:
            entry.update({"production_kwh": None, "self_consumption_kwh": None, "self_sufficiency": None})
        buckets.append(entry)
    out["buckets"] = buckets
    known = any(b["production_kwh"] is not None for b in buckets)
    summary = dict(view["totals"])
    if known:
        used, demand = totals[3], totals[0] + totals[3]
        summary.update(
            {
                "production_kwh": float(Decimal(totals[2]) / 1000),
                "self_consumption_kwh": float(Decimal(used) / 1000),
                "self_sufficiency": float((Decimal(used) / demand).quantize(RATIO)) if demand else 0.0,
            }
        )
    else:
        summary.update({"production_kwh": None, "self_consumption_kwh": None, "self_sufficiency": None})
    out["totals"] = summary
    out["has_production"] = known
    return out
