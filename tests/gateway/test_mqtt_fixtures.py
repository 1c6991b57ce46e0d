"""The shared broker fixtures really work: plain, restart on the same port, password, TLS, client certs."""

from __future__ import annotations

import aiomqtt
import pytest

from ..conftest import Broker, CollectorFactory


async def test_plain_broker_round_trip_with_retain_and_qos(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    async with mqtt_collector(mosquitto, "t/#") as seen:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish("t/a", b"1", qos=1, retain=True)
            await client.publish("t/b", b"2", qos=0, retain=False)
        got = await seen.wait_for(count=2)
    assert [(m.topic, m.payload, m.retain, m.qos) for m in got] == [
        ("t/a", b"1", True, 1),
        ("t/b", b"2", False, 0),
    ]
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    assert "New client connected" in mosquitto.log_path.read_text()


async def test_restart_on_same_port_forgets_retained(
    mosquitto: Broker, mqtt_collector: CollectorFactory
) -> None:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        await client.publish("r/x", b"kept", qos=1, retain=True)
    port = mosquitto.port
    mosquitto.stop()
    assert not mosquitto.running
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(mosquitto.host, port, timeout=1):
            pass
    mosquitto.start()
    assert mosquitto.port == port
    async with mqtt_collector(mosquitto, "r/#") as seen:
        await seen.settle(0.3)
    assert seen.messages == []  # persistence false: a restarted broker starts empty


async def test_password_broker(mosquitto_auth: Broker, mqtt_collector: CollectorFactory) -> None:
    assert mosquitto_auth.url == f"mqtt://p1gw:broker-secret@127.0.0.1:{mosquitto_auth.port}"
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            mosquitto_auth.host, mosquitto_auth.port, username="p1gw", password="wrong"
        ):
            pass
    async with mqtt_collector(mosquitto_auth, "a/#") as seen:
        async with aiomqtt.Client(
            mosquitto_auth.host, mosquitto_auth.port, username="p1gw", password="broker-secret"
        ) as client:
            await client.publish("a/1", b"ok", qos=1)
        assert (await seen.wait_for())[0].payload == b"ok"


async def test_tls_broker(mosquitto_tls: Broker, mqtt_collector: CollectorFactory) -> None:
    assert mosquitto_tls.url.startswith("mqtts://")
    async with mqtt_collector(mosquitto_tls, "s/#") as seen:
        async with aiomqtt.Client(
            mosquitto_tls.host, mosquitto_tls.port, tls_context=mosquitto_tls.ssl_context()
        ) as client:
            await client.publish("s/1", b"secure", qos=1)
        assert (await seen.wait_for())[0].payload == b"secure"
    with pytest.raises(aiomqtt.MqttError):  # plain MQTT to the TLS port fails
        async with aiomqtt.Client(mosquitto_tls.host, mosquitto_tls.port, timeout=1):
            pass


async def test_tls_client_certificate_required(
    mosquitto_tls_client_cert: Broker, mqtt_collector: CollectorFactory
) -> None:
    broker = mosquitto_tls_client_cert
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(broker.host, broker.port, tls_context=broker.ssl_context(), timeout=1):
            pass
    async with mqtt_collector(broker, "c/#", client_cert=True) as seen:
        async with aiomqtt.Client(
            broker.host, broker.port, tls_context=broker.ssl_context(client_cert=True)
        ) as client:
            await client.publish("c/1", b"cert", qos=1)
        assert (await seen.wait_for())[0].payload == b"cert"


def test_session_broker(mosquitto_session: Broker) -> None:
    assert mosquitto_session.running
