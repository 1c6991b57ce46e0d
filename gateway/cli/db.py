"""Database maintenance for the gateway's store (SQLite file, or a PostgreSQL URL for a hub).

  p1gw db migrate --db /var/lib/p1gw/p1gw.db            apply pending schema migrations
  p1gw db backup  --db /var/lib/p1gw/p1gw.db --to /mnt/usb/p1gw-2026-11-22.db
                  (SQLite online backup: consistent while the gateway keeps writing)
  p1gw db restore --db /var/lib/p1gw/p1gw.db --from /mnt/usb/p1gw-2026-11-22.db
                  (stop the gateway first; the backup is checked before anything is overwritten)
  p1gw db export  --db /var/lib/p1gw/p1gw.db --from 2026-11-01 --to 2026-12-01 [--meter ID] [--out q.csv]
                  quarter-hour CSV (`metering.record`, the same bytes as the HTTP API's format=csv):
                  meter_id,ean,start,end,import_day,import_night,export_day,export_night,
                  import_kwh,export_kwh,avg_import_kw,avg_export_kw,complete,estimated
  p1gw db retention --db /var/lib/p1gw/p1gw.db [--history-days 35] [--events-days 400]
  p1gw db info    --db /var/lib/p1gw/p1gw.db            schema version and row counts

Dates without a time are local midnight (Europe/Brussels unless --tz); `--from` is included, `--to` excluded.
PostgreSQL: `--db postgresql://user@host:5432/dbname` (backup/restore: use pg_dump / pg_restore).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from gateway.store import StoreError, migrate, open_store, restore_sqlite
from metering.record import csv_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, summary in (
        ("migrate", "apply pending schema migrations"),
        ("backup", "consistent copy of a SQLite store (safe while the gateway runs)"),
        ("restore", "replace a SQLite store by a backup (stop the gateway first)"),
        ("export", "quarter-hours as CSV"),
        ("retention", "trim downsampled history and old events now"),
        ("info", "schema version and row counts"),
    ):
        action = sub.add_parser(name, help=summary, description=summary)
        action.add_argument("--db", required=True, help="SQLite path or postgresql:// URL")
        if name == "backup":
            action.add_argument("--to", required=True, help="backup file to write")
        if name == "restore":
            action.add_argument("--from", dest="source", required=True, help="backup file to restore")
        if name == "export":
            action.add_argument("--from", dest="start", required=True, help="ISO date or time (included)")
            action.add_argument("--to", dest="end", required=True, help="ISO date or time (excluded)")
            action.add_argument("--meter", help="only this meter id")
            action.add_argument("--out", default="-", help="CSV file (default: stdout)")
            action.add_argument("--tz", default="Europe/Brussels", help="zone of dates without an offset")
        if name == "retention":
            action.add_argument("--history-days", type=float, default=35.0)
            action.add_argument("--events-days", type=float, default=400.0)


def _moment(text: str, tz: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"not an ISO date or time: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(tz))


def write_csv(records: Iterable[Mapping[str, Any]], out: IO[str]) -> int:
    """Write the quarter-hour CSV (header included) to `out`; returns the number of records."""
    lines = csv_lines(records)
    out.write(next(lines))
    count = 0
    for line in lines:
        out.write(line)
        count += 1
    return count


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (StoreError, ValueError, OSError) as exc:
        print(f"p1gw db {args.action}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.action == "migrate":
        before, after = migrate(args.db)
        print(
            f"schema version {before} -> {after}"
            if after != before
            else f"schema version {after}: up to date"
        )
        return 0
    if args.action == "restore":
        version, after = restore_sqlite(args.source, args.db)
        print(f"restored {args.source} (schema version {version}) into {args.db}, now at version {after}")
        return 0
    if args.action == "backup":
        with open_store(args.db) as store:
            target = store.backup(args.to)
        print(f"backup written to {target} ({target.stat().st_size} bytes)")
        return 0
    if args.action == "export":
        start, end = _moment(args.start, args.tz), _moment(args.end, args.tz)
        with open_store(args.db) as store:
            records = store.quarter_hours(start, end, meter_id=args.meter)
        if args.out == "-":
            count = write_csv(records, sys.stdout)
        else:
            with open(args.out, "w", newline="", encoding="utf-8") as out:
                count = write_csv(records, out)
        print(f"{count} quarter-hours exported", file=sys.stderr)
        return 0
    if args.action == "retention":
        with open_store(
            args.db,
            history_retention=timedelta(days=args.history_days),
            events_retention=timedelta(days=args.events_days),
        ) as store:
            deleted = store.apply_retention(datetime.now().astimezone())
        print(json.dumps({"deleted": deleted}))
        return 0
    with open_store(args.db) as store:
        print(json.dumps({"schema_version": store.schema_version, "rows": store.counts()}))
    return 0
