"""Monthly and whole-period totals of an allocation, ready for kpis.json, CSVs and the report.

Strategy: one pass of ``np.add.reduceat`` over the contiguous month groups gives (months, members)
totals of consumption, injection, received and shared injection; everything else (residual,
surplus, rates, real keys) is derived from those exact integer totals. Peaks use the community's
summed consumption of receiving members before sharing and its residual after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sharing.csvio import Community, Dataset
from sharing.engine import Allocation, role_masks
from sharing.keys import IntArray
from sharing.kpis import FloatArray, PeakAnalysis, Rates, kth_peak_by_group, peaks, sum_by_group


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
    receives, gives = role_masks(community.roles)
    shared_injection_full = np.zeros_like(data.injection_wh)
    shared_injection_full[:, allocation.giver_columns] = allocation.shared_injection_wh
    injection = data.injection_wh * gives  # a consumer never injects (validated)
    before = (data.consumption_wh * receives).sum(axis=1)
    after = before - allocation.received_wh.sum(axis=1)
    maxima = [
        np.array([np.max(s[month_idx == g]) * 4 / 1000 for g in range(len(months))]) for s in (before, after)
    ]
    return Summary(
        months=months,
        consumption=sum_by_group(data.consumption_wh, month_idx),
        injection=sum_by_group(injection, month_idx),
        received=sum_by_group(allocation.received_wh, month_idx),
        shared_injection=sum_by_group(shared_injection_full, month_idx),
        community_before_wh=before,
        community_after_wh=after,
        peak_analysis=peaks(before, after, top_n),
        kth_before_kw=kth_peak_by_group(before, month_idx, k),
        kth_after_kw=kth_peak_by_group(after, month_idx, k),
        max_before_kw=maxima[0],
        max_after_kw=maxima[1],
        k=k,
        receives=receives,
    )
