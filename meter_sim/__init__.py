"""A simulated Belgian/Dutch smart meter: registers, tariff clock, profiles, prepayment, faults, S1.

from meter_sim import Meter, stream
m = Meter("be-3ph", seed=1, start=datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Brussels")))
m.step(60); m.telegram()                         # bytes, CRC included
for sim_time, frame in stream("be-1ph", seed=2, start=t0, count=10): ...
m.top_up("tx-1", "10.00"); m.press_button(); m.start_leak_test(); m.set_extra_load(3.0, 900)
"""

from .calendars import CALENDARS, TariffCalendar, calendar_for_contract, get_calendar, parse_calendar
from .faults import FaultInjector, FaultSpec, parse_duration, parse_faults
from .kinds import KINDS, MeterKind, get_kind
from .meter import Meter
from .meter_prepayment import PrepaymentOptions
from .profiles import PowerProfile, make_profile
from .registers import MeterRegisters, QuarterHourTruth
from .scenario import Scenario, load_scenario, parse_scenario
from .simulation import Simulation, stream

__all__ = [
    "CALENDARS",
    "KINDS",
    "FaultInjector",
    "FaultSpec",
    "Meter",
    "MeterKind",
    "MeterRegisters",
    "PowerProfile",
    "PrepaymentOptions",
    "QuarterHourTruth",
    "Scenario",
    "Simulation",
    "TariffCalendar",
    "calendar_for_contract",
    "get_calendar",
    "get_kind",
    "load_scenario",
    "make_profile",
    "parse_calendar",
    "parse_duration",
    "parse_faults",
    "parse_scenario",
    "stream",
]
