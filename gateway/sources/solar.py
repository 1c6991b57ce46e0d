"""The PV production input ([solar]): readings of a cumulative production counter into the store.

Strategy: the shell around the pure `metering.solar.ProductionAggregator`. A reading is (UTC seconds, Wh):
- `mqtt:TOPIC`: a message on the [mqtt] broker carrying the counter in kWh or Wh (a plain number, or a
  JSON object with the value under `json_key`), stamped with the gateway's clock when it arrives; the
  connection is retried with `gateway.backoff.Backoff`.
- `sim`: the simulated prosumer's PV (`meter_sim` production loads of the `sim:` source's meter), read
  as an inverter counter on the meter's own clock, at every quarter-hour boundary it passes (exact
  quarter-hours) and at the latest second.
The closed quarter-hours and the aggregator's snapshot go to the store in one transaction
(`gateway.store.solar`), so a restart continues the open quarter-hour.

Example:
    solar = SolarInput.from_config(config.solar, config.mqtt, store, sim_meter=source.sim)
    if solar is not None: solar.start(); ...; await solar.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from gateway.backoff import Backoff
from gateway.config import MqttConfig, SolarConfig
from gateway.logs import get_logger, log
from gateway.store import Store
from gateway.store.solar import add_production, saved_aggregator
from metering.quarter_hours import QUARTER_S, quarter_start
from metering.solar import ProductionAggregator, ProductionQuarter

logger = get_logger("solar")
SIM_POLL_S = 0.2
CHUNK_S = 3600


class SimulatedPvCounter:
    """The energy counter of a simulated meter's production loads (an inverter's total, in Wh): the
    profiles' per-second watts added up from `origin_ts`, where the counter stood at `origin_wh`."""

    def __init__(self, meter: Any, origin_ts: int, origin_wh: int = 0) -> None:
        self._profiles = [load.profile for load in meter.loads if load.production]
        self._ts = origin_ts
        self._joules = origin_wh * 3600

    def wh_at(self, ts: int) -> int:
        """The counter at `ts` (never before the last instant asked)."""
        while self._ts < ts:
            count = min(CHUNK_S, ts - self._ts)
            watts = sum((profile.block_w(self._ts, count) for profile in self._profiles), np.zeros(count))
            self._joules += int(np.rint(watts).sum())  # whole watts per second, as the meter steps
            self._ts += count
        return self._joules // 3600


def parse_counter(payload: bytes, unit: str, json_key: str = "") -> int:
    """The counter in Wh from a message payload (`12.345` kWh, or `{"total": 12345}` with `json_key`).
    Raises ValueError on anything else."""
    text = payload.decode("utf-8", "replace").strip()
    if json_key:
        try:
            value = json.loads(text)[json_key]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"no {json_key!r} in the JSON payload {text[:60]!r}") from exc
        text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"payload {text[:60]!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"payload {text[:60]!r} is not a counter value")
    return int((number * 1000 if unit == "kWh" else number).to_integral_value())


