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

The meter is assembled from parts with one job each: this module's model (stepping, quarter-hours, month
peaks, M-Bus captures), `meter_sim.phases` (per-phase power, voltage, current), `meter_sim.meter_telegram`
(the P1 values and bytes) and `meter_sim.meter_prepayment` (the accounts); the records it keeps are in
`meter_sim.registers`.

Time is an input: the meter starts at `start` and only moves with `step()`.

Restart continuity: `registers()` gives a `MeterRegisters` (clock and cumulative registers) that a new
`Meter(..., resume=...)` of the same kind and seed continues from: its clock starts no earlier than the
saved one and its registers at the saved values, so a restarted simulator never goes back (which a
gateway and Home Assistant would read as a meter reset). Persisting it is the caller's business.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np

from dsmr_parser.values import MonthlyPeak
from prepayment import Notification, PrepaymentAccount

from . import calendars
from .calendars import TariffCalendar, calendar_for_contract, contract_country, get_calendar
from .grid import GRIDS, GridModel
from .kinds import Load, MeterKind, get_kind, loads_for
from .meter_prepayment import MeterPrepayment, PrepaymentOptions
from .meter_telegram import MeterTelegram, line_formatter
from .phases import MeterPhases
from .profiles import hash_u01, make_profile
from .registers import (
    MeterRegisters,
    QuarterHourTruth,
    local_offset,
    local_time,
    scaled_decimal,
    unix_seconds,
)

CHUNK_S = 900  # quarter-hour
POWER_CHUNK_S = 3600  # profiles are evaluated an hour at a time
_GAS_W_PER_ML_S = 37.8  # 1 mL/s of gas at 10.5 kWh/m3 is 37.8 W of fuel


class Meter(MeterTelegram, MeterPhases, MeterPrepayment):
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
        self.ts = unix_seconds(start)
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
        self._formatters = {c: line_formatter(c) for c in self._fast_codes()}

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
        start_dt = local_time(start) if start >= self._qh_start else local_time(self._qh_start)
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
                MonthlyPeak(
                    local_time(self._next_month),
                    self.month_peak_at,
                    scaled_decimal(self.month_peak_w, 3),
                    "kW",
                )
            )
            del self.peak_history[:-13]
            self.month_peak_w = 0
            self.month_peak_at = None
            self._next_month = calendars.next_month_start_ts(ts)
        self._version += 1

    @property
    def time(self) -> datetime:
        """The meter's instant (local aware datetime)."""
        return local_time(self.ts)
