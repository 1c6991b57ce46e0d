"""The `Gateway`: one source -> framer, parser, screening -> fan-out; implements `gateway.view.GatewayView`.

One task reads the source and handles every telegram in stream order, in the event loop; the steps and
their guarantees are in the package's docstring (`gateway.pipeline`). This module is the fan-out itself; the
state it keeps is in small objects by job (counters, latest telegram, store side, live stream, prepayment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dsmr_parser import Frame, Framer, FramingError, Telegram, TelegramParser, Value
from dsmr_parser.registry import TARIFF_LABELS
from gateway.answers import GatewayEvent, PrepaymentState, SimulatorStateJson, VoltageLimitEvent
from gateway.i18n.notices import render
from gateway.logs import BurstLog, get_logger, log
from gateway.pipeline.analysis import LiveAnalysis
from gateway.ports import GatewayPublisher, GatewayStore
from gateway.sources import Source
from metering.peaks import CapacityGuard
from metering.quarter_hours import QuarterHour, QuarterHourAggregator
from metering.readings import Rejection
from metering.record import QuarterHourRecord
from metering.screening import RegisterFloor, non_finite

from .counters import MeterClock, QuarterHourCounts, TelegramCounts
from .event_texts import clock_skew_event, localised
from .latest import LatestTelegram
from .live import LiveStream
from .outbox import republish
from .persistence import PipelineStore
from .prepayment import PrepaymentWatch, notification_event
from .read_side import GatewayReadSide, RecentItems
from .restore import restore_from_store

if TYPE_CHECKING:
    from gateway.sources.s1 import S1Reader

logger = get_logger("pipeline")

SKEW_WARN_S = 120.0
UNSTORED_MAX = 96 * 4  # closed quarter-hours kept in memory while the store refuses writes: four days
RETENTION_EVERY = timedelta(days=1)
REPUBLISH_DAYS = 400  # at start-up, stored quarter-hours this recent that never reached MQTT are re-queued


@dataclass(frozen=True, slots=True)
class Reading:
    """Bytes to telegrams: the framer, the parser, and the once-per-burst logs of framing errors and of
    rejected telegrams."""

    framer: Framer
    parser: TelegramParser
    framing_log: BurstLog = field(default_factory=lambda: BurstLog(get_logger("framing"), "framing error"))
    rejection_log: BurstLog = field(
        default_factory=lambda: BurstLog(get_logger("aggregator"), "telegram rejected")
    )


class Gateway(GatewayReadSide):
    """Reads one meter and serves it: store, MQTT, live stream, the `GatewayView` of the HTTP API.

    Args:
        source: a `gateway.sources.Source` (its `sim` attribute gives the simulator controls).
        store: a `gateway.store.Store` (None: nothing persisted, quarter-hours kept in memory).
        publisher: a `gateway.mqtt.MqttPublisher` (None: no MQTT).
        tz: zone of the clock quarter-hours and of S/W timestamps.
        country: BE / NL (tariff 1 = day / night).
        ean: copied into quarter-hour records.
        live_queue_size: per-subscriber bound of the live stream.
        check_crc: verify telegram CRCs.
        skew_warn_s: system clock this far (s) off the meter's: warned once, health `degraded`.
        threshold_kw: the capacity guard's own peak threshold (None: the month peak only).
        unstored_max: closed quarter-hours kept in memory while the store refuses writes (oldest dropped).
        retention_every: meter time between two `Store.apply_retention` runs (None: never).
        language: the language of the events' customer texts (en, fr, nl: `[dashboard] language`).
    """

    def __init__(
        self,
        source: Source,
        *,
        store: GatewayStore | None = None,
        publisher: GatewayPublisher | None = None,
        tz: str = "Europe/Brussels",
        country: str = "BE",
        ean: str = "",
        live_queue_size: int = 256,
        check_crc: bool = True,
        skew_warn_s: float = SKEW_WARN_S,
        threshold_kw: Decimal | None = None,
        unstored_max: int = UNSTORED_MAX,
        retention_every: timedelta | None = RETENTION_EVERY,
        language: str | None = None,
    ) -> None:
        labels = TARIFF_LABELS.get(country, {1: "day", 2: "night"})
        self.source = source
        self.publisher = publisher
        self.zone = ZoneInfo(tz)
        self.ean = ean or None
        self.language = language
        self.meter_id: str | None = None
        # reading: bytes -> frames -> telegrams -> screened
        self.reading = Reading(Framer(check_crc=check_crc), TelegramParser(tz))
        self.floor = RegisterFloor()
        self.aggregator = QuarterHourAggregator(tz, tariff_labels=labels)
        self.guard = CapacityGuard(tz, tariff_labels=labels, threshold_kw=threshold_kw)
        self.analysis = LiveAnalysis()  # voltage quality and appliance steps (docs/analysis.md)
        self.s1: S1Reader | None = None  # the reader of an S1 source
        # state, by job
        self.counts = TelegramCounts()
        self.clock = MeterClock(warn_s=skew_warn_s)
        self.quarter_hour_counts = QuarterHourCounts()
        self.latest_telegram = LatestTelegram(country)
        self.prepayment_watch = PrepaymentWatch()
        self.recent = RecentItems()
        self.live = LiveStream(live_queue_size)
        self.persist = (
            None
            if store is None
            else PipelineStore(
                store,
                self.quarter_hour_counts,
                unstored_max=unstored_max,
                retention_every=retention_every,
            )
        )
        self.health_sections: dict[str, Callable[[], Any]] = {}  # name -> an extra health section
        self.finished = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore from the store's checkpoint, then start reading the source in a task."""
        await self.restore()
        self._task = asyncio.create_task(self.run(), name="gateway-pipeline")

    async def restore(self) -> None:
        """Continue the aggregators from the store's checkpoint; seed month peaks from stored records;
        queue for MQTT the stored quarter-hours that never reached it (the outbox rule)."""
        if self.store is None:
            return
        now = datetime.now(self.zone)
        restored = await restore_from_store(
            self.store, now, aggregator=self.aggregator, guard=self.guard, floor=self.floor
        )
        self.meter_id = restored.meter_id or self.meter_id
        self.quarter_hour_counts.restored_from = restored.restored_from
        if self.publisher is not None:
            republish(self.publisher, restored.records, now - timedelta(days=REPUBLISH_DAYS))
        self.recent.remember_quarter_hours(restored.records)
        if restored.prepayment is not None:
            self.recent.prepayment = restored.prepayment

    async def stop(self) -> None:
        """Stop reading, write the checkpoint and buffered data (publishing `offline` is the publisher's)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.source.aclose()
        if self.persist is not None:
            # the checkpoint goes with any quarter-hour still waiting for the store (and the buffers)
            self._announce(await self.persist.store_quarter_hours([], self._checkpoint()))

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait(self) -> None:
        """Until the source ends (a finished file replay); live sources never end."""
        await self.finished.wait()

    async def run(self) -> None:
        """Read the source to its end (never, for a live source), handling every telegram."""
        if self.source.spec.s1:
            await self.run_s1()
            return
        try:
            async for chunk in self.source:
                await self._frames(self.reading.framer.feed(chunk))
            await self._frames(self.reading.framer.close())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not one telegram's fault (those are rejected): health says `down`
            self.counts.failure = f"{type(exc).__name__}: {exc}"
            logger.error("pipeline stopped", exc_info=exc, extra={"fields": {"error": self.counts.failure}})
        finally:
            self.finished.set()

    async def _frames(self, events: list[Frame | FramingError]) -> None:
        for event in events:
            if isinstance(event, FramingError):
                self.counts.framing_errors[event.reason] += 1
                self.reading.framing_log.error(
                    event.reason, time.monotonic(), offset=event.offset, detail=event.detail
                )
                continue
            try:
                telegram = self.reading.parser.parse(event.data, event.crc)
            except Exception as exc:  # a parser bug must not stop the meter: this telegram is rejected
                self.clock.received_monotonic = time.monotonic()
                self._reject(Rejection("unparsable", f"{type(exc).__name__}: {exc}"), exc)
                continue
            await self.handle(telegram)

    async def run_s1(self) -> None:
        """An S1 source: per-second RMS/power/frequency/THD values instead of telegrams."""
        from gateway.sources.s1 import S1Reader

        reader = self.s1 = S1Reader()
        try:
            async for chunk in self.source:
                # ~2600 frames a second: decode in a thread so HTTP and MQTT stay responsive
                for values in await asyncio.to_thread(reader.feed, chunk):
                    await self.handle_s1(values)
        finally:
            self.finished.set()

    async def handle_s1(self, values: dict[str, float]) -> None:
        """One second of S1 values: latest states, MQTT `state/s1_*`, history, live stream."""
        self.latest_telegram.s1_values = values
        self.clock.latest_monotonic = self.clock.received_monotonic = time.monotonic()
        if self.meter_id is None and self.s1 is not None:
            self.meter_id = self.s1.meter_id
        if self.publisher is not None:
            self.publisher.publish_states(values, meter_id=self.meter_id)
        if self.persist is not None and self.meter_id:
            await self.persist.write(
                self.persist.store.add_history, self.meter_id, datetime.now(self.zone), values
            )
        self.live.broadcast({"type": "s1", "data": {"meter_id": self.meter_id, "values": values}})
        await self._analyse(self.analysis.feed_s1(datetime.now(self.zone), values))

    async def _analyse(self, events: list[VoltageLimitEvent]) -> None:
        """Voltage limit crossings as events; closed analysis aggregates to the store."""
        for event in events:
            await self._event(event)
        if self.analysis.due:
            await self.analysis.write(self.store, self.meter_id or "unknown")

    # -- per telegram ------------------------------------------------------------------------------------
    def _reject(self, rejection: Rejection, exc: BaseException | None = None) -> None:
        """Count a telegram that goes nowhere; log once per burst (with the traceback of an exception)."""
        self.counts.reject(rejection.kind, rejection.reason)
        opens = not self.reading.rejection_log.burst
        self.reading.rejection_log.error(rejection.kind, time.monotonic(), why=rejection.reason)
        if exc is not None and opens:
            logger.error("telegram not handled", exc_info=exc, extra={"fields": {"kind": rejection.kind}})

    async def handle(self, telegram: Telegram) -> None:
        """One telegram through the whole fan-out (public for tests and hub-mode benchmarks).

        Never raises (but for cancellation): an exception is this telegram's rejection (`internal_error`).
        """
        try:
            await self._handle(telegram)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._reject(Rejection("internal_error", f"{type(exc).__name__}: {exc}"), exc)

    def _screen(self, telegram: Telegram, meter_id: str) -> tuple[Rejection | None, list[QuarterHour]]:
        """Whether the telegram may be used: its rejection, else the quarter-hours it closed."""
        states = self.latest_telegram.state_values(telegram)
        rejection = non_finite(telegram) or self.floor.check(meter_id, states)
        if rejection is not None:
            return rejection, []
        added = self.aggregator.add(telegram)
        return added.rejected, list(added)

    async def _handle(self, telegram: Telegram) -> None:
        now = time.time()
        self.reading.framing_log.ok(time.monotonic())
        self.counts.telegrams += 1
        self.clock.received_monotonic = time.monotonic()
        stamp = telegram.timestamp
        if stamp is None:
            # a meter without a clock (DSMR 2.2): the only time there is, flagged in health
            self.counts.clockless += 1
            stamp = datetime.fromtimestamp(int(now), self.zone)
            telegram.values["0-0:1.0.0"] = Value(stamp)
        elif self.source.spec.live and self.clock.measure_skew(stamp, now):
            self._warn_skew(stamp)
        meter_id = telegram.meter_id or self.meter_id or "unknown"
        rejection, closed = self._screen(telegram, meter_id)
        if rejection is not None:
            self._reject(rejection)
            return
        self.counts.accept()
        self.reading.rejection_log.ok(time.monotonic())
        self.floor.accept(meter_id, self.latest_telegram.state_values(telegram))
        self.clock.last_meter_time = stamp
        self.latest_telegram.accept(telegram)
        self.clock.latest_monotonic = time.monotonic()
        if self.meter_id is None:
            self.meter_id = telegram.meter_id
        if closed:
            await self._quarter_hours_closed(closed)
        if self.persist is not None:
            await self.persist.apply_retention(stamp)
            await self.persist.save_floor(self.floor.snapshot)

        for event in self.guard.update(telegram):
            await self._event(event)
        await self._analyse(self.analysis.feed_values(stamp, telegram.values))
        await self._update_prepayment(telegram, stamp)

        if self.publisher is not None:
            self.publisher.publish_telegram(telegram)
        if self.persist is not None:
            history = self.latest_telegram.history_values(telegram)
            await self.persist.write(self.persist.store.add_history, self._stored_meter_id, stamp, history)
        if self.live.subscribers:
            self.live.broadcast({"type": "telegram", "data": self.latest()})

    def _warn_skew(self, stamp: datetime) -> None:
        skew_s = self.clock.skew_s or 0.0  # set: measure_skew just warned
        message = "system clock differs from the meter clock; data uses the meter clock"
        log(logger, logging.WARNING, message, skew_s=skew_s, meter_time=stamp.isoformat())
        self.recent.events.appendleft(clock_skew_event(stamp, skew_s, self.language))

    def _checkpoint(self) -> dict[str, Any]:
        return {
            "aggregator": self.aggregator.snapshot(),
            "meter_id": self.meter_id,
            "registers": self.floor.snapshot(),
        }

    async def _quarter_hours_closed(self, closed: list[QuarterHour]) -> None:
        meter_id = self.meter_id or "unknown"
        records = [qh.to_json(meter_id, self.ean) for qh in closed]
        self.quarter_hour_counts.closed += len(records)
        if self.persist is not None:
            records = await self.persist.store_quarter_hours(records, self._checkpoint())
        self._announce(records)

    def _announce(self, records: list[QuarterHourRecord]) -> None:
        """Durable (or no store) quarter-hours, oldest first: log, MQTT, live stream."""
        for record in records:
            self.recent.quarter_hours.append(record)
            log(
                logger,
                logging.INFO,
                "quarter-hour closed",
                start=record["start"],
                import_kwh=record["import_kwh"],
                complete=record["complete"],
            )
            if self.publisher is not None:
                self.publisher.publish_quarter_hour(record)
            self.live.broadcast({"type": "quarter_hour", "data": record})

    async def _event(self, given: GatewayEvent) -> None:
        event = localised(given.copy(), self.language)  # the customer sentence in the gateway's language
        event.setdefault("meter_id", self.meter_id)
        if "at" not in event and self.clock.last_meter_time is not None:
            event["at"] = self.clock.last_meter_time.isoformat()
        self.recent.events.appendleft(event)
        log(logger, logging.INFO, "event", type=event.get("type"), message=event.get("message"))
        if self.persist is not None:
            await self.persist.write(self.persist.store.add_event, event)
        if self.publisher is not None:
            self.publisher.publish_event(event)
        self.live.broadcast({"type": "event", "data": event})

    async def _update_prepayment(self, telegram: Telegram, at: datetime) -> None:
        sim = self.source.sim
        if sim is not None:
            for note in sim.drain_notifications():
                await self._event(notification_event(note, self.language))
        update = self.prepayment_watch.update(telegram, at)
        if update is None:
            return
        p1, notes = update
        if sim is not None and getattr(sim, "account", None) is not None:
            from prepayment.view import account_state, what_to_do_text

            simulated: SimulatorStateJson = {
                "meter_id": self.meter_id,
                "source": "simulator",
                **account_state(sim.account),
                "accounts": p1["accounts"],
            }
            simulated["what_to_do"] = render(what_to_do_text(sim.account), self.language)  # the customer's
            state: PrepaymentState = simulated
        else:
            state = p1.copy()
            for note in notes:
                await self._event(notification_event(note, self.language))
        self.recent.prepayment = state
        if self.publisher is not None:
            self.publisher.publish_prepayment(state)
        if self.persist is not None:
            await self.persist.write(self.persist.store.save_prepayment, self._stored_meter_id, state)
        self.live.broadcast({"type": "prepayment", "data": state})
