"""The publisher's settings: one frozen value, built from the `[mqtt]` configuration by `gateway.config`.

Everything the publisher can be told except the broker URL (its first argument) and, for tests, a clock.
Empty means "not given": no username or password overrides the URL's, no TLS file, no meter id (learnt from
the first telegram or record), no queue file (the QoS 1 queue lives in memory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_TOPIC = "p1gw/{meter_id}"


@dataclass(frozen=True)
class MqttSettings:
    """How `MqttPublisher` publishes, connects and queues.

    Args:
        base_topic: topic prefix; `{meter_id}` is replaced by the meter id (from the first telegram or
            record unless `meter_id` is given; the connection waits for it).
        meter_id: the meter id when known in advance.
        client_id: MQTT client id (default `p1gw-<meter_id>-<random>`).
        queue_path: SQLite file of the persistent QoS 1 queue (None: in memory, lost on exit).
        policy: `{glob: rule}` (see `TopicRule.parse`), merged over `DEFAULT_POLICY`.
        discovery: publish Home Assistant discovery; discovery_prefix: HA's discovery prefix.
        country: `BE` / `NL` for tariff labels (detected from the telegram when None).
        username, password: override the URL's credentials.
        tls: force TLS on/off (default: on for mqtts://); ca_file, cert_file, key_file: PEM files (no
            key_file: the key is in cert_file); tls_insecure: do not verify the broker's certificate or
            host name (testing only).
        will: publish availability with a last will `offline`.
        keepalive_s, timeout_s: MQTT keepalive and per-operation timeout, seconds.
        backoff_initial_s, backoff_max_s: reconnect delay doubles from initial up to max (seconds).
        queue_max_messages, queue_max_bytes: caps of the persistent queue.
        overflow_max_messages, overflow_max_bytes: caps of the in-memory overflow used while the queue
            file cannot be written; queue_retry_s: how often writing it is retried (seconds).
        live_queue_size: telegrams and states waiting for the connection (the oldest goes when full).
        flush_timeout_s: how long `aclose()` keeps publishing queued QoS 1 messages before leaving.
    """

    base_topic: str = DEFAULT_BASE_TOPIC
    meter_id: str | None = None
    client_id: str | None = None
    queue_path: str | Path | None = None
    policy: Mapping[str, str] = field(default_factory=dict)
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    country: str | None = None
    username: str | None = None
    password: str | None = None
    tls: bool | None = None
    ca_file: str | Path | None = None
    cert_file: str | Path | None = None
    key_file: str | Path | None = None
    tls_insecure: bool = False
    will: bool = True
    keepalive_s: int = 30
    timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0
    queue_max_messages: int = 10_000
    queue_max_bytes: int = 16 * 1024 * 1024
    overflow_max_messages: int = 1_000
    overflow_max_bytes: int = 1024 * 1024
    queue_retry_s: float = 2.0
    live_queue_size: int = 16
    flush_timeout_s: float = 2.0


__all__ = ["DEFAULT_BASE_TOPIC", "MqttSettings"]
