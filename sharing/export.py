"""Writing results: allocation.csv, kpis.json, monthly and per-member CSVs.

Strategy: every energy is written from integer Wh as exact kWh text with three decimals
(:func:`sharing.csvio.format_kwh`), so CSV totals add up to the Wh the engine computed. Files are
written to a temporary name and renamed, so a crash never leaves a half-written file behind.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np

from sharing.clock import Grid
from sharing.csvio import Community, Dataset, format_kwh
from sharing.engine import Allocation
from sharing.keys import PPM
from sharing.kpis import percent, real_key
from sharing.summary import Summary

ALLOCATION_HEADER = (
    "start",
    "ean",
    "consumption_kwh",
    "injection_kwh",
    "shared_kwh",
    "residual_kwh",
    "surplus_kwh",
)
MEMBER_MONTHLY_HEADER = (
    "month",
    "ean",
    "name",
    "role",
    "consumption_kwh",
    "injection_kwh",
    "shared_kwh",
    "residual_kwh",
    "shared_injection_kwh",
    "surplus_kwh",
    "real_key_pct",
    "contract_key_pct",
    "coverage_pct",
)
COMMUNITY_MONTHLY_HEADER = (
    "month",
    "consumption_kwh",
    "production_kwh",
    "shared_kwh",
    "residual_kwh",
    "surplus_kwh",
    "self_consumption_pct",
    "coverage_pct",
    "surplus_pct",
    "max_peak_before_kw",
    "max_peak_after_kw",
    "kth_peak_before_kw",
    "kth_peak_after_kw",
)


@contextmanager
def atomic_open(path: Path) -> Any:
    """Open ``path`` for writing through a temporary file renamed on success."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        yield handle
    os.replace(tmp, path)


def _pct(x: Fraction | None) -> str:
    p = percent(x, 3)
    return "" if p is None else str(p)


