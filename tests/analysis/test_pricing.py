"""Appliance runs and standby priced by the user's tariff: by time band, at the tariffs package's prices."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analysis.appliances import PowerStep, PowerWindow
from analysis.pricing import TariffPrice, energy_cost_eur
from gateway.cli import main
from gateway.config import ConfigError, load_config
from gateway.store import open_store
from gateway.store.analysis import add_analysis
from tariffs.bill import price
from tariffs.load import load_tariff
from tariffs.model import Component, Kind, Regime
from tariffs.money import to_cents
from tariffs.series import Usage

ZONE = ZoneInfo("Europe/Brussels")
ORES = load_tariff("wallonia", "ores")
DUAL = TariffPrice.of(ORES, "dual")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def in_force(component: Component, day: date) -> bool:
    return (component.valid_from is None or component.valid_from <= day) and (
        component.valid_until is None or day < component.valid_until
    )


def by_hand(band: str, on: date = date(2026, 1, 1)) -> Fraction:
    """A band's €/kWh from the tariff's data: every energy rate in force on ``on`` (by default 1 January
    2026, the day `TariffPrice.of` shows), VAT on the VAT-able ones."""
    vat = 1 + Fraction(ORES.vat_pct) / 100
    return sum(
        (
            Fraction(c.rate("dual", band)) * (vat if c.vat else 1)
            for c in ORES.components
            if c.kind is Kind.ENERGY and c.applies(Regime.INJECTION_SALE) and in_force(c, on)
        ),
        Fraction(0),
    )


def test_band_prices_are_the_tariff_packages_all_in_prices() -> None:
    assert DUAL.band_eur_kwh == {"peak": by_hand("peak"), "offpeak": by_hand("offpeak")}
    assert DUAL.describe()["bands"] == [
        {"band": "offpeak", "hours": "11-17 h, 22-07 h", "eur_per_kwh": "0.2710"},
        {"band": "peak", "hours": "07-11 h, 17-22 h", "eur_per_kwh": "0.3669"},
    ]


def test_a_run_across_a_band_switch_costs_the_sum_of_its_parts() -> None:
    # 2 kW from 10:30 to 11:30 on a Wednesday: 1 kWh in the 07-11 h peak, 1 kWh off-peak after 11 h
    cost = energy_cost_eur(DUAL, [(Decimal(2), at("2026-06-03T10:30"), at("2026-06-03T11:30"))])
    assert cost == to_cents(by_hand("peak") + by_hand("offpeak")) == Decimal("0.64")
    # the same energy as quarter-hours, billed by the tariffs package: the same euros (exact)
    start = np.array([int(at(f"2026-06-03T{t}").timestamp()) for t in ("10:30", "10:45", "11:00", "11:15")])
    wh = np.full(4, 500, dtype=np.int64)
    bills = [
        price(Usage(start, w, np.zeros(4, np.int64)), ORES, "dual", Regime.STANDARD) for w in (wh * 0, wh)
    ]
    exact = DUAL.cost_eur(Decimal(2), at("2026-06-03T10:30"), at("2026-06-03T11:30"))
    assert Fraction(exact) == pytest.approx(bills[1].exact_total - bills[0].exact_total, abs=1e-20)
    # wholly inside one band: that band's price; off-peak is cheaper than peak
    peak = DUAL.cost_eur(Decimal(1), at("2026-06-03T08:00"), at("2026-06-03T08:30"))
    night = DUAL.cost_eur(Decimal(1), at("2026-06-03T02:00"), at("2026-06-03T02:30"))
    assert to_cents(Fraction(peak)) == to_cents(by_hand("peak")) and night < peak


def constant_power_by_hand(watts: int, first: date, days: int) -> Fraction:
    """`watts` drawn for `days` days from local midnight of `first`: each day 9 peak hours (07-11 h,
    17-22 h) and the rest off-peak (14, 15 or 16 hours: the clock changes in March and October take or
    give an off-peak night hour), each day at the rates in force that day (the excise changes on 1 August
    2026)."""
    total = Fraction(0)
    for n in range(days):
        day = first + timedelta(days=n)
        hours = (at(f"{day + timedelta(days=1)}T00:00") - at(f"{day}T00:00")) // timedelta(hours=1)
        total += 9 * by_hand("peak", day) + (hours - 9) * by_hand("offpeak", day)
    return total * watts / 1000


def test_the_standby_is_priced_over_the_bands_hours_of_a_year() -> None:
    # 100 W all year (876 kWh): January to July at the rates before 1 August, then the new excise
    cost = energy_cost_eur(DUAL, [(Decimal(876), at("2026-01-01T00:00"), at("2027-01-01T00:00"))])
    assert cost == to_cents(constant_power_by_hand(100, date(2026, 1, 1), 365))
    assert cost < to_cents(
        Fraction(876) * (Fraction(9, 24) * by_hand("peak") + Fraction(15, 24) * by_hand("offpeak"))
    )


def test_an_indexed_offer_or_an_unknown_option_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="indexed"):
        TariffPrice.of(load_tariff("wallonia", "ores", offer="example-indexed-2026"), "dual")
    with pytest.raises(ValueError, match="no 'impact' option"):
        TariffPrice.of(load_tariff("flanders"), "impact")


def small_store(db: Path) -> None:
    store = open_store(db)
    t0 = int(at("2026-06-03T10:30").timestamp())
    night = int(at("2026-06-04T03:00").timestamp())
    steps = [PowerStep(t0, 2000, (1,)), PowerStep(t0 + 3600, -2000, (1,))]  # 2 kWh, 10:30 to 11:30
    add_analysis(store, "M1", steps=steps, power_windows=[PowerWindow(night, 600, 600 * 100, 0)])
    store.close()


def test_cli_prices_runs_and_standby_with_the_users_tariff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "p1gw.db"
    small_store(db)
    span = ["--from", "2026-06-03", "--to", "2026-06-04"]
    tariff = ["--region", "wallonia", "--dso", "ores", "--option", "dual"]
    assert main(["appliances", "--db", str(db), *span, *tariff]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(c["kwh"], c["eur"]) for c in report["clusters"]] == [(2.0, 0.64)]
    year = constant_power_by_hand(100, date(2026, 6, 3), 365)  # a year from the report's first day
    assert report["standby"]["median_w"] == 100
    assert report["standby"]["eur_per_year"] == float(to_cents(year))
    assert report["tariff"]["option"] == "dual" and report["tariff"]["offer_is_example"] is True
    # the flat price overrides the tariff
    assert main(["appliances", "--db", str(db), *span, *tariff, "--price", "0.30"]) == 0
    flat = json.loads(capsys.readouterr().out)
    assert flat["clusters"][0]["eur"] == 0.6 and "tariff" not in flat
    # a DSO that does not exist: one sentence naming the known ones
    assert main(["appliances", "--db", str(db), *span, "--region", "wallonia", "--dso", "acme"]) == 1
    assert "no shipped tariff for DSO 'acme' in wallonia; known: aieg" in capsys.readouterr().err


def test_tariff_section_of_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "p1gw.toml"
    config.write_text("[tariff]\nregion = 'wallonia'\ndso = 'ores'\noption = 'dual'\n")
    tariff = load_config(config, environ={}).tariff
    assert (tariff.region, tariff.dso, tariff.option, tariff.offer) == ("wallonia", "ores", "dual", "")
    for bad, key in (("region = 'mars'", "tariff.region"), ("option = 'night'", "tariff.option")):
        config.write_text(f"[tariff]\n{bad}\n")
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(config, environ={})


def test_configured_tariff_prices_the_http_appliance_report(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from gateway.http import create_app
    from gateway.pipeline import Gateway
    from gateway.sources import make_source

    db = tmp_path / "p1gw.db"
    small_store(db)
    store = open_store(db)
    gateway = Gateway(make_source("sim:be-1ph"), store=store)
    now = at("2026-06-05T12:00")
    client = TestClient(create_app(gateway, clock=lambda: now, tariff=DUAL))
    span = {"from": "2026-06-03", "to": "2026-06-04"}
    report = client.get("/api/v1/appliances", params=span).json()
    assert report["clusters"][0]["eur"] == 0.64 and report["tariff"]["option"] == "dual"
    flat = client.get("/api/v1/appliances", params={**span, "price": "0.30"}).json()
    assert flat["clusters"][0]["eur"] == 0.6 and "tariff" not in flat
    store.close()


def test_run_refuses_a_tariff_it_cannot_load_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import socket

    from gateway.cli.run import serve

    with socket.socket() as probe:  # a free port for the listener `p1gw run` binds first
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "p1gw.toml"
    config.write_text(
        f"[source]\nport = 'sim:be-1ph'\n[http]\nport = {port}\n[storage]\npath = '{tmp_path / 'p.db'}'\n"
        "[tariff]\nregion = 'wallonia'\ndso = 'acme'\n"
    )
    assert asyncio.run(serve(load_config(config, environ={}), duration_s=60)) == 1
    assert "p1gw run: [tariff]: no shipped tariff for DSO 'acme' in wallonia" in capsys.readouterr().err
    assert not (tmp_path / "p.db").exists()  # nothing was started
