"""The live side of the publisher: telegrams and `state/<name>` values (QoS 0) with their Home Assistant
discovery, as the publishing policy lets them through.

Live data is worth only its freshness: a small asyncio queue holds what waits for the connection and drops
its oldest item when the publisher lags. While the broker is away nothing is kept but the latest telegram;
each connection starts with `begin`, which forgets what the policy and discovery saw and publishes the
latest telegram's states again (retained), so a restarted broker is repopulated at once; telegrams handed
over between the connection and `begin` are not published a second time. Discovery goes out
once per connection for every state name, again for names that appear later, and when Home Assistant
announces `online` on `<prefix>/status` (`listen`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import aiomqtt

from dsmr_parser import Telegram
from gateway.logs import get_logger
from gateway.logs import log as log_event
from gateway.mqtt.discovery import discovery_messages, extra_discovery_messages
from gateway.mqtt.payloads import (
    AVAILABILITY,
    TELEGRAM,
    Topics,
    json_bytes,
    state_text,
    state_topic,
    telegram_payload,
    telegram_states,
)
from gateway.mqtt.policy import PublishPolicy
from gateway.mqtt.status import PublisherStatus

log = get_logger("mqtt")

LiveItem = Telegram | dict[str, Any]  # a telegram, or state values from outside one (the S1 port's)


class LiveFeed:
    """Live items waiting for the connection, and how one connection publishes them.

    Args:
        topics: the base topic; policy: what goes out when; status: counts published and dropped.
        discovery, discovery_prefix: Home Assistant discovery on/off and its prefix.
        will: the broker has an availability topic (named in the discovery configs).
        country: `BE` / `NL` for tariff labels (None: from the telegram).
        size: items waiting at most; clock: monotonic seconds for the policy.
    """

    def __init__(
        self,
        topics: Topics,
        policy: PublishPolicy,
        status: PublisherStatus,
        *,
        discovery: bool,
        discovery_prefix: str,
        will: bool,
        country: str | None,
        size: int,
        clock: Callable[[], float],
    ) -> None:
        self._topics = topics
        self._policy = policy
        self._status = status
        self.discovery = discovery
        self.discovery_prefix = discovery_prefix.rstrip("/")
        self._will = will
        self._country = country
        self._clock = clock
        self.latest: Telegram | None = None
        self._waiting: asyncio.Queue[LiveItem] = asyncio.Queue(maxsize=size)
        self._discovered: set[str] = set()

    @property
    def status_topic(self) -> str:
        """Where Home Assistant announces `online` / `offline`."""
        return f"{self.discovery_prefix}/status"

    # -- the pipeline's side (non-blocking) -------------------------------------------------------------

    def put(self, item: LiveItem) -> None:
        """Queue a live item; when the queue is full the oldest goes (counted as dropped)."""
        if self._waiting.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._waiting.get_nowait()
                self._waiting.task_done()
                self._status.dropped_live += 1
        self._waiting.put_nowait(item)

    def discard(self) -> None:
        """Forget what waits (the connection is gone: the latest telegram goes out at the next one)."""
        while not self._waiting.empty():
            self._waiting.get_nowait()
            self._waiting.task_done()

    def _drop_queued_telegrams(self) -> None:
        """Remove the telegrams waiting (none is newer than `latest`), keep other values in their order."""
        kept = []
        while not self._waiting.empty():
            item = self._waiting.get_nowait()
            self._waiting.task_done()
            if not isinstance(item, Telegram):
                kept.append(item)
        for item in kept:
            self._waiting.put_nowait(item)

    async def join(self) -> None:
        """Until every item handed over is published or dropped."""
        await self._waiting.join()

    # -- one connection ---------------------------------------------------------------------------------

    async def begin(self, client: aiomqtt.Client) -> None:
        """At connection: everything is new to this broker; the latest telegram's states go out again."""
        if self.discovery:
            await client.subscribe(self.status_topic, qos=1)
        self._discovered.clear()
        self._policy.forget()
        if self.latest is not None:
            self._drop_queued_telegrams()  # handed over since the connection: the latest says it all
            await self._publish_telegram(client, self.latest)

    async def run(self, client: aiomqtt.Client) -> None:
        """Publishes queued items until the connection fails (MqttError) or the task is cancelled."""
        while True:
            item = await self._waiting.get()
            try:
                if isinstance(item, Telegram):
                    await self._publish_telegram(client, item)
                else:
                    await self._publish_values(client, item)
            finally:
                self._waiting.task_done()

    async def listen(self, client: aiomqtt.Client) -> None:
        """Reads incoming messages (HA's status); ends with MqttError when the connection drops."""
        async for message in client.messages:
            if (
                message.topic.matches(self.status_topic)
                and message.payload == b"online"
                and not message.retain
            ):
                log_event(log, logging.INFO, "Home Assistant online again: republishing discovery")
                self._discovered.clear()
                if self.latest is not None:
                    await self._publish_discovery(client, self.latest)

    # -- publishing -------------------------------------------------------------------------------------

    def _availability_topic(self) -> str | None:
        return self._topics.topic(AVAILABILITY) if self._will else None

    async def _publish_discovery(
        self, client: aiomqtt.Client, telegram: Telegram, names: set[str] | None = None
    ) -> None:
        messages = discovery_messages(
            telegram,
            base_topic=self._topics.base,
            discovery_prefix=self.discovery_prefix,
            availability_topic=self._availability_topic(),
            country=self._country,
            names=names,
        )
        for topic, config in messages:
            await client.publish(topic, json_bytes(config), qos=1, retain=True)
        self._discovered.update(names if names is not None else telegram_states(telegram, self._country))
        self._status.count("discovery", len(messages))

    async def _publish_telegram(self, client: aiomqtt.Client, telegram: Telegram) -> None:
        values = telegram_states(telegram, self._country)
        if self.discovery:
            new = set(values) - self._discovered
            if new:
                await self._publish_discovery(client, telegram, new)
        now = self._clock()
        if self._policy.allow(TELEGRAM, None, now):
            await client.publish(self._topics.topic(TELEGRAM), telegram_payload(telegram), qos=0)
            self._status.count(TELEGRAM)
        await self._publish_states(client, values, now)

    async def _publish_values(self, client: aiomqtt.Client, values: dict[str, Any]) -> None:
        meter_id = self._topics.meter_id
        if self.discovery and meter_id:
            new = set(values) - self._discovered
            if new:
                messages = extra_discovery_messages(
                    meter_id,
                    new,
                    base_topic=self._topics.base,
                    discovery_prefix=self.discovery_prefix,
                    availability_topic=self._availability_topic(),
                )
                for topic, config in messages:
                    await client.publish(topic, json_bytes(config), qos=1, retain=True)
                self._discovered.update(new)
                self._status.count("discovery", len(messages))
        await self._publish_states(client, values, self._clock())

    async def _publish_states(self, client: aiomqtt.Client, values: dict[str, Any], now: float) -> None:
        """`state/<name>` for each value the policy lets through now (QoS 0, retained)."""
        sent = 0
        for name, value in values.items():
            payload = state_text(value).encode()
            topic = state_topic(name)
            if self._policy.allow(topic, payload, now):
                await client.publish(self._topics.topic(topic), payload, qos=0, retain=True)
                sent += 1
        if sent:
            self._status.count("state", sent)


__all__ = ["LiveFeed", "LiveItem"]