def write_allocation_csv(
    path: Path,
    community: Community,
    data: Dataset,
    allocation: Allocation,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """``start,ean,consumption_kwh,injection_kwh,shared_kwh,residual_kwh,surplus_kwh``; rows by
    quarter-hour, then member in members-file order."""
    grid = data.grid
    eans = community.eans
    residual = allocation.residual_wh(data.consumption_wh)
    surplus = allocation.member_surplus_wh(data.injection_wh)
    with atomic_open(path) as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(ALLOCATION_HEADER)
        for t in range(grid.count):
            start = grid.iso(t)
            cons, inj = data.consumption_wh[t].tolist(), data.injection_wh[t].tolist()
            got, res, sur = allocation.received_wh[t].tolist(), residual[t].tolist(), surplus[t]
            out.writerows(
                (start, ean, format_kwh(c), format_kwh(i), format_kwh(g), format_kwh(r),
                 format_kwh(s))
                for ean, c, i, g, r, s in zip(eans, cons, inj, got, res, sur.tolist(), strict=True)
            )  # fmt: skip
            if on_progress is not None and (t % 96 == 0 or t == grid.count - 1):
                on_progress(t + 1, grid.count)


def write_member_quarter_hours(
    folder: Path, community: Community, data: Dataset, allocation: Allocation
) -> None:
    """One CSV per member (``<ean>.csv``) in the allocation.csv format, without the ean column."""
    folder.mkdir(parents=True, exist_ok=True)
    residual = allocation.residual_wh(data.consumption_wh)
    surplus = allocation.member_surplus_wh(data.injection_wh)
    starts = [data.grid.iso(t) for t in range(data.grid.count)]
    for m, member in enumerate(community.members):
        columns = (
            data.consumption_wh[:, m],
            data.injection_wh[:, m],
            allocation.received_wh[:, m],
            residual[:, m],
            surplus[:, m],
        )
        with atomic_open(folder / f"{member.ean}.csv") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(ALLOCATION_HEADER[:1] + ALLOCATION_HEADER[2:])
            lists = [c.tolist() for c in columns]
            out.writerows(
                (start, *(format_kwh(v) for v in values))
                for start, *values in zip(starts, *lists, strict=True)
            )


def write_community_quarter_hours(path: Path, data: Dataset, summary: Summary) -> None:
    """``start,consumption_kwh,residual_kwh,shared_kwh,production_kwh,surplus_kwh`` per
    quarter-hour for the whole community."""
    production = data.injection_wh.sum(axis=1)
    before, after = summary.community_before_wh, summary.community_after_wh
    shared = before - after
    with atomic_open(path) as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(
            ("start", "consumption_kwh", "residual_kwh", "shared_kwh", "production_kwh",
             "surplus_kwh")
        )  # fmt: skip
        for t in range(data.grid.count):
            out.writerow(
                (data.grid.iso(t), format_kwh(before[t]), format_kwh(after[t]),
                 format_kwh(shared[t]), format_kwh(production[t]),
                 format_kwh(production[t] - shared[t]))
            )  # fmt: skip


def write_monthly_csvs(folder: Path, community: Community, summary: Summary) -> None:
    """``members_monthly.csv`` and ``community_monthly.csv``."""
    weights = community.weights_ppm()
    with atomic_open(folder / "members_monthly.csv") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(MEMBER_MONTHLY_HEADER)
        for g, month in enumerate(summary.months):
            keys = real_key(summary.received[g])
            for m, member in enumerate(community.members):
                cons = int(summary.consumption[g, m])
                got = int(summary.received[g, m])
                out.writerow(
                    (month, member.ean, member.name, member.role.value, format_kwh(cons),
                     format_kwh(summary.injection[g, m]), format_kwh(got),
                     format_kwh(cons - got), format_kwh(summary.shared_injection[g, m]),
                     format_kwh(summary.surplus[g, m]), _pct(keys[m]),
                     _pct(Fraction(int(weights[m]), PPM)),
                     _pct(Fraction(got, cons) if cons and member.role.receives else None))
                )  # fmt: skip
    with atomic_open(folder / "community_monthly.csv") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(COMMUNITY_MONTHLY_HEADER)
        for g, month in enumerate(summary.months):
            rates = summary.month_rates(g)
            out.writerow(
                (month, format_kwh(rates.consumption_wh), format_kwh(rates.production_wh),
                 format_kwh(rates.shared_wh), format_kwh(rates.consumption_wh - rates.shared_wh),
                 format_kwh(rates.surplus_wh), _pct(rates.self_consumption),
                 _pct(rates.coverage), _pct(rates.surplus_rate),
                 _kw(summary.max_before_kw[g]), _kw(summary.max_after_kw[g]),
                 _kw(summary.kth_before_kw[g]), _kw(summary.kth_after_kw[g]))
            )  # fmt: skip


def _kw(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.3f}"


def _num(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 3)


def kpis_document(community: Community, grid: Grid, key_name: str, summary: Summary) -> dict[str, object]:
    """The kpis.json document."""
    totals_received = summary.received.sum(axis=0)
    keys = real_key(totals_received)
    weights = community.weights_ppm()
    members: list[dict[str, object]] = []
    for m, member in enumerate(community.members):
        cons = int(summary.consumption[:, m].sum())
        got = int(totals_received[m])
        months = [
            {"month": month, "shared_kwh": int(summary.received[g, m]) / 1000,
             "real_key_pct": _float_pct(real_key(summary.received[g])[m])}
            for g, month in enumerate(summary.months)
        ]  # fmt: skip
        members.append(
            {
                "ean": member.ean,
                "name": member.name,
                "role": member.role.value,
                "meter_id": member.meter_id,
                "contract_key_pct": _float_pct(Fraction(int(weights[m]), PPM)),
                "real_key_pct": _float_pct(keys[m]),
                "consumption_kwh": cons / 1000,
                "shared_kwh": got / 1000,
                "residual_kwh": (cons - got) / 1000,
                "injection_kwh": int(summary.injection[:, m].sum()) / 1000,
                "shared_injection_kwh": int(summary.shared_injection[:, m].sum()) / 1000,
                "surplus_kwh": int(summary.surplus[:, m].sum()) / 1000,
                "months": months,
            }
        )
    month_docs: list[dict[str, object]] = []
    for g, month in enumerate(summary.months):
        doc: dict[str, object] = {"month": month, **summary.month_rates(g).to_json()}
        doc.update(
            max_peak_before_kw=_num(summary.max_before_kw[g]),
            max_peak_after_kw=_num(summary.max_after_kw[g]),
            kth_peak_before_kw=_num(summary.kth_before_kw[g]),
            kth_peak_after_kw=_num(summary.kth_after_kw[g]),
        )
        month_docs.append(doc)
    return {
        "key": key_name,
        "from": grid.iso(0),
        "to": grid.local(grid.count).isoformat(),
        "quarter_hours": grid.count,
        "members": members,
        "total": summary.total_rates().to_json(),
        "months": month_docs,
        "peaks": {**summary.peak_analysis.to_json(), "kth_monthly_peak": summary.k},
        "rounding": "integer Wh; shares floored, remainders go to surplus",
    }


def _float_pct(x: Fraction | None) -> float | None:
    p = percent(x, 3)
    return None if p is None else float(p)


def write_json(path: Path, document: dict[str, object]) -> None:
    with atomic_open(path) as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def write_rows(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    out = csv.writer(handle, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)
