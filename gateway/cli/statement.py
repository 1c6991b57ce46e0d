"""The energy community's monthly statement: per member and month, shared kWh and euros.

Reads the members CSV and the quarter-hour data (same formats as `p1gw share`), takes the allocation
from an allocation.csv written by `p1gw share` (--allocation) or computes it (--key), and prices it with
the community's prices: the price of a shared kWh, the management fee (€/MWh shared) and the producers'
remuneration; the surplus is valued with a price series (--surplus-prices, €/MWh per quarter-hour or
hour) or a flat price. With --dso-allocation, every quarter-hour where the DSO's gross / shared / net
figures differ from ours by more than 1 Wh is listed in reconciliation.csv.

Outputs in --out: statement.csv (member x month), community.csv (month totals and the period total),
members/<ean>.html (one page per member), reconciliation.csv (with --dso-allocation).

Examples:
  p1gw statement --members members.csv --data data.csv --key dynamic \\
      --shared-price 0.12 --producer-price 0.08 --fee 5 --surplus-prices dayahead.csv --out statement/
  p1gw statement --members members.csv --data data.csv --allocation out/allocation.csv \\
      --shared-price 0.12 --producer-price 0.08 --dso-allocation dso_2026-05.csv --out may/
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import numpy as np

from gateway.i18n import LANGUAGES
from gateway.i18n.report_lang import report_lang
from gateway.store.usage import non_negative_decimal, read_price_series, read_quarter_hours, read_wide_csv
from metering.quarter_hours import QUARTER_S
from sharing.clock import DEFAULT_TZ, Grid
from sharing.community import Community
from sharing.csvio import InputError, parse_bound, read_members
from sharing.engine import allocate
from sharing.keys import key_names
from sharing.keyspec import build_key
from tariffs.statement import (
    FIELDS,
    AllocationArrays,
    CommunityPrices,
    StatementMember,
    monthly_statement,
    our_rows,
    reconcile,
)
from tariffs.statement_report import (
    COMMUNITY_HEADER,
    MEMBER_HEADER,
    RECONCILIATION_HEADER,
    check_balance,
    community_rows,
    member_page,
    member_rows,
    reconciliation_rows,
)

ALLOCATION_COLUMNS = ("consumption_kwh", "injection_kwh", "shared_kwh", "surplus_kwh")
DSO_COLUMNS = tuple(f"{f}_kwh" for f in FIELDS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", required=True, type=Path, help="members CSV (as for p1gw share)")
    parser.add_argument("--data", required=True, type=Path, help="quarter-hour data CSV")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--allocation", type=Path, help="allocation.csv written by p1gw share")
    how.add_argument(
        "--key", choices=key_names(), default="dynamic", help="compute the allocation (default dynamic)"
    )
    parser.add_argument(
        "--shared-price", required=True, type=non_negative_decimal, help="€/kWh members pay for shared energy"
    )
    parser.add_argument(
        "--producer-price",
        required=True,
        type=non_negative_decimal,
        help="€/kWh paid to producers for shared energy",
    )
    parser.add_argument(
        "--fee",
        type=non_negative_decimal,
        default=Decimal(5),
        help="management fee, €/MWh shared (default 5)",
    )
    parser.add_argument(
        "--surplus-prices", type=Path, help="price series CSV start,eur_per_mwh for the surplus"
    )
    parser.add_argument("--surplus-price", type=non_negative_decimal, help="flat surplus price, €/MWh")
    parser.add_argument("--dso-allocation", type=Path, help="the DSO's allocation file, to reconcile")
    parser.add_argument("--tolerance-wh", type=int, default=1, help="reconciliation tolerance (default 1 Wh)")
    parser.add_argument("--from", dest="start", help="first quarter-hour (ISO time or date)")
    parser.add_argument("--to", dest="end", help="end, exclusive (ISO time or date)")
    parser.add_argument("--tz", default=DEFAULT_TZ, help="time zone of the months")
    parser.add_argument("--title", default="Energy community", help="community name on the pages")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the pages (default en)")


def _matrices(
    community: Community, path: Path, lo: int | None, hi: int | None, tz: str
) -> tuple[Grid, np.ndarray, np.ndarray]:
    meters = read_quarter_hours(path)
    columns = []
    for member in community.members:
        usage = meters.get(member.ean) or (meters.get(member.meter_id) if member.meter_id else None)
        if usage is None:
            raise InputError(f"{path}: no quarter-hours for member {member.ean} ({member.name})")
        columns.append(usage)
    first = lo if lo is not None else min(int(u.start_ts[0]) for u in columns)
    end = hi if hi is not None else max(int(u.start_ts[-1]) for u in columns) + QUARTER_S
    grid = Grid(first, (end - first) // QUARTER_S, tz)
    cons = np.zeros((grid.count, len(columns)), dtype=np.int64)
    inj = np.zeros_like(cons)
    for m, usage in enumerate(columns):
        part = usage.between(first, end)
        if part.start_ts.size != grid.count:
            have = set(part.start_ts.tolist())
            gap = next(grid.ts(i) for i in range(grid.count) if grid.ts(i) not in have)
            raise InputError(
                f"{path}: member {community.members[m].ean} misses "
                f"{grid.count - part.start_ts.size} quarter-hours (first at "
                f"{grid.iso(grid.index_of(gap))}); the statement needs every quarter-hour"
            )
        cons[:, m], inj[:, m] = part.import_wh, part.export_wh
    return grid, cons, inj


def _read_allocation(path: Path, community: Community, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    received = np.zeros((grid.count, len(community.members)), dtype=np.int64)
    shared_inj = np.zeros_like(received)
    for ts, ean, (_, inj, shared, surplus), line in read_wide_csv(path, ALLOCATION_COLUMNS):
        if ean not in community.by_ean:
            raise InputError(f"{path}:{line}: unknown EAN {ean} (not in the members file)")
        try:
            t = grid.index_of(ts)
        except ValueError:
            continue
        m = community.by_ean[ean]
        received[t, m], shared_inj[t, m] = shared, inj - surplus
    return received, shared_inj


def _write(path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def run(args: argparse.Namespace) -> int:
    try:
        community = read_members(args.members)
        lo, hi = parse_bound(args.start, args.tz), parse_bound(args.end, args.tz)
        grid, cons, inj = _matrices(community, args.data, lo, hi, args.tz)
        months, month_idx, period = grid.calendar()
        if args.allocation is not None:
            received, shared_inj = _read_allocation(args.allocation, community, grid)
        else:
            allocation = allocate(cons, inj, community.roles, build_key(args.key, community), period)
            received = allocation.received_wh.astype(np.int64)
            shared_inj = np.zeros_like(received)
            shared_inj[:, allocation.giver_columns] = allocation.shared_injection_wh
        arrays = AllocationArrays(
            np.array([grid.ts(i) for i in range(grid.count)], dtype=np.int64),
            month_idx,
            months,
            cons,
            inj,
            received,
            shared_inj,
        )
        series = read_price_series(args.surplus_prices) if args.surplus_prices else None
        prices = CommunityPrices(args.shared_price, args.producer_price, args.fee, args.surplus_price)
        members = [StatementMember(m.ean, m.name, m.role.value) for m in community.members]
        statement = monthly_statement(members, arrays, prices, series)
        diffs = None
        if args.dso_allocation is not None:
            dso = {
                (ts, ean): tuple(values)
                for ts, ean, values, _ in read_wide_csv(args.dso_allocation, DSO_COLUMNS)
            }
            if not dso:
                raise InputError(f"{args.dso_allocation}: no rows")
            first_dso, last_dso = min(ts for ts, _ in dso), max(ts for ts, _ in dso)
            in_range = (arrays.start_ts >= first_dso) & (arrays.start_ts <= last_dso)
            ours = our_rows(community.eans, arrays.select(in_range))
            diffs = reconcile(dso, ours, args.tolerance_wh)
    except (InputError, ValueError) as exc:
        print(f"p1gw statement: {exc}", file=sys.stderr)
        return 2
    problems = check_balance(statement)
    out: Path = args.out
    (out / "members").mkdir(parents=True, exist_ok=True)
    _write(out / "statement.csv", MEMBER_HEADER, member_rows(statement))
    _write(out / "community.csv", COMMUNITY_HEADER, community_rows(statement))
    for member in members:
        rows = [r for r in statement.rows if r.member.ean == member.ean]
        (out / "members" / f"{member.ean}.html").write_text(
            member_page(member, rows, args.title, lang=report_lang(args.lang)), encoding="utf-8"
        )
    total = statement.total()
    print(
        f"{len(members)} members x {len(months)} months: collected {total.collected_eur} €, paid to "
        f"producers {total.paid_to_producers_eur} €, fees {total.fees_eur} €, margin {total.margin_eur} € "
        f"-> {out}"
    )
    if diffs is not None:
        iso = {grid.ts(i): grid.iso(i) for i in range(grid.count)}
        _write(out / "reconciliation.csv", RECONCILIATION_HEADER, reconciliation_rows(diffs, iso))
        print(
            f"reconciliation: {len(diffs)} differences beyond {args.tolerance_wh} Wh -> "
            f"{out / 'reconciliation.csv'}"
        )
    for problem in problems:
        print(f"p1gw statement: does not balance: {problem}", file=sys.stderr)
    return 1 if problems else 0
