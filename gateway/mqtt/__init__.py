"""MQTT publisher of the gateway (aiomqtt 2.x): availability + last will, telegram JSON, per-value retained
states, quarter-hours, prepayment, events and Home Assistant discovery, under `p1gw/<meter_id>/`.

Strategy: the pipeline calls non-blocking methods; one background task owns the connection.
- Live data (telegram, state/<name>, QoS 0): `publish_telegram` keeps the latest telegram and, while
  connected, puts it on a small asyncio queue (the oldest is dropped when the publisher lags). A
  `PublishPolicy` (glob pattern -> "every", "on change", "at most every N s") decides per topic what goes
  out, so a 1 Hz meter does not flood a Pi or a broker. While the broker is away, live data is not kept
  (QoS 0 is at-most-once); on every (re)connect the latest value of every state is published again
  (retained), so a restarted broker is repopulated at once.
- QoS 1 data (quarter_hour, event, prepayment) is written first to a bounded persistent SQLite queue
  (`gateway.mqtt.queue`, a sub-millisecond insert), then one drain task publishes the oldest message and
  deletes it only after `await client.publish(..., qos=1)` returned, i.e. after the broker's PUBACK: in order,
  none lost; a duplicate is possible only if the process dies between PUBACK and delete (consumers dedupe
  by the payload's key: meter_id + start for quarter-hours, `id` for events). A fresh aiomqtt client per
  connection so paho never re-sends on its own behind the queue's back. When the queue file cannot be
  written (disk full), the queue keeps the messages in a bounded in-memory overflow behind the stored ones
  (same ids, same order) and a small task retries writing them every `queue_retry_s`; the drain publishes
  them meanwhile, so a full disk delays nothing while the broker is reachable. With each quarter-hour the
  file keeps its meter's newest queued start (`quarter_hours_queued`): the gateway re-queues at start-up the
  stored quarter-hours after it, those a crash caught between the store's commit and this file's.
- The connection loop reconnects with capped exponential backoff (with jitter) and never lets an error
  escape: `status()` reports connected, the last error and its kind (auth, tls, network), counts.
- Logs go to the `p1gw.mqtt` logger (`gateway.logs`: the configured text/JSON format, `key=value` fields),
  one line per state change: connected, connection failed / lost (again only when the error changes), the
  backoff reaching its cap; repeated identical failures are DEBUG.
- Availability: `online` (QoS 1, retained) after connecting, the broker publishes the last will `offline`
  when the process dies, `aclose()` publishes `offline` itself before a clean disconnect.
- HA discovery: once per connection for every state name (again for names that appear later, and when HA
  announces `online` on `<prefix>/status`).

Example:
    async with MqttPublisher("mqtt://user:pw@broker:1883", queue_path="/var/lib/p1gw/mqtt.sqlite") as mq:
        mq.publish_telegram(telegram)
        mq.publish_quarter_hour(record)      # dict of the quarter-hour contract
        print(mq.status())
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
import random
import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from dsmr_parser import Telegram, state_values, telegram_json
from gateway.config import MqttConfig
from gateway.logs import get_logger
from gateway.logs import log as log_event
from gateway.mqtt.discovery import discovery_messages, extra_discovery_messages, topic_safe
from gateway.mqtt.queue import PersistentQueue
from gateway.states import NO_VALUE, published_value

log = get_logger("mqtt")
_client_log = get_logger("mqtt.client")  # paho's own (DEBUG) lines

DEFAULT_BASE_TOPIC = "p1gw/{meter_id}"


# -- broker address ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerAddress:
    """Where and how to connect, from `mqtt://[user[:pass]@]host[:port]` or `mqtts://...` (TLS)."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {url!r}: no host")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ValueError(f"MQTT URL {url!r}: bad port") from exc
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, tls, user, password)

    def redacted(self) -> str:
        """The URL without the password (for logs and status)."""
        cred = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{cred}{self.host}:{self.port}"


