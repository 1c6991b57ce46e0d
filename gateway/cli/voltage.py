"""Supply-voltage quality (EN 50160) from the stored 10-minute means: the evidence a DSO complaint needs.

  p1gw voltage --db /var/lib/p1gw/p1gw.db --out report/                     the whole stored period
  p1gw voltage --db p1gw.db --from 2026-06-01 --to 2026-06-30 --out report/ --lang nl

Writes DIR/voltage.json, DIR/voltage.html and the same page as DIR/voltage.pdf (with the `pdf` extra,
WeasyPrint; without it one line says how to get it): per week and phase the
EN 50160 verdict (95 % of 10-minute means within 230 V ± 10 %, all within +10 % / −15 %), over-voltages and
dips with their times and whether the home was exporting, the meter's sag/swell counters, a plot of the
10-minute means against the limits, and the meter's identity (EAN). Weeks run Monday to Monday, local time.
Exit status 0 when every week passes, 3 when a week fails or is undetermined, 1 on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.report import voltage_html, voltage_json
from analysis.voltage import weekly_compliance
from gateway.cli.analysis_options import add_common, period
from gateway.pdf import write_pdf
from gateway.store import StoreError, open_store
from gateway.store.analysis import meter_identity, voltage_data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--out", required=True, help="directory for voltage.json, voltage.html and voltage.pdf"
    )
    parser.add_argument(
        "--source", choices=("p1", "s1"), help="measurements to judge (default: S1 when stored)"
    )
    parser.add_argument(
        "--min-samples",
        type=int,
        default=300,
        help="a 10-minute window with fewer samples is missing data (default 300: half of 1 s telegrams; "
        "30 for a meter read every 10 s)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (StoreError, ValueError, OSError) as exc:
        print(f"p1gw voltage: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open_store(args.db, tz=args.tz) as store:
        span = period(args, store)
        if span is None:
            raise StoreError(f"{args.db} holds no voltage data yet: run the gateway, or give --from and --to")
        start, end = span
        windows, episodes = voltage_data(store, start, end, args.meter, args.source)
        identity = meter_identity(store, args.meter)
    source = windows[0].source if windows else (args.source or "p1")
    weeks = weekly_compliance(windows, episodes, start, end, tz=args.tz, min_samples=args.min_samples)
    report = voltage_json(weeks, identity, start, end, source, args.tz)
    (out / "voltage.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    html = voltage_html(report, windows, args.lang, args.tz)
    (out / "voltage.html").write_text(html, encoding="utf-8")
    written = [out / "voltage.json", out / "voltage.html"]
    no_pdf = write_pdf(html, out / "voltage.pdf")
    if no_pdf is None:
        written.append(out / "voltage.pdf")
    for week in weeks:
        print(f"{week.start.date()} .. {week.end.date()}: {week.verdict}", file=sys.stderr)
    print(f"wrote {', '.join(map(str, written))}", file=sys.stderr)
    if no_pdf is not None:
        print(f"p1gw voltage: {no_pdf}", file=sys.stderr)
    return 0 if weeks and all(w.verdict == "pass" for w in weeks) else 3
