"""The prepayment function seen through the meter's P1 output, driven by --scenario files."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from dsmr_parser import Telegram, parse_telegram
from meter_sim import Simulation, load_scenario

from ..telegram_values import number

BXL = ZoneInfo("Europe/Brussels")

ELECTRICITY = """
[prepayment]
preset = "ores"
accounting = "immediate"
credit_eur = 1.00
emergency_credit_eur = 2.00
gas = false
[[event]]
at = "1m"
action = "load"
kw = 10.0
duration = "12h"
[[event]]
at = "2h"
action = "top_up"
id = "tx-1"
eur = 2.40
[[event]]
at = "2h10m"
action = "top_up"
id = "tx-2"
eur = 0.15
[[event]]
at = "2h20m"
action = "top_up"
id = "tx-2"
eur = 0.15
[[event]]
at = "2h30m"
action = "press_button"
"""


def _run(tmp_path: Path, text: str, start: datetime, hours: int) -> list[Telegram]:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    sim = Simulation(
        "be-1ph", 3, start, every=60, duration_s=hours * 3600, scenario=load_scenario(path, start)
    )
    return [parse_telegram(frame) for _, frame in sim]


def _v(tg: Telegram, code: str) -> object:
    return tg.values[code].value


def _n(tg: Telegram, code: str) -> Decimal | int:
    return number(tg.values, code)


def test_electricity_credit_interruption_and_reconnection(tmp_path: Path) -> None:
    tgs = _run(tmp_path, ELECTRICITY, datetime(2026, 4, 6, 8, 0, tzinfo=BXL), 3)
    at = {(tg.timestamp.hour, tg.timestamp.minute): tg for tg in tgs if tg.timestamp is not None}
    first = tgs[0]
    # start credit shown, to be recovered
    assert _v(first, "0-0:19.10.0") == Decimal("1.00") and _v(first, "0-0:19.20.0") == Decimal("1.00")
    assert _v(first, "0-0:96.3.10") == 1 and int(str(_v(first, "0-0:19.0.0"))) & 0b10  # low credit bit
    # emergency credit is invoked, then exhausted: interruption
    states = [int(str(_v(t, "0-0:19.11.1"))) for t in tgs]
    assert 3 in states and 4 in states
    cut = next(t for t in tgs if _v(t, "0-0:96.3.10") == 0)
    assert _n(cut, "0-0:19.10.0") <= Decimal("-2.00")
    i = tgs.index(cut)
    # while cut: power 0 and frozen registers
    frozen = tgs[i + 1 : i + 5]
    assert all(_v(t, "1-0:1.7.0") == 0 for t in frozen)
    assert len({(_v(t, "1-0:1.8.1"), _v(t, "1-0:1.8.2")) for t in frozen}) == 1
    # a top-up that leaves the balance below 0.50 EUR does not reconnect
    t = at[(10, 1)]
    assert Decimal("0.38") <= _n(t, "0-0:19.10.0") <= Decimal("0.40")
    assert _v(t, "0-0:96.3.10") == 0
    # reaching 0.50 EUR: ready (2); the duplicated top-up is credited once; the button reconnects (1)
    ready = at[(10, 11)]
    assert _n(ready, "0-0:19.10.0") >= Decimal("0.50") and _n(ready, "0-0:96.3.10") == 2
    assert _v(at[(10, 21)], "0-0:19.10.0") == _v(ready, "0-0:19.10.0")
    assert _v(at[(10, 29)], "0-0:96.3.10") == 2
    assert _v(at[(10, 31)], "0-0:96.3.10") == 1
    assert _n(at[(10, 31)], "1-0:1.7.0") > Decimal("9")


GAS = """
[prepayment]
preset = "ores"
accounting = "immediate"
credit_eur = 1.00
emergency_credit_eur = 1.00
[[event]]
at = "20h"
action = "top_up"
id = "gas-1"
eur = 10.00
energy = "gas"
[[event]]
at = "20h5m"
action = "leak_test"
"""


def test_gas_valve_closes_and_reopens_after_the_leak_test(tmp_path: Path) -> None:
    tgs = _run(tmp_path, GAS, datetime(2026, 1, 12, 0, 0, tzinfo=BXL), 21)
    valves = [_v(t, "0-1:24.4.0") for t in tgs]
    assert valves[0] == 1
    closed = valves.index(0)
    assert closed < 20 * 60
    gas_at_close = _v(tgs[closed + 10], "0-1:24.2.3")
    assert _v(tgs[20 * 60 - 2], "0-1:24.2.3") == gas_at_close  # no gas flows while closed
    assert _v(tgs[20 * 60], "0-1:24.4.0") == 2  # topped up: ready
    assert valves[20 * 60 + 5 : 20 * 60 + 16] == [2] * 11  # leak test running (12 min)
    assert valves[20 * 60 + 18] == 1
    assert _n(tgs[20 * 60], "0-1:19.10.0") > 0


LEAKING = (
    GAS
    + """leak_ml_s = 20
[[event]]
at = "20h30m"
action = "leak_test"
"""
)


def test_a_leak_test_with_gas_flowing_fails_and_a_clean_one_reopens(tmp_path: Path) -> None:
    tgs = _run(tmp_path, LEAKING, datetime(2026, 1, 12, 0, 0, tzinfo=BXL), 21)
    at = {(t.timestamp.hour, t.timestamp.minute): t for t in tgs if t.timestamp is not None}
    valve = {hm: _v(t, "0-1:24.4.0") for hm, t in at.items()}
    gas = {hm: _n(t, "0-1:24.2.3") for hm, t in at.items()}  # the gas meter's 5-minute captures
    assert valve[(20, 4)] == 2  # topped up: ready
    # the first test (20:05): 20 mL/s flow through the valve it holds open; the meter counts them ...
    assert gas[(20, 10)] > gas[(20, 5)]
    # ... and the test fails: the valve never opens, and nothing flows once the test has ended
    assert [valve[(20, m)] for m in range(5, 30)] == [2] * 25
    assert gas[(20, 29)] == gas[(20, 10)]
    # the second test (20:30), every appliance closed, passes after 12 minutes: open
    assert [valve[(20, m)] for m in range(30, 41)] == [2] * 11
    assert valve[(20, 43)] == 1