# -- publishing policy ------------------------------------------------------------------------------------


_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hour": 3600, "hours": 3600}  # fmt: skip


@dataclass(frozen=True)
class TopicRule:
    """What to publish on matching topics: every message or only changes, and a minimum interval (s)."""

    on_change: bool = False
    min_interval_s: float = 0.0
    enabled: bool = True

    @classmethod
    def parse(cls, text: str) -> TopicRule:
        """`every` | `every 10 s` | `at most every 60 s` | `on change` | `on change, at most every 5 s` |
        `never`. Units: s, min, h (default s)."""
        t = " ".join(text.lower().replace(",", " ").split())
        if t in ("never", "off", "disabled", "none"):
            return cls(enabled=False)
        on_change = False
        if t.startswith("on change"):
            on_change, t = True, t.removeprefix("on change").strip()
        if t in ("", "every", "every telegram", "always"):
            return cls(on_change=on_change)
        m = re.fullmatch(r"(?:at most )?every (\d+(?:\.\d+)?) ?([a-z]*)", t)
        if m is None or (m.group(2) and m.group(2) not in _UNITS):
            raise ValueError(
                f"publishing rule {text!r}: expected 'every', 'every N s', 'at most every N s', "
                "'on change', 'on change, at most every N s' or 'never'"
            )
        return cls(on_change=on_change, min_interval_s=float(m.group(1)) * _UNITS[m.group(2) or "s"])


DEFAULT_POLICY: dict[str, str] = {
    "telegram": "every 10 s",
    "state/power_*": "on change, at most every 5 s",
    "state/energy_*": "on change, at most every 60 s",
    "state/meter_time": "every 60 s",
    "state/*": "on change, at most every 10 s",
}


class PublishPolicy:
    """Decides, per topic (relative to the base topic), whether a message goes out now.

    Rules are glob patterns (`fnmatch`, case-sensitive) tried in order, first match wins; the user's rules
    come before `DEFAULT_POLICY`, topics matching nothing are published every time. "On change" compares
    with the last *published* payload, so a change held back by the interval goes out with the next
    telegram after the interval. Pure: time (`now`, seconds on any monotonic clock) is passed in.
    """

    def __init__(self, rules: Mapping[str, str | TopicRule] | None = None, *, defaults: bool = True) -> None:
        merged: dict[str, TopicRule] = {}
        for pattern, rule in (rules or {}).items():
            merged[pattern] = rule if isinstance(rule, TopicRule) else TopicRule.parse(rule)
        if defaults:
            for pattern, text in DEFAULT_POLICY.items():
                merged.setdefault(pattern, TopicRule.parse(text))
        self.rules: list[tuple[str, TopicRule]] = list(merged.items())
        self._rule_cache: dict[str, TopicRule] = {}
        self._last: dict[str, tuple[float, bytes | None]] = {}
        self.held_back = 0

    def rule_for(self, topic: str) -> TopicRule:
        rule = self._rule_cache.get(topic)
        if rule is None:
            rule = next((r for p, r in self.rules if fnmatch.fnmatchcase(topic, p)), TopicRule())
            self._rule_cache[topic] = rule
        return rule

    def allow(self, topic: str, payload: bytes | None, now: float) -> bool:
        """True when `payload` on `topic` should be published at `now`; records it as published if so."""
        rule = self.rule_for(topic)
        last = self._last.get(topic)
        ok = rule.enabled and (
            last is None
            or (
                (not rule.on_change or payload != last[1])
                and (now - last[0] >= rule.min_interval_s or now < last[0])  # clock went back: allow
            )
        )
        if ok:
            self._last[topic] = (now, payload)
        else:
            self.held_back += 1
        return ok

    def forget(self) -> None:
        """Forget what was published (after a reconnect everything is sent again)."""
        self._last.clear()


# -- payloads ---------------------------------------------------------------------------------------------


