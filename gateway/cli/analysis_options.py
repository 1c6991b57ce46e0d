"""What `p1gw voltage` and `p1gw appliances` share: the store, the period and the language options."""

from __future__ import annotations

import argparse
import os
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from analysis.pricing import EnergyPrice, FlatPrice, TariffPrice
from analysis.texts import LANGUAGES
from gateway.store import Store, StoreError
from gateway.store.analysis import stored_period
from tariffs.load import DEFAULT_OFFER, load_tariff, read_toml


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="the gateway's store: SQLite path or postgresql:// URL")
    parser.add_argument("--from", dest="start", help="ISO date or time, included (default: first stored)")
    parser.add_argument("--to", dest="end", help="ISO date or time, excluded; a date includes that day")
    parser.add_argument("--meter", help="meter id (default: the one stored)")
    parser.add_argument(
        "--lang", choices=LANGUAGES, default=os.environ.get("P1GW_LANG", "fr"), help="report language"
    )
    parser.add_argument("--tz", default="Europe/Brussels", help="zone of dates without an offset")


def moment(text: str, tz: str, *, is_end: bool) -> datetime:
    """`2026-06-15` (local midnight; as `--to`, the midnight after) or an ISO time (local when no offset)."""
    zone = ZoneInfo(tz)
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise StoreError(f"not an ISO date: {text!r} (write 2026-06-15)") from exc
        day = day + timedelta(days=1) if is_end else day
        return datetime(day.year, day.month, day.day, tzinfo=zone)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"not an ISO date or time: {text!r} (write 2026-06-15T14:00:00+02:00)") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def period(args: argparse.Namespace, store: Store) -> tuple[datetime, datetime] | None:
    """[from, to) from the options, the stored period filling what is missing; None: nothing stored."""
    stored = stored_period(store, args.meter)
    start = moment(args.start, args.tz, is_end=False) if args.start else None
    end = moment(args.end, args.tz, is_end=True) if args.end else None
    if stored is None and (start is None or end is None):
        return None
    start = start or stored[0]  # type: ignore[index]
    end = end or stored[1]  # type: ignore[index]
    if end <= start:
        raise StoreError(f"--from ({start.isoformat()}) is not before --to ({end.isoformat()}): swap them")
    return start, end


def price_option(text: str | None) -> EnergyPrice | None:
    """`--price 0.35` (€/kWh, all taxes included) -> the pricing the reports use; None: no euros."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise StoreError(f"--price {text!r} is not a number of euros per kWh (e.g. 0.35)") from exc
    if value < 0:
        raise StoreError(f"--price {text} is negative")
    return FlatPrice(value)


def tariff_price(region: str, dso: str | None, option: str, offer: str | None) -> TariffPrice:
    """The user's tariff (shipped grid tariff of region/DSO + levies + an offer: a shipped id or a TOML file,
    default the shipped example) priced per band of ``option`` at today's rates; ValueError naming what is
    wrong."""
    chosen = offer or DEFAULT_OFFER
    tariff = load_tariff(region, dso or None, offer=read_toml(chosen) if chosen.endswith(".toml") else chosen)
    return TariffPrice.of(tariff, option, on=date.today())
