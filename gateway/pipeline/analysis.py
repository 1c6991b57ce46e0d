"""The pipeline's side of the voltage and appliance analyses: telegrams in, aggregates stored, events out.

Strategy: the pure aggregators of `analysis` (10-minute voltage windows and episodes per phase, power steps,
10-minute import power) are fed every telegram (P1) or second (S1) with the meter's time. What they close
is buffered and written in one transaction when a 10-minute window closes (about six small writes an hour:
the SD card is spared, the 1 s data is not kept). A write the store refuses is retried with the next one
(at most `PENDING_MAX` items are kept). A limit crossing (over-voltage above 253 V, dip below 207 V) becomes
an event — stored, on MQTT `event` and on the live stream — through the gateway's own event path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from analysis.appliances import PowerStep, PowerWindow, PowerWindows, StepDetector
from analysis.readings import Reading, reading_from_s1, reading_from_values
from analysis.voltage import VoltageAggregator, VoltageEpisode, VoltageUpdate, VoltageWindow
from gateway.answers import VoltageLimitEvent
from gateway.logs import get_logger, log
from gateway.store.analysis import add_analysis

logger = get_logger("analysis")
PENDING_MAX = 20_000


class LiveAnalysis:
    """Aggregators for one meter's P1 telegrams and, when an S1 source runs, its S1 seconds."""

    def __init__(self) -> None:
        self.voltage = {"p1": VoltageAggregator("p1"), "s1": VoltageAggregator("s1")}
        self.steps = StepDetector()
        self.power = PowerWindows()
        self._windows: list[VoltageWindow] = []
        self._episodes: list[VoltageEpisode] = []
        self._steps: list[PowerStep] = []
        self._power: list[PowerWindow] = []
        self.write_errors = 0
        self._refusing = False  # the last write was refused: retried when a window closes, not per telegram
        self._closed = False  # a window closed since the last write

    def feed(self, at: datetime, reading: Reading, source: str = "p1") -> list[VoltageLimitEvent]:
        """One sample; returns the events of limit crossings that started now."""
        update: VoltageUpdate = self.voltage[source].feed(at, reading)
        self._windows += update.windows
        self._episodes += update.ended
        self._steps += self.steps.feed(at, reading)
        power = self.power.feed(at, reading)
        self._power += power
        self._closed = self._closed or bool(update.windows or power)
        return [crossing_event(e, at) for e in update.started]

    def feed_values(self, at: datetime, values: Mapping[str, Any]) -> list[VoltageLimitEvent]:
        """A parsed telegram's `values` (OBIS -> `Value`)."""
        numbers = {code: getattr(v, "value", v) for code, v in values.items()}
        numbers = {c: n for c, n in numbers.items() if isinstance(n, int | float | Decimal)}
        return self.feed(at, reading_from_values(numbers), "p1")

    def feed_s1(self, at: datetime, values: Mapping[str, float]) -> list[VoltageLimitEvent]:
        return self.feed(at, reading_from_s1(values), "s1")

    @property
    def due(self) -> bool:
        """A 10-minute window closed since the last write (or the last refused one): time to write."""
        return bool(self._windows or self._power) and (self._closed or not self._refusing)

    async def write(self, store: Any | None, meter_id: str) -> None:
        """Write what closed (in a thread); kept for the next try when the store refuses; dropped when
        there is no store."""
        batch = (self._windows, self._episodes, self._steps, self._power)
        self._windows, self._episodes, self._steps, self._power = [], [], [], []
        self._closed = False
        if store is None:
            return
        try:
            await asyncio.to_thread(
                add_analysis, store, meter_id,
                windows=batch[0], episodes=batch[1], steps=batch[2], power_windows=batch[3],
            )  # fmt: skip
        except Exception as exc:
            self.write_errors += 1
            # one line when the store starts refusing (as for quarter-hours), the retries at DEBUG
            level = logging.DEBUG if self._refusing else logging.ERROR
            log(logger, level, "analysis aggregates not stored, kept for the next window", error=str(exc))
            self._windows = (batch[0] + self._windows)[-PENDING_MAX:]
            self._episodes = (batch[1] + self._episodes)[-PENDING_MAX:]
            self._steps = (batch[2] + self._steps)[-PENDING_MAX:]
            self._power = (batch[3] + self._power)[-PENDING_MAX:]
            self._refusing = True
            return
        if self._refusing:
            log(logger, logging.INFO, "analysis aggregates stored after store errors")
            self._refusing = False


def crossing_event(episode: VoltageEpisode, at: datetime) -> VoltageLimitEvent:
    """The MQTT/stored event of a limit crossing."""
    volts = episode.extreme_dv / 10
    if episode.kind == "over_voltage":
        message = f"over-voltage on L{episode.phase}: {volts:.1f} V (limit 253 V)"
    else:
        message = f"voltage dip on L{episode.phase}: {volts:.1f} V (limit 207 V)"
    return {
        "type": "voltage_limit",
        "at": datetime.fromtimestamp(episode.start_ts, UTC).astimezone(at.tzinfo).isoformat(),
        "kind": episode.kind,
        "phase": episode.phase,
        "voltage_v": volts,
        "exporting": bool(episode.export_s),
        "source": episode.source,
        "message": message,
    }
