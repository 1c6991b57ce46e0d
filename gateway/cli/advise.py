"""Price your last 12 months under every tariff option of your region and say which is cheapest and why.

Reads the quarter-hours from a data file (--data: the gateway's quarter-hour CSV, the sharing CSV or the
DSO long format) or the gateway's database (--db), completes the 12 months when data is missing, and
prices single, dual and Impact (Wallonia) tariffs, compensation against selling the injection (PV
before 2024, Wallonia), and joining a community (--community-share/--community-price). Writes
advice.json and advice.html into --out.

Examples:
  p1gw advise --data quarter-hours.csv --region wallonia --dso ores --out advice/
  p1gw advise --db p1gw.db --region flanders --dso fluvius-imewo --out advice/
  p1gw advise --data qh.csv --region wallonia --pv-before-2024 --inverter-kva 5 \\
      --community-share 30 --community-price 0.10 --offer my-contract.toml --out advice/
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

from gateway.i18n import LANGUAGES
from gateway.i18n.report_lang import report_lang
from gateway.store.usage import (
    non_negative_decimal,
    pick,
    read_price_series,
    read_quarter_hours,
    read_store,
)
from sharing.csvio import InputError
from tariffs.advisor import advise
from tariffs.bands import TariffDataError
from tariffs.bill import CommunityTerms
from tariffs.load import DEFAULT_OFFER, REGIONS, read_toml, shipped_offers
from tariffs.load import load_tariff as load
from tariffs.report import advice_document, advice_html


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="quarter-hour CSV (gateway, sharing or DSO long format)")
    source.add_argument("--db", help="the gateway's database (SQLite path or postgresql:// URL)")
    parser.add_argument("--meter", help="EAN or meter id when the input holds several meters")
    parser.add_argument("--region", required=True, choices=REGIONS)
    parser.add_argument(
        "--dso",
        help="DSO (wallonia: ores, resa, aieg, aiesh, rew; flanders: "
        "fluvius-antwerpen, fluvius-imewo, fluvius-limburg; brussels: sibelga)",
    )
    parser.add_argument(
        "--offer",
        default=DEFAULT_OFFER,
        help=f"supplier offer: a shipped one ({', '.join(shipped_offers())}) or a TOML file",
    )
    parser.add_argument(
        "--tariff",
        type=Path,
        action="append",
        default=[],
        help="a TOML file overriding tariff figures (repeatable)",
    )
    parser.add_argument("--prices", type=Path, help="price series CSV start,eur_per_mwh (indexed offers)")
    parser.add_argument(
        "--pv-before-2024",
        action="store_true",
        help="PV installed before 2024: compensation is possible (Wallonia, until 2030)",
    )
    parser.add_argument(
        "--inverter-kva", type=non_negative_decimal, help="PV inverter power (prosumer tariff)"
    )
    parser.add_argument(
        "--community-share",
        type=non_negative_decimal,
        help="%% of each quarter-hour's consumption the community would cover",
    )
    parser.add_argument(
        "--community-price",
        type=non_negative_decimal,
        default=Decimal("0.10"),
        help="€/kWh for community energy (default 0.10)",
    )
    parser.add_argument(
        "--community-fee",
        type=non_negative_decimal,
        default=Decimal("5"),
        help="community management fee in €/MWh shared (default 5)",
    )
    parser.add_argument(
        "--community-injection-price",
        type=non_negative_decimal,
        help="€/kWh the community pays for your injection (default: the supplier's)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the advice (default en)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.data is not None:
            meters, source = read_quarter_hours(args.data), str(args.data)
        else:
            meters, source = read_store(args.db, args.meter), str(args.db)
        meter, usage = pick(meters, args.meter, source)
        offer = read_toml(args.offer) if args.offer.endswith(".toml") else args.offer
        tariff = load(args.region, args.dso, offer=offer, overrides=[read_toml(p) for p in args.tariff])
        prices = read_price_series(args.prices) if args.prices else None
        community = None
        if args.community_share is not None:
            if args.community_share > 100:
                raise InputError("--community-share is a percentage between 0 and 100")
            community = CommunityTerms(
                args.community_share,
                args.community_price,
                args.community_fee / 1000,
                args.community_injection_price,
            )
        advice = advise(
            usage,
            tariff,
            compensation_eligible=args.pv_before_2024,
            inverter_kva=args.inverter_kva,
            community=community,
            prices_eur_mwh=prices,
        )
    except (InputError, TariffDataError, ValueError) as exc:
        print(f"p1gw advise: {exc}", file=sys.stderr)
        return 2
    lang = report_lang(args.lang)
    doc = advice_document(advice, source=f"{source} ({meter})", lang=lang)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "advice.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (args.out / "advice.html").write_text(advice_html(doc, lang=lang), encoding="utf-8")
    best = advice.cheapest
    print(f"cheapest: {best.label}, {best.total_eur} € a year ({len(advice.ranked)} options) -> {args.out}")
    for reason in advice.reasons[:1]:
        print(reason.text)
    return 0
