"""KPIs of a sharing community: rates, real keys, peaks.

Strategy: rates are exact ratios (``Fraction``) of integer Wh totals, rounded only when shown:
self-consumption ``%ACC = Q(ACC) / Q(PROD)``, coverage ``%COUV = Q(ACC) / Q(Tconso)``, surplus
rate ``surplus / Q(PROD)``; the real key of a member is its received energy over the total received.
Totals per month (or any grouping of rows) use ``np.add.reduceat`` over contiguous groups. Peaks work
on the community's summed consumption per quarter-hour before sharing and after (residual), in kW
(``kW = Wh * 4 / 1000``): the N largest peaks, their residual at the same quarter-hour, the N largest
residual peaks, mean/min/max attenuation, and the k-th largest quarter-hour of each month (the pilot
billed the 11th).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from sharing.keys import IntArray

FloatArray = npt.NDArray[np.float64]


def _ratio(num: int, den: int) -> Fraction | None:
    return Fraction(num, den) if den else None


def percent(value: Fraction | None, decimals: int = 1) -> Decimal | None:
    """A ratio as a percentage rounded half-even to ``decimals`` places (None stays None)."""
    if value is None:
        return None
    exact = Decimal(value.numerator * 100) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def percent_milli(num: IntArray, den: IntArray) -> IntArray:
    """Vectorised :func:`percent` with three decimals, in thousandths of a percent: ``100 * num / den``
    rounded half-even, for shares ``0 <= num <= den`` (exact integer arithmetic for any Wh totals)."""
    wide = bool(num.size) and int(num.max()) >= np.iinfo(np.int64).max // 100_000
    kind = object if wide else np.int64  # Python integers past what int64 can scale
    scaled, below = num.astype(kind) * 100_000, den.astype(kind)
    q = scaled // below
    r = scaled - q * below
    up = (2 * r > below) | ((2 * r == below) & (q % 2 == 1))
    result: IntArray = (q + up).astype(np.int64)
    return result


@dataclass(frozen=True)
class Rates:
    """Totals in Wh (or any common unit) and the rates derived from them."""

    shared_wh: int
    production_wh: int
    consumption_wh: int

    @property
    def surplus_wh(self) -> int:
        return self.production_wh - self.shared_wh

    @property
    def self_consumption(self) -> Fraction | None:
        """%ACC = Q(ACC) / Q(PROD)."""
        return _ratio(self.shared_wh, self.production_wh)

    @property
    def coverage(self) -> Fraction | None:
        """%COUV = Q(ACC) / Q(Tconso)."""
        return _ratio(self.shared_wh, self.consumption_wh)

    @property
    def surplus_rate(self) -> Fraction | None:
        """Surplus / Q(PROD)."""
        return _ratio(self.surplus_wh, self.production_wh)

    def __add__(self, other: Rates) -> Rates:
        return Rates(
            self.shared_wh + other.shared_wh,
            self.production_wh + other.production_wh,
            self.consumption_wh + other.consumption_wh,
        )

    def to_json(self) -> dict[str, object]:
        def pct(x: Fraction | None) -> float | None:
            p = percent(x, 3)
            return None if p is None else float(p)

        return {
            "shared_kwh": self.shared_wh / 1000,
            "production_kwh": self.production_wh / 1000,
            "consumption_kwh": self.consumption_wh / 1000,
            "surplus_kwh": self.surplus_wh / 1000,
            "self_consumption_pct": pct(self.self_consumption),
            "coverage_pct": pct(self.coverage),
            "surplus_pct": pct(self.surplus_rate),
        }


def group_starts(group_idx: IntArray) -> IntArray:
    """First row of each contiguous group (groups numbered 0..G-1 in row order)."""
    if group_idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(group_idx)) + 1
    starts: IntArray = np.concatenate(([0], change)).astype(np.int64)
    return starts


def sum_by_group(values: npt.NDArray[np.integer], group_idx: IntArray) -> IntArray:
    """Row sums per contiguous group: (T,) -> (G,), (T, M) -> (G, M)."""
    starts = group_starts(group_idx)
    if starts.size == 0:
        return np.zeros((0, *values.shape[1:]), dtype=np.int64)
    summed: IntArray = np.add.reduceat(values.astype(np.int64), starts, axis=0)
    return summed


def real_key(received_wh: IntArray) -> list[Fraction | None]:
    """Each member's received energy over the total received (per member totals in)."""
    total = int(received_wh.sum())
    return [_ratio(int(x), total) for x in received_wh]


def to_kw(wh_per_quarter: npt.NDArray[np.integer]) -> FloatArray:
    """Mean power of a quarter-hour in kW from its energy in Wh."""
    kw: FloatArray = wh_per_quarter.astype(np.float64) * 4 / 1000
    return kw


@dataclass(frozen=True, eq=False)
class PeakAnalysis:
    """The N largest quarter-hour peaks of summed consumption before and after sharing."""

    rows: IntArray  # rows of the N largest peaks before sharing, largest first
    before_kw: FloatArray  # those peaks
    after_same_kw: FloatArray  # residual at the same quarter-hours
    after_top_kw: FloatArray  # the N largest residual peaks, largest first
    attenuation: FloatArray  # (before - after_same) / before per peak

    @property
    def mean_attenuation(self) -> float:
        return float(self.attenuation.mean()) if self.attenuation.size else 0.0

    def to_json(self) -> dict[str, object]:
        att = self.attenuation
        return {
            "n": int(self.rows.size),
            "max_before_kw": float(self.before_kw[0]) if self.rows.size else None,
            "max_after_kw": float(self.after_top_kw[0]) if self.rows.size else None,
            "mean_attenuation_pct": round(100 * self.mean_attenuation, 3),
            "min_attenuation_pct": round(100 * float(att.min()), 3) if att.size else None,
            "max_attenuation_pct": round(100 * float(att.max()), 3) if att.size else None,
        }


def peaks(before_wh: IntArray, after_wh: IntArray, n: int) -> PeakAnalysis:
    """Top-``n`` peak analysis of two (T,) series of summed consumption in Wh per quarter-hour."""
    n = max(0, min(n, before_wh.size))
    order = np.argsort(-before_wh, kind="stable")[:n].astype(np.int64)
    before = to_kw(before_wh[order])
    after_same = to_kw(after_wh[order])
    after_top = to_kw(np.sort(after_wh)[::-1][:n])
    safe = np.where(before > 0, before, 1.0)
    attenuation: FloatArray = np.where(before > 0, (before - after_same) / safe, 0.0)
    return PeakAnalysis(order, before, after_same, after_top, attenuation)


def kth_peak_by_group(series_wh: IntArray, group_idx: IntArray, k: int) -> FloatArray:
    """The k-th largest quarter-hour (kW) of each contiguous group; NaN when a group is shorter."""
    if k < 1:
        raise ValueError("k must be at least 1")
    starts = group_starts(group_idx)
    ends = np.append(starts[1:], series_wh.size)
    out = np.full(starts.size, np.nan)
    for g, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        if hi - lo >= k:
            part = series_wh[lo:hi]
            out[g] = to_kw(np.partition(part, part.size - k)[part.size - k : part.size - k + 1])[0]
    return out
