"""The simulated meter's phases in the last second: net power per phase (breaker, extra load and power
limit applied), the grid model's voltages, currents, and the meter's sag/swell counters (`MeterPhases`, a
part of `Meter`). Integers throughout: W, deci-volts, centi-amperes.
"""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

from .grid import GridModel
from .registers import local_offset


class MeterPhases:
    """The per-phase part of `Meter`: what each phase drew, at what voltage and current."""

    # the meter's state this part reads and writes (set by `Meter.__init__` and its model)
    ts: int
    phases: int
    breaker: int
    power_import_w: int
    power_export_w: int
    grid: GridModel
    voltage_dv: list[int]
    sags: list[int]
    swells: list[int]
    _version: int
    _extra: list[tuple[int, int]]
    _net_phase: NDArray[Any]
    _prod: list[int]
    _v_base: list[int]
    _pv_peak_w: int
    _sagging: list[bool]
    _swelling: list[bool]

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
