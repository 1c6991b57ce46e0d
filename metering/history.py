"""History views and the capacity card for the dashboard (pure: rows and the time come in as arguments).

Strategy: a view is a local period (`day`, `week` = ISO week, `month`, `year`) around a date, cut into
buckets (quarter-hours, days, days, months). The day view is built from quarter-hour records; the others
from the store's daily totals (one row per day, so a year is 365 rows: the downsampling). Energy is summed
in exact Wh and given in kWh with 3 decimals; euros come from `metering.prices`: flat prices by register,
or, with a tariff's band prices, import priced per time band from the period's quarter-hours (each one's
band at its start; `import_by_band_kwh` per bucket). Peaks are the highest
quarter-hour average import power per bucket (kW), next to the billing floor and the 12-month mean
(DOMAIN §2: mean of the last 12 month peaks, each at least 2.5 kW).

Example:
    period = Period.around("month", date(2026, 11, 14))      # 2026-11-01 .. 2026-12-01, 30 day buckets
    view = build(period, daily_rows, {}, day_peaks, month_peaks, Prices())
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from metering.prices import CENT, Prices, band_cost, cost, new_peak_cost

ViewName = Literal["day", "week", "month", "year"]
VIEWS: tuple[ViewName, ...] = ("day", "week", "month", "year")
FLOOR_KW = Decimal("2.5")
MONTHS_BILLED = 12
KW = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class Period:
    """A local period [first, end) and how it is cut: into quarter-hours (day) or days / months."""

    view: ViewName
    first: date
    end: date

    @staticmethod
    def around(view: ViewName, day: date) -> Period:
        if view == "day":
            return Period(view, day, day + timedelta(days=1))
        if view == "week":
            monday = day - timedelta(days=day.weekday())
            return Period(view, monday, monday + timedelta(days=7))
        if view == "month":
            first = day.replace(day=1)
            return Period(view, first, first + timedelta(days=calendar.monthrange(day.year, day.month)[1]))
        if view == "year":
            return Period(view, date(day.year, 1, 1), date(day.year + 1, 1, 1))
        raise ValueError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")

    def previous(self) -> date:
        return Period.around(self.view, self.first - timedelta(days=1)).first

    def next(self) -> date:
        return self.end

    def bucket_keys(self) -> list[str]:
        """`HH:MM` per quarter-hour (day), `YYYY-MM-DD` per day (week, month), `YYYY-MM` per month (year)."""
        if self.view == "year":
            return [f"{self.first.year:04d}-{m:02d}" for m in range(1, 13)]
        if self.view == "day":
            return [f"{q // 4:02d}:{q % 4 * 15:02d}" for q in range(96)]
        days = (self.end - self.first).days
        return [(self.first + timedelta(days=i)).isoformat() for i in range(days)]


def _kwh(wh: int) -> float:
    return float(Decimal(wh) / 1000)


def _wh(kwh: Any) -> int:
    return int((Decimal(str(kwh)) * 1000).to_integral_value())


def _wh_fast(kwh: Any) -> int:
    """`_wh` for the store's numbers (kWh to the Wh: a float x 1000 rounds to it exactly), 10x faster on a
    year of quarter-hours; anything else goes through Decimal."""
    if isinstance(kwh, float | int) and not isinstance(kwh, bool) and abs(kwh) < 1e9:
        return round(kwh * 1000)
    return _wh(kwh)


def _months_back(month: str, count: int) -> list[str]:
    year, mon = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out


def rolling_mean_kw(month: str, month_peaks: Mapping[str, float]) -> Decimal | None:
    """The capacity figure billed for `month`: the mean over the last 12 months with a known peak (that
    month included), each counted at least 2.5 kW; None when no month is known."""
    counted = [
        max(Decimal(str(month_peaks[m])), FLOOR_KW)
        for m in _months_back(month, MONTHS_BILLED)
        if m in month_peaks
    ]
    if not counted:
        return None
    return (sum(counted, Decimal(0)) / len(counted)).quantize(KW)


def _bucket(
    key: str, d_in: int, n_in: int, out: int, prices: Prices, by_band: Mapping[str, int] | None = None
) -> dict[str, Any]:
    bucket: dict[str, Any] = {
        "key": key,
        "import_day_kwh": _kwh(d_in),
        "import_night_kwh": _kwh(n_in),
        "import_kwh": _kwh(d_in + n_in),
        "export_kwh": _kwh(out),
        "eur": float(cost(d_in, n_in, out, prices).quantize(CENT)) if prices.known else None,
    }
    if prices.bands is not None:
        bands = by_band or {}
        bucket["import_by_band_kwh"] = {band: _kwh(wh) for band, wh in sorted(bands.items())}
        bucket["eur"] = float(band_cost(bands, out, prices).quantize(CENT))
    return bucket


def bucket_key(view: ViewName, start: str) -> str:
    """The bucket of a quarter-hour starting at local ISO time `start` in a view."""
    if view == "day":
        return start[11:16]
    return start[:7] if view == "year" else start[:10]


def import_by_band(
    view: ViewName, quarter_hours: Iterable[Mapping[str, Any]], prices: Prices
) -> dict[str, dict[str, int]]:
    """Imported Wh per band of `prices.bands` per bucket key, from quarter-hour records (`start` in the
    meter's zone); the band of a quarter-hour is the band at its start (bands change on whole hours)."""
    out: dict[str, dict[str, int]] = {}
    if prices.bands is None:
        return out
    band_of_hour: dict[str, str] = {}
    for row in quarter_hours:
        start = str(row["start"])
        hour = start[:13] + start[19:]  # the local hour and its UTC offset (a DST day has two 02:00)
        band = band_of_hour.get(hour)
        if band is None:
            band = band_of_hour[hour] = prices.bands.band_at(datetime.fromisoformat(start))
        wh = _wh_fast(row["import_day"]) + _wh_fast(row["import_night"])
        by_band = out.setdefault(bucket_key(view, start), {})
        by_band[band] = by_band.get(band, 0) + wh
    return out


def build(
    period: Period,
    rows: Iterable[Mapping[str, Any]],
    peaks_by_key: Mapping[str, float],
    month_peaks: Mapping[str, float],
    prices: Prices,
    compare: Iterable[Mapping[str, Any]] = (),
    banded: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """The JSON of one history view.

    Args:
        period: what to show.
        rows: quarter-hour records (day view; `start`, `import_day`, ...) or daily totals (`day`, ...).
        peaks_by_key: highest quarter-hour average import kW per bucket key (days; months in the year view).
        month_peaks: highest quarter-hour kW per month `YYYY-MM` for the 12 months before the period's end.
        prices: for euros (unknown prices: `eur` is null).
        compare: the day view only: the quarter-hours of the same day a week earlier.
        banded: with a tariff's band prices, imported Wh per band per bucket key (`import_by_band`).
    """
    sums: dict[str, list[int]] = {}
    order: list[str] = []
    for row in rows:
        if period.view == "day":
            key = str(row["start"])[11:16]
        elif period.view == "year":
            key = str(row["day"])[:7]
        else:
            key = str(row["day"])
        if key not in sums:
            sums[key] = [0, 0, 0]
            order.append(key)
        acc = sums[key]
        acc[0] += _wh(row["import_day"])
        acc[1] += _wh(row["import_night"])
        acc[2] += _wh(row["export_day"]) + _wh(row["export_night"])
    keys = period.bucket_keys()
    keys += [key for key in order if key not in set(keys)]  # a DST day's extra local quarter-hours
    buckets = []
    for key in keys:
        d_in, n_in, out = sums.get(key, [0, 0, 0])
        bucket = _bucket(key, d_in, n_in, out, prices, (banded or {}).get(key))
        bucket["has_data"] = key in sums
        if key in peaks_by_key:
            bucket["peak_kw"] = peaks_by_key[key]
        buckets.append(bucket)
    totals = [sum(acc[i] for acc in sums.values()) for i in range(3)]
    last_month = (period.end - timedelta(days=1)).isoformat()[:7]
    mean = rolling_mean_kw(last_month, month_peaks)
    in_period = [kw for key, kw in month_peaks.items() if period.first.isoformat()[:7] <= key <= last_month]
    result: dict[str, Any] = {
        "view": period.view,
        "from": period.first.isoformat(),
        "to": period.end.isoformat(),
        "previous": period.previous().isoformat(),
        "next": period.next().isoformat(),
        "buckets": buckets,
        "totals": _bucket("total", totals[0], totals[1], totals[2], prices, _band_totals(banded or {})),
        "has_data": bool(sums),
        "peak_kw": max(in_period) if in_period else None,
        "floor_kw": float(FLOOR_KW),
        "mean_12_kw": float(mean) if mean is not None else None,
        "prices_known": prices.known,
        "prices_source": prices.source,
    }
    if period.view == "day":
        result["compare"] = [
            {"key": str(r["start"])[11:16], "import_kwh": _kwh(_wh(r["import_day"]) + _wh(r["import_night"]))}
            for r in compare
        ]
    return result


def _band_totals(banded: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for by_band in banded.values():
        for band, wh in by_band.items():
            totals[band] = totals.get(band, 0) + wh
    return totals


def capacity_card(peaks: Mapping[str, Any], prices: Prices) -> dict[str, Any]:
    """The capacity card from `/api/v1/peaks` JSON: the month's peak and the floor apart, the one that
    applies (the larger), the running quarter-hour against it, and the euros a new peak would add."""
    quarter = peaks.get("quarter_hour") or {}
    month = peaks.get("month") or {}
    tariff = peaks.get("capacity_tariff") or {}
    floor = Decimal(str(tariff.get("minimum_kw") or FLOOR_KW))
    peak = Decimal(str(month["peak_kw"])) if month.get("peak_kw") is not None else None
    applies = max(peak or Decimal(0), floor)
    projected = Decimal(str(quarter["projected_kw"])) if quarter.get("projected_kw") is not None else None
    over = projected is not None and projected > applies
    return {
        "month": month.get("month"),
        "quarter_start": quarter.get("start"),
        "quarter_end": quarter.get("end"),
        "average_kw": quarter.get("average_kw"),
        "demand_kw": quarter.get("demand_kw"),
        "projected_kw": float(projected) if projected is not None else None,
        "month_peak_kw": float(peak) if peak is not None else None,
        "floor_kw": float(floor),
        "applies_kw": float(applies),
        "applies": "peak" if peak is not None and peak > floor else "floor",
        "over": over,
        "margin_kw": float(applies - projected) if projected is not None else None,
        "mean_12_kw": tariff.get("average_kw"),
        "new_peak_cost_eur": float(new_peak_cost(projected, applies, prices))
        if over and projected is not None and prices.capacity_per_kw_year
        else None,
        "capacity_eur_per_kw_year": float(prices.capacity_per_kw_year)
        if prices.capacity_per_kw_year
        else None,
        "prices_source": _capacity_source(prices),
    }


def _capacity_source(prices: Prices) -> str:
    """Which price makes the capacity euros: the tariff's capacity term, the flat `[dashboard]` one, none."""
    if prices.capacity_from_tariff and prices.bands is not None:
        return prices.bands.name
    return "dashboard" if prices.capacity_per_kw_year else "none"
