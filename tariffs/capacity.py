"""The Flemish capacity term: monthly quarter-hour peaks, their mean, and the minimum per month.

Strategy: a month's peak is its largest quarter-hour import (Wh x 4 = W average); each month counts for
at least ``min_kw`` (2.5 kW for Fluvius residential customers); the term is billed on the mean of the
monthly values over the last 12 months. Everything is exact (`Fraction` kW), months are local calendar
months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np

from tariffs.bands import ZONE
from tariffs.series import Usage


@dataclass(frozen=True)
class MonthPeak:
    """A local month (``YYYY-MM``), its largest quarter-hour import power and when it started."""

    month: str
    peak_kw: Fraction
    at_ts: int


def month_labels(start_ts: np.ndarray) -> list[str]:
    """Local ``YYYY-MM`` of each quarter-hour start (resolved once per hour)."""
    hours, inverse = np.unique(start_ts // 3600, return_inverse=True)
    labels = [datetime.fromtimestamp(int(h) * 3600, UTC).astimezone(ZONE).strftime("%Y-%m") for h in hours]
    return [labels[i] for i in inverse.reshape(-1).tolist()]


def monthly_peaks(usage: Usage) -> list[MonthPeak]:
    """One `MonthPeak` per local month present in ``usage``, in time order."""
    labels = month_labels(usage.start_ts)
    best: dict[str, tuple[int, int]] = {}
    for label, wh, ts in zip(labels, usage.import_wh.tolist(), usage.start_ts.tolist(), strict=True):
        if label not in best or wh > best[label][0]:
            best[label] = (wh, ts)
    return [MonthPeak(m, Fraction(wh * 4, 1000), ts) for m, (wh, ts) in best.items()]


def billed_kw(peaks: list[MonthPeak], min_kw: Fraction, *, lower_by_kw: Fraction = Fraction(0)) -> Fraction:
    """Mean over months of max(min_kw, peak - lower_by_kw); 0 without months."""
    if not peaks:
        return Fraction(0)
    values = [max(min_kw, max(Fraction(0), p.peak_kw - lower_by_kw)) for p in peaks]
    return sum(values, Fraction(0)) / len(values)
