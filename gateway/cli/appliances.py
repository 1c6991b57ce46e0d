"""Which appliances cost what, and the standby, from the stored power steps and 10-minute power.

  p1gw appliances --db /var/lib/p1gw/p1gw.db                      JSON on standard output
  p1gw appliances --db p1gw.db --from 2026-06-01 --price 0.35 --out report/   + appliances.json/.html
  p1gw appliances --db p1gw.db --region wallonia --dso ores --option dual      priced by time band

Runs of at least --min-kw (default 1) are grouped by power and phases; each group gets a guessed label
(kettle, oven, washing/dishwasher heating, EV charger, heat pump), its runs, kWh and — with --price, in
€/kWh all taxes included, or with --region (the user's tariff: each run priced by the time bands it ran
in) — euros. The standby is the lowest 10-minute mean import of each day without
export; its median is priced for a year.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.appliances import appliance_report
from analysis.pricing import TariffPrice
from analysis.report import appliances_html
from gateway.cli.analysis_options import add_common, period, price_option, tariff_price
from gateway.store import StoreError, open_store
from gateway.store.analysis import appliance_data, meter_identity
from tariffs.load import REGIONS, shipped_offers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--out", help="directory for appliances.json and appliances.html (default: JSON on stdout)"
    )
    parser.add_argument("--price", help="euros per kWh, all taxes included (e.g. 0.35); overrides --region")
    parser.add_argument(
        "--region", choices=REGIONS, help="price by your tariff's time bands (grid + levies + offer + VAT)"
    )
    parser.add_argument("--dso", help="your DSO, e.g. ores (default: the region's largest)")
    parser.add_argument(
        "--option", choices=("single", "dual", "impact"), default="single", help="your tariff option"
    )
    parser.add_argument(
        "--offer",
        help=f"supplier offer: a shipped one ({', '.join(shipped_offers())}, default) or a TOML file",
    )
    parser.add_argument("--min-kw", type=float, default=1.0, help="smallest appliance reported (kW)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (StoreError, ValueError, OSError) as exc:
        print(f"p1gw appliances: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    price = price_option(args.price)
    if price is None and args.region:
        price = tariff_price(args.region, args.dso, args.option, args.offer)
    elif args.region is None and (args.dso or args.offer):
        raise ValueError("--dso and --offer choose a tariff: give --region too")
    with open_store(args.db, tz=args.tz) as store:
        span = period(args, store)
        if span is None:
            raise StoreError(f"{args.db} holds no power data yet: run the gateway, or give --from and --to")
        start, end = span
        steps, windows = appliance_data(store, start, end, args.meter)
        identity = meter_identity(store, args.meter)
    report = appliance_report(
        steps, windows, start, end, price=price, tz=args.tz, min_power_w=round(args.min_kw * 1000)
    )
    report["meter_id"] = identity["meter_id"]
    if isinstance(price, TariffPrice):
        report["tariff"] = price.describe()
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.out is None:
        print(text)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "appliances.json").write_text(text + "\n", encoding="utf-8")
    (out / "appliances.html").write_text(appliances_html(report, args.lang, identity), encoding="utf-8")
    print(f"wrote {out / 'appliances.json'} and {out / 'appliances.html'}", file=sys.stderr)
    return 0
