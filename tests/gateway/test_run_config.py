"""Configuration: defaults < TOML file < environment < command line; every error names the key."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config, ConfigError, load_config

from ..conftest import free_port
from .test_run_faults import wait_health

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    config = load_config(environ={})
    assert config == Config()
    assert (config.source.baudrate, config.source.bytesize, config.source.parity) == (115200, 8, "N")
    assert config.mqtt.url == ""  # no MQTT unless asked
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8080)


def test_the_hardware_example_file_loads_with_its_values() -> None:
    config = load_config(ROOT / "hardware" / "config.example.toml", environ={})
    assert config.source.port == "/dev/p1"
    assert config.mqtt.url == "mqtt://localhost:1883"
    assert config.storage.path == "/var/lib/p1gw/p1gw.sqlite"
    assert config.meter.timezone == "Europe/Brussels"


def test_layers_override_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[source]\nport = "/dev/ttyUSB1"\nbaudrate = 9600\nbytesize = 7\nparity = "e"\n'
        '[mqtt]\nurl = "mqtt://broker:1883"\n[http]\nport = 8081\n[meter]\ncountry = "nl"\n'
    )
    env = {
        "P1GW_MQTT__URL": "mqtts://env-broker:8883",
        "P1GW_MQTT__TLS": "true",
        "P1GW_HTTP__PORT": "9000",
        "P1GW_HTTP__CORS_ORIGINS": "http://a, http://b",
        "HOME": "/root",
    }
    config = load_config(path, environ=env, overrides={"http": {"port": 9100, "host": None}})
    assert config.source.port == "/dev/ttyUSB1"
    assert (config.source.baudrate, config.source.bytesize, config.source.parity) == (9600, 7, "E")
    assert config.mqtt.url == "mqtts://env-broker:8883" and config.mqtt.tls is True
    assert config.http.port == 9100  # command line beats environment beats file
    assert config.http.host == "127.0.0.1"  # None on the command line = not given
    assert config.http.cors_origins == ["http://a", "http://b"]
    assert config.meter.country == "NL"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[sourse]\nport = 'x'\n", {}, "unknown section"),
        ("[source]\nprt = 'x'\n", {}, "unknown key source.prt"),
        ("[http]\nport = 'eighty'\n", {}, "http.port"),
        ("", {"P1GW_HTTP__PORT": "eighty"}, "http.port (environment)"),
        ("[source]\nparity = 'X'\n", {}, "source.parity"),
        ("[meter]\nean = '5414'\n", {}, "meter.ean"),
        ("[meter]\ncountry = 'FR'\n", {}, "meter.country"),
        ("[meter]\ntimezone = 'Mars/Olympus'\n", {}, "meter.timezone"),
        ("[mqtt]\nurl = 'http://x'\n", {}, "mqtt.url"),
        ("[mqtt]\ntls = 'maybe'\n", {}, "mqtt.tls"),
        ("[http]\nport = 0\n", {}, "http.port"),
        ("[source\n", {}, "not valid TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, toml: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path, environ=env)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_mqtt_keys_and_policy_table_load_from_toml_and_reach_the_publisher(
    tmp_path: Path, tls_files: Any
) -> None:
    from gateway.mqtt import MqttPublisher

    ca = tls_files.ca_cert
    path = tmp_path / "c.toml"
    path.write_text(
        f'[mqtt]\nurl = "mqtts://broker:8883"\nca_file = "{ca}"\ntls_insecure = false\n'
        'discovery_prefix = "ha"\nqueue_max_messages = 500\nqueue_max_bytes = 65536\n'
        '[mqtt.policy]\n"telegram" = "never"\n"state/voltage_*" = "every 5 min"\n'
    )
    config = load_config(path, environ={"P1GW_MQTT__POLICY": "state/power_* = every 2 s"})
    assert config.mqtt.policy == {"state/power_*": "every 2 s"}  # the environment replaces the table
    config = load_config(path, environ={})
    assert config.mqtt.policy == {"telegram": "never", "state/voltage_*": "every 5 min"}
    assert (config.mqtt.ca_file, config.mqtt.queue_max_messages) == (str(ca), 500)
    publisher = MqttPublisher.from_config(config.mqtt)
    assert (publisher.queue.max_messages, publisher.queue.max_bytes) == (500, 65536)
    assert publisher.policy.rule_for("telegram").enabled is False
    assert publisher.policy.rule_for("state/voltage_l1").min_interval_s == 300
    publisher.queue.close()


def test_mqtt_settings_of_a_config_section_leave_empty_keys_unset() -> None:
    from gateway.config import MqttConfig, mqtt_settings

    plain = mqtt_settings(MqttConfig(url="mqtt://broker"))
    assert plain.base_topic == "p1gw/{meter_id}"
    assert (plain.username, plain.password, plain.tls, plain.ca_file, plain.queue_path) == (None,) * 5
    given = mqtt_settings(
        MqttConfig(
            url="mqtt://broker", base_topic="home/p1/", username="u", password="pw", tls=True, key_file="k"
        ),
        queue_path="q.sqlite",
        country="NL",
    )
    assert given.base_topic == "home/p1/{meter_id}"
    assert (given.username, given.password, given.tls, given.key_file) == ("u", "pw", True, "k")
    assert (given.queue_path, given.country) == ("q.sqlite", "NL")


def test_mqtt_url_error_hides_the_password() -> None:
    with pytest.raises(ConfigError, match=r"http://u:\*\*\*@broker") as error:
        load_config(environ={"P1GW_MQTT__URL": "http://u:secret@broker"})
    assert "secret" not in str(error.value)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[mqtt.policy]\n'telegram' = 'sometimes'\n", "mqtt.policy 'telegram'"),
        ("[mqtt]\nca_file = '/nonexistent/ca.pem'\n", "mqtt.ca_file: no file"),
        ("[mqtt]\nqueue_max_messages = 0\n", "queue_max_messages"),
        (f"[mqtt]\nca_file = '{__file__}'\n", "mqtt.ca_file: not a usable PEM"),
        ("[mqtt]\npolicy = 'x'\n", "mqtt.policy"),
    ],
)
def test_mqtt_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


async def test_p1gw_run_uses_tls_files_and_policy_from_the_config_file(
    tmp_path: Path, mosquitto_tls_client_cert: Any, mqtt_collector: Any
) -> None:
    broker = mosquitto_tls_client_cert
    assert broker.tls is not None
    http_port = free_port()
    path = tmp_path / "p1gw.toml"
    path.write_text(
        f"""
[source]
port = "sim:be-3ph?seed=3&speed=60&start=2026-11-22T14:14:00+01:00"
[mqtt]
url = "{broker.url}"
ca_file = "{broker.tls.ca_cert}"
cert_file = "{broker.tls.client_cert}"
key_file = "{broker.tls.client_key}"
queue_max_messages = 500
[mqtt.policy]
"telegram" = "never"
"state/voltage_*" = "never"
"state/*" = "every"
[http]
port = {http_port}
[storage]
path = "{tmp_path / "p1gw.sqlite"}"
[log]
level = "warning"
"""
    )
    async with mqtt_collector(broker, "p1gw/#", client_cert=True) as seen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(path)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            health = await wait_health(
                http_port,
                lambda h: h["mqtt"].get("connected") and h["mqtt"]["published"].get("state", 0) > 50,
            )
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, stderr.decode()
        await seen.wait_for(lambda m: m.topic.endswith("/state/energy_import_day"))
    assert health["mqtt"]["broker"].startswith("mqtts://")
    assert not [m for m in seen.messages if m.topic.endswith("/telegram")]
    assert not [m for m in seen.messages if "/state/voltage_" in m.topic]
