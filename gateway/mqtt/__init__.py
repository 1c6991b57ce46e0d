"""MQTT publisher of the gateway: availability + last will, telegram JSON, per-value retained states,
quarter-hours, prepayment, events and Home Assistant discovery, under `p1gw/<meter_id>/` (docs/mqtt.md).

Modules, one job each: `broker` (the URL, credentials, TLS), `settings` (`MqttSettings`, built from the
configuration by `gateway.config.mqtt_settings`), `policy` (what is published when), `payloads` (topics and
payloads), `live` (telegrams and states, QoS 0, with discovery), `discovery` (Home Assistant configs),
`outbox` (QoS 1 messages: queue and drain task), `queue` (the persistent FIFO with its in-memory overflow)
over `queue_file` (its SQLite file), `status` (health counters, error kinds) and `publisher`
(`MqttPublisher`: the connection loop and the pipeline's calls).

Example:
    async with MqttPublisher("mqtt://user:pw@broker:1883", MqttSettings(queue_path="mqtt.sqlite")) as mq:
        mq.publish_telegram(telegram)
        mq.publish_quarter_hour(record)      # dict of the quarter-hour contract
        print(mq.status())
"""

from gateway.mqtt.broker import BrokerAddress
from gateway.mqtt.payloads import state_text
from gateway.mqtt.policy import DEFAULT_POLICY, PublishPolicy, TopicRule, parse_policy
from gateway.mqtt.publisher import MqttPublisher
from gateway.mqtt.settings import DEFAULT_BASE_TOPIC, MqttSettings

__all__ = [
    "DEFAULT_BASE_TOPIC",
    "DEFAULT_POLICY",
    "BrokerAddress",
    "MqttPublisher",
    "MqttSettings",
    "PublishPolicy",
    "TopicRule",
    "parse_policy",
    "state_text",
]
