"""Gateway configuration: defaults < TOML file < environment (`P1GW_SECTION__KEY`) < command-line flags.

One frozen dataclass per TOML section ([source], [mqtt] with its [mqtt.policy] table, [http], [storage],
[meter], [tariff], [log]); the file layout is hardware/config.example.toml, every key is in
docs/gateway.md. Every value is checked once, here, with an error that names the key and where it came
from, so the rest of the gateway never re-validates. Environment values are text and are converted to
the key's type (`P1GW_HTTP__PORT=9000`, `P1GW_MQTT__TLS=true`,
`P1GW_MQTT__POLICY="telegram = never; state/* = every"`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gateway.urls import redact

if TYPE_CHECKING:
    from gateway.mqtt.settings import MqttSettings

ENV_PREFIX = "P1GW_"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key and its origin."""


@dataclass(frozen=True)
class SourceConfig:
    """[source]: where telegrams come from (see `gateway.sources.parse_spec`) and how to read them."""

    port: str = "/dev/ttyUSB0"
    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    silence_timeout_s: float = 30.0  # no byte for this long: reopen the source
    reconnect_max_s: float = 30.0  # cap of the exponential reconnect backoff


@dataclass(frozen=True)
class MqttConfig:
    """[mqtt]: broker URL (empty: no MQTT), base topic, credentials, TLS, discovery, queue caps, and the
    publishing policy ([mqtt.policy]: topic glob -> rule). `mqtt_settings` turns it into the publisher's
    settings (`MqttPublisher.from_config` does both)."""

    url: str = ""
    base_topic: str = "p1gw"
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""  # PEM of the CA that signed the broker (empty: the system's CAs)
    cert_file: str = ""  # client certificate (PEM), when the broker requires one
    key_file: str = ""  # its key (empty: in cert_file)
    tls_insecure: bool = False  # no certificate or host name check: testing only
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    queue_max_messages: int = 10_000
    queue_max_bytes: int = 16 * 1024 * 1024
    policy: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpConfig:
    """[http]: the dashboard and API listener; empty token = no authentication."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str = ""
    cors_origins: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StorageConfig:
    """[storage]: a SQLite path or a `postgresql://` URL."""

    path: str = "p1gw.sqlite"


@dataclass(frozen=True)
class MeterConfig:
    """[meter]: country (tariff labels), EAN copied into quarter-hour records, quarter-hour time zone, the
    price of a kWh for the appliance report."""

    country: str = "BE"
    ean: str = ""
    timezone: str = "Europe/Brussels"
    price_eur_kwh: float = 0.0  # prices appliances and standby in /api/v1/appliances (0: no euros)


@dataclass(frozen=True)
class TariffConfig:
    """[tariff]: the user's tariff, to price appliances and standby by time band (empty region: off; a
    positive `meter.price_eur_kwh` wins). `offer` is a shipped offer id or a TOML file (empty: the shipped
    example)."""

    region: str = ""
    dso: str = ""
    option: str = "single"
    offer: str = ""


@dataclass(frozen=True)
class LogConfig:
    """[log]: level (debug, info, warning, error) and format (text for a terminal, json for journald/Loki)."""

    level: str = "info"
    format: str = "text"


@dataclass(frozen=True)
class HomeWizardConfig:
    """[homewizard]: the HomeWizard P1 API v1 listener ([HOST:]PORT; empty: off), its mDNS announcement,
    and the `/api` serial (empty: derived from this machine's MAC address)."""

    listen: str = ""
    mdns: bool = True
    serial: str = ""


@dataclass(frozen=True)
class ServeP1Config:
    """[serve_p1]: re-serve every valid telegram over TCP ([HOST:]PORT; empty: off)."""

    listen: str = ""


@dataclass(frozen=True)
class DashboardConfig:
    """[dashboard]: its language (en, fr, nl; empty: the browser's) and the flat prices behind its euros
    (VAT included; all 0: kWh only). See `metering.prices`."""

    language: str = ""
    import_day_eur_per_kwh: float = 0.0
    import_night_eur_per_kwh: float = 0.0
    export_eur_per_kwh: float = 0.0
    capacity_eur_per_kw_year: float = 0.0


@dataclass(frozen=True)
class SolarConfig:
    """[solar]: where the PV production counter comes from (empty: none; `sim`: the simulated prosumer's
    PV of a `sim:` source; `mqtt:TOPIC`: a cumulative value on the [mqtt] broker), its unit (kWh or Wh)
    and, for a JSON payload, the key holding it (empty: the payload is the number)."""

    source: str = ""
    unit: str = "kWh"
    json_key: str = ""


@dataclass(frozen=True)
class Config:
    source: SourceConfig = field(default_factory=SourceConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    meter: MeterConfig = field(default_factory=MeterConfig)
    tariff: TariffConfig = field(default_factory=TariffConfig)
    log: LogConfig = field(default_factory=LogConfig)
    homewizard: HomeWizardConfig = field(default_factory=HomeWizardConfig)
    serve_p1: ServeP1Config = field(default_factory=ServeP1Config)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    solar: SolarConfig = field(default_factory=SolarConfig)


SECTIONS: dict[str, type[Any]] = {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(section: str, key: str, raw: Any, kind: Any, origin: str) -> Any:
    """Coerce `raw` (TOML value or environment text) to the field's type."""
    where = f"{section}.{key} ({origin})"
    kind = str(kind)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    if kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
            return int(raw)
        raise ConfigError(f"{where}: expected an integer, got {raw!r}")
    if kind == "float":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {raw!r}") from None
    if kind == "dict[str, str]":
        if isinstance(raw, str):  # the environment: "telegram = never; state/* = every 5 s"
            raw = dict(_pair(where, item) for item in re.split(r"[;\n]", raw) if item.strip())
        if isinstance(raw, Mapping) and all(isinstance(v, str) for v in raw.values()):
            return {str(k): v for k, v in raw.items()}
        raise ConfigError(f"{where}: expected a table of text values, got {raw!r}")
    if kind == "list[str]":
        if isinstance(raw, str):
            return [item.strip() for item in raw.split(",") if item.strip()]
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            return list(raw)
        raise ConfigError(f"{where}: expected a list of strings, got {raw!r}")
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: expected text, got {raw!r}")
    return raw


def _pair(where: str, item: str) -> tuple[str, str]:
    pattern, sep, rule = item.partition("=")
    if not sep or not pattern.strip():
        raise ConfigError(f"{where}: expected 'pattern = rule' items separated by ';', got {item.strip()!r}")
    return pattern.strip().strip('"'), rule.strip().strip('"')


def _merge(
    values: dict[str, dict[str, Any]], layer: Mapping[str, Mapping[str, Any]], origin: str, *, strict: bool
) -> None:
    for section, entries in layer.items():
        cls = SECTIONS.get(section)
        if cls is None:
            raise ConfigError(f"unknown section [{section}] ({origin}); known: {', '.join(SECTIONS)}")
        if not isinstance(entries, Mapping):
            raise ConfigError(f"[{section}] ({origin}) must be a table of keys")
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        for key, raw in entries.items():
            if key not in types:
                if not strict:
                    continue
                raise ConfigError(f"unknown key {section}.{key} ({origin}); known: {', '.join(types)}")
            if raw is None:
                continue
            values.setdefault(section, {})[key] = _convert(section, key, raw, types[key], origin)


def env_layer(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`P1GW_MQTT__URL=...` -> {"mqtt": {"url": "..."}} (names are case-insensitive)."""
    layer: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.upper().startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        layer.setdefault(section, {})[key] = value
    return layer


def listen_address(text: str, key: str) -> tuple[str, int]:
    """`[HOST:]PORT` -> (host, port); a bare port listens on all interfaces (0.0.0.0)."""
    host, sep, port = text.strip().rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{key} {text!r}: expected [HOST:]PORT, e.g. 8081 or 127.0.0.1:8081")
    return (host.strip("[]") if sep else "") or "0.0.0.0", int(port)


def _validate(config: Config, *, check_files: bool = True) -> Config:
    src, meter, http, log = config.source, config.meter, config.http, config.log
    if not src.port:
        raise ConfigError(
            "source.port is empty: give a serial device, socket://host:port, sim:be-3ph or a file"
        )
    if src.parity.upper() not in ("N", "E", "O"):
        raise ConfigError(f"source.parity must be N, E or O, not {src.parity!r}")
    if src.bytesize not in (5, 6, 7, 8):
        raise ConfigError(f"source.bytesize must be 7 or 8 (5-8), not {src.bytesize}")
    if src.stopbits not in (1, 2):
        raise ConfigError(f"source.stopbits must be 1 or 2, not {src.stopbits}")
    if src.baudrate <= 0 or src.silence_timeout_s <= 0 or src.reconnect_max_s <= 0:
        raise ConfigError("source.baudrate, silence_timeout_s and reconnect_max_s must be positive")
    if meter.country.upper() not in ("BE", "NL"):
        raise ConfigError(f"meter.country must be BE or NL, not {meter.country!r}")
    if meter.ean and not re.fullmatch(r"\d{18}", meter.ean):
        raise ConfigError(f"meter.ean must be 18 digits (or empty), not {meter.ean!r}")
    try:
        ZoneInfo(meter.timezone)
    except Exception:  # ZoneInfoNotFoundError, ValueError on odd keys
        raise ConfigError(f"meter.timezone {meter.timezone!r} is not a known time zone") from None
    if meter.price_eur_kwh < 0:
        raise ConfigError(
            f"meter.price_eur_kwh must be 0 (no euros) or a positive price, not {meter.price_eur_kwh}"
        )
    _validate_tariff(config.tariff)
    if not 0 < http.port < 65536:
        raise ConfigError(f"http.port must be 1-65535, not {http.port}")
    _validate_mqtt(config.mqtt, check_files=check_files)
    if config.homewizard.listen:
        listen_address(config.homewizard.listen, "homewizard.listen")
    if config.homewizard.serial and not re.fullmatch(r"[0-9a-fA-F]{12}", config.homewizard.serial):
        raise ConfigError(f"homewizard.serial must be 12 hex digits, not {config.homewizard.serial!r}")
    if config.serve_p1.listen:
        listen_address(config.serve_p1.listen, "serve_p1.listen")
    board = config.dashboard
    if board.language and board.language.lower() not in ("en", "fr", "nl"):
        raise ConfigError(f"dashboard.language must be en, fr, nl or empty, not {board.language!r}")
    if min(board.import_day_eur_per_kwh, board.import_night_eur_per_kwh, board.export_eur_per_kwh,
           board.capacity_eur_per_kw_year) < 0:  # fmt: skip
        raise ConfigError("dashboard prices must be 0 or more (€ per kWh, € per kW per year)")
    _validate_solar(config.solar, config.mqtt, config.source)
    if log.level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"log.level must be debug, info, warning or error, not {log.level!r}")
    if log.format not in ("text", "json"):
        raise ConfigError(f"log.format must be text or json, not {log.format!r}")
    return dataclasses.replace(
        config,
        source=dataclasses.replace(src, parity=src.parity.upper()),
        meter=dataclasses.replace(meter, country=meter.country.upper()),
        log=dataclasses.replace(log, level=log.level.lower()),
    )


def _validate_tariff(tariff: TariffConfig) -> None:
    from tariffs.load import REGIONS

    if tariff.region and tariff.region not in REGIONS:
        raise ConfigError(
            f"tariff.region must be one of {', '.join(REGIONS)} (or empty), not {tariff.region!r}"
        )
    if tariff.option not in ("single", "dual", "impact"):
        raise ConfigError(f"tariff.option must be single, dual or impact, not {tariff.option!r}")


def _validate_solar(solar: SolarConfig, mqtt: MqttConfig, source: SourceConfig) -> None:
    if solar.source not in ("", "sim") and not (
        solar.source.startswith("mqtt:") and solar.source[5:].strip()
    ):
        raise ConfigError(f"solar.source must be empty, sim or mqtt:TOPIC, not {solar.source!r}")
    if solar.source == "sim" and not source.port.startswith("sim:"):
        raise ConfigError("solar.source = sim needs a simulated meter (source.port = sim:...)")
    if solar.source.startswith("mqtt:") and not mqtt.url:
        raise ConfigError("solar.source = mqtt:TOPIC needs a broker: set mqtt.url")
    if solar.unit not in ("kWh", "Wh"):
        raise ConfigError(f"solar.unit must be kWh or Wh, not {solar.unit!r}")


def _validate_mqtt(mqtt: MqttConfig, *, check_files: bool) -> None:
    if mqtt.url and not re.match(r"mqtts?://", mqtt.url):
        raise ConfigError(f"mqtt.url must start with mqtt:// or mqtts://, not {redact(mqtt.url)!r}")
    if mqtt.queue_max_messages <= 0 or mqtt.queue_max_bytes <= 0:
        raise ConfigError("mqtt.queue_max_messages and mqtt.queue_max_bytes must be positive")
    if mqtt.policy:
        from gateway.mqtt.policy import TopicRule

        for pattern, rule in mqtt.policy.items():
            try:
                TopicRule.parse(rule)
            except ValueError as exc:
                raise ConfigError(f"mqtt.policy {pattern!r}: {exc}") from None
    if check_files:
        _check_tls_files(mqtt)


def mqtt_settings(
    mqtt: MqttConfig, *, queue_path: str | Path | None = None, country: str | None = None
) -> MqttSettings:
    """The publisher's settings (`gateway.mqtt.MqttSettings`) of a `[mqtt]` section: topics under
    `<base_topic>/<meter_id>`, empty texts as "not given", TLS forced on by `tls = true` (else by the URL's
    scheme). `queue_path`: the persistent QoS 1 queue (None: in memory); `country`: tariff labels."""
    from gateway.mqtt.settings import MqttSettings

    return MqttSettings(
        base_topic=mqtt.base_topic.rstrip("/") + "/{meter_id}",
        username=mqtt.username or None,
        password=mqtt.password or None,
        tls=True if mqtt.tls else None,
        ca_file=mqtt.ca_file or None,
        cert_file=mqtt.cert_file or None,
        key_file=mqtt.key_file or None,
        tls_insecure=mqtt.tls_insecure,
        discovery=mqtt.discovery,
        discovery_prefix=mqtt.discovery_prefix,
        policy=dict(mqtt.policy),
        queue_path=queue_path,
        queue_max_messages=mqtt.queue_max_messages,
        queue_max_bytes=mqtt.queue_max_bytes,
        country=country,
    )


def _check_tls_files(mqtt: MqttConfig) -> None:
    """The certificate files exist and hold PEM certificates (a ConfigError naming the key otherwise)."""
    for key in ("ca_file", "cert_file", "key_file"):
        path = getattr(mqtt, key)
        if path and not Path(path).expanduser().is_file():
            raise ConfigError(f"mqtt.{key}: no file at {path!r} (give the path of a PEM file)")
    try:
        if mqtt.ca_file:
            ssl.create_default_context(cafile=str(Path(mqtt.ca_file).expanduser()))
        if mqtt.cert_file:
            key_path = str(Path(mqtt.key_file).expanduser()) if mqtt.key_file else None
            ssl.create_default_context().load_cert_chain(str(Path(mqtt.cert_file).expanduser()), key_path)
    except (ssl.SSLError, OSError) as exc:
        what = "mqtt.cert_file / mqtt.key_file" if mqtt.cert_file else "mqtt.ca_file"
        raise ConfigError(f"{what}: not a usable PEM certificate ({exc}); check the files") from None


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    check_files: bool = True,
) -> Config:
    """Build the configuration: defaults, then the TOML file, then `P1GW_*` variables, then `overrides`.

    Args:
        path: a TOML file (hardware/config.example.toml shows every key), or None.
        environ: the environment (os.environ by default); `P1GW_SECTION__KEY=value`.
        overrides: command-line values, `{"source": {"port": "sim:be-3ph"}}`; None values are ignored.
        check_files: check that the files the configuration names (TLS certificates) exist and load
            (False: the keys and values only, e.g. for an example written for another machine).

    Raises:
        ConfigError: unreadable file, unknown section or key, or a value of the wrong type or range.
    """
    values: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        _merge(values, data, str(path), strict=True)
    _merge(values, env_layer(os.environ if environ is None else environ), "environment", strict=True)
    if overrides:
        _merge(values, overrides, "command line", strict=True)
    config = Config(**{name: SECTIONS[name](**entries) for name, entries in values.items()})
    return _validate(config, check_files=check_files)
