"""Fault injection on the telegram stream, and the duration syntax shared by the CLI and scenarios.

Strategy: faults are applied to finished telegram bytes (the meter model stays correct, the wire lies), with
their own seeded RNG so a run is reproducible. Probabilistic faults are drawn per telegram; timed faults
(`silence=30s@1h`, `clock_jump=+3600@2h`) fire at offsets from the simulation start. A clock jump is not a
byte fault: the simulation shifts the meter's displayed clock (`Meter.clock_offset_s`).

Spec: comma-separated `name=value`: `corrupt=P` (one byte flipped, CRC left as is), `bad_crc=P` (CRC digits
changed), `truncate=P` (telegram cut short), `garbage=P` (random bytes before the telegram),
`silence=DUR@AT` (no output for DUR from AT), `clock_jump=±SECONDS@AT`. Repeat a timed fault to schedule
it several times.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `6h`, `6d`, `2w`, `1y` (365 days) or bare seconds -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdwy]?)\s*", str(text))
    if not m:
        raise ValueError(f"bad duration {text!r}: use e.g. 90s, 15m, 6h, 6d, 1y")
    return round(float(m.group(1)) * _UNITS[m.group(2) or "s"])


def parse_offset(text: str | int, start: datetime) -> int:
    """A scenario/fault time: a duration from the start (`90s`, `2h`) or an ISO time -> seconds from start."""
    if isinstance(text, int):
        return text
    if isinstance(text, datetime):
        return int((text - start).total_seconds())
    if "T" in text or (len(text) >= 10 and text[4:5] == "-"):
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=start.tzinfo)
        return int((when - start).total_seconds())
    return parse_duration(text)


@dataclass
class FaultSpec:
    corrupt: float = 0.0
    bad_crc: float = 0.0
    truncate: float = 0.0
    garbage: float = 0.0
    silences: list[tuple[int, int]] = field(default_factory=list)  # (at_s, duration_s)
    clock_jumps: list[tuple[int, int]] = field(default_factory=list)  # (at_s, delta_s)


def parse_faults(text: str) -> FaultSpec:
    """Parse `corrupt=0.05,bad_crc=0.01,truncate=0.01,silence=30s@1h,garbage=0.01,clock_jump=+3600@2h`."""
    spec = FaultSpec()
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"bad fault {part!r}: expected name=value")
        name = name.strip()
        try:
            if name in ("corrupt", "bad_crc", "truncate", "garbage"):
                p = float(value)
                if not 0.0 <= p <= 1.0:
                    raise ValueError("a probability is between 0 and 1")
                setattr(spec, name, p)
            elif name == "silence":
                dur, _, at = value.partition("@")
                spec.silences.append((parse_duration(at or "0"), parse_duration(dur)))
            elif name == "clock_jump":
                delta, _, at = value.partition("@")
                spec.clock_jumps.append((parse_duration(at or "0"), int(delta)))
            else:
                raise ValueError("unknown fault (corrupt, bad_crc, truncate, garbage, silence, clock_jump)")
        except ValueError as exc:
            raise ValueError(f"bad fault {part!r}: {exc}") from None
    return spec


class FaultInjector:
    """Applies a `FaultSpec` to telegrams; `apply(offset_s, frame)` returns the bytes to send (maybe b"")."""

    def __init__(self, spec: FaultSpec, seed: int = 0) -> None:
        self.spec = spec
        self.rng = random.Random(seed * 7919 + 17)
        self.counts: dict[str, int] = {"corrupt": 0, "bad_crc": 0, "truncate": 0, "garbage": 0, "silence": 0}

    def silent(self, offset_s: int) -> bool:
        return any(at <= offset_s < at + dur for at, dur in self.spec.silences)

    def apply(self, offset_s: int, frame: bytes) -> bytes:
        spec, rng = self.spec, self.rng
        if self.silent(offset_s):
            self.counts["silence"] += 1
            return b""
        out = bytearray(frame)
        bang = frame.rfind(b"!")
        if spec.corrupt and rng.random() < spec.corrupt and bang > 2:
            i = rng.randrange(1, bang)
            out[i] = (out[i] ^ (1 << rng.randrange(7))) or 0x41
            if out[i] in b"/!":
                out[i] = 0x41
            self.counts["corrupt"] += 1
        if spec.bad_crc and rng.random() < spec.bad_crc and len(frame) - bang >= 6:
            crc = bytes(out[bang + 1 : bang + 5])
            new = crc
            while new == crc:
                new = f"{rng.randrange(0x10000):04X}".encode()
            out[bang + 1 : bang + 5] = new
            self.counts["bad_crc"] += 1
        if spec.truncate and rng.random() < spec.truncate:
            out = out[: rng.randrange(1, max(2, bang))]
            self.counts["truncate"] += 1
        if spec.garbage and rng.random() < spec.garbage:
            junk = bytes(
                rng.choice(b"0123456789ABCDEF()*:-.\r\n\x00\xff") for _ in range(rng.randrange(1, 64))
            )
            out = bytearray(junk) + out
            self.counts["garbage"] += 1
        return bytes(out)
