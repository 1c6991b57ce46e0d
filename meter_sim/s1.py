"""S1 port stream of a simulated meter: per-second waveforms consistent with the meter's P1 power.

Strategy: per-period sampling (52 samples per 50 Hz period by default, so sample k of a period is at phase
2πk/52 whatever the grid frequency). For each simulated second the meter's per-phase RMS voltage and net
power give a sinusoidal voltage and a current whose fundamental carries the power at a 0.97 power factor
(exported power flips its sign), plus 3rd and 5th harmonics (15 % and 8 % of the fundamental) that carry no
active power. The frames of a whole second are packed with numpy into the layout of `dsmr_parser.s1`
(tested byte-equal to the construct definition) and FCS'd with crcmod.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dsmr_parser.s1 import AMP_PER_LSB, FRAME_LEN, HEADER, VOLT_PER_LSB, fcs16

from .meter import Meter

POWER_FACTOR = 0.97
HARMONICS: tuple[tuple[int, float], ...] = ((3, 0.15), (5, 0.08))


@dataclass(frozen=True, slots=True)
class S1Truth:
    """What the generator put into one second: per phase RMS voltage (V), RMS current (A), power (W)."""

    voltage_rms_v: tuple[float, ...]
    current_rms_a: tuple[float, ...]
    power_w: tuple[float, ...]
    frequency_hz: float
    samples: int


class S1Generator:
    """Frames of one simulated meter's S1 port; `second()` steps the meter 1 s and returns its frames."""

    def __init__(self, meter: Meter, samples_per_period: int = 52) -> None:
        self.meter = meter
        self.n = samples_per_period
        self.sequence = 0
        self.meter_id = meter.equipment_id[:14].encode("ascii").ljust(14, b"\x00")
        poly = meter.phases == 3
        self.info = (1 if poly else 0) | 0b10 | (0b100 if poly else 0) | 0b1000
        self.last: S1Truth | None = None

    def second(self) -> bytes:
        m = self.meter
        m.step(1)
        m._electrical()  # refresh voltages
        phase_w = m.phase_powers_w()
        volts = [dv / 10.0 for dv in m.voltage_dv]
        freq_mhz = m.frequency_mhz
        periods = round(freq_mhz / 1000.0)
        count = self.n * periods
        k = np.arange(count, dtype=np.float64)
        theta = 2 * math.pi * k / self.n
        phases = 3
        v_lsb = np.zeros((count, phases), dtype=np.int64)
        i_lsb = np.zeros((count, phases), dtype=np.int64)
        rms_i: list[float] = []
        for ph in range(m.phases):
            shift = -2 * math.pi * ph / 3
            v_rms = volts[ph]
            p = float(phase_w[ph])
            i1 = abs(p) / (v_rms * POWER_FACTOR) if v_rms > 0 else 0.0
            lag = math.acos(POWER_FACTOR) + (math.pi if p < 0 else 0.0)
            v = math.sqrt(2) * v_rms * np.sin(theta + shift)
            i = math.sqrt(2) * i1 * np.sin(theta + shift - lag)
            total_sq = i1 * i1
            for h, ratio in HARMONICS:
                i = i + math.sqrt(2) * i1 * ratio * np.sin(h * (theta + shift - lag))
                total_sq += (i1 * ratio) ** 2
            v_lsb[:, ph] = np.rint(v / VOLT_PER_LSB)
            i_lsb[:, ph] = np.rint(i / AMP_PER_LSB)
            rms_i.append(math.sqrt(total_sq))
        self.last = S1Truth(
            tuple(volts[: m.phases]), tuple(rms_i), tuple(float(w) for w in phase_w), freq_mhz / 1000, count
        )
        return self._pack(v_lsb, i_lsb, freq_mhz)

    def _pack(self, v: np.ndarray, i: np.ndarray, freq_mhz: int) -> bytes:
        count = v.shape[0]
        data = np.zeros((count, 37), dtype=np.uint8)
        data[:, :14] = np.frombuffer(self.meter_id, dtype=np.uint8)
        data[:, 14] = self.info
        data[:, 15] = self.n
        data[:, 16] = freq_mhz >> 8
        data[:, 17] = freq_mhz & 0xFF
        seq = (self.sequence + np.arange(count)) & 0xFF
        self.sequence = (self.sequence + count) & 0xFF
        data[:, 18] = seq
        col = 19
        for ph in range(3):
            vv = v[:, ph] & 0xFFFF
            data[:, col], data[:, col + 1] = vv >> 8, vv & 0xFF
            ii = i[:, ph] & 0xFFFFFF
            data[:, col + 2], data[:, col + 3], data[:, col + 4] = ii >> 16, (ii >> 8) & 0xFF, ii & 0xFF
            col += 5
        # neutral current: not provided (bit 4 clear), field zero
        out = bytearray()
        for row in data:
            body = HEADER[1:] + row.tobytes()
            fcs = fcs16(body)
            out += b"\x7e" + body + bytes((fcs & 0xFF, fcs >> 8)) + b"\x7e"
        assert len(out) == count * FRAME_LEN
        return bytes(out)


def s1_stream(meter: Meter, seconds: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(meter Unix time, one second of S1 frames) for `seconds` seconds (forever when None)."""
    gen = S1Generator(meter)
    done = 0
    while seconds is None or done < seconds:
        frames = gen.second()
        done += 1
        yield meter.ts, frames
