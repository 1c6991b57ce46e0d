"""Allocate a community's local production per quarter-hour and write results for its members.

Inputs: a members CSV (ean,name,role,weight[,meter_id][,weight_day,weight_night,weight_weekend])
and a data CSV in one of three formats, recognised by its header: the sharing contract
(start,ean,consumption_kwh,injection_kwh), the gateway's quarter-hour CSV (start, import_kwh,
export_kwh and ean or meter_id) or a DSO long format (start;ean;register;kwh, decimal comma ok).

Keys: fixed (members' weight %), equal, static-period (weight_day/night/weekend),
dynamic (pro rata to consumption), multi-round (--rounds), fluvius-optimal, sibelga-multi-round,
hybrid (--fixed-part). Every key caps a member at its own consumption; the rest is surplus.

Outputs in --out: allocation.csv, kpis.json, community_monthly.csv, members_monthly.csv,
community_quarter_hours.csv, members/<ean>.csv, report.html (and sizing.csv with --size-*).

Examples:
  p1gw share --members members.csv --data data.csv --key dynamic --out out/
  p1gw share --members members.csv --data data.csv --key multi-round \\
      --rounds 60:fixed,40:pro_rata,0:pro_rata --from 2026-01-01 --to 2026-02-01 --out jan/
  p1gw share --members members.csv --data dso.csv --key static-period --peaks 1000 --kth-peak 11 \\
      --out phase1/
  p1gw share --members members.csv --data data.csv --key dynamic --out sizing/ \\
      --size-pv 0,500,1000 --size-wind 0,2000 --size-keys dynamic,fixed
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sharing.clock import DEFAULT_TZ
from sharing.csvio import Community, Dataset, InputError, parse_bound, read_data, read_members
from sharing.engine import Allocation, allocate
from sharing.export import (
    kpis_document,
    write_allocation_csv,
    write_community_quarter_hours,
    write_json,
    write_member_quarter_hours,
    write_monthly_csvs,
)
from sharing.keys import AllocationKey, key_names
from sharing.keyspec import build_key
from sharing.report import render
from sharing.sizing import sweep, unit_series
from sharing.summary import Summary, summarise


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", required=True, type=Path, help="members CSV")
    parser.add_argument("--data", required=True, type=Path, help="quarter-hour data CSV")
    parser.add_argument("--key", required=True, choices=key_names(), help="allocation key")
    parser.add_argument("--rounds", help="multi-round key: RELEASE_PCT:MODE,... (modes: fixed, "
                        "fixed_renormalised, equal, pro_rata)")  # fmt: skip
    parser.add_argument("--fixed-part", default="50", help="hybrid key: %% shared by fixed key")
    parser.add_argument("--sibelga-rounds", type=int, default=3, help="sibelga key: rounds")
    parser.add_argument("--from", dest="start", help="first quarter-hour (ISO time or date)")
    parser.add_argument("--to", dest="end", help="end, exclusive (ISO time or date)")
    parser.add_argument("--tz", default=DEFAULT_TZ, help="time zone for months and periods")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--peaks", type=int, default=1000, help="N largest peaks to analyse")
    parser.add_argument("--kth-peak", type=int, default=11, help="k-th monthly peak (billing)")
    parser.add_argument("--title", default="Energy community report", help="report title")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--no-member-files", action="store_true", help="skip members/<ean>.csv")
    parser.add_argument("--progress", action="store_true", help="progress bar even without TTY")
    parser.add_argument("--size-pv", help="sizing: added PV kW values, comma separated")
    parser.add_argument("--size-wind", help="sizing: added wind kW values, comma separated")
    parser.add_argument("--size-keys", help="sizing: keys to compare (default: --key)")


class Progress:
    """A one-line progress bar on stderr (only when enabled)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.last = 0.0

    def bar(self, label: str) -> Callable[[int, int], None]:
        def update(done: int, total: int) -> None:
            now = time.monotonic()
            if not self.enabled or (done < total and now - self.last < 0.1):
                return
            self.last = now
            filled = int(30 * done / max(1, total))
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{label:<12} [{'#' * filled}{'.' * (30 - filled)}] "
                             f"{100 * done // max(1, total):3d} %{end}")  # fmt: skip
            sys.stderr.flush()

        return update


