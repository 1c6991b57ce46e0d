"""Calendars and day/night mapping per contract (DSO), not per country; presets never mix DSOs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from meter_sim import Meter, PrepaymentOptions
from meter_sim.calendars import CALENDARS, calendar_for_contract, get_calendar, parse_calendar
from meter_sim.cli import add_arguments, run

BXL = ZoneInfo("Europe/Brussels")
WEDNESDAY_NOON = datetime(2026, 6, 3, 12, tzinfo=BXL)  # off-peak in Wallonia 2026, day elsewhere


def test_a_fluvius_header_meter_defaults_to_a_flemish_calendar() -> None:
    m = Meter("be-1ph", seed=1, start=WEDNESDAY_NOON)
    assert m.kind.header.startswith("FLU5") and m.contract == "fluvius"
    assert m.calendar.name == "flanders-22-7"
    assert m.tariff == 1  # day; the Walloon 2026 calendar would say night (2)


def test_an_ores_contract_uses_the_walloon_2026_calendar() -> None:
    m = Meter("be-1ph", seed=1, start=WEDNESDAY_NOON, contract="ores")
    assert m.calendar.name == "wallonia-2026" and m.tariff == 2
    with_prepayment = Meter(
        "be-1ph", seed=1, start=WEDNESDAY_NOON, prepayment=PrepaymentOptions(preset="ores")
    )
    assert with_prepayment.calendar.name == "wallonia-2026"


def test_day_night_mapping_belongs_to_the_calendar_not_the_country() -> None:
    m = Meter("be-1ph", seed=1, start=WEDNESDAY_NOON, calendar="nl")  # a Belgian meter, Dutch numbering
    assert m.tariff == 2  # day counted on tariff 2
    swapped = Meter("be-1ph", seed=1, start=WEDNESDAY_NOON, calendar="peak=7-22,weekends,day=2")
    assert swapped.tariff == 2
    assert CALENDARS["wallonia-2026"].tariff_number("night") == 2


def test_fluvius_zone_switching_at_21_and_6() -> None:
    cal = get_calendar("flanders-21-6")
    assert cal.period_at_local(datetime(2026, 6, 3, 21, 30, tzinfo=BXL)) == "night"
    assert cal.period_at_local(datetime(2026, 6, 3, 6, 30, tzinfo=BXL)) == "day"
    assert cal.period_at_local(datetime(2026, 6, 6, 12, tzinfo=BXL)) == "night"  # Saturday
    assert get_calendar("peak=6-21,weekends").period_at_local(datetime(2026, 6, 3, 20, tzinfo=BXL)) == "day"
    assert get_calendar("flanders-legacy") is CALENDARS["flanders-22-7"]
    assert calendar_for_contract("Sibelga").name == "brussels"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("peak=25-26", "not within 0-24"),
        ("peak=7-x", "expected e.g."),
        ("weekends", "needs peak"),
        ("peak=7-22,day=3", "day_tariff must be 1 or 2"),
        ("peak=7-22,sundays", "unknown item 'sundays'"),
    ],
)
def test_bad_calendar_specs_are_explained(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_calendar(spec)
    with pytest.raises(ValueError, match="unknown tariff calendar 'moon'"):
        get_calendar("moon")


def test_fluvius_preset_opens_no_ores_gas_account() -> None:
    m = Meter("be-3ph", seed=1, start=WEDNESDAY_NOON, prepayment=PrepaymentOptions(preset="fluvius"))
    assert m.account is not None and m.account.config.emergency_credit_eur == 50
    assert m.gas_account is None
    own_dso = Meter("be-3ph", seed=1, start=WEDNESDAY_NOON, prepayment=PrepaymentOptions(preset=None))
    assert own_dso.contract == "fluvius" and own_dso.gas_account is None


def test_ores_preset_keeps_its_central_accounting_by_default() -> None:
    m = Meter("be-3ph", seed=1, start=WEDNESDAY_NOON, prepayment=PrepaymentOptions())  # ORES by default
    assert m.contract == "ores" and m.account is not None and m.gas_account is not None
    assert m.account.config.accounting == "central" and m.gas_account.config.accounting == "central"
    forced = Meter(
        "be-3ph",
        seed=1,
        start=WEDNESDAY_NOON,
        prepayment=PrepaymentOptions(preset="ores", accounting="immediate"),
    )
    assert forced.account is not None and forced.account.config.accounting == "immediate"


def test_mixed_or_unknown_contracts_are_refused() -> None:
    with pytest.raises(ValueError, match="does not match the 'ores' contract"):
        Meter("be-1ph", start=WEDNESDAY_NOON, contract="ores", prepayment=PrepaymentOptions(preset="fluvius"))
    with pytest.raises(ValueError, match="'ores' contract does not fit the NL meter 'nl-dsmr5'"):
        Meter("nl-dsmr5", start=WEDNESDAY_NOON, prepayment=PrepaymentOptions())
    with pytest.raises(ValueError, match="no prepayment rules for the 'sibelga' contract"):
        Meter("be-1ph", start=WEDNESDAY_NOON, contract="sibelga", prepayment=PrepaymentOptions(preset=None))


def test_cli_preset_sets_the_calendar(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--meter", "be-1ph", "--preset", "ores", "--start", WEDNESDAY_NOON.isoformat(), "--count", "1",
         "--fast", "--out", "-"]
    )  # fmt: skip
    assert run(args) == 0
    assert "0-0:96.14.0(0002)" in capsys.readouterr().out
    bad = parser.parse_args(["--calendar", "moon", "--count", "1", "--fast"])
    assert run(bad) == 2
    assert "unknown tariff calendar 'moon'" in capsys.readouterr().err
