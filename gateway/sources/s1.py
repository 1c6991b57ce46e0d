"""The S1 port as a source of per-second power-quality values (`s1:/dev/ttyUSB1`, `s1+socket://`, `s1+sim:`).

Bytes (2 Mbps 8N1 RS-422, 45-byte HDLC frames of instantaneous samples) go through `dsmr_parser.s1`:
`S1Decoder` (framing by length and FCS, resynchronisation, lost-frame counting) then `S1Accumulator` (one
second of samples -> RMS voltage and current, active power, frequency, current THD per phase). Each second
becomes a dict of state values named like the P1 ones with an `s1_` prefix (`s1_voltage_l1` V,
`s1_current_l1` A, `s1_power_l1` W, `s1_power` W, `s1_frequency` Hz, `s1_thd_l1` %), which the pipeline
publishes like P1 values. Transports and reconnection are `gateway.sources`'; `s1+sim:` runs
`meter_sim.s1.S1Generator` in process (one second of frames per simulated second, at `speed`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from dsmr_parser.s1 import S1Accumulator, S1Decoder, S1Error, S1Second

S1_UNITS = {"voltage": "V", "current": "A", "power": "W", "thd": "%", "frequency": "Hz"}


def s1_values(second: S1Second) -> dict[str, float]:
    """One second of S1 measurements as `s1_*` state values (rounded to the meter's resolution)."""
    out: dict[str, float] = {"s1_frequency": round(second.frequency_hz, 3)}
    for phase, (v, i, p, thd) in enumerate(
        zip(second.voltage_rms_v, second.current_rms_a, second.power_w, second.current_thd, strict=True), 1
    ):
        out[f"s1_voltage_l{phase}"] = round(v, 2)
        out[f"s1_current_l{phase}"] = round(i, 3)
        out[f"s1_power_l{phase}"] = round(p, 1)
        out[f"s1_thd_l{phase}"] = round(thd * 100, 2)
    out["s1_power"] = round(second.total_power_w, 1)
    return out


def s1_unit(name: str) -> str | None:
    """`s1_voltage_l1` -> "V"."""
    return S1_UNITS.get(name.removeprefix("s1_").split("_")[0])


class S1Reader:
    """Bytes in, per-second `s1_*` dicts out; decoder errors counted by reason (fcs, junk, lost_frames)."""

    def __init__(self) -> None:
        self.decoder = S1Decoder()
        self.accumulator = S1Accumulator()
        self.errors: Counter[str] = Counter()
        self.frames = 0
        self.seconds = 0
        self.meter_id: str | None = None

    def feed(self, data: bytes) -> list[dict[str, float]]:
        out: list[dict[str, float]] = []
        for item in self.decoder.feed(data):
            if isinstance(item, S1Error):
                self.errors[item.reason] += item.count or 1
                continue
            self.frames += 1
            self.meter_id = item.meter_id or self.meter_id
            second = self.accumulator.add(item)
            if second is not None:
                self.seconds += 1
                out.append(s1_values(second))
        return out

    def status(self) -> dict[str, Any]:
        return {"frames": self.frames, "seconds": self.seconds, "errors": dict(self.errors)}


class S1SimConnection:
    """The simulated meter's S1 port: one second of frames per simulated second, `speed` x real time."""

    def __init__(self, meter: Any, speed: float = 1.0) -> None:
        from meter_sim.s1 import S1Generator

        self.generator = S1Generator(meter)
        self.speed = speed
        self._t0 = time.monotonic()
        self._sent = 0

    async def read(self) -> bytes:
        due = self._t0 + (self._sent + 1) / self.speed
        await asyncio.sleep(max(0.0, due - time.monotonic()))  # always yield, even when behind
        self._sent += 1
        return self.generator.second()

    async def close(self) -> None:
        return None