class SolarInput:
    """Feeds production readings to the aggregator and stores what it closes (see the module docstring).

    Args:
        store: where the quarter-hours and the snapshot go.
        source: what `[solar] source` says (`sim`, `mqtt:TOPIC`): stored with the snapshot.
        clock: stamps MQTT readings (UTC seconds; injectable for tests).
    """

    def __init__(self, store: Store, source: str, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.source = source
        self.clock = clock
        self.subscribed = asyncio.Event()  # set while the MQTT subscription is active
        self.aggregator = ProductionAggregator()
        self.readings = 0
        self.rejected = 0
        self.stored = 0
        self._task: asyncio.Task[None] | None = None
        self._runner: Any = None

    @classmethod
    def from_config(
        cls,
        solar: SolarConfig,
        mqtt: MqttConfig,
        store: Store,
        *,
        sim_meter: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> SolarInput | None:
        """The input of a [solar] section (None when no source is configured)."""
        if not solar.source:
            return None
        made = cls(store, solar.source, clock=clock)
        if solar.source == "sim":
            if sim_meter is None:
                raise ValueError("solar.source = sim needs a sim: source")
            made._runner = lambda: made.run_sim(sim_meter)
        else:
            topic = solar.source.removeprefix("mqtt:").strip()
            made._runner = lambda: made.run_mqtt(mqtt, topic, solar.unit, solar.json_key)
        return made

    async def restore(self) -> None:
        """Continue the open quarter-hour saved by the same source, and say this source feeds the store."""
        saved = await asyncio.to_thread(saved_aggregator, self.store, self.source)
        try:
            self.aggregator.restore(saved)
        except ValueError as exc:
            log(logger, logging.WARNING, "production snapshot not used", error=str(exc))
        await self._save([])

    async def feed(self, ts: int, wh: int) -> list[ProductionQuarter]:
        """One reading; stores the quarter-hours it closed and returns them."""
        added = self.aggregator.add(ts, wh)
        if added.rejected is not None:
            self.rejected += 1
            log(logger, logging.DEBUG, "production reading rejected", reason=added.rejected.reason)
            return []
        self.readings += 1
        if added:
            await self._save(list(added))
        return list(added)

    async def _save(self, closed: list[ProductionQuarter]) -> None:
        snapshot = self.aggregator.snapshot()
        self.stored += await asyncio.to_thread(add_production, self.store, closed, snapshot, self.source)

    async def run_sim(self, meter: Any) -> None:
        """Read the simulated PV at each quarter-hour boundary the meter's clock passes, and its latest
        second, every `SIM_POLL_S` (until cancelled)."""
        last = self.aggregator.last_reading
        counter = SimulatedPvCounter(meter, *(last or (int(meter.ts), 0)))
        fed = last[0] if last else None
        while True:
            now = int(meter.ts)
            if fed is None or now > fed:
                passed = [] if fed is None else range(quarter_start(fed) + QUARTER_S, now, QUARTER_S)
                for ts in [*passed, now]:
                    await self.feed(ts, counter.wh_at(ts))
                fed = now
            await asyncio.sleep(SIM_POLL_S)

    async def run_mqtt(self, mqtt: MqttConfig, topic: str, unit: str, json_key: str) -> None:
        """Subscribe to `topic` on the [mqtt] broker and feed every value, reconnecting with a backoff."""
        import aiomqtt

        from gateway.mqtt.broker import BrokerAddress, Credentials, tls_context

        address = BrokerAddress.parse(mqtt.url)
        credentials = Credentials.of(address, mqtt.username or None, mqtt.password or None)
        backoff = Backoff(0.5, 30.0, jitter=0.2, rng=random.Random())
        kwargs: dict[str, Any] = {}
        if address.tls or mqtt.tls:
            kwargs["tls_context"] = tls_context(
                ca_file=mqtt.ca_file or None,
                cert_file=mqtt.cert_file or None,
                key_file=mqtt.key_file or None,
                insecure=mqtt.tls_insecure,
            )
        while True:
            try:
                async with aiomqtt.Client(
                    hostname=address.host,
                    port=address.port,
                    username=credentials.username,
                    password=credentials.password,
                    **kwargs,
                ) as client:
                    await client.subscribe(topic, qos=1)
                    log(logger, logging.INFO, "production input subscribed", topic=topic)
                    self.subscribed.set()
                    backoff.reset()
                    async for message in client.messages:
                        await self._message(bytes(message.payload or b""), unit, json_key)
            except aiomqtt.MqttError as exc:
                self.subscribed.clear()
                delay = backoff.next_delay()
                log(logger, logging.WARNING, "production input disconnected", error=str(exc), retry_s=delay)
                await asyncio.sleep(delay)

    async def _message(self, payload: bytes, unit: str, json_key: str) -> None:
        try:
            wh = parse_counter(payload, unit, json_key)
        except ValueError as exc:
            self.rejected += 1
            log(logger, logging.WARNING, "production message not understood", error=str(exc))
            return
        await self.feed(int(self.clock()), wh)

    def start(self) -> None:
        """Run the input as a task (after `restore`)."""
        self._task = asyncio.create_task(self._runner(), name="solar")

    async def aclose(self) -> None:
        """Stop the task and save the open quarter-hour's state (what was closed is already stored; a
        crash instead continues from the last closed quarter-hour: the counter loses nothing)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            try:
                await self._save([])
            except Exception as exc:  # a store that refuses writes: the next start interpolates instead
                log(logger, logging.WARNING, "production state not saved", error=str(exc))
