"""The configuration's sections: one frozen dataclass per TOML section ([source], [mqtt] with its
[mqtt.policy] table, [http], [storage], [meter], [tariff], [log], [homewizard], [serve_p1], [dashboard]),
their defaults, `Config` holding them all, and `mqtt_settings` turning [mqtt] into the publisher's settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.mqtt.settings import MqttSettings


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
    """The whole configuration, one field per section (defaults: every section's defaults)."""

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
