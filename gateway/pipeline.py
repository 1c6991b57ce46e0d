"""The `Gateway`: one source -> framer, parser, screening -> fan-out; implements `gateway.view.GatewayView`.

Strategy: one task reads the source and handles every telegram in stream order, in the event loop:
1. framing errors are counted by reason and logged once per burst (`BurstLog`);
2. a telegram is screened before anything is published from it: one the parser cannot read, one with a
   number that is not finite (`screening.non_finite`), one whose cumulative register is below what was
   already accepted for its meter id (`screening.RegisterFloor`, kept in the store's checkpoint), or one
   the aggregator rejects (clock or register going backwards, absurd values) is counted under
   `rejected` by kind, logged once per burst, and goes nowhere else: no state, no history, no MQTT. Any
   exception while handling one telegram is such a rejection (`internal_error`): one telegram never stops
   the pipeline. Health reports a source whose telegrams are all being rejected, and a dead pipeline task;
3. an accepted telegram becomes the latest (its JSON is built lazily, once, only when someone needs it);
4. the `QuarterHourAggregator` (restored from the store's checkpoint at start) closes quarter-hours; they are
   written to the store WITH the aggregator snapshot in ONE transaction (`asyncio.to_thread`) and only then
   handed to MQTT and the live stream, so a crash can lose the open quarter-hour's telegrams but never a
   closed quarter-hour, and a restart never counts one twice (upserts keyed by meter and start). Records the
   store refuses (full disk) wait in a bounded in-memory list and go into the next quarter-hour write (or
   the one at stop), still with the checkpoint, then are published in order: the checkpoint never moves
   past a closed quarter-hour that is not stored;
5. the `CapacityGuard` (its own aggregator restored from the same snapshot) gives peak events;
6. prepayment state: from the simulator's account (in-process `sim:` with prepayment) or else from the
   telegram's 0-n:19.x lines with the breaker/valve; published and stored when it changes;
7. MQTT (`MqttPublisher`, non-blocking: it never waits for the broker), downsampled history (the store
   buckets it per minute), live subscribers (bounded queues: a slow SSE client loses its oldest items,
   never slows the pipeline);
8. history retention (`Store.apply_retention`) when the first telegram gives the meter's time, then every
   `retention_every` (a day) of meter time.
The meter's timestamp is the time of everything data-related. For live sources the difference with the
system clock is measured and reported (a Pi without RTC may boot with a wrong clock: data stays right).
Meters without a clock (DSMR 2.2) get the system time, flagged in health.
While the asyncio transport keeps buffering the port, the short awaits on the store cannot lose bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dsmr_parser import Frame, Framer, FramingError, Telegram, TelegramParser, Value, state_values
from dsmr_parser.registry import TARIFF_LABELS
from gateway.analysis_live import LiveAnalysis
from gateway.health import build_health
from gateway.logs import BurstLog, get_logger, log
from gateway.sources import Source
from gateway.states import EMERGENCY_STATES, SUPPLY_STATES
from gateway.store import WriteOutage
from gateway.view import ControlDenied
from metering.peaks import CapacityGuard
from metering.quarter_hours import QuarterHourAggregator, Rejection
from metering.screening import RegisterFloor, non_finite

logger = get_logger("pipeline")

SKEW_WARN_S = 120.0
FLOOR_SAVE_S = 60.0  # the register floor goes to the store at most this often (and with every checkpoint)
UNSTORED_MAX = 96 * 4  # closed quarter-hours kept in memory while the store refuses writes: four days
RETENTION_EVERY = timedelta(days=1)
RETENTION_RETRY = timedelta(hours=1)  # after a failed retention (a full disk is when it matters most)
REPUBLISH_DAYS = 400  # at start-up, stored quarter-hours this recent that never reached MQTT are re-queued
HISTORY_EXACT = frozenset(
    {
        "energy_import_day",
        "energy_import_night",
        "energy_export_day",
        "energy_export_night",
        "gas_volume",
        "water_volume",
        "current_average_demand",
    }
)
HISTORY_PREFIXES = ("power_", "voltage_l", "current_l", "s1_")


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, int | float):
        return value
    return None


def prepayment_from_telegram(telegram: Telegram) -> dict[str, Any] | None:
    """The credit state carried by the 0-B:19.x extension lines (None when the meter has none).

    The first account found (electricity B=0, else the gas channel) is the top level; every account is
    under `accounts` by energy.
    """
    values = telegram.values
    accounts: dict[str, dict[str, Any]] = {}
    for b in "01234":
        balance = values.get(f"0-{b}:19.10.0")
        if balance is None:
            continue
        energy = "electricity" if b == "0" else "gas"
        status = values.get(f"0-{b}:19.0.0")
        bits = status.value if status is not None and isinstance(status.value, int) else 0
        emergency = values.get(f"0-{b}:19.11.1")
        supply_code = f"0-{b}:24.4.0" if b != "0" else "0-0:96.3.10"
        supply = values.get(supply_code)
        breaker = supply.value if supply is not None and isinstance(supply.value, int) else None
        limit = values.get("0-0:17.0.0") if b == "0" else None
        limit_kw = _number(limit.value) if limit is not None else None

        def eur(code: str) -> float | int | None:
            found = values.get(code)
            return None if found is None else _number(found.value)

        accounts[energy] = {
            "energy": energy,
            "channel": int(b),
            "balance_eur": eur(f"0-{b}:19.10.0"),
            "emergency_credit_eur": {"remaining": eur(f"0-{b}:19.10.1")},
            "debt_eur": eur(f"0-{b}:19.10.2"),
            "start_credit_due_eur": eur(f"0-{b}:19.20.0"),
            "credit_status": bits,
            "in_credit": bool(bits & 1),
            "low_credit": bool(bits & 2),
            "out_of_credit": bool(bits & 64),
            "emergency_state": EMERGENCY_STATES.get(emergency.value)
            if emergency is not None and isinstance(emergency.value, int)
            else None,
            "breaker_state": breaker,
            "supply_state": SUPPLY_STATES.get(breaker) if breaker is not None else None,
            "power_limit_kw": None if limit_kw is None or limit_kw >= 999 else limit_kw,
        }
    if not accounts:
        return None
    first = accounts.get("electricity") or next(iter(accounts.values()))
    stamp = telegram.timestamp
    return {
        "meter_id": telegram.meter_id,
        "at": stamp.isoformat() if stamp is not None else None,
        "source": "p1",
        **first,
        "accounts": accounts,
    }


def _prepayment_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Transitions worth a notification: low credit, emergency credit in use, disconnected, reconnectable."""
    out: list[dict[str, Any]] = []
    before = old or {}
    checks = (
        ("low_credit", "low_credit", "credit is low"),
        ("out_of_credit", "out_of_credit", "credit is exhausted"),
    )
    for key, kind, message in checks:
        if new.get(key) and not before.get(key):
            out.append({"type": kind, "message": message})
    if new.get("emergency_state") in ("invoked", "in_use") and before.get("emergency_state") not in (
        "invoked",
        "in_use",
    ):
        out.append({"type": "emergency_credit", "message": "emergency credit is in use"})
    supply, was = new.get("supply_state"), before.get("supply_state")
    if supply != was and supply in ("disconnected", "ready", "connected") and old is not None:
        messages = {
            "disconnected": "supply disconnected",
            "ready": "supply ready: press the meter's button to reconnect",
            "connected": "supply reconnected",
        }
        out.append({"type": f"supply_{supply}", "message": messages[supply]})
    for event in out:
        event.update(energy=new.get("energy"), balance_eur=new.get("balance_eur"))
    return out


