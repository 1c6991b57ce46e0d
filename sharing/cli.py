"""Allocate a community's local production per quarter-hour and write results for its members.

Inputs: a members CSV (ean,name,role,weight[,meter_id][,weight_day,weight_night,weight_weekend])
and data files (--data, repeatable) in any format of :mod:`sharing.ingest`, recognised by the header:
the sharing contract (start,ean,consumption_kwh,injection_kwh), the gateway's quarter-hour CSV, a DSO
long format (start;ean;register;kwh), the Fluvius export, or Parquet. The data streams through a
week of a month at a time, read, allocated and written (memory: members x a few weeks, whatever
the period); bad rows are reported together and nothing is written.

Keys: fixed (members' weight %), equal, static-period (weight_day/night/weekend),
dynamic (pro rata to consumption), multi-round (--rounds), fluvius-optimal, sibelga-multi-round,
hybrid (--fixed-part). Every key caps a member at its own consumption; the rest is surplus.

Outputs in --out: allocation.csv, kpis.json, community_monthly.csv, members_monthly.csv,
community_quarter_hours.csv, members/<ean>.csv, report.html (and sizing.csv with --size-*,
parquet/allocation-*.parquet with --parquet).

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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sharing.assemble import CHUNK_QUARTERS, OutOfOrder, data_files, read_data, read_quarter_hours, weeks
from sharing.clock import DEFAULT_TZ, Grid
from sharing.community import Community, Dataset
from sharing.csvio import InputError, parse_bound, read_members
from sharing.engine import allocate
from sharing.export import Outputs, kpis_document, write_json, write_monthly_csvs
from sharing.ingest import Problems
from sharing.keys import AllocationKey, key_names
from sharing.keyspec import build_key
from sharing.report import render
from sharing.sizing import sweep, unit_series
from sharing.summary import Part, Summary, finish, part
from tariffs.text import ENGLISH, Lang


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", required=True, type=Path, help="members CSV")
    parser.add_argument("--data", required=True, type=Path, action="append",
                        help="quarter-hour data: CSV (format from its header) or Parquet file/folder; "
                        "repeat for several files (e.g. one Fluvius export per member)")  # fmt: skip
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
    parser.add_argument(
        "--lang", choices=("en", "fr", "nl"), default="en", help="report language (default en)"
    )
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--no-member-files", action="store_true", help="skip members/<ean>.csv")
    parser.add_argument("--parquet", action="store_true", help="also write parquet/allocation-*.parquet")
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
    data: Dataset | Iterable[Dataset],
    key: AllocationKey,
    out: Path,
    *,
    top_n: int = 1000,
    k: int = 11,
    title: str = "Energy community report",
    report: bool = True,
    member_files: bool = True,
    parquet: bool = False,
    progress: Progress | None = None,
    lang: Lang = ENGLISH,
) -> Summary:
    """Allocate slice by slice (weeks of each month as read, or a whole dataset cut into weeks) and
    write every output into ``out``.

    Nothing appears in ``out`` unless every slice went through: the files are written under
    ``out/.partial`` and put in place at the end.
    """
    progress = progress or Progress(False)
    slices = data.pieces(CHUNK_QUARTERS) if isinstance(data, Dataset) else data
    outputs = Outputs(out, community, member_files=member_files, parquet=parquet)
    parts: list[Part] = []
    grids: list[Grid] = []
    try:
        for piece in slices:  # a week: written while the next one is read and allocated
            months, month_idx, period = piece.grid.calendar()
            bar = progress.bar(f"{piece.grid.local(0):%Y-%m-%d} alloc")
            allocation = allocate(piece.consumption_wh, piece.injection_wh, community.roles, key, period,
                                  on_progress=bar)  # fmt: skip
            parts.append(part(community, piece, allocation, month_idx, months))
            outputs.write(piece, allocation, parts[-1])
            grids.append(piece.grid)
        if not parts:
            raise InputError("no quarter-hours in the selected period")
        summary = finish(community, parts, top_n=top_n, k=k)
        grid = Grid(grids[0].start_ts, sum(g.count for g in grids), grids[0].tz)
        write_json(outputs.tmp / "kpis.json", kpis_document(community, grid, key.name, summary))
        write_monthly_csvs(outputs.tmp, community, summary)
        if report:
            html = render(community, summary, key.name, title, summary.month_rows(), top_n, lang)
            (outputs.tmp / "report.html").write_text(html, encoding="utf-8")
        outputs.wait()  # the last weeks' files (a writer's error is raised here)
    except BaseException:
        outputs.abort()
        raise
    outputs.commit()
    return summary


def _lang(code: str) -> Lang:
    """The report's language from the gateway's catalogs (imported only when one is asked for)."""
    if code == "en":
        return ENGLISH
    from gateway.i18n.report_lang import report_lang

    return report_lang(code)


def _floats(text: str | None) -> list[float]:
    return [float(x) for x in text.split(",")] if text else [0.0]


def _stream(
    args: argparse.Namespace, community: Community, key: AllocationKey, progress: Progress
) -> Summary:
    """Read the data files a week at a time into :func:`share`; when the rows are not in time order,
    read again holding the whole period (memory then grows with the period)."""
    start_ts, end_ts = parse_bound(args.start, args.tz), parse_bound(args.end, args.tz)
    files = data_files(args.data)
    for hold_all in (False, True):
        problems = Problems()
        frames = read_quarter_hours(files, community, problems, tz=args.tz, on_bytes=progress.bar("reading"))
        slices = weeks(community, files, frames, problems, start_ts=start_ts, end_ts=end_ts, tz=args.tz,
                        hold_all=hold_all)  # fmt: skip
        try:
            return share(community, _checked(slices, problems, args.data), key, args.out,
                         top_n=args.peaks, k=args.kth_peak, title=args.title, report=not args.no_report,
                         member_files=not args.no_member_files, parquet=args.parquet,
                         progress=progress, lang=_lang(args.lang))  # fmt: skip
        except OutOfOrder:
            print("p1gw share: rows are not in time order; reading again with the whole period in memory",
                  file=sys.stderr)  # fmt: skip
    raise AssertionError("unreachable")


def _checked(slices: Iterable[Dataset], problems: Problems, paths: list[Path]) -> Iterator[Dataset]:
    """Slices while the data has no problem; every problem is raised once the files are read."""
    for piece in slices:
        if not problems:
            yield piece
    problems.raise_if_any(", ".join(str(p) for p in paths))


def run(args: argparse.Namespace) -> int:
    try:
        community = read_members(args.members)

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
    sizing = bool(args.size_pv or args.size_wind)
    try:
        if sizing:
            if len(args.data) > 1:
                raise ValueError("--size-* works on one --data file")
            data = read_data(args.data[0], community, start_ts=parse_bound(args.start, args.tz),
                             end_ts=parse_bound(args.end, args.tz), tz=args.tz)  # fmt: skip
            summary = share(community, data, key, args.out, top_n=args.peaks, k=args.kth_peak,
                            title=args.title, report=not args.no_report,
                            member_files=not args.no_member_files, parquet=args.parquet,
                            progress=progress, lang=_lang(args.lang))  # fmt: skip
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
        else:
            summary = _stream(args, community, key, progress)
    except (InputError, ValueError) as exc:
        print(f"p1gw share: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output could not be written (WriteError names it), or a file not read
        print(f"p1gw share: {exc}", file=sys.stderr)
        return 1
    total = summary.total_rates().to_json()
    print(
        f"{summary.community_before_wh.size} quarter-hours x {len(community.members)} members, key "
        f"{key.name}: self-consumption {total['self_consumption_pct']} %, coverage "
        f"{total['coverage_pct']} %, surplus {total['surplus_pct']} % -> {args.out}"
    )
    return 0
