"""Check a P1 installation end to end and say what to fix: port, wiring, serial, broker, disk, clock.

Each check prints OK, WARN or FAIL with what to do. The serial checks listen to the port for up to
--seconds at 115200 8N1 (DSMR 4/5, e-MUCS), then at 9600 7E1 (DSMR 2.2/3) if nothing valid came,
and decide which setting yields telegrams with a valid CRC. Bytes that only make telegrams once every
bit is flipped, or that are mostly NULs (UART framing errors) and bytes with the high bit set, mean
the cable does not invert the meter's inverted open-collector data line.

Exit status: 0 all OK, 1 warnings, 2 failures. Stop the service first (it holds the port):
`sudo systemctl stop p1gw`.

examples:
  p1gw doctor                                   # uses /etc/p1gw/config.toml when present
  p1gw doctor --port /dev/ttyUSB0 --mqtt mqtt://localhost:1883
  p1gw doctor --port socket://pi.local:2001     # a port shared by ser2net
  p1gw doctor --seconds 25 --json               # DSMR 4 meters send every 10 s
  p1gw doctor --db /var/lib/p1gw/p1gw.sqlite
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.cli.doctor.capture import SETTINGS, Capture, Decoded, Setting, decode, listen
from gateway.cli.doctor.checks import (
    Check,
    Status,
    check_broker,
    check_clock,
    check_crc,
    check_disk,
    check_inversion,
    check_port,
    check_serial,
)

__all__ = [
    "SETTINGS",
    "Capture",
    "Check",
    "Decoded",
    "Setting",
    "Status",
    "add_arguments",
    "check_broker",
    "check_clock",
    "check_crc",
    "check_disk",
    "check_inversion",
    "check_port",
    "check_serial",
    "decode",
    "exit_code",
    "listen",
    "run",
    "run_checks",
]

DEFAULT_CONFIG = Path("/etc/p1gw/config.toml")
DEFAULT_DB = "/var/lib/p1gw/p1gw.sqlite"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help=f"gateway config (default {DEFAULT_CONFIG} when it exists)")
    parser.add_argument("--port", help="device path or socket://host:port (default: config, else /dev/p1)")
    parser.add_argument("--mqtt", help="broker URL mqtt://[user:pass@]host:port (default: config)")
    parser.add_argument(
        "--db", help=f"database path whose disk is checked (default: config, else {DEFAULT_DB})"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=11.0,
        help="listening time per serial setting (default 11: DSMR 4 sends every 10 s)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--timedatectl", default="timedatectl", help=argparse.SUPPRESS)


def _config(args: argparse.Namespace) -> Any:
    from gateway.config import load_config

    path = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    return load_config(path) if path else None


def run_checks(args: argparse.Namespace) -> list[Check]:
    config = _config(args)
    port = args.port or (config.source.port if config else "/dev/p1")
    tz = config.meter.timezone if config else "Europe/Brussels"
    configured = (
        Setting(config.source.baudrate, config.source.bytesize, config.source.parity) if config else None
    )
    checks = [check_port(port)]
    captures: list[Capture] = []
    if checks[0].status == "OK":
        settings: tuple[Setting | None, ...] = (None,) if port.startswith("socket://") else SETTINGS
        for setting in settings:
            try:
                capture = listen(port, setting, args.seconds, tz=tz)
            except Exception as exc:  # pyserial's SerialException and OSError
                checks[0] = Check(
                    "port",
                    "FAIL",
                    f"{port} exists but cannot be opened: {exc}",
                    "is the gateway running? `sudo systemctl stop p1gw` first (one reader at a time)",
                )
                break
            captures.append(capture)
            if capture.valid:
                break
    if captures:
        checks += [check_serial(captures, configured), check_inversion(captures), check_crc(captures)]
    else:
        checks += [
            Check(name, "SKIP", "the port could not be read") for name in ("serial", "inversion", "crc")
        ]
    mqtt_url = args.mqtt if args.mqtt is not None else (_mqtt_url(config) if config else "")
    checks.append(check_broker(mqtt_url))
    checks.append(check_disk(args.db or (config.storage.path if config else DEFAULT_DB)))
    telegrams = [t for c in captures for t in c.decoded.telegrams]
    meter_time = telegrams[-1].timestamp if telegrams else None
    checks.append(check_clock(args.timedatectl, meter_time, datetime.now(UTC)))
    return checks


def _mqtt_url(config: Any) -> str:
    """The config's broker URL with its credentials folded in."""
    url: str = config.mqtt.url
    if not url or not config.mqtt.username or "@" in url:
        return url
    parts = urlsplit(url)
    from urllib.parse import quote

    auth = quote(config.mqtt.username, safe="") + ":" + quote(config.mqtt.password, safe="")
    return parts._replace(netloc=f"{auth}@{parts.netloc}").geturl()


def exit_code(checks: list[Check]) -> int:
    statuses = {c.status for c in checks}
    return 2 if "FAIL" in statuses else 1 if "WARN" in statuses else 0


def run(args: argparse.Namespace) -> int:
    try:
        checks = run_checks(args)
    except ValueError as exc:  # gateway.config.ConfigError
        print(f"p1gw doctor: {exc}", file=sys.stderr)
        return 2
    code = exit_code(checks)
    if args.json:
        print(json.dumps({"checks": [dataclasses.asdict(c) for c in checks], "exit_code": code}, indent=2))
        return code
    for c in checks:
        print(f"{c.status:<5} {c.name:<10} {c.summary}")
        if c.advice and c.status in ("WARN", "FAIL"):
            print(f"{'':<16}-> {c.advice}")
    verdict = {0: "all good", 1: "works, with warnings", 2: "something needs fixing"}[code]
    print(f"\n{verdict} (exit {code})")
    return code