def not_yet_queued(
    records: list[dict[str, Any]], queued: Mapping[str, datetime], since: datetime
) -> list[dict[str, Any]]:
    """The quarter-hour records (oldest first, as given) starting at or after `since` and after the newest
    start queued for their meter (`queued`; a meter absent from it has none queued)."""
    out = []
    for record in records:
        start = datetime.fromisoformat(record["start"])
        mark = queued.get(record["meter_id"])
        if start >= since and (mark is None or start > mark):
            out.append(record)
    return out


def _republish(publisher: Any, records: list[dict[str, Any]], since: datetime) -> None:
    """The outbox rule at start-up: stored quarter-hours (oldest first) newer than the publisher's durable
    mark of their meter never reached the MQTT queue (a crash between the two commits): queue them now,
    at most the queue's capacity (the newest)."""
    missing = not_yet_queued(records, publisher.quarter_hours_queued(), since)
    if not missing:
        return
    skipped = max(0, len(missing) - publisher.queue.max_messages)
    log(
        logger,
        logging.WARNING if skipped else logging.INFO,
        "quarter-hours stored but never queued for MQTT: publishing them",
        count=len(missing) - skipped,
        first=missing[skipped]["start"],
        skipped_oldest=skipped,
    )
    for record in missing[skipped:]:
        publisher.publish_quarter_hour(record)


