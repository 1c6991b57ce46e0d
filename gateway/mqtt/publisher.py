"""The MQTT publisher (aiomqtt 2.x): one background task owns the connection; the pipeline's calls never
block and never raise for a broker problem.

- The connection loop (`_run`) connects with a fresh aiomqtt client each time (so paho never re-sends on its
  own behind the queue's back), runs one session, and on any error reconnects with capped exponential
  backoff (with jitter). `status()` reports connected, the last error and its kind (auth, tls, network),
  counts. Logs go to `p1gw.mqtt`, one line per state change: connected, connection failed / lost (again
  only when the error changes), the backoff reaching its cap; repeated identical failures are DEBUG.
- A session publishes availability `online` (QoS 1, retained; the broker publishes the last will `offline`
  when the process dies, `aclose()` publishes `offline` itself), then runs the live feed (`LiveFeed`:
  telegrams and states, QoS 0), the QoS 1 drain (`Outbox`) and Home Assistant's status listener together
  until one of them fails or the publisher closes.
- The base topic waits for the meter id when its template needs one (from the first telegram or record).

Example:
    settings = MqttSettings(queue_path="/var/lib/p1gw/mqtt.sqlite")
    async with MqttPublisher("mqtt://user:pw@broker:1883", settings) as mq:
        mq.publish_telegram(telegram)
        mq.publish_quarter_hour(record)      # dict of the quarter-hour contract
        print(mq.status())
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt

from dsmr_parser import Telegram
from gateway.backoff import Backoff
from gateway.config import MqttConfig, mqtt_settings
from gateway.logs import get_logger
from gateway.logs import log as log_event
from gateway.mqtt.broker import BrokerAddress, Credentials, tls_context
from gateway.mqtt.discovery import topic_safe
from gateway.mqtt.live import LiveFeed
from gateway.mqtt.outbox import Outbox
from gateway.mqtt.payloads import (
    AVAILABILITY,
    OFFLINE,
    ONLINE,
    Topics,
    json_bytes,
    quarter_hour_mark,
    with_event_id,
)
from gateway.mqtt.policy import PublishPolicy
from gateway.mqtt.queue import PersistentQueue
from gateway.mqtt.settings import MqttSettings
from gateway.mqtt.status import PublisherStatus, QueueSnapshot

log = get_logger("mqtt")
_client_log = get_logger("mqtt.client")  # paho's own (DEBUG) lines


class MqttPublisher:
    """Publishes one meter's data to an MQTT broker; an async context manager running its own task.

    Args:
        url: `mqtt://[user[:pass]@]host[:port]` or `mqtts://...` (TLS, port 8883 by default); ValueError
            when it is neither.
        settings: topics, credentials, TLS, discovery, policy, queue and timing (`MqttSettings`).
        clock: monotonic seconds, for the policy (tests pass a fake clock).
    """

    def __init__(
        self,
        url: str,
        settings: MqttSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = s = settings or MqttSettings()
        self.address = BrokerAddress.parse(url)
        self._credentials = Credentials.of(self.address, s.username, s.password)
        use_tls = self.address.tls if s.tls is None else s.tls
        self._tls_context = (
            tls_context(
                ca_file=s.ca_file, cert_file=s.cert_file, key_file=s.key_file, insecure=s.tls_insecure
            )
            if use_tls
            else None
        )
        self._topics = Topics(s.base_topic, s.meter_id)
        self._meter_known = asyncio.Event()
        if not self._topics.waiting_for_meter_id:
            self._meter_known.set()
        self.policy = PublishPolicy(s.policy)
        self._status = PublisherStatus()
        self.queue = PersistentQueue(
            s.queue_path,
            max_messages=s.queue_max_messages,
            max_bytes=s.queue_max_bytes,
            overflow_max_messages=s.overflow_max_messages,
            overflow_max_bytes=s.overflow_max_bytes,
        )
        self._outbox = Outbox(self.queue, self._status, retry_s=s.queue_retry_s)
        self._live = LiveFeed(
            self._topics,
            self.policy,
            self._status,
            discovery=s.discovery,
            discovery_prefix=s.discovery_prefix,
            will=s.will,
            country=s.country,
            size=s.live_queue_size,
            clock=clock,
        )
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retry_task: asyncio.Task[None] | None = None
        self._closed_queue: QueueSnapshot | None = None  # the queue's last figures, once closed

    @classmethod
    def from_config(
        cls, config: MqttConfig, *, queue_path: str | Path | None = None, country: str | None = None
    ) -> MqttPublisher:
        """The publisher of a `[mqtt]` section (`gateway.config.MqttConfig`); `queue_path` as in settings."""
        return cls(config.url, mqtt_settings(config, queue_path=queue_path, country=country))

    # -- topics ---------------------------------------------------------------------------------------

    @property
    def meter_id(self) -> str | None:
        return self._topics.meter_id

    @property
    def base_topic(self) -> str:
        """`p1gw/<meter_id>` (without the trailing slash); needs the meter id when the template uses it."""
        return self._topics.base

    def topic(self, suffix: str) -> str:
        return self._topics.topic(suffix)

    def _learn_meter_id(self, meter_id: object) -> None:
        if self._topics.learn(meter_id):
            self._meter_known.set()

    # -- lifecycle --------------------------------------------------------------------------------------

    async def __aenter__(self) -> MqttPublisher:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def start(self) -> None:
        """Start the connection task (done by `async with`)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mqtt-publisher")
            self._retry_task = asyncio.create_task(self._outbox.retry_loop(), name="mqtt-queue-retry")

    async def aclose(self) -> None:
        """Publish what is queued (at most `flush_timeout_s`), `offline`, disconnect, close the queue."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._outbox.wake()
        task, self._task = self._task, None
        if task is not None:
            if not self._status.connected:
                task.cancel()
            try:
                await asyncio.wait_for(task, self.settings.flush_timeout_s + self.settings.timeout_s + 1)
            except (asyncio.CancelledError, TimeoutError):
                pass
            except Exception:  # pragma: no cover - _run never raises
                log.exception("MQTT publisher task failed at close")
        if self._retry_task is not None:
            self._retry_task.cancel()
            await asyncio.gather(self._retry_task, return_exceptions=True)
            self._retry_task = None
        self._status.connected = False
        self._status.state = "closed"
        self.queue.retry()
        self._closed_queue = QueueSnapshot.of(self.queue)
        self.queue.close()  # logs what only memory held (lost) when the file is still not writable

    # -- the pipeline's side (non-blocking) -------------------------------------------------------------

    def publish_telegram(self, telegram: Telegram) -> None:
        """Telegram JSON + per-value states, as the policy allows. Never blocks, never raises."""
        self._learn_meter_id(telegram.meter_id)
        self._live.latest = telegram
        if self._status.connected:
            self._live.put(telegram)  # else the latest states are published at (re)connection

    def publish_states(self, values: Mapping[str, Any], meter_id: str | None = None) -> None:
        """Values from outside a telegram (the S1 port's `s1_*`) to `state/<name>`, under the same policy
        as the P1 states, with their Home Assistant discovery. Never blocks, never raises."""
        self._learn_meter_id(meter_id)
        if self._status.connected and values:
            self._live.put(dict(values))

    def publish_quarter_hour(self, record: Mapping[str, Any] | str | bytes) -> int | None:
        """Queue a closed quarter-hour record (QoS 1, retained); returns the queue id (None: dropped).
        A record dict also advances the durable outbox mark of its meter (`quarter_hours_queued`)."""
        mark = None
        if isinstance(record, Mapping):
            self._learn_meter_id(record.get("meter_id"))
            mark = quarter_hour_mark(record)
        return self._outbox.put("quarter_hour", json_bytes(record), retain=True, mark=mark)

    def quarter_hours_queued(self) -> dict[str, datetime]:
        """Per meter id, the newest quarter-hour start written to the queue file (published since, or
        still waiting): the store's newer quarter-hours never reached MQTT (the outbox rule, docs/mqtt.md)."""
        return {key: datetime.fromtimestamp(ts, UTC) for key, ts in self.queue.marks().items()}

    def publish_prepayment(self, state: Mapping[str, Any] | str | bytes) -> int | None:
        """Queue the prepayment credit state (QoS 1, retained; an unsent older state is replaced)."""
        if isinstance(state, Mapping):
            self._learn_meter_id(state.get("meter_id"))
        return self._outbox.put("prepayment", json_bytes(state), retain=True)

    def publish_event(self, event: Mapping[str, Any] | str | bytes) -> int | None:
        """Queue a notification (QoS 1, not retained). A dict without `id` gets a unique `id` (dedupe key)."""
        if isinstance(event, Mapping):
            self._learn_meter_id(event.get("meter_id"))
            event = with_event_id(event)
        return self._outbox.put("event", json_bytes(event), retain=False)

    async def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every telegram handed over is published (or dropped) and, while connected, the QoS 1
        queue is empty. False on timeout. For orderly shutdowns and tests; the pipeline never waits."""
        try:
            async with asyncio.timeout(timeout):
                await self._live.join()
                while self._status.connected and self.queue.depth:
                    await asyncio.sleep(0.01)
        except TimeoutError:
            return False
        return True

    # -- status -----------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Health: connected, state, last error (text, kind, Unix time), attempts/reconnects, queue depth and
        bytes, dropped per kind, published per kind, messages held back by the policy."""
        return self._status.report(
            broker=self.address.redacted(),
            meter_id=self.meter_id,
            queue=self._closed_queue or QueueSnapshot.of(self.queue),
            held_back=self.policy.held_back,
        )

    # -- the connection ---------------------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        """A fresh client for one connection (with the last will when availability is on)."""
        s = self.settings
        client_id = s.client_id or f"p1gw-{topic_safe(self.meter_id or 'meter')}-{uuid.uuid4().hex[:8]}"
        kwargs: dict[str, Any] = {}
        if s.will:
            kwargs["will"] = aiomqtt.Will(self.topic(AVAILABILITY), OFFLINE, qos=1, retain=True)
        if self._tls_context is not None:
            kwargs["tls_context"] = self._tls_context
            if s.tls_insecure:
                kwargs["tls_insecure"] = True
        return aiomqtt.Client(
            hostname=self.address.host,
            port=self.address.port,
            identifier=client_id,
            username=self._credentials.username,
            password=self._credentials.password,
            keepalive=s.keepalive_s,
            timeout=s.timeout_s,
            clean_session=True,
            logger=_client_log,
            **kwargs,
        )

    async def _run(self) -> None:
        """The connection loop: connect, run a session, and after any error wait and connect again, the
        delay doubling from `backoff_initial_s` up to `backoff_max_s` (`gateway.backoff`, 20 % jitter), until
        closed."""
        backoff = Backoff(
            self.settings.backoff_initial_s, self.settings.backoff_max_s, jitter=0.2, rng=random.Random()
        )
        st = self._status
        broker = self.address.redacted()
        failing: str | None = None  # the error of the current outage, logged once
        outage_attempts, outage_since, capped = 0, time.time(), False
        while not self._closing.is_set():
            if not self._meter_known.is_set():
                st.state = "waiting_for_meter_id"
                log_event(log, logging.INFO, "MQTT waiting for the meter id before connecting", broker=broker)
                await self._meter_known.wait()
            st.state = "connecting"
            st.attempts += 1
            outage_attempts += 1
            was_connected = False
            try:
                async with self._client() as client:
                    st.connected, st.state = True, "connected"
                    st.connected_since = time.time()
                    st.connects += 1
                    was_connected = True
                    backoff.reset()
                    log_event(
                        log,
                        logging.INFO,
                        "MQTT connected",
                        broker=broker,
                        attempts=outage_attempts,
                        outage_s=round(time.time() - outage_since, 1) if failing else 0.0,
                        queue_depth=self.queue.depth,
                    )
                    failing, outage_attempts, capped = None, 0, False
                    await self._session(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # MqttError and anything else: report and retry, never crash
                st.note_error(exc)
                error = f"{type(exc).__name__}: {exc}"
                internal = not isinstance(exc, aiomqtt.MqttError)
                level = logging.ERROR if internal else logging.WARNING
                if was_connected or failing is None:
                    outage_since, capped = time.time(), False
                fields = {
                    "broker": broker,
                    "error": error,
                    "kind": st.last_error_kind,
                    "retry_s": round(backoff.current_s, 2),
                }
                if was_connected:
                    log.log(level, "MQTT connection lost", extra={"fields": fields}, exc_info=internal)
                elif error != failing:
                    log.log(level, "MQTT connection failed", extra={"fields": fields}, exc_info=internal)
                elif backoff.capped and not capped:
                    capped = True
                    log_event(log, logging.INFO, "MQTT still unreachable", attempts=outage_attempts, **fields)
                else:
                    log_event(
                        log,
                        logging.DEBUG,
                        "MQTT connection attempt failed",
                        attempt=outage_attempts,
                        **fields,
                    )
                failing = error
            finally:
                st.connected = False
                st.connected_since = None
                self._live.discard()
            if self._closing.is_set():
                break
            st.state = "backoff"
            await asyncio.sleep(backoff.next_delay())

    async def _session(self, client: aiomqtt.Client) -> None:
        """One connection: `online`, the live feed, the drain and HA's status listener until one fails
        (its error ends the session) or the publisher closes (then the queue is flushed), `offline`."""
        will = self.settings.will
        if will:
            await client.publish(self.topic(AVAILABILITY), ONLINE, qos=1, retain=True)
            self._status.count(AVAILABILITY)
        await self._live.begin(client)
        tasks = [
            asyncio.create_task(self._live.listen(client)),
            asyncio.create_task(self._outbox.drain(client, self._topics)),
            asyncio.create_task(self._live.run(client)),
        ]
        closing = asyncio.create_task(self._closing.wait())
        try:
            done, _ = await asyncio.wait([*tasks, closing], return_when=asyncio.FIRST_COMPLETED)
            if closing in done:
                await self._flush()
            else:
                for task in done:
                    task.result()  # raises the connection's error
        finally:
            for task in [*tasks, closing]:
                task.cancel()
            await asyncio.gather(*tasks, closing, return_exceptions=True)
        if will:
            await client.publish(self.topic(AVAILABILITY), OFFLINE, qos=1, retain=True)
            self._status.count(AVAILABILITY)

    async def _flush(self) -> None:
        """At close: give the drain task `flush_timeout_s` to empty the QoS 1 queue."""
        deadline = time.monotonic() + self.settings.flush_timeout_s
        while self.queue.depth and time.monotonic() < deadline and self._status.connected:
            await asyncio.sleep(0.02)


__all__ = ["MqttPublisher"]
