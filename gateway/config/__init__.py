"""Gateway configuration: defaults < TOML file < environment (`P1GW_SECTION__KEY`) < command-line flags.

One frozen dataclass per TOML section (`sections`); the file layout is hardware/config.example.toml, every
key is in docs/gateway.md. `load_config` reads the layers (`loading`) and checks every value once
(`validation`), with an error that names the key and where it came from, so the rest of the gateway never
re-validates.
"""

from .loading import ENV_PREFIX, env_layer, load_config
from .sections import (
    SECTIONS,
    Config,
    DashboardConfig,
    HomeWizardConfig,
    HttpConfig,
    LogConfig,
    MeterConfig,
    MqttConfig,
    ServeP1Config,
    SolarConfig,
    SourceConfig,
    StorageConfig,
    TariffConfig,
    mqtt_settings,
)
from .validation import ConfigError, listen_address

__all__ = [
    "ENV_PREFIX",
    "SECTIONS",
    "Config",
    "ConfigError",
    "DashboardConfig",
    "HomeWizardConfig",
    "HttpConfig",
    "LogConfig",
    "MeterConfig",
    "MqttConfig",
    "ServeP1Config",
    "SolarConfig",
    "SourceConfig",
    "StorageConfig",
    "TariffConfig",
    "env_layer",
    "listen_address",
    "load_config",
    "mqtt_settings",
]
