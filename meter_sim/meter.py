"""The simulated meter: exact registers stepped second by second, capacity objects, M-Bus, prepayment.

Strategy: powers come from seeded profiles evaluated by numpy one quarter-hour (900 s) at a time and rounded
to integer watts per phase, so one second of energy is an integer number of joules. The per-second inner
loop is plain integer arithmetic (no Decimal, no datetime): registers are kept in joules and shown as
`J // 3600` Wh (kWh with 3 decimals), so the sum of the steps' energies is exactly the register delta and
nothing drifts. The active tariff comes from the calendar, checked against one precomputed switch instant.
Quarter-hours close on Unix multiples of 900 s (Belgian offsets are whole hours, so they are local
quarter-hours): the closed quarter-hour's register deltas are the simulator's truth, its average import
power feeds 1.6.0 (month peak) and, at each local month start, 0-0:98.1.0 (13 months, oldest first, each
entry stamped with the start of the following month as real meters do).

`telegram()` builds the bytes with precompiled fixed-point formats taken from the registry for the lines
that change every second, and `dsmr_parser.builder.format_line` (cached until the state changes) for the
others; the result equals `build_telegram(header, values())` (tested).

Time is an input: the meter starts at `start` and only moves with `step()`.

Restart continuity: `registers()` gives a `MeterRegisters` (clock and cumulative registers) that a new
`Meter(..., resume=...)` of the same kind and seed continues from: its clock starts no earlier than the
saved one and its registers at the saved values, so a restarted simulator never goes back (which a
gateway and Home Assistant would read as a meter reset). Persisting it is the caller's business.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np

from dsmr_parser.builder import format_line
from dsmr_parser.crc import crc16
from dsmr_parser.registry import REGISTRY
from dsmr_parser.timestamps import meter_clock
from dsmr_parser.values import MonthlyPeak, PowerFailure, Value
from prepayment import (
    AccountConfig,
    Notification,
    PrepaymentAccount,
    fluvius_electricity,
    ores_electricity,
    ores_gas,
)
from prepayment.p1 import p1_values

from . import calendars
from .calendars import TariffCalendar, calendar_for_contract, contract_country, get_calendar
from .grid import GRIDS, GridModel
from .kinds import Load, MeterKind, get_kind, loads_for
from .profiles import _DST_INSTANTS, _DST_OFFSETS, hash_u01, make_profile

CHUNK_S = 900  # quarter-hour
POWER_CHUNK_S = 3600  # profiles are evaluated an hour at a time
GAS_KWH_PER_M3 = Decimal("10.5")  # calorific value used to bill gas in kWh
_GAS_W_PER_ML_S = 37.8  # 1 mL/s of gas at 10.5 kWh/m3 is 37.8 W of fuel
_DST_LIST = _DST_INSTANTS.tolist()
_DST_OFF = _DST_OFFSETS.tolist()


@dataclass(frozen=True, slots=True)
class MeterRegisters:
    """What a restarted simulated meter continues from: kind, seed, clock (Unix s) and registers."""

    kind: str
    seed: int
    ts: int
    import_j: tuple[int, int]  # tariff 1, tariff 2, joules
    export_j: tuple[int, int]
    gas_ml: int
    water_ml: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "ts": self.ts,
            "import_j": list(self.import_j),
            "export_j": list(self.export_j),
            "gas_ml": self.gas_ml,
            "water_ml": self.water_ml,
        }

    @classmethod
    def from_json(cls, data: Any) -> MeterRegisters:
        """Raises ValueError naming what is wrong."""
        try:
            imp, exp = data["import_j"], data["export_j"]
            return cls(
                str(data["kind"]),
                int(data["seed"]),
                int(data["ts"]),
                (int(imp[0]), int(imp[1])),
                (int(exp[0]), int(exp[1])),
                int(data["gas_ml"]),
                int(data["water_ml"]),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"not a simulated meter's saved registers: {exc!r}") from None


class QuarterHourTruth(NamedTuple):
    """The register deltas (Wh) the model produced in one quarter-hour [start, start + 15 min)."""

    start: datetime
    import_t1_wh: int
    import_t2_wh: int
    export_t1_wh: int
    export_t2_wh: int

    @property
    def import_wh(self) -> int:
        return self.import_t1_wh + self.import_t2_wh

    @property
    def export_wh(self) -> int:
        return self.export_t1_wh + self.export_t2_wh


PREPAYMENT_PRESETS: dict[str, tuple[Callable[..., AccountConfig], Callable[..., AccountConfig] | None]] = {
    "ores": (ores_electricity, ores_gas),
    "fluvius": (fluvius_electricity, None),  # Fluvius gas prepayment (1000 kWh emergency) is not modelled
}
"""Per DSO: the electricity preset and the gas preset (None: no gas account is opened)."""


@dataclass(frozen=True, slots=True)
class PrepaymentOptions:
    """`--prepayment`: the DSO preset, the start credit, and overrides for tests and scenarios.

    `preset` is the DSO whose rules (and contract: default calendar) the meter runs; None: the meter's
    DSO (`MeterKind.dso`). `accounting` None: the preset's own (ORES central, Fluvius immediate).
    A preset never opens another DSO's account (Fluvius: no gas account).
    """

    credit_eur: Decimal = Decimal("20.00")
    preset: str | None = "ores"  # ores | fluvius | None
    accounting: str | None = None  # immediate | central
    emergency_credit_eur: Decimal | None = None
    protected_customer: bool = False
    gas: bool = True
    overrides: dict[str, Any] = field(default_factory=dict)


def _fixed(digits: int, decimals: int) -> Callable[[int], str]:
    """Formatter of a non-negative scaled integer exactly as the builder prints the Decimal."""
    if decimals == 0:
        return lambda n: f"{n:0{digits}d}"
    scale = 10**decimals
    return lambda n: f"{n // scale:0{digits}d}.{n % scale:0{decimals}d}"


def _fmt(code: str) -> Callable[[int], str]:
    obj = REGISTRY[code]
    number = _fixed(obj.digits, obj.decimals)
    unit = obj.unit
    if unit:
        return lambda n: f"{code}({number(n)}*{unit})"
    return lambda n: f"{code}({number(n)})"


def _dec(n: int, decimals: int) -> Decimal:
    return Decimal(n).scaleb(-decimals)


def local_offset(ts: int) -> tuple[int, int]:
    """(UTC offset s of Europe/Brussels at `ts`, next instant the offset changes)."""
    i = bisect.bisect_right(_DST_LIST, ts) - 1
    off = _DST_OFF[i] if i >= 0 else 3600
    nxt = _DST_LIST[i + 1] if i + 1 < len(_DST_LIST) else 2**62
    return off, nxt


def _to_ts(start: datetime | int) -> int:
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime (time zone required)")
        return int(start.timestamp())
    return int(start)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC).astimezone(calendars.ZONE)


class Meter:
    """A simulated meter of kind `be-1ph`, `be-3ph`, `nl-dsmr5` or `dsmr22`.

    Args:
        kind: the meter type (see `meter_sim.kinds.KINDS`).
        seed: makes the loads, ids and initial registers; same seed, same telegrams.
        start: the meter's first instant (aware datetime or Unix seconds).
        calendar: tariff calendar name or spec (default: the contract's, see `calendars.CONTRACT_CALENDARS`).
        contract: the DSO whose contract the meter runs (default: the prepayment preset, else the
            kind's DSO); decides the default calendar and the prepayment rules.
        prepayment: run the prepayment function with these options (None: ordinary meter).
        loads: replace the seeded loads.
        grid: the voltage model behind the meter (default `normal`; `weak`: see `meter_sim.grid`).
        resume: registers saved by a previous run (`registers()`); used when kind and seed match: the
            clock starts no earlier than theirs and the registers at their values (never lower).
    """

    def __init__(
        self,
        kind: str | MeterKind,
        seed: int = 0,
        start: datetime | int = 0,
        *,
        calendar: str | TariffCalendar | None = None,
        contract: str | None = None,
        prepayment: PrepaymentOptions | None = None,
        loads: list[Load] | None = None,
        grid: GridModel | None = None,
        resume: MeterRegisters | None = None,
    ) -> None:
        self.kind = get_kind(kind) if isinstance(kind, str) else kind
        self.seed = seed
        self.ts = _to_ts(start)
        if resume is not None and (resume.kind, resume.seed) != (self.kind.name, seed):
            resume = None  # another meter's: this one starts from its seed
        if resume is not None:
            self.ts = max(self.ts, resume.ts)
        self.start_ts = self.ts
        preset = prepayment.preset if prepayment is not None else None
        if contract is not None and preset is not None and preset != contract:
            raise ValueError(f"prepayment preset {preset!r} does not match the {contract!r} contract")
        self.contract = contract or preset or self.kind.dso
        if contract_country(self.contract) != self.kind.country:
            raise ValueError(
                f"the {self.contract!r} contract does not fit the {self.kind.country} meter "
                f"{self.kind.name!r} (prepayment presets are Belgian: use a be-* meter)"
            )
        if calendar is None:
            self.calendar = calendar_for_contract(self.contract)
        else:
            self.calendar = get_calendar(calendar) if isinstance(calendar, str) else calendar
        self._tariff_of = {p: self.calendar.tariff_number(p) for p in ("day", "night")}
        self.loads = loads if loads is not None else loads_for(self.kind, seed)
        self._gas_profile = make_profile("gas_heating", seed=seed) if self.kind.gas else None
        self.phases = self.kind.phases
        u = [float(x) for x in hash_u01(seed, 902, np.arange(8, dtype=np.int64))]
        # registers in joules, index 0 = tariff 1, 1 = tariff 2; seeded history of a few years
        self.import_j = [int(3_000_000 * u[0]) * 3600, int(2_000_000 * u[1]) * 3600]
        self.export_j = [int(1_500_000 * u[2]) * 3600, int(800_000 * u[3]) * 3600]
        self.gas_ml = int(2_000_000_000 * u[4])
        self.water_ml = int(300_000_000 * u[5])
        if resume is not None:
            self.import_j = [max(a, b) for a, b in zip(self.import_j, resume.import_j, strict=True)]
            self.export_j = [max(a, b) for a, b in zip(self.export_j, resume.export_j, strict=True)]
            self.gas_ml = max(self.gas_ml, resume.gas_ml)
            self.water_ml = max(self.water_ml, resume.water_ml)
        serial = int(u[6] * 1e10)
        self.equipment_id = {
            "emucs": f"1SAG{serial:010d}",
            "dsmr5": f"K8EG{serial:012d}",
            "dsmr22": f"{serial:014d}",
        }[self.kind.protocol]
        self.gas_id = f"7FLO{int(u[7] * 1e10):010d}"
        self.water_id = f"8SAG{(serial * 7) % 10**10:010d}"
        # tariff state
        self._period = self.calendar.period_at(self.ts)
        self.tariff = self._tariff_of[self._period]
        self._next_switch = self.calendar.next_switch(self.ts)
        self._offset, self._next_offset = local_offset(self.ts)
        # per-second power of the last step (W): total import/export, per phase net
        self.power_import_w = 0
        self.power_export_w = 0
        self.phase_w = [0] * self.phases
        self.voltage_dv = [2300] * self.phases
        self.grid = grid if grid is not None else GRIDS["normal"]
        self._pv_peak_w = sum(
            int(1000 * load.profile.params.get("kwp", 4.0))
            for load in self.loads
            if load.profile.kind == "pv"
        )
        self.sags = [0] * self.phases  # the meter's sag/swell counters (printed when the grid model counts)
        self.swells = [0] * self.phases
        self._sagging = [False] * self.phases
        self._swelling = [False] * self.phases
        self.frequency_mhz = 50000
        self.last_step_import_j = 0
        self.last_step_export_j = 0
        # quarter-hour and capacity state
        self._qh_start = self.ts - self.ts % CHUNK_S
        self._qh_import_j = 0
        self._qh_regs_wh = self._regs_wh()
        self.quarter_hours: list[QuarterHourTruth] = []
        self.month_peak_w = 0
        self.month_peak_at: datetime | None = None
        self.peak_history: list[MonthlyPeak] = []
        self._next_month = calendars.next_month_start_ts(self.ts)
        # M-Bus captures
        capture = 3600 if self.kind.protocol == "dsmr22" else 300
        self._gas_capture_s = capture
        cap_ts = self.ts - self.ts % capture
        self.gas_capture = (cap_ts, self.gas_ml)
        self.water_capture = (cap_ts, self.water_ml)
        # controls and faults
        self._extra: list[tuple[int, int]] = []  # (until_ts, watts)
        self.clock_offset_s = 0
        self.breaker = 1
        self.valve = 1
        self._limit_w: int | None = None
        self.notifications: list[Notification] = []
        self._version = 0
        self._slow_cache: tuple[int, int, dict[str, str]] | None = None
        # prepayment
        self.account: PrepaymentAccount | None = None
        self.gas_account: PrepaymentAccount | None = None
        self._billed_wh = [0, 0]
        self._gas_unbilled_ml = 0
        self._leak_ml_s = 0  # gas flowing while a leak test holds the valve open (mL/s)
        self._leak_unreported_ml = 0
        if prepayment is not None:
            self._open_accounts(prepayment)
        self._chunk_start = -(10**12)
        self._build_chunk(self.ts - self.ts % POWER_CHUNK_S)
        self._formatters = {c: _fmt(c) for c in self._fast_codes()}

    # ----------------------------------------------------------------------------------- prepayment

    def _open_accounts(self, opts: PrepaymentOptions) -> None:
        at = _dt(self.ts)
        presets = PREPAYMENT_PRESETS.get(self.contract)
        if presets is None:
            known = ", ".join(PREPAYMENT_PRESETS)
            raise ValueError(
                f"no prepayment rules for the {self.contract!r} contract; choose a preset: {known}"
            )
        elec, gas = presets
        common: dict[str, Any] = {
            "start_credit_eur": opts.credit_eur,
            "protected_customer": opts.protected_customer,
        }
        if opts.accounting is not None:
            common["accounting"] = opts.accounting
        if opts.emergency_credit_eur is not None:
            common["emergency_credit_eur"] = opts.emergency_credit_eur
        cfg = elec(**common, **opts.overrides)
        self.account = PrepaymentAccount(cfg, at)
        self._billed_wh = self._regs_wh()[:2]
        if opts.gas and self.kind.gas and gas is not None:
            self.gas_account = PrepaymentAccount(gas(**common), at)
        self._refresh_supply()

    def _refresh_supply(self) -> None:
        acc = self.account
        if acc is not None:
            self.breaker = acc.supply_state.breaker
            limit = acc.power_limit_kw
            self._limit_w = None if limit is None else int(limit * 1000)
        if self.gas_account is not None:
            self.valve = self.gas_account.supply_state.breaker
        self._version += 1

    def _bill(self) -> None:
        """Charge the Wh the registers gained (exact kWh) and the gas used, on the active period."""
        acc = self.account
        assert acc is not None
        at = _dt(self.ts)
        regs = (self.import_j[0] // 3600, self.import_j[1] // 3600)
        for t in (0, 1):
            delta = regs[t] - self._billed_wh[t]
            if delta:
                period = "day" if self._tariff_of["day"] == t + 1 else "night"
                self.notifications += acc.consume(_dec(delta, 3), period, at)
                self._billed_wh[t] = regs[t]
        self.notifications += acc.advance(at)
        gas = self.gas_account
        if gas is not None:
            ml, self._gas_unbilled_ml = self._gas_unbilled_ml, 0
            if ml:
                self.notifications += gas.consume(Decimal(ml) * GAS_KWH_PER_M3 / 1_000_000, "single", at)
            leaked, self._leak_unreported_ml = self._leak_unreported_ml, 0
            if leaked:
                self.notifications += gas.report_flow(Decimal(leaked) * GAS_KWH_PER_M3 / 1_000_000, at)
            self.notifications += gas.advance(at)
            if gas.leak_test_until is None:
                self._leak_ml_s = 0  # the test is over (passed or failed)
        self._refresh_supply()

    def top_up(self, top_up_id: str, amount_eur: Decimal | str | float, energy: str = "electricity") -> bool:
        """Credit a top-up (idempotent per id); True when it was new, False for a duplicate."""
        acc = self._acc(energy)
        self._bill()
        result = acc.top_up(top_up_id, Decimal(str(amount_eur)), _dt(self.ts))
        self.notifications += result.notifications
        self._refresh_supply()
        return not result.duplicate

    def press_button(self, energy: str = "electricity") -> None:
        """The customer holds the meter's button (reconnects a ready breaker / starts the gas leak test)."""
        acc = self._acc(energy)
        self._bill()
        self.notifications += acc.press_button(_dt(self.ts))  # held as long as the meter asks
        self._refresh_supply()

    def start_leak_test(self, leak_ml_s: int = 0) -> None:
        """Gas: start the leak test (the valve must be ready, state 2). `leak_ml_s` is gas that flows
        while the test runs (an appliance left open, a real leak): the meter sees it and the test fails."""
        acc = self._acc("gas")
        self._bill()
        self.notifications += acc.start_leak_test(_dt(self.ts))
        self._leak_ml_s = max(0, int(leak_ml_s))
        self._refresh_supply()

    def _acc(self, energy: str) -> PrepaymentAccount:
        acc = self.gas_account if energy == "gas" else self.account
        if acc is None:
            raise ValueError(f"this meter runs no {energy} prepayment account (use --prepayment)")
        return acc

    def set_extra_load(self, kw: float | Decimal, duration_s: int) -> None:
        """Add `kw` of load (spread over the phases) for `duration_s` seconds from now."""
        self._extra.append((self.ts + int(duration_s), round(float(kw) * 1000)))

    def drain_notifications(self) -> list[Notification]:
        """Notifications since the last call (low credit, emergency credit, interruption, ...)."""
        out, self.notifications = self.notifications, []
        return out

    def drain_quarter_hours(self) -> list[QuarterHourTruth]:
        """Closed quarter-hours since the last call."""
        out, self.quarter_hours = self.quarter_hours, []
        return out

    # ----------------------------------------------------------------------------------- the model

    def _build_chunk(self, chunk_start: int) -> None:
        n = POWER_CHUNK_S
        phases = self.phases
        cons = np.zeros((phases, n))
        prod = np.zeros((phases, n))
        for load in self.loads:
            w = load.profile.block_w(chunk_start, n)
            target = prod if load.production else cons
            for k, weight in enumerate(load.phase_weights[:phases]):
                if weight:
                    target[k] += w * weight
        net = np.rint(cons).astype(np.int64) - np.rint(prod).astype(np.int64)
        self._prod = np.rint(prod.sum(axis=0)).astype(np.int64).tolist()
        self._chunk_start = chunk_start
        self._net_phase = net
        self._net_arr = net.sum(axis=0)
        self._net = self._net_arr.tolist()
        t = chunk_start + 0.5 + np.arange(n, dtype=np.float64)
        if self._gas_profile is not None:
            self._gas = np.rint(self._gas_profile.block_w(chunk_start, n) / _GAS_W_PER_ML_S).astype(np.int64)
        else:
            self._gas = np.zeros(n, dtype=np.int64)
        # water: taps of ~8 L/min for a few minutes, seeded per 10-minute slot, more in the morning/evening
        slot = (t // 600).astype(np.int64)
        hour = ((t + 3600) % 86400) / 3600
        p = (
            0.04
            + 0.25 * np.exp(-0.5 * ((hour - 7.5) / 1.0) ** 2)
            + 0.2 * np.exp(-0.5 * ((hour - 20) / 1.5) ** 2)
        )
        tap = (hash_u01(self.seed, 911, slot) < p) & (t % 600 < 60 + 240 * hash_u01(self.seed, 912, slot))
        self._water_arr = np.where(tap, 133, 0) if self.kind.water else np.zeros(n, dtype=np.int64)
        self._water = self._water_arr.tolist()
        self._gas_list = self._gas.tolist()
        # voltages (deci-volts, before the load's own drop) and grid frequency (mHz)
        base = []
        for k in range(phases):
            knots = hash_u01(self.seed, 920 + k, np.array([chunk_start // 900]))
            base.append(2300 + int(60 * (knots[0] - 0.5)))
        self._v_base = base
        self.frequency_mhz = 50000 + int(60 * (float(hash_u01(self.seed, 930, chunk_start // 60)[0]) - 0.5))

    def step(self, seconds: int = 1) -> None:
        """Advance the meter by `seconds` seconds (the model always steps at 1 s).

        Long steps of an ordinary meter (no prepayment, no extra load) sum whole segments with numpy:
        the same integer joules as second by second, split where the tariff, a capture or a quarter-hour
        changes."""
        end_ts = self.ts + seconds
        while self.ts < end_ts:
            if end_ts - self.ts > 1 and self.account is None and not self._extra and self.breaker == 1:
                self._step_segment(end_ts)
            else:
                self._step_one()

    def _enter(self, ts: int) -> int:
        i = ts - self._chunk_start
        if i >= POWER_CHUNK_S or i < 0:
            self._build_chunk(ts - ts % POWER_CHUNK_S)
            i = ts - self._chunk_start
        if ts >= self._next_switch:
            self._period = self.calendar.period_at(ts)
            self.tariff = self._tariff_of[self._period]
            self._next_switch = self.calendar.next_switch(ts)
        return i

    def _step_segment(self, end_ts: int) -> None:
        ts = self.ts
        i = self._enter(ts)
        stop = min(end_ts, self._chunk_start + POWER_CHUNK_S, ts - ts % 300 + 300, self._next_switch)
        n = stop - ts
        seg = self._net_arr[i : i + n]
        if self._limit_w is not None:
            seg = np.minimum(seg, self._limit_w)
        pos = int(seg[seg > 0].sum())
        neg = -int(seg[seg < 0].sum())
        t = self.tariff - 1
        self.import_j[t] += pos
        self.export_j[t] += neg
        self._qh_import_j += pos
        last = int(seg[-1])
        self.power_import_w, self.power_export_w = (last, 0) if last >= 0 else (0, -last)
        self.last_step_import_j, self.last_step_export_j = pos, neg
        self._last_i = i + n - 1
        if self.valve == 1:
            self.gas_ml += int(self._gas[i : i + n].sum())
        self.water_ml += int(self._water_arr[i : i + n].sum())
        self.ts = stop
        self._boundaries(stop)

    def _step_one(self) -> None:
        ts = self.ts
        i = self._enter(ts)
        p = self._net[i]
        if self._extra:
            self._extra = [e for e in self._extra if e[0] > ts]
            p += sum(e[1] for e in self._extra)
        if self.breaker != 1:
            p = 0
        elif self._limit_w is not None and p > self._limit_w:
            p = self._limit_w
        t = self.tariff - 1
        if p >= 0:
            self.import_j[t] += p
            self._qh_import_j += p
            self.power_import_w, self.power_export_w = p, 0
            self.last_step_import_j, self.last_step_export_j = p, 0
        else:
            self.export_j[t] -= p
            self.power_import_w, self.power_export_w = 0, -p
            self.last_step_import_j, self.last_step_export_j = 0, -p
        self._last_i = i
        if self.valve == 1:
            g = self._gas_list[i]
            self.gas_ml += g
            self._gas_unbilled_ml += g
        elif self._leak_ml_s:  # the leak test holds the valve open: the meter counts what flows
            self.gas_ml += self._leak_ml_s
            self._gas_unbilled_ml += self._leak_ml_s
            self._leak_unreported_ml += self._leak_ml_s
        self.water_ml += self._water[i]
        ts += 1
        self.ts = ts
        self._boundaries(ts)
        if self.account is not None and (
            ts % 60 == 0 or (self.import_j[t] // 3600 - self._billed_wh[t]) >= 10
        ):
            self._bill()

    def _boundaries(self, ts: int) -> None:
        if ts % self._gas_capture_s == 0:
            self.gas_capture = (ts, self.gas_ml)
            self.water_capture = (ts, self.water_ml)
            self._version += 1
        if ts % CHUNK_S == 0:
            self._close_quarter_hour(ts)

    def registers(self) -> MeterRegisters:
        """The clock and registers a restarted meter continues from (`Meter(..., resume=...)`)."""
        return MeterRegisters(
            self.kind.name,
            self.seed,
            self.ts,
            (self.import_j[0], self.import_j[1]),
            (self.export_j[0], self.export_j[1]),
            self.gas_ml,
            self.water_ml,
        )

    def _regs_wh(self) -> list[int]:
        return [
            self.import_j[0] // 3600,
            self.import_j[1] // 3600,
            self.export_j[0] // 3600,
            self.export_j[1] // 3600,
        ]

    def _close_quarter_hour(self, ts: int) -> None:
        regs = self._regs_wh()
        old = self._qh_regs_wh
        start = ts - CHUNK_S
        start_dt = _dt(start) if start >= self._qh_start else _dt(self._qh_start)
        qh = QuarterHourTruth(start_dt, *(a - b for a, b in zip(regs, old, strict=True)))
        self.quarter_hours.append(qh)
        self._qh_regs_wh = regs
        self._qh_import_j = 0
        self._qh_start = ts
        avg_w = 4 * qh.import_wh
        if start >= self.start_ts - self.start_ts % CHUNK_S and avg_w > self.month_peak_w:
            self.month_peak_w = avg_w
            self.month_peak_at = qh.start
        if ts >= self._next_month:
            self.peak_history.append(
                MonthlyPeak(_dt(self._next_month), self.month_peak_at, _dec(self.month_peak_w, 3), "kW")
            )
            del self.peak_history[:-13]
            self.month_peak_w = 0
            self.month_peak_at = None
            self._next_month = calendars.next_month_start_ts(ts)
        self._version += 1

    @property
    def time(self) -> datetime:
        """The meter's instant (local aware datetime)."""
        return _dt(self.ts)

    @property
    def average_demand_w(self) -> int:
        """1-0:1.4.0: import energy since the quarter-hour started / elapsed time (0 at its first second)."""
        elapsed = self.ts - self._qh_start
        return self._qh_import_j // elapsed if elapsed > 0 else 0

    def phase_powers_w(self) -> list[int]:
        """Net power per phase (W, import positive) of the last second."""
        if self.breaker != 1:
            return [0] * self.phases
        i = getattr(self, "_last_i", 0)
        row = [int(self._net_phase[k][i]) for k in range(self.phases)]
        extra = sum(e[1] for e in self._extra if e[0] > self.ts - 1)
        if extra:
            row = [w + extra // self.phases for w in row]
        total = sum(row)
        shown = self.power_import_w - self.power_export_w
        if total > 0 and shown < total:  # limiter: scale the phases down to the capped total
            row = [w * shown // total for w in row]
        return row

    def _electrical(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """Per phase: import W, export W, voltage dV, current cA."""
        phase = self.phase_powers_w()
        imp = [w if w > 0 else 0 for w in phase]
        exp = [-w if w < 0 else 0 for w in phase]
        i = getattr(self, "_last_i", 0)
        hour = ((self.ts - 1 + local_offset(self.ts - 1)[0]) % 86400) / 3600.0
        pv_w = self._prod[i] if self.breaker == 1 else 0
        volts = self.grid.voltages_dv(self._v_base, phase, pv_w, self._pv_peak_w, hour)
        if self.grid.counts_events:
            self._count_events(volts)
        amps = [abs(phase[k]) * 1000 // volts[k] for k in range(self.phases)]
        self.voltage_dv = volts
        return imp, exp, volts, amps

    def phase_state(self) -> tuple[list[int], list[int]]:
        """Per phase: voltage (0.1 V) and net power (W, import positive) of the last second, as printed."""
        imp, exp, volts, _ = self._electrical()
        return volts, [i - e for i, e in zip(imp, exp, strict=True)]

    def _count_events(self, volts: list[int]) -> None:
        """The meter's counters: a sag starts below 207 V, a swell above 253 V (each counted once)."""
        for k, v in enumerate(volts):
            sag, swell = v < 2070, v > 2530
            if sag and not self._sagging[k]:
                self.sags[k] += 1
                self._version += 1
            if swell and not self._swelling[k]:
                self.swells[k] += 1
                self._version += 1
            self._sagging[k], self._swelling[k] = sag, swell

    # ----------------------------------------------------------------------------------- output

    def _fast_codes(self) -> list[str]:
        codes = ["1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2", "0-0:96.14.0", "1-0:1.7.0", "1-0:2.7.0"]
        if self.kind.protocol == "emucs":
            codes.append("1-0:1.4.0")
        if self.kind.protocol != "dsmr22":
            codes += ["1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0", "1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"]
            codes += ["1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0", "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"]
        return codes

    def _fast_ints(self) -> dict[str, int]:
        """The integers (at the registry's resolution) of the lines that change every second."""
        regs = self._regs_wh()
        out = {
            "1-0:1.8.1": regs[0],
            "1-0:1.8.2": regs[1],
            "1-0:2.8.1": regs[2],
            "1-0:2.8.2": regs[3],
            "0-0:96.14.0": self.tariff,
            "1-0:1.7.0": self.power_import_w,
            "1-0:2.7.0": self.power_export_w,
            "1-0:1.4.0": self.average_demand_w,
        }
        if self.kind.protocol != "dsmr22":
            imp, exp, volts, amps = self._electrical()
            for k, (p, v, c) in enumerate((("21", "32", "31"), ("41", "52", "51"), ("61", "72", "71"))):
                if k < self.phases:
                    out[f"1-0:{p}.7.0"] = imp[k]
                    out[f"1-0:{int(p) + 1}.7.0"] = exp[k]
                    out[f"1-0:{v}.7.0"] = volts[k]
                    out[f"1-0:{c}.7.0"] = amps[k]
        return out

    def _display_ts(self) -> int:
        return self.ts + self.clock_offset_s

    def _slow_values(self) -> dict[str, Value]:
        """The lines that change rarely (ids, capacity buffers, M-Bus, breaker, prepayment)."""
        kind = self.kind
        proto = kind.protocol
        v: dict[str, Value] = {}
        if proto == "emucs":
            v["0-0:96.1.4"] = Value("50217")
            v["0-0:96.1.1"] = Value(self.equipment_id)
        elif proto == "dsmr5":
            v["1-3:0.2.8"] = Value("50")
            v["0-0:96.1.1"] = Value(self.equipment_id)
        else:
            v["0-0:96.1.1"] = Value(self.equipment_id)
        if proto == "emucs":
            v["1-0:1.6.0"] = Value(_dec(self.month_peak_w, 3), "kW", self.month_peak_at)
            v["0-0:98.1.0"] = Value(tuple(self.peak_history), "kW")
        limit = Decimal("999.9") if self._limit_w is None else _dec(self._limit_w // 100, 1)
        if proto == "emucs":
            v["0-0:96.3.10"] = Value(self.breaker)
            v["0-0:17.0.0"] = Value(limit, "kW")
            v["1-0:31.4.0"] = Value(999, "A")
            v["0-0:96.13.0"] = Value("")
            if self.grid.counts_events:
                for k in range(self.phases):
                    v[("1-0:32.32.0", "1-0:52.32.0", "1-0:72.32.0")[k]] = Value(self.sags[k])
                    v[("1-0:32.36.0", "1-0:52.36.0", "1-0:72.36.0")[k]] = Value(self.swells[k])
        elif proto == "dsmr5":
            v["0-0:96.7.21"] = Value(3)
            v["0-0:96.7.9"] = Value(1)
            v["1-0:99.97.0"] = Value((PowerFailure(_dt(self.start_ts - 86400 * 40), 240),), "s")
            for code in ("1-0:32.32.0", "1-0:52.32.0", "1-0:72.32.0", "1-0:32.36.0", "1-0:52.36.0"):
                v[code] = Value(0)
            v["1-0:72.36.0"] = Value(0)
            v["0-0:96.13.0"] = Value("")
        else:
            v["0-0:17.0.0"] = Value(limit, "kW")
            v["0-0:96.3.10"] = Value(self.breaker)
            v["0-0:96.13.1"] = Value("")
            v["0-0:96.13.0"] = Value("")
        if kind.gas:
            cap_ts, ml = self.gas_capture
            cap_dt = _dt(cap_ts + self.clock_offset_s)
            v["0-1:24.1.0"] = Value(3)
            if proto == "emucs":
                v["0-1:96.1.1"] = Value(self.gas_id)
                v["0-1:24.4.0"] = Value(self.valve)
                v["0-1:24.2.3"] = Value(_dec(ml // 1000, 3), "m3", cap_dt)
            elif proto == "dsmr5":
                v["0-1:96.1.0"] = Value(self.gas_id)
                v["0-1:24.2.1"] = Value(_dec(ml // 1000, 3), "m3", cap_dt)
            else:
                v["0-1:96.1.0"] = Value(self.gas_id)
                v["0-1:24.3.0"] = Value(_dec(ml // 1000, 3), "m3", cap_dt)
                v["0-1:24.4.0"] = Value(self.valve)
        if kind.water:
            cap_ts, ml = self.water_capture
            v["0-2:24.1.0"] = Value(7)
            v["0-2:96.1.1"] = Value(self.water_id)
            v["0-2:24.2.1"] = Value(_dec(ml // 1000, 3), "m3", _dt(cap_ts + self.clock_offset_s))
        for acc, channel in ((self.account, 0), (self.gas_account, 1)):
            if acc is None:
                continue
            for code, (value, unit) in p1_values(acc, channel).items():
                if code.split(":")[1].startswith("19."):
                    v[code] = Value(value, unit)
        return v

    def _order(self) -> list[str]:
        """Line order of the telegram (as the real meters of each kind print them)."""
        proto = self.kind.protocol
        slow = list(self._slow_values())
        ids = [c for c in slow if c in ("0-0:96.1.4", "1-3:0.2.8", "0-0:96.1.1")]
        rest = [c for c in slow if c not in ids]
        regs = ["1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2"]
        phases = self._fast_codes()[8 if proto == "emucs" else 7 :]
        if proto == "dsmr22":
            return ids + regs + ["0-0:96.14.0", "1-0:1.7.0", "1-0:2.7.0", *rest]
        if self.phases == 1:
            phases = [c for c in phases if c.split(":")[1][:2] in ("21", "22", "32", "31")]
        if proto == "emucs":
            cap = ["1-0:1.6.0", "0-0:98.1.0"]
            tail = [c for c in rest if c not in cap]
            return [*ids, "0-0:1.0.0", *regs, "0-0:96.14.0", "1-0:1.4.0", *cap, "1-0:1.7.0", "1-0:2.7.0"] + (
                phases + tail
            )
        mbus = [c for c in rest if c.startswith("0-1:") or c.startswith("0-2:")]
        misc = [c for c in rest if c not in mbus]
        volts = [c for c in phases if c.split(":")[1][:2] in ("32", "52", "72", "31", "51", "71")]
        powers = [c for c in phases if c not in volts]
        return [
            ids[0],
            "0-0:1.0.0",
            *ids[1:],
            *regs,
            "0-0:96.14.0",
            "1-0:1.7.0",
            "1-0:2.7.0",
            *misc,
            *volts,
            *powers,
            *mbus,
        ]

    def values(self) -> dict[str, Value]:
        """The telegram's values in order, as `dsmr_parser.Value` (the slow, obviously-right path)."""
        ints = self._fast_ints()
        slow = self._slow_values()
        out: dict[str, Value] = {}
        for code in self._order():
            if code == "0-0:1.0.0":
                out[code] = Value(_dt(self._display_ts()))
            elif code in slow:
                out[code] = slow[code]
            else:
                obj = REGISTRY[code]
                n = ints[code]
                out[code] = Value(n if obj.kind == "int" else _dec(n, obj.decimals), obj.unit)
        return out

    def _timestamp_text(self) -> str:
        ts = self._display_ts()
        if ts >= self._next_offset or ts < self._next_offset - 366 * 86400:
            self._offset, self._next_offset = local_offset(ts)
        tm = time.gmtime(ts + self._offset)
        flag = "S" if self._offset == 7200 else "W"
        return (
            f"{tm.tm_year % 100:02d}{tm.tm_mon:02d}{tm.tm_mday:02d}"
            f"{tm.tm_hour:02d}{tm.tm_min:02d}{tm.tm_sec:02d}{flag}"
        )

    def telegram(self) -> bytes:
        """The telegram of the current instant (fast path; equal to `build_telegram(header, values())`)."""
        cache = self._slow_cache
        if cache is None or cache[0] != self._version or cache[1] != self.clock_offset_s:
            clock = meter_clock()
            slow = {code: format_line(code, value, clock) for code, value in self._slow_values().items()}
            self._slow_cache = cache = (self._version, self.clock_offset_s, slow)
            self._order_cache = self._order()
        slow_lines = cache[2]
        ints = self._fast_ints()
        fmts = self._formatters
        lines = [f"/{self.kind.header}", ""]
        for code in self._order_cache:
            if code == "0-0:1.0.0":
                lines.append(f"0-0:1.0.0({self._timestamp_text()})")
            elif code in slow_lines:
                lines.append(slow_lines[code])
            else:
                lines.append(fmts[code](ints[code]))
        body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
        if self.kind.protocol == "dsmr22":
            return body + b"\r\n"
        return body + f"{crc16(body):04X}\r\n".encode()
