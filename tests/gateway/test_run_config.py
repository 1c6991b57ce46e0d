"""Configuration: defaults < TOML file < environment < command line; every error names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Config, ConfigError, load_config

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
