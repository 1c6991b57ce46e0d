"""Every configuration value checked once, with an error that names the key (and, for a wrong type,
where it came from), so the rest of the gateway never re-validates; checking also normalises case
(parity, country, log level).
"""

from __future__ import annotations

import dataclasses
import re
import ssl
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.urls import redact

from .sections import Config, MqttConfig, SolarConfig, SourceConfig, TariffConfig


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key and its origin."""


def listen_address(text: str, key: str) -> tuple[str, int]:
    """`[HOST:]PORT` -> (host, port); a bare port listens on all interfaces (0.0.0.0)."""
    host, sep, port = text.strip().rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{key} {text!r}: expected [HOST:]PORT, e.g. 8081 or 127.0.0.1:8081")
    return (host.strip("[]") if sep else "") or "0.0.0.0", int(port)


def validate(config: Config, *, check_files: bool = True) -> Config:
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