def state_text(value: object) -> str:
    """The `state/<name>` payload: the bare value as text (`1234.567`, `1`, ISO time; buffers as JSON);
    no value (None, an empty text) is `None`, which Home Assistant shows as unknown."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or value == "":
        return NO_VALUE  # an empty retained payload would delete the retained state
    if isinstance(value, tuple):
        return json.dumps(_jsonable(value), separators=(",", ":"))
    return str(value)


def _jsonable(value: object) -> Any:
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _json_bytes(payload: Mapping[str, Any] | str | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(_jsonable(payload), separators=(",", ":"), ensure_ascii=False).encode()


def _quarter_hour_mark(record: Mapping[str, Any]) -> tuple[str, float] | None:
    """(meter id, start as Unix time) of a quarter-hour record; None without a usable meter id or start."""
    meter_id, start = record.get("meter_id"), record.get("start")
    if not meter_id or not isinstance(start, str):
        return None
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        return None
    return (str(meter_id), moment.timestamp()) if moment.tzinfo is not None else None


def _error_kind(exc: BaseException) -> str:
    text = f"{exc} {exc.__cause__ or ''}".lower()
    if isinstance(exc, MqttConnectError):
        rc = getattr(exc, "rc", None)
        value = getattr(rc, "value", rc)
        if value in (4, 5, 134, 135) or "not authori" in text or "username or password" in text:
            return "auth"
        return "refused"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    if isinstance(exc, aiomqtt.MqttError):
        return "network"
    return "internal"


# -- the publisher ----------------------------------------------------------------------------------------


class MqttPublisher:
    """Publishes one meter's data to an MQTT broker; an async context manager running its own task.

    Args:
        url: `mqtt://[user[:pass]@]host[:port]` or `mqtts://...` (TLS, port 8883 by default).
        base_topic: topic prefix; `{meter_id}` is replaced by the meter id (from the first telegram or
            record unless `meter_id` is given; the connection waits for it).
        meter_id: the meter id when known in advance.
        client_id: MQTT client id (default `p1gw-<meter_id>-<random>`).
        queue_path: SQLite file of the persistent QoS 1 queue (None: in memory, lost on exit).
        policy: `{glob: rule}` (see `TopicRule.parse`) or a `PublishPolicy`; merged over `DEFAULT_POLICY`.
        discovery_prefix: Home Assistant's discovery prefix; `discovery=False` disables discovery.
        country: `BE` / `NL` for tariff labels (detected from the telegram when None).
        username, password: override the URL's credentials.
        tls: force TLS on/off (default: on for mqtts://); ca_file, cert_file, key_file: PEM files;
            tls_insecure: do not verify the broker's certificate or host name (testing only).
        will: publish availability with a last will `offline`.
        keepalive_s, timeout_s: MQTT keepalive and per-operation timeout, seconds.
        backoff_initial_s, backoff_max_s: reconnect delay doubles from initial up to max (seconds).
        queue_max_messages, queue_max_bytes: caps of the persistent queue.
        overflow_max_messages, overflow_max_bytes: caps of the in-memory overflow used while the queue
            file cannot be written; queue_retry_s: how often writing it is retried (seconds).
        flush_timeout_s: how long `aclose()` keeps publishing queued QoS 1 messages before leaving.
        clock: monotonic seconds, for the policy (tests pass a fake clock).
    """

    def __init__(
        self,
        url: str,
        *,
        base_topic: str = DEFAULT_BASE_TOPIC,
        meter_id: str | None = None,
        client_id: str | None = None,
        queue_path: str | Path | None = None,
        policy: PublishPolicy | Mapping[str, str | TopicRule] | None = None,
        discovery_prefix: str = "homeassistant",
        discovery: bool = True,
        country: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: bool | None = None,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        tls_insecure: bool = False,
        will: bool = True,
        keepalive_s: int = 30,
        timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 60.0,
        queue_max_messages: int = 10_000,
        queue_max_bytes: int = 16 * 1024 * 1024,
        overflow_max_messages: int = 1_000,
        overflow_max_bytes: int = 1024 * 1024,
        queue_retry_s: float = 2.0,
        live_queue_size: int = 16,
        flush_timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = BrokerAddress.parse(url)
        self._username = username if username is not None else self.address.username
        self._password = password if password is not None else self.address.password
        self._tls = self.address.tls if tls is None else tls
        self._ca_file, self._cert_file, self._key_file = ca_file, cert_file, key_file
        self._tls_insecure = tls_insecure
        if cert_file and not key_file:
            self._key_file = cert_file  # a PEM holding both
        self._ssl_context = self._make_ssl_context() if self._tls else None
        self._base_template = base_topic.rstrip("/")
        self._meter_id = meter_id
        self._client_id = client_id
        self.policy = policy if isinstance(policy, PublishPolicy) else PublishPolicy(policy)
        self._discovery_prefix = discovery_prefix.rstrip("/")
        self._discovery = discovery
        self._country = country
        self._will = will
        self._keepalive_s = keepalive_s
        self._timeout_s = timeout_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._flush_timeout_s = flush_timeout_s
        self._clock = clock
        self.queue = PersistentQueue(
            queue_path,
            max_messages=queue_max_messages,
            max_bytes=queue_max_bytes,
            overflow_max_messages=overflow_max_messages,
            overflow_max_bytes=overflow_max_bytes,
        )
        self._queue_retry_s = queue_retry_s
        self._queue_pending = asyncio.Event()
        self._persist_task: asyncio.Task[None] | None = None
        self._queue_error: str | None = None

        self._live: asyncio.Queue[Telegram | dict[str, Any]] = asyncio.Queue(maxsize=live_queue_size)
        self._latest: Telegram | None = None
        self._discovered: set[str] = set()
        self._wake = asyncio.Event()
        self._meter_known = asyncio.Event()
        if not self._needs_meter_id():
            self._meter_known.set()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._state = "idle"
        self._last_error: str | None = None
        self._last_error_kind: str | None = None
        self._last_error_at: float | None = None
        self._connected_since: float | None = None
        self._attempts = 0
        self._connects = 0
        self._published: dict[str, int] = {}
        self._dropped_live = 0
        self._errors = 0
        self._closed_queue: tuple[int, int, dict[str, int], int, int] | None = None

    @classmethod
    def from_config(
        cls, config: MqttConfig, *, queue_path: str | Path | None = None, country: str | None = None
    ) -> MqttPublisher:
        """The publisher of a `[mqtt]` section (`gateway.config.MqttConfig`); `queue_path` as above."""
        return cls(
            config.url,
            base_topic=config.base_topic.rstrip("/") + "/{meter_id}",
            username=config.username or None,
            password=config.password or None,
            tls=True if config.tls else None,
            ca_file=config.ca_file or None,
            cert_file=config.cert_file or None,
            key_file=config.key_file or None,
            tls_insecure=config.tls_insecure,
            discovery=config.discovery,
            discovery_prefix=config.discovery_prefix,
            policy=config.policy,
            queue_path=queue_path,
            queue_max_messages=config.queue_max_messages,
            queue_max_bytes=config.queue_max_bytes,
            country=country,
        )

    # -- configuration helpers --------------------------------------------------------------------------

    def _make_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self._ca_file) if self._ca_file else None)
        if self._cert_file:
            ctx.load_cert_chain(str(self._cert_file), str(self._key_file) if self._key_file else None)
        if self._tls_insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _needs_meter_id(self) -> bool:
        return "{meter_id}" in self._base_template and self._meter_id is None

    def _learn_meter_id(self, meter_id: object) -> None:
        if self._meter_id is None and isinstance(meter_id, str) and meter_id:
            self._meter_id = meter_id
            self._meter_known.set()

    @property
    def meter_id(self) -> str | None:
        return self._meter_id

    @property
    def base_topic(self) -> str:
        """`p1gw/<meter_id>` (without the trailing slash); needs the meter id when the template uses it."""
        if self._needs_meter_id():
            raise RuntimeError("the base topic needs the meter id: no telegram or record seen yet")
        return self._base_template.replace("{meter_id}", topic_safe(self._meter_id or ""))

    def topic(self, suffix: str) -> str:
        return f"{self.base_topic}/{suffix}"

    def _client_kwargs(self) -> dict[str, Any]:
        client_id = self._client_id or f"p1gw-{topic_safe(self._meter_id or 'meter')}-{uuid.uuid4().hex[:8]}"
        kwargs: dict[str, Any] = {
            "hostname": self.address.host,
            "port": self.address.port,
            "identifier": client_id,
            "username": self._username,
            "password": self._password,
            "keepalive": self._keepalive_s,
            "timeout": self._timeout_s,
            "clean_session": True,
            "logger": _client_log,
        }
        if self._will:
            kwargs["will"] = aiomqtt.Will(self.topic("availability"), b"offline", qos=1, retain=True)
        if self._ssl_context is not None:
            kwargs["tls_context"] = self._ssl_context
            if self._tls_insecure:
                kwargs["tls_insecure"] = True
        return kwargs

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
            self._persist_task = asyncio.create_task(self._persist_loop(), name="mqtt-queue-retry")

    async def aclose(self) -> None:
        """Publish what is queued (at most `flush_timeout_s`), `offline`, disconnect, close the queue."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            if not self._connected:
                task.cancel()
            try:
                await asyncio.wait_for(task, self._flush_timeout_s + self._timeout_s + 1)
            except (asyncio.CancelledError, TimeoutError):
                pass
            except Exception:  # pragma: no cover - _run never raises
                log.exception("MQTT publisher task failed at close")
        if self._persist_task is not None:
            self._persist_task.cancel()
            await asyncio.gather(self._persist_task, return_exceptions=True)
            self._persist_task = None
        self._connected = False
        self._state = "closed"
        self.queue.retry()
        q = self.queue
        self._closed_queue = (q.depth, q.size_bytes, q.dropped(), q.overflow_depth, q.overflow_bytes)
        self.queue.close()  # logs what only memory held (lost) when the file is still not writable

    # -- the pipeline's side (non-blocking) -------------------------------------------------------------

    def publish_telegram(self, telegram: Telegram) -> None:
        """Telegram JSON + per-value states, as the policy allows. Never blocks, never raises."""
        self._learn_meter_id(telegram.meter_id)
        self._latest = telegram
        if not self._connected:
            return  # the latest states are published at (re)connection
        self._put_live(telegram)

    def publish_states(self, values: Mapping[str, Any], meter_id: str | None = None) -> None:
        """Values from outside a telegram (the S1 port's `s1_*`) to `state/<name>`, under the same policy
        as the P1 states, with their Home Assistant discovery. Never blocks, never raises."""
        self._learn_meter_id(meter_id)
        if self._connected and values:
            self._put_live(dict(values))

    def _put_live(self, item: Telegram | dict[str, Any]) -> None:
        """Live items are worth only their freshness: when the queue is full the oldest goes."""
        if self._live.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._live.get_nowait()
                self._live.task_done()
                self._dropped_live += 1
        self._live.put_nowait(item)

    def publish_quarter_hour(self, record: Mapping[str, Any] | str | bytes) -> int | None:
        """Queue a closed quarter-hour record (QoS 1, retained); returns the queue id (None: dropped).
        A record dict also advances the durable outbox mark of its meter (`quarter_hours_queued`)."""
        mark = None
        if isinstance(record, Mapping):
            self._learn_meter_id(record.get("meter_id"))
            mark = _quarter_hour_mark(record)
        return self._enqueue("quarter_hour", _json_bytes(record), retain=True, mark=mark)

    def quarter_hours_queued(self) -> dict[str, datetime]:
        """Per meter id, the newest quarter-hour start written to the queue file (published since, or
        still waiting): the store's newer quarter-hours never reached MQTT (the outbox rule, docs/mqtt.md)."""
        return {key: datetime.fromtimestamp(ts, UTC) for key, ts in self.queue.marks().items()}

    def publish_prepayment(self, state: Mapping[str, Any] | str | bytes) -> int | None:
        """Queue the prepayment credit state (QoS 1, retained; an unsent older state is replaced)."""
        if isinstance(state, Mapping):
            self._learn_meter_id(state.get("meter_id"))
        return self._enqueue("prepayment", _json_bytes(state), retain=True)

    def publish_event(self, event: Mapping[str, Any] | str | bytes) -> int | None:
        """Queue a notification (QoS 1, not retained). A dict without `id` gets a unique `id` (dedupe key)."""
        if isinstance(event, Mapping):
            self._learn_meter_id(event.get("meter_id"))
            if "id" not in event:
                event = {"id": uuid.uuid4().hex, **event}
        return self._enqueue("event", _json_bytes(event), retain=False)

    def _enqueue(
        self, kind: str, payload: bytes, *, retain: bool, mark: tuple[str, float] | None = None
    ) -> int | None:
        """Into the queue: the file, or its in-memory overflow when the file cannot be written."""
        try:
            message_id = self.queue.put(kind, kind, payload, qos=1, retain=retain, mark=mark)
        except Exception as exc:  # a closed queue (after aclose) or a bug: report, never break the pipeline
            self._errors += 1
            self._note_error(exc, "internal")
            log_event(log, logging.ERROR, "MQTT message not queued", kind=kind, error=f"{exc!r}")
            return None
        self._queue_written()
        self._wake.set()
        return message_id

    def _queue_written(self) -> None:
        """After a queue operation: note a write failure, wake the retry task while memory holds data."""
        error = self.queue.write_error
        if error is not None and error != self._queue_error:
            self._errors += 1
            self._last_error, self._last_error_kind = error, "queue"
            self._last_error_at = time.time()
        self._queue_error = error
        if self.queue.pending_writes:
            self._queue_pending.set()

    async def _persist_loop(self) -> None:
        """While the queue holds messages in memory, retry writing them every `queue_retry_s`."""
        while True:
            await self._queue_pending.wait()
            await asyncio.sleep(self._queue_retry_s)
            try:
                self.queue.retry()
            except Exception as exc:  # pragma: no cover - retry() reports write failures itself
                self._note_error(exc, "internal")
                log_event(log, logging.ERROR, "MQTT queue retry failed", error=f"{exc!r}")
            if not self.queue.pending_writes:
                self._queue_pending.clear()

    async def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every telegram handed over is published (or dropped) and, while connected, the QoS 1
        queue is empty. False on timeout. For orderly shutdowns and tests; the pipeline never waits."""
        try:
            async with asyncio.timeout(timeout):
                await self._live.join()
                while self._connected and self.queue.depth:
                    await asyncio.sleep(0.01)
        except TimeoutError:
            return False
        return True

    # -- status -----------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Health: connected, state, last error (text, kind, Unix time), attempts/reconnects, queue depth and
        bytes, dropped per kind, published per kind, messages held back by the policy."""
        q = self.queue
        depth, size, dropped, overflow, overflow_bytes = self._closed_queue or (
            q.depth,
            q.size_bytes,
            q.dropped(),
            q.overflow_depth,
            q.overflow_bytes,
        )
        dropped = {
            "quarter_hour": 0,
            "prepayment": 0,
            "event": 0,
            **dropped,
            "telegram_backlog": self._dropped_live,
        }
        return {
            "broker": self.address.redacted(),
            "connected": self._connected,
            "state": self._state,
            "meter_id": self._meter_id,
            "last_error": self._last_error,
            "last_error_kind": self._last_error_kind,
            "last_error_at": self._last_error_at,
            "connected_since": self._connected_since,
            "connect_attempts": self._attempts,
            "connects": self._connects,
            "reconnects": max(0, self._connects - 1),
            "queue_depth": depth,
            "queue_bytes": size,
            "queue_overflow": overflow,
            "queue_overflow_bytes": overflow_bytes,
            "dropped": dropped,
            "published": dict(self._published),
            "held_back": self.policy.held_back,
            "errors": self._errors,
        }

    def _note_error(self, exc: BaseException, kind: str | None = None) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        self._last_error_kind = kind or _error_kind(exc)
        self._last_error_at = time.time()

    def _count(self, kind: str, n: int = 1) -> None:
        self._published[kind] = self._published.get(kind, 0) + n

    # -- the connection task ----------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff[0]
        broker = self.address.redacted()
        failing: str | None = None  # the error of the current outage, logged once
        outage_attempts, outage_since, capped = 0, time.time(), False
        while not self._closing.is_set():
            if not self._meter_known.is_set():
                self._state = "waiting_for_meter_id"
                log_event(log, logging.INFO, "MQTT waiting for the meter id before connecting", broker=broker)
                await self._meter_known.wait()
            self._state = "connecting"
            self._attempts += 1
            outage_attempts += 1
            was_connected = False
            try:
                async with aiomqtt.Client(**self._client_kwargs()) as client:
                    self._connected, self._state = True, "connected"
                    self._connected_since = time.time()
                    self._connects += 1
                    was_connected, delay = True, self._backoff[0]
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
                self._note_error(exc)
                error = f"{type(exc).__name__}: {exc}"
                retry_s = round(delay, 2)
                internal = not isinstance(exc, aiomqtt.MqttError)
                level = logging.ERROR if internal else logging.WARNING
                if was_connected or failing is None:
                    outage_since, capped = time.time(), False
                fields = {"broker": broker, "error": error, "kind": self._last_error_kind, "retry_s": retry_s}
                if was_connected:
                    log.log(level, "MQTT connection lost", extra={"fields": fields}, exc_info=internal)
                elif error != failing:
                    log.log(level, "MQTT connection failed", extra={"fields": fields}, exc_info=internal)
                elif delay >= self._backoff[1] and not capped:
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
                self._connected = False
                self._connected_since = None
                self._drain_live()
            if self._closing.is_set():
                break
            self._state = "backoff"
            await asyncio.sleep(delay * random.uniform(0.8, 1.0))
            delay = min(delay * 2, self._backoff[1])

    def _drain_live(self) -> None:
        while not self._live.empty():
            self._live.get_nowait()
            self._live.task_done()

    async def _session(self, client: aiomqtt.Client) -> None:
        if self._will:
            await client.publish(self.topic("availability"), b"online", qos=1, retain=True)
            self._count("availability")
        if self._discovery:
            await client.subscribe(f"{self._discovery_prefix}/status", qos=1)
        self._discovered.clear()
        self.policy.forget()
        if self._latest is not None:
            await self._publish_live(client, self._latest)  # the policy was reset: every state goes out
        tasks = [
            asyncio.create_task(self._listen(client)),
            asyncio.create_task(self._drain(client)),
            asyncio.create_task(self._live_loop(client)),
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
        if self._will:
            await client.publish(self.topic("availability"), b"offline", qos=1, retain=True)
            self._count("availability")

    async def _flush(self) -> None:
        """At close: give the drain task `flush_timeout_s` to empty the QoS 1 queue."""
        deadline = time.monotonic() + self._flush_timeout_s
        while self.queue.depth and time.monotonic() < deadline and self._connected:
            await asyncio.sleep(0.02)

    async def _listen(self, client: aiomqtt.Client) -> None:
        """Reads incoming messages (HA's status); ends with MqttError when the connection drops."""
        status_topic = f"{self._discovery_prefix}/status"
        async for message in client.messages:
            if message.topic.matches(status_topic) and message.payload == b"online" and not message.retain:
                log_event(log, logging.INFO, "Home Assistant online again: republishing discovery")
                self._discovered.clear()
                if self._latest is not None:
                    await self._publish_discovery(client, self._latest)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Publishes queued QoS 1 messages oldest first; deletes each after its PUBACK."""
        while True:
            batch = self.queue.peek(1)
            if not batch:
                self._wake.clear()
                await self._wake.wait()
                continue
            message = batch[0]
            await client.publish(
                self.topic(message.topic), message.payload, qos=message.qos, retain=message.retain
            )
            self.queue.remove(message.id)  # a delete the full disk refuses is kept and retried
            self._queue_written()
            self._count(message.kind)

    async def _live_loop(self, client: aiomqtt.Client) -> None:
        while True:
            item = await self._live.get()
            try:
                if isinstance(item, Telegram):
                    await self._publish_live(client, item)
                else:
                    await self._publish_states(client, item)
            finally:
                self._live.task_done()

    async def _publish_discovery(
        self, client: aiomqtt.Client, telegram: Telegram, names: set[str] | None = None
    ) -> None:
        messages = discovery_messages(
            telegram,
            base_topic=self.base_topic,
            discovery_prefix=self._discovery_prefix,
            availability_topic=self.topic("availability") if self._will else None,
            country=self._country,
            names=names,
        )
        for topic, config in messages:
            await client.publish(topic, _json_bytes(config), qos=1, retain=True)
        self._discovered.update(names if names is not None else state_values(telegram, self._country).keys())
        self._count("discovery", len(messages))

    async def _publish_live(self, client: aiomqtt.Client, telegram: Telegram) -> None:
        states = state_values(telegram, self._country)
        if self._discovery:
            new = set(states) - self._discovered
            if new:
                await self._publish_discovery(client, telegram, new)
        now = self._clock()
        if self.policy.allow("telegram", None, now):
            # the meter's digits kept (`5.980`, a JSON number), as `p1gw parse` prints them
            await client.publish(self.topic("telegram"), telegram_json(telegram).encode(), qos=0)
            self._count("telegram")
        await self._publish_state_topics(
            client, {name: published_value(name, state.value.value) for name, state in states.items()}, now
        )

    async def _publish_state_topics(self, client: aiomqtt.Client, values: dict[str, Any], now: float) -> None:
        """`state/<name>` for each value the policy lets through now (QoS 0, retained)."""
        sent = 0
        for name, value in values.items():
            payload = state_text(value).encode()
            topic = f"state/{name}"
            if self.policy.allow(topic, payload, now):
                await client.publish(self.topic(topic), payload, qos=0, retain=True)
                sent += 1
        if sent:
            self._count("state", sent)

    async def _publish_states(self, client: aiomqtt.Client, values: dict[str, Any]) -> None:
        if self._discovery and self._meter_id:
            new = set(values) - self._discovered
            if new:
                messages = extra_discovery_messages(
                    self._meter_id,
                    new,
                    base_topic=self.base_topic,
                    discovery_prefix=self._discovery_prefix,
                    availability_topic=self.topic("availability") if self._will else None,
                )
                for topic, config in messages:
                    await client.publish(topic, _json_bytes(config), qos=1, retain=True)
                self._discovered.update(new)
                self._count("discovery", len(messages))
        await self._publish_state_topics(client, values, self._clock())


def parse_policy(lines: Iterable[str]) -> dict[str, str]:
    """`pattern = rule` lines (config files, env) -> a policy mapping; `#` comments and blanks ignored."""
    out: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, sep, rule = line.partition("=")
        if not sep or not pattern.strip():
            raise ValueError(f"policy line {raw!r}: expected 'pattern = rule'")
        TopicRule.parse(rule)
        out[pattern.strip()] = rule.strip()
    return out


__all__ = [
    "DEFAULT_BASE_TOPIC",
    "DEFAULT_POLICY",
    "BrokerAddress",
    "MqttPublisher",
    "PublishPolicy",
    "TopicRule",
    "parse_policy",
    "state_text",
]
