"""The simulated meter's P1 telegram (`MeterTelegram`, a part of `Meter`): its values, line order and bytes.

Strategy: the lines that change every second are printed from integers with precompiled fixed-point
formats taken from the registry; the others go through `dsmr_parser.builder.format_line`, cached until the
meter's state version (or its clock offset) changes. The result equals
`build_telegram(header, values())` (tested); `values()` is that slow, obviously-right path. Lines are in the
order the real meters of each kind print them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from dsmr_parser.builder import format_line
from dsmr_parser.crc import crc16
from dsmr_parser.registry import REGISTRY
from dsmr_parser.timestamps import meter_clock
from dsmr_parser.values import MonthlyPeak, PowerFailure, Value
from prepayment import PrepaymentAccount
from prepayment.p1 import p1_values

from .grid import GridModel
from .kinds import MeterKind
from .registers import local_offset, local_time, scaled_decimal


def _fixed(digits: int, decimals: int) -> Callable[[int], str]:
    """Formatter of a non-negative scaled integer exactly as the builder prints the Decimal."""
    if decimals == 0:
        return lambda n: f"{n:0{digits}d}"
    scale = 10**decimals
    return lambda n: f"{n // scale:0{digits}d}.{n % scale:0{decimals}d}"


def line_formatter(code: str) -> Callable[[int], str]:
    """The fast printer of a line whose value is a scaled integer (`1-0:1.8.1(001234.567*kWh)`)."""
    obj = REGISTRY[code]
    number = _fixed(obj.digits, obj.decimals)
    unit = obj.unit
    if unit:
        return lambda n: f"{code}({number(n)}*{unit})"
    return lambda n: f"{code}({number(n)})"


class MeterTelegram:
    """The telegram part of `Meter`: `values()` and `telegram()` of the current instant."""

    # the meter's state this part reads (set by `Meter.__init__` and its model)
    kind: MeterKind
    ts: int
    start_ts: int
    phases: int
    tariff: int
    power_import_w: int
    power_export_w: int
    month_peak_w: int
    month_peak_at: datetime | None
    peak_history: list[MonthlyPeak]
    breaker: int
    valve: int
    grid: GridModel
    sags: list[int]
    swells: list[int]
    equipment_id: str
    gas_id: str
    water_id: str
    gas_capture: tuple[int, int]
    water_capture: tuple[int, int]
    clock_offset_s: int
    account: PrepaymentAccount | None
    gas_account: PrepaymentAccount | None
    _limit_w: int | None
    _qh_start: int
    _qh_import_j: int
    _version: int
    _offset: int
    _next_offset: int
    _slow_cache: tuple[int, int, dict[str, str]] | None
    _order_cache: list[str]
    _formatters: dict[str, Callable[[int], str]]
    _regs_wh: Callable[[], list[int]]
    _electrical: Callable[[], tuple[list[int], list[int], list[int], list[int]]]

    @property
    def average_demand_w(self) -> int:
        """1-0:1.4.0: import energy since the quarter-hour started / elapsed time (0 at its first second)."""
        elapsed = self.ts - self._qh_start
        return self._qh_import_j // elapsed if elapsed > 0 else 0

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
            v["1-0:1.6.0"] = Value(scaled_decimal(self.month_peak_w, 3), "kW", self.month_peak_at)
            v["0-0:98.1.0"] = Value(tuple(self.peak_history), "kW")
        limit = Decimal("999.9") if self._limit_w is None else scaled_decimal(self._limit_w // 100, 1)
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
            v["1-0:99.97.0"] = Value((PowerFailure(local_time(self.start_ts - 86400 * 40), 240),), "s")
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
            cap_dt = local_time(cap_ts + self.clock_offset_s)
            v["0-1:24.1.0"] = Value(3)
            if proto == "emucs":
                v["0-1:96.1.1"] = Value(self.gas_id)
                v["0-1:24.4.0"] = Value(self.valve)
                v["0-1:24.2.3"] = Value(scaled_decimal(ml // 1000, 3), "m3", cap_dt)
            elif proto == "dsmr5":
                v["0-1:96.1.0"] = Value(self.gas_id)
                v["0-1:24.2.1"] = Value(scaled_decimal(ml // 1000, 3), "m3", cap_dt)
            else:
                v["0-1:96.1.0"] = Value(self.gas_id)
                v["0-1:24.3.0"] = Value(scaled_decimal(ml // 1000, 3), "m3", cap_dt)
                v["0-1:24.4.0"] = Value(self.valve)
        if kind.water:
            cap_ts, ml = self.water_capture
            v["0-2:24.1.0"] = Value(7)
            v["0-2:96.1.1"] = Value(self.water_id)
            v["0-2:24.2.1"] = Value(
                scaled_decimal(ml // 1000, 3), "m3", local_time(cap_ts + self.clock_offset_s)
            )
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
                out[code] = Value(local_time(self._display_ts()))
            elif code in slow:
                out[code] = slow[code]
            else:
                obj = REGISTRY[code]
                n = ints[code]
                out[code] = Value(n if obj.kind == "int" else scaled_decimal(n, obj.decimals), obj.unit)
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
