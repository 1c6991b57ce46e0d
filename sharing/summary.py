"""Monthly and whole-period totals of an allocation, ready for kpis.json, CSVs and the report.

Strategy: the period is summarised in slices (a week at a time when streaming, :func:`part`),
then :func:`finish` joins them. One pass of ``np.add.reduceat`` over the contiguous month groups of
a slice gives (months, members) totals of consumption, injection, received and shared injection;
everything else (residual, surplus, rates, real keys) is derived from those exact integer totals.
Peaks use the community's summed consumption of receiving members before sharing and its residual
after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sharing.community import Community, Dataset
from sharing.engine import Allocation, role_masks
from sharing.keys import IntArray
from sharing.kpis import FloatArray, PeakAnalysis, Rates, group_starts, kth_peak_by_group, peaks, sum_by_group


@dataclass(frozen=True, eq=False)
class Summary:
    """Totals (Wh) per month and member, community series, peak analyses. Rates count the
    consumption of receiving members only (a producer's own consumption is not shareable)."""

    months: list[str]
    consumption: IntArray  # (G, M)
    injection: IntArray
    received: IntArray
    shared_injection: IntArray  # (G, M), zero for consumers
    community_before_wh: IntArray  # (T,) summed consumption of receiving members
    community_after_wh: IntArray  # (T,) their summed residual
    peak_analysis: PeakAnalysis
    kth_before_kw: FloatArray  # (G,)
    kth_after_kw: FloatArray
    max_before_kw: FloatArray
    max_after_kw: FloatArray
    k: int
    receives: npt.NDArray[np.bool_]
    month_idx: IntArray  # (T,) month of each quarter-hour

    def month_rows(self) -> list[IntArray]:
        """The quarter-hour rows of each month."""
        return [np.flatnonzero(self.month_idx == g) for g in range(len(self.months))]

    def month_rates(self, g: int) -> Rates:
        return Rates(
            int(self.received[g].sum()),
            int(self.injection[g].sum()),
            int(self.consumption[g][self.receives].sum()),
        )

    @property
    def surplus(self) -> IntArray:
        result: IntArray = self.injection - self.shared_injection
        return result

    @property
    def residual(self) -> IntArray:
        result: IntArray = self.consumption - self.received
        return result

    def total_rates(self) -> Rates:
        return Rates(
            int(self.received.sum()),
            int(self.injection.sum()),
            int(self.consumption[:, self.receives].sum()),
        )


@dataclass(frozen=True, eq=False)
class Part:
    """The totals of one slice of the period (e.g. a month) before the whole-period analyses."""

    months: list[str]
    month_idx: IntArray  # (T,) index into ``months``
    consumption: IntArray  # (G, M)
    injection: IntArray
    received: IntArray
    shared_injection: IntArray
    before: IntArray  # (T,)
    after: IntArray


def part(
    community: Community, data: Dataset, allocation: Allocation, month_idx: IntArray, months: list[str]
) -> Part:
    """Totals of one slice (``month_idx`` from :meth:`Grid.calendar` of the slice's grid)."""
    receives, gives = role_masks(community.roles)
    shared_injection_full = np.zeros_like(data.injection_wh)
    shared_injection_full[:, allocation.giver_columns] = allocation.shared_injection_wh
    injection = data.injection_wh * gives  # a consumer never injects (validated)
    before = (data.consumption_wh * receives).sum(axis=1)
    return Part(
        months=months,
        month_idx=month_idx,
        consumption=sum_by_group(data.consumption_wh, month_idx),
        injection=sum_by_group(injection, month_idx),
        received=sum_by_group(allocation.received_wh, month_idx),
        shared_injection=sum_by_group(shared_injection_full, month_idx),
        before=before,
        after=before - allocation.received_wh.sum(axis=1),
    )


def finish(community: Community, parts: list[Part], *, top_n: int = 1000, k: int = 11) -> Summary:
    """The :class:`Summary` of consecutive slices (a month may span several)."""
    receives, _ = role_masks(community.roles)
    months: list[str] = []
    places: list[IntArray] = []  # each part's months -> their rows in ``months``
    for p in parts:
        rows = []
        for label in p.months:
            if not months or months[-1] != label:
                months.append(label)
            rows.append(len(months) - 1)
        places.append(np.array(rows, np.int64))
    month_idx = np.concatenate([places[i][p.month_idx] for i, p in enumerate(parts)])
    before = np.concatenate([p.before for p in parts])
    after = np.concatenate([p.after for p in parts])
    starts = group_starts(month_idx)
    maxima = [np.maximum.reduceat(s, starts) * 4 / 1000 if s.size else np.zeros(0) for s in (before, after)]
    return Summary(
        months=months,
        consumption=_by_month(parts, places, len(months), "consumption"),
        injection=_by_month(parts, places, len(months), "injection"),
        received=_by_month(parts, places, len(months), "received"),
        shared_injection=_by_month(parts, places, len(months), "shared_injection"),
        community_before_wh=before,
        community_after_wh=after,
        peak_analysis=peaks(before, after, top_n),
        kth_before_kw=kth_peak_by_group(before, month_idx, k),
        kth_after_kw=kth_peak_by_group(after, month_idx, k),
        max_before_kw=maxima[0],
        max_after_kw=maxima[1],
        k=k,
        receives=receives,
        month_idx=month_idx,
    )


def _by_month(parts: list[Part], places: list[IntArray], count: int, name: str) -> IntArray:
    """(months, members) totals of the parts' ``name``; a month split across parts adds up."""
    total = np.zeros((count, parts[0].consumption.shape[1]), np.int64)
    for p, rows in zip(parts, places, strict=True):
        total[rows] += getattr(p, name)
    return total


def summarise(
    community: Community,
    data: Dataset,
    allocation: Allocation,
    month_idx: IntArray,
    months: list[str],
    *,
    top_n: int = 1000,
    k: int = 11,
) -> Summary:
    """Build the :class:`Summary` of an allocation (``month_idx`` from :meth:`Grid.calendar`)."""
    return finish(community, [part(community, data, allocation, month_idx, months)], top_n=top_n, k=k)