class Gateway:
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
        unstored_max: closed quarter-hours kept in memory while the store refuses writes (oldest dropped).
        retention_every: meter time between two `Store.apply_retention` runs (None: never).
    """

    def __init__(
        self,
        source: Source,
        *,
        store: Any | None = None,
        publisher: Any | None = None,
        tz: str = "Europe/Brussels",
        country: str = "BE",
        ean: str = "",
        live_queue_size: int = 256,
        check_crc: bool = True,
        skew_warn_s: float = SKEW_WARN_S,
        threshold_kw: Decimal | None = None,
        unstored_max: int = UNSTORED_MAX,
        retention_every: timedelta | None = RETENTION_EVERY,
    ) -> None:
        self.source = source
        self.store = store
        self.publisher = publisher
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.country = country
        self.ean = ean or None
        labels = TARIFF_LABELS.get(country, {1: "day", 2: "night"})
        self.framer = Framer(check_crc=check_crc)
        self.parser = TelegramParser(tz)
        self.floor = RegisterFloor()
        self._floor_saved = 0.0
        self.aggregator = QuarterHourAggregator(tz, tariff_labels=labels)
        self.guard = CapacityGuard(tz, tariff_labels=labels, threshold_kw=threshold_kw)
        self.live_queue_size = live_queue_size
        self.skew_warn_s = skew_warn_s
        self.started_monotonic = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.meter_id: str | None = None
        self._latest: Telegram | None = None
        self._latest_json: dict[str, Any] | None = None
        self._latest_monotonic: float | None = None
        self._states: dict[str, Any] = {}
        self._states_telegram: Telegram | None = None
        self._prepayment: dict[str, Any] | None = None
        self._prepayment_p1: dict[str, Any] | None = None
        self._prepayment_key: tuple[Any, ...] | None = None
        self._events: deque[dict[str, Any]] = deque(maxlen=200)
        self._recent_qh: deque[dict[str, Any]] = deque(maxlen=96 * 2)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.telegrams = 0
        self.framing_errors: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.accepted = 0  # telegrams that passed the screening (the rest are under `rejected`)
        self.rejected_streak = 0  # telegrams rejected since the last accepted one
        self.last_rejection: dict[str, str] | None = None
        self.last_rejections: deque[dict[str, str]] = deque(maxlen=5)  # newest last: kind, reason
        self.failure: str | None = None  # why the pipeline task died (None while it runs or ended cleanly)
        self._received_monotonic: float | None = None
        self.live_dropped = 0
        self.quarter_hours_closed = 0
        self.quarter_hours_stored = 0
        self.unstored_max = unstored_max
        self._unstored: deque[dict[str, Any]] = deque()  # closed, not yet known durable (oldest first)
        self.quarter_hours_dropped = 0  # closed, never stored: the store refused them for too long
        self._dropping = False  # dropping in the current episode of store errors (logged once)
        self.retention_every = retention_every
        self._retention_due: datetime | None = None  # meter time of the next retention run
        self.retention_last: dict[str, Any] | None = None
        self.restored_from: str | None = None
        self.store_outage = WriteOutage(logger)  # refused writes: counted, logged once per outage
        self.skew_s: float | None = None
        self.clockless = 0
        self.last_meter_time: datetime | None = None
        self._skew_warned = False
        self._burst = BurstLog(get_logger("framing"), "framing error")
        self._reject_burst = BurstLog(get_logger("aggregator"), "telegram rejected")
        self._task: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()
        self.s1: Any = None  # the S1Reader of an S1 source
        self.health_sections: dict[str, Any] = {}  # name -> callable giving an extra health section
        self._s1_values: dict[str, float] = {}
        self.analysis = LiveAnalysis()  # voltage quality and appliance steps (docs/analysis.md)

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore from the store's checkpoint, then start reading the source in a task."""
        await self.restore()
        self._task = asyncio.create_task(self.run(), name="gateway-pipeline")

    async def restore(self) -> None:
        """Continue the aggregators from the store's checkpoint; seed month peaks from stored records."""
        if self.store is None:
            return
        snapshot = await asyncio.to_thread(self.store.get_checkpoint)
        if snapshot is not None:
            try:
                self.aggregator.restore(snapshot.get("aggregator"))
                self.guard.aggregator.restore(snapshot.get("aggregator"))
            except ValueError as exc:
                log(logger, logging.ERROR, "checkpoint not usable, starting cold", error=str(exc))
                self.aggregator.restore(None)
                self.guard.aggregator.restore(None)
            else:
                self.meter_id = snapshot.get("meter_id") or self.meter_id
                self._restore_floor(snapshot.get("registers"))
                reading = self.aggregator.last_reading
                self.restored_from = reading[0].isoformat() if reading else None
                log(logger, logging.INFO, "aggregator restored", last_reading=self.restored_from)
        now = datetime.now(self.zone)
        since = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=400)).replace(
            day=1
        )
        records = await asyncio.to_thread(self.store.quarter_hours, since, now + timedelta(days=1))
        self.guard.load(records)
        if self.publisher is not None:
            _republish(self.publisher, records, now - timedelta(days=REPUBLISH_DAYS))
        self._recent_qh.extend(records[-self._recent_qh.maxlen :] if self._recent_qh.maxlen else [])
        newer = await asyncio.to_thread(self.store.get_checkpoint, "registers")
        if newer is not None:
            self._restore_floor(newer)
        prepayment = await asyncio.to_thread(self.store.prepayment)
        if prepayment is not None:
            self._prepayment = prepayment

    def _restore_floor(self, snapshot: Mapping[str, Any] | None) -> None:
        """Raise the register floor to a stored one (the checkpoint's, then the newer periodic one)."""
        found = RegisterFloor()
        try:
            found.restore(snapshot)
            self.floor.merge(found)
        except ValueError as exc:
            log(logger, logging.ERROR, "register floor not usable, starting without", error=str(exc))

    async def stop(self) -> None:
        """Stop reading, write the checkpoint and buffered data (publishing `offline` is the publisher's)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.source.aclose()
        if self.store is not None:
            # the checkpoint goes with any quarter-hour still waiting for the store (and the buffers)
            self._announce(await self._store_quarter_hours([]))

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
                await self._frames(self.framer.feed(chunk))
            await self._frames(self.framer.close())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not one telegram's fault (those are rejected): health says `down`
            self.failure = f"{type(exc).__name__}: {exc}"
            logger.error("pipeline stopped", exc_info=exc, extra={"fields": {"error": self.failure}})
        finally:
            self.finished.set()

    async def _frames(self, events: list[Frame | FramingError]) -> None:
        for event in events:
            if isinstance(event, FramingError):
                self._framing_error(event)
                continue
            try:
                telegram = self.parser.parse(event.data, event.crc)
            except Exception as exc:  # a parser bug must not stop the meter: this telegram is rejected
                self._received_monotonic = time.monotonic()
                self._reject(Rejection("unparsable", f"{type(exc).__name__}: {exc}"), exc)
                continue
            await self.handle(telegram)

    async def run_s1(self) -> None:
        """An S1 source: per-second RMS/power/frequency/THD values instead of telegrams."""
        from gateway.sources.s1 import S1Reader

        self.s1 = S1Reader()
        try:
            async for chunk in self.source:
                # ~2600 frames a second: decode in a thread so HTTP and MQTT stay responsive
                for values in await asyncio.to_thread(self.s1.feed, chunk):
                    await self.handle_s1(values)
        finally:
            self.finished.set()

    async def handle_s1(self, values: dict[str, float]) -> None:
        """One second of S1 values: latest states, MQTT `state/s1_*`, history, live stream."""
        self._s1_values = values
        self._latest_monotonic = self._received_monotonic = time.monotonic()
        if self.meter_id is None and self.s1 is not None:
            self.meter_id = self.s1.meter_id
        publish = getattr(self.publisher, "publish_states", None)
        if publish is not None:
            publish(values, meter_id=self.meter_id)
        if self.store is not None and self.meter_id:
            await self._store_call(self.store.add_history, self.meter_id, datetime.now(self.zone), values)
        self._broadcast({"type": "s1", "data": {"meter_id": self.meter_id, "values": values}})
        await self._analyse(self.analysis.feed_s1(datetime.now(self.zone), values))

    async def _analyse(self, events: list[dict[str, Any]]) -> None:
        """Voltage limit crossings as events; closed analysis aggregates to the store."""
        for event in events:
            await self._event(event)
        if self.analysis.due:
            await self.analysis.write(self.store, self.meter_id or "unknown")

    # -- per telegram ------------------------------------------------------------------------------------
    def _framing_error(self, error: FramingError) -> None:
        self.framing_errors[error.reason] += 1
        self._burst.error(error.reason, time.monotonic(), offset=error.offset, detail=error.detail)

    def _reject(self, rejection: Rejection, exc: BaseException | None = None) -> None:
        """Count a telegram that goes nowhere; log once per burst (with the traceback of an exception)."""
        self.rejected[rejection.kind] += 1
        self.rejected_streak += 1
        self.last_rejection = {"kind": rejection.kind, "reason": rejection.reason}
        self.last_rejections.append(self.last_rejection)
        opens = not self._reject_burst.burst
        self._reject_burst.error(rejection.kind, time.monotonic(), why=rejection.reason)
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

    def _screen(self, telegram: Telegram, meter_id: str) -> tuple[Rejection | None, list[Any]]:
        """Whether the telegram may be used: its rejection, else the quarter-hours it closed."""
        rejection = non_finite(telegram) or self.floor.check(meter_id, self._state_values(telegram))
        if rejection is not None:
            return rejection, []
        added = self.aggregator.add(telegram)
        return added.rejected, list(added)

    async def _handle(self, telegram: Telegram) -> None:
        now = time.time()
        self._burst.ok(time.monotonic())
        self.telegrams += 1
        self._received_monotonic = time.monotonic()
        stamp = telegram.timestamp
        if stamp is None:
            # a meter without a clock (DSMR 2.2): the only time there is, flagged in health
            self.clockless += 1
            stamp = datetime.fromtimestamp(int(now), self.zone)
            telegram.values["0-0:1.0.0"] = Value(stamp)
        elif self.source.spec.live:
            self._check_skew(stamp, now)
        meter_id = telegram.meter_id or self.meter_id or "unknown"
        rejection, closed = self._screen(telegram, meter_id)
        if rejection is not None:
            self._reject(rejection)
            return
        self.accepted += 1
        self.rejected_streak = 0
        self._reject_burst.ok(time.monotonic())
        self.floor.accept(meter_id, self._state_values(telegram))
        self.last_meter_time = stamp
        self._latest, self._latest_json = telegram, None
        self._latest_monotonic = time.monotonic()
        if self.meter_id is None:
            self.meter_id = telegram.meter_id
        if closed:
            await self._quarter_hours_closed(closed)
        await self._apply_retention(stamp)
        await self._save_floor()

        for event in self.guard.update(telegram):
            await self._event(event)
        await self._analyse(self.analysis.feed_values(stamp, telegram.values))
        await self._update_prepayment(telegram)

        if self.publisher is not None:
            self.publisher.publish_telegram(telegram)
        if self.store is not None:
            await self._store_call(
                self.store.add_history, self.meter_id, stamp, self._history_values(telegram)
            )
        if self._subscribers:
            self._broadcast({"type": "telegram", "data": self.latest()})

    def _check_skew(self, stamp: datetime, now: float) -> None:
        skew = now - stamp.timestamp()
        self.skew_s = round(skew, 1)
        if abs(skew) > self.skew_warn_s and not self._skew_warned:
            self._skew_warned = True
            log(
                logger,
                logging.WARNING,
                "system clock differs from the meter clock; data uses the meter clock",
                skew_s=self.skew_s,
                meter_time=stamp.isoformat(),
            )
            self._events.appendleft(
                {
                    "type": "clock_skew",
                    "at": stamp.isoformat(),
                    "skew_s": self.skew_s,
                    "message": f"system clock is {self.skew_s:+.0f} s off the meter clock",
                }
            )
        elif abs(skew) <= self.skew_warn_s / 2:
            self._skew_warned = False

    def _history_values(self, telegram: Telegram) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, state in self._state_values(telegram).items():
            if name in HISTORY_EXACT or name.startswith(HISTORY_PREFIXES):
                number = _number(state.value.value)
                if number is not None:
                    out[name] = number
        return out

    def _state_values(self, telegram: Telegram) -> dict[str, Any]:
        if self._states_telegram is not telegram:
            self._states = state_values(telegram, self.country)
            self._states_telegram = telegram
        return self._states

    def _checkpoint(self) -> dict[str, Any]:
        return {
            "aggregator": self.aggregator.snapshot(),
            "meter_id": self.meter_id,
            "registers": self.floor.snapshot(),
        }

    async def _save_floor(self) -> None:
        """The register floor to the store every `FLOOR_SAVE_S` (a restart then never publishes lower)."""
        if self.store is None or time.monotonic() - self._floor_saved < FLOOR_SAVE_S:
            return
        self._floor_saved = time.monotonic()
        await self._store_call(self.store.set_checkpoint, self.floor.snapshot(), "registers")

    async def _quarter_hours_closed(self, closed: list[Any]) -> None:
        meter_id = self.meter_id or "unknown"
        records = [qh.to_json(meter_id, self.ean) for qh in closed]
        self.quarter_hours_closed += len(records)
        if self.store is not None:
            records = await self._store_quarter_hours(records)
        self._announce(records)

    async def _store_quarter_hours(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write the quarter-hours still waiting for the store, then `records`, with the checkpoint that
        follows them, in ONE transaction. Returns all of them (oldest first) once durable; [] when the store
        refused: they wait (at most `unstored_max`, the oldest dropped) for the next call. A cancelled call
        leaves them waiting too: rewriting is harmless (upserts keyed by meter and start)."""
        if self.store is None:
            return records
        self._unstored.extend(records)
        batch = list(self._unstored)
        stored = await self._store_call(self.store.add_quarter_hours, batch, self._checkpoint())
        if stored is None:
            self._bound_unstored()
            return []
        late = len(batch) - len(records)
        self._unstored.clear()
        self._dropping = False
        self.quarter_hours_stored += int(stored)
        self.store_outage.accepted(time.monotonic(), waiting=0, quarter_hours_stored_late=late)
        return batch

    def _bound_unstored(self) -> None:
        """Keep at most `unstored_max` quarter-hours waiting: the oldest go, counted and logged once."""
        excess = len(self._unstored) - self.unstored_max
        if excess <= 0:
            return
        if not self._dropping:
            self._dropping = True
            log(
                logger,
                logging.ERROR,
                "quarter-hours dropped: the store refused writes for too long",
                kept=self.unstored_max,
                oldest_dropped=self._unstored[0]["start"],
            )
        for _ in range(excess):
            self._unstored.popleft()
        self.quarter_hours_dropped += excess

    def _announce(self, records: list[dict[str, Any]]) -> None:
        """Durable (or no store) quarter-hours, oldest first: log, MQTT, live stream."""
        for record in records:
            self._recent_qh.append(record)
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
            self._broadcast({"type": "quarter_hour", "data": record})

    async def _apply_retention(self, now: datetime) -> None:
        """When due, trim history and events relative to `now` (the meter's time of an accepted telegram)
        in the store's thread; due again `retention_every` later, or in an hour when the store refused."""
        if self.store is None or self.retention_every is None:
            return
        if self._retention_due is not None and now < self._retention_due:
            return
        deleted = await self._store_call(self.store.apply_retention, now)
        if deleted is None:
            self._retention_due = now + RETENTION_RETRY
            return
        self._retention_due = now + self.retention_every
        self.retention_last = {
            "at": now.isoformat(),
            "history_deleted": deleted["history"],
            "events_deleted": deleted["events"],
        }
        log(logger, logging.INFO, "retention applied", **self.retention_last)

    async def _store_call(self, func: Any, *args: Any) -> Any:
        try:
            result = await asyncio.to_thread(func, *args)
        except Exception as exc:  # a full disk must not stop the gateway; health says it
            self.store_outage.refused(exc, time.monotonic())
            return None
        self.store_outage.accepted(time.monotonic(), waiting=len(self._unstored))
        return True if result is None else result

    @property
    def store_errors(self) -> int:
        """Store writes refused since start (`store_outage` tells the current outage)."""
        return self.store_outage.errors

    @property
    def store_last_error(self) -> str | None:
        return self.store_outage.last_error

    async def _event(self, event: dict[str, Any]) -> None:
        event = dict(event)
        event.setdefault("meter_id", self.meter_id)
        if "at" not in event and self.last_meter_time is not None:
            event["at"] = self.last_meter_time.isoformat()
        self._events.appendleft(event)
        log(logger, logging.INFO, "event", type=event.get("type"), message=event.get("message"))
        if self.store is not None:
            await self._store_call(self.store.add_event, event)
        if self.publisher is not None:
            self.publisher.publish_event(event)
        self._broadcast({"type": "event", "data": event})

    async def _update_prepayment(self, telegram: Telegram) -> None:
        sim = self.source.sim
        if sim is not None:
            for note in sim.drain_notifications():
                await self._event({"type": f"prepayment_{note.kind.value}", **note.to_json()})
        p1 = prepayment_from_telegram(telegram)
        if p1 is None:
            return
        key = _core(p1)
        if key == self._prepayment_key:
            return  # unchanged: nothing to publish (most telegrams)
        old, self._prepayment_key, self._prepayment_p1 = self._prepayment_p1, key, p1
        if sim is not None and getattr(sim, "account", None) is not None:
            from prepayment.view import account_state

            state = {"meter_id": self.meter_id, "source": "simulator", **account_state(sim.account)}
            state["accounts"] = p1["accounts"]
        else:
            state = p1
            for event in _prepayment_events(old, p1):
                await self._event(event)
        self._prepayment = state
        if self.publisher is not None:
            self.publisher.publish_prepayment(state)
        if self.store is not None:
            await self._store_call(self.store.save_prepayment, self.meter_id, state)
        self._broadcast({"type": "prepayment", "data": state})

    # -- live stream -------------------------------------------------------------------------------------
    def _broadcast(self, item: dict[str, Any]) -> None:
        for queue in self._subscribers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                    self.live_dropped += 1
            queue.put_nowait(item)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Live feed: `{"type": "telegram" | "quarter_hour" | "event" | "prepayment", "data": ...}`."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.live_queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    # -- GatewayView -------------------------------------------------------------------------------------
    def latest(self) -> dict[str, Any] | None:
        if self._latest is None:
            return None
        if self._latest_json is None:
            self._latest_json = self._latest.to_json()
        return self._latest_json

    def states(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._s1_values:
            from gateway.sources.s1 import s1_unit

            out.update(
                {k: {"value": v, "unit": s1_unit(k), "code": "S1"} for k, v in self._s1_values.items()}
            )
        if self._latest is None:
            return out
        for name, state in self._state_values(self._latest).items():
            raw = state.value.value
            number = _number(raw)
            value: Any = number if number is not None else raw
            if isinstance(raw, datetime):
                value = raw.isoformat()
            elif isinstance(raw, tuple):
                continue  # profile buffers are in /peaks
            out[name] = {"value": value, "unit": state.unit, "code": state.code}
        return out

    def health(self) -> dict[str, Any]:
        health = build_health(self)
        health["quarter_hours"].update(unstored=len(self._unstored), dropped=self.quarter_hours_dropped)
        if health.get("store", {}).get("enabled"):
            health["store"]["retention"] = self.retention_last
        for name, section in self.health_sections.items():
            health[name] = section()
        return health

    def peaks(self) -> dict[str, Any]:
        return self.guard.state()

    def prepayment(self) -> dict[str, Any] | None:
        return self._prepayment

    def quarter_hours(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        if self.store is not None:
            return list(self.store.quarter_hours(start, end, self.meter_id))
        return [r for r in self._recent_qh if start <= datetime.fromisoformat(r["start"]) < end]

    def current_quarter_hour(self) -> dict[str, Any] | None:
        current = self.aggregator.current()
        if current is None:
            return None
        out = current.to_json(self.meter_id or "unknown", self.ean)
        running = self.guard.running()
        if running is not None:
            out.update({k: v for k, v in running.items() if not k.startswith("_") and k not in out})
        return out

    def history(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        return list(self.store.history(start, end, self.meter_id))

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        if self.store is not None:
            stored = list(self.store.events(limit, meter_id=self.meter_id))
            if stored:
                return stored
        return list(self._events)[:limit]

    async def control(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        sim = self.source.sim
        if sim is None:
            raise ControlDenied(
                "controls need the in-process simulator (a real meter is not steered from here)"
            )
        if action == "top_up":
            new = sim.top_up(
                str(params["id"]), Decimal(str(params["amount_eur"])), params.get("energy", "electricity")
            )
            result: dict[str, Any] = {"action": action, "credited": new}
        elif action == "press_button":
            sim.press_button(params.get("energy", "electricity"))
            result = {"action": action}
        elif action == "start_leak_test":
            sim.start_leak_test()
            result = {"action": action}
        elif action == "set_load":
            sim.set_extra_load(Decimal(str(params["kw"])), int(params["duration_s"]))
            result = {"action": action, "kw": float(params["kw"]), "duration_s": int(params["duration_s"])}
        else:
            raise ControlDenied(f"unknown action {action!r}")
        if getattr(sim, "account", None) is not None:
            from prepayment.view import account_state

            result["prepayment"] = account_state(sim.account)
        return result


def _core(state: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes a prepayment state worth publishing again (not its time stamp)."""
    return tuple(
        sorted((k, repr(v)) for k, v in state.items() if k not in ("at", "history", "balance_updated_at"))
    )
