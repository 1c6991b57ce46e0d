"""Loading the configuration: defaults < TOML file < environment (`P1GW_SECTION__KEY`) < command-line
flags. Each layer's values are converted to the key's type (environment values are text:
`P1GW_HTTP__PORT=9000`, `P1GW_MQTT__TLS=true`, `P1GW_MQTT__POLICY="telegram = never; state/* = every"`),
unknown sections and keys are errors, and the result is checked (`validation`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .sections import SECTIONS, Config
from .validation import ConfigError, validate

ENV_PREFIX = "P1GW_"
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
    return validate(config, check_files=check_files)
