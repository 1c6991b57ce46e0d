"""The pipeline's counters and clocks, grouped by job into small state objects that health reports.

Strategy: plain mutable dataclasses, no I/O and no logging: the `Gateway` updates them as telegrams come
and go, `gateway.pipeline.health` reads them. Counts are since start; times are monotonic seconds
(`time.monotonic()`) except the meter's own time.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

LAST_REJECTIONS = 5  # kept for health, newest last


class Rejected(TypedDict):
    """One rejected telegram: its kind (`unparsable`, `non_finite`, `register_floor`, ...) and why."""

    kind: str
    reason: str


@dataclass(slots=True)
class TelegramCounts:
    """What came in: telegrams, framing errors by reason, rejections by kind, and why the task died."""

    telegrams: int = 0
    accepted: int = 0  # telegrams that passed the screening (the rest are under `rejected`)
    framing_errors: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_streak: int = 0  # telegrams rejected since the last accepted one
    last_rejection: Rejected | None = None
    last_rejections: deque[Rejected] = field(default_factory=lambda: deque(maxlen=LAST_REJECTIONS))
    clockless: int = 0  # telegrams of a meter without a clock (DSMR 2.2): system time used
    failure: str | None = None  # why the pipeline task died (None while it runs or ended cleanly)

    def reject(self, kind: str, reason: str) -> None:
        self.rejected[kind] += 1
        self.rejected_streak += 1
        self.last_rejection = {"kind": kind, "reason": reason}
        self.last_rejections.append(self.last_rejection)

    def accept(self) -> None:
        self.accepted += 1
        self.rejected_streak = 0


@dataclass(slots=True)
class MeterClock:
    """When things happened: start, the last telegram received and accepted, the meter's time and how far
    the system clock is off it (`skew_s`, warned about once beyond `warn_s`)."""

    warn_s: float
    started_monotonic: float = field(default_factory=time.monotonic)
    received_monotonic: float | None = None  # the last telegram or S1 second, accepted or not
    latest_monotonic: float | None = None  # the last accepted one
    last_meter_time: datetime | None = None
    skew_s: float | None = None
    skew_warned: bool = False

    def measure_skew(self, stamp: datetime, now: float) -> bool:
        """Record how far the system clock (`now`, Unix seconds) is off the meter's `stamp`; True when it
        goes beyond `warn_s` (once: again only after it was back within half of it)."""
        skew = now - stamp.timestamp()
        self.skew_s = round(skew, 1)
        if abs(skew) > self.warn_s and not self.skew_warned:
            self.skew_warned = True
            return True
        if abs(skew) <= self.warn_s / 2:
            self.skew_warned = False
        return False


@dataclass(slots=True)
class QuarterHourCounts:
    """Quarter-hours closed, stored, and dropped (the store refused them too long); where the aggregator
    was restored from."""

    closed: int = 0
    stored: int = 0
    dropped: int = 0
    restored_from: str | None = None