def share(
    community: Community,
    data: Dataset,
    key: AllocationKey,
    out: Path,
    *,
    top_n: int = 1000,
    k: int = 11,
    title: str = "Energy community report",
    report: bool = True,
    member_files: bool = True,
    progress: Progress | None = None,
) -> tuple[Allocation, Summary]:
    """Allocate and write every output into ``out``; returns the allocation and summary."""
    progress = progress or Progress(False)
    months, month_idx, period = data.grid.calendar()
    allocation = allocate(
        data.consumption_wh,
        data.injection_wh,
        community.roles,
        key,
        period,
        on_progress=progress.bar("allocating"),
    )
    summary = summarise(community, data, allocation, month_idx, months, top_n=top_n, k=k)
    out.mkdir(parents=True, exist_ok=True)
    write_allocation_csv(out / "allocation.csv", community, data, allocation, progress.bar("writing"))
    write_json(out / "kpis.json", kpis_document(community, data.grid, key.name, summary))
    write_monthly_csvs(out, community, summary)
    write_community_quarter_hours(out / "community_quarter_hours.csv", data, summary)
    if member_files:
        write_member_quarter_hours(out / "members", community, data, allocation)
    if report:
        rows = [np.flatnonzero(month_idx == g) for g in range(len(months))]
        html = render(community, summary, key.name, title, rows, top_n)
        (out / "report.html").write_text(html, encoding="utf-8")
    return allocation, summary


def _floats(text: str | None) -> list[float]:
    return [float(x) for x in text.split(",")] if text else [0.0]


def run(args: argparse.Namespace) -> int:
    try:
        community = read_members(args.members)
        data = read_data(
            args.data,
            community,
            start_ts=parse_bound(args.start, args.tz),
            end_ts=parse_bound(args.end, args.tz),
            tz=args.tz,
        )

        def make(name: str) -> Callable[[Community], AllocationKey]:
            return lambda c: build_key(
                name,
                c,
                rounds=args.rounds,
                fixed_part_pct=args.fixed_part,
                sibelga_rounds=args.sibelga_rounds,
            )

        key = make(args.key)(community)
    except (InputError, ValueError) as exc:
        print(f"p1gw share: {exc}", file=sys.stderr)
        return 2
    progress = Progress(args.progress or sys.stderr.isatty())
    try:
        _, summary = share(community, data, key, args.out, top_n=args.peaks, k=args.kth_peak,
                           title=args.title, report=not args.no_report,
                           member_files=not args.no_member_files, progress=progress)  # fmt: skip
        if args.size_pv or args.size_wind:
            _, _, period = data.grid.calendar()
            pv_unit, pv_note = unit_series("pv", community, data)
            wind_unit, wind_note = unit_series("wind", community, data)
            names = (args.size_keys or args.key).split(",")
            points = sweep(community, data, {n: make(n) for n in names}, _floats(args.size_pv),
                           _floats(args.size_wind), pv_unit, wind_unit, period)  # fmt: skip
            with (args.out / "sizing.csv").open("w", encoding="utf-8") as handle:
                handle.write("key,added_pv_kw,added_wind_kw,self_consumption_pct,coverage_pct,"
                             "surplus_pct,production_kwh,shared_kwh\n")  # fmt: skip
                for p in points:
                    j = p.rates.to_json()
                    handle.write(f"{p.key},{p.pv_kw:g},{p.wind_kw:g},"
                                 f"{j['self_consumption_pct']},{j['coverage_pct']},"
                                 f"{j['surplus_pct']},{j['production_kwh']},{j['shared_kwh']}\n")  # fmt: skip
            print(f"sizing: pv profile = {pv_note}; wind profile = {wind_note}", file=sys.stderr)
    except (InputError, ValueError) as exc:
        print(f"p1gw share: {exc}", file=sys.stderr)
        return 2
    total = summary.total_rates().to_json()
    print(
        f"{data.grid.count} quarter-hours x {len(community.members)} members, key {key.name}: "
        f"self-consumption {total['self_consumption_pct']} %, coverage {total['coverage_pct']} %"
        f", surplus {total['surplus_pct']} % -> {args.out}"
    )
    return 0
