"""`p1gw doctor`'s checks, each an OK/WARN/FAIL/SKIP verdict with what to do: the port, the serial
setting, the line's inversion and CRC errors (from captures), the broker, the disk and the clock."""

from __future__ import annotations

import asyncio
import dataclasses
import grp
import os
import pwd
import shutil
import socket
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from gateway.cli.doctor.capture import Capture, Setting

Status = Literal["OK", "WARN", "FAIL", "SKIP"]
CANDIDATE_PORTS = ("/dev/p1", "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA0", "/dev/serial0")


@dataclasses.dataclass
class Check:
    name: str
    status: Status
    summary: str
    advice: str = ""


def _group_names() -> set[str]:
    return {grp.getgrgid(g).gr_name for g in os.getgroups() if _gid_exists(g)}


def _gid_exists(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
    except KeyError:
        return False
    return True


def _candidates() -> str:
    found: list[str] = []
    for pattern in CANDIDATE_PORTS:
        found += [str(p) for p in sorted(Path("/").glob(pattern.lstrip("/")))]
    return ", ".join(found) if found else "none"


def check_port(port: str) -> Check:
    """The device exists, this user may open it, and it opens (a socket:// port accepts a connection)."""
    if port.startswith("socket://"):
        parts = urlsplit(port)
        try:
            with socket.create_connection((parts.hostname or "", parts.port or 2001), timeout=5):
                pass
        except OSError as exc:
            return Check(
                "port",
                "FAIL",
                f"cannot connect to {parts.hostname}:{parts.port}: {exc.strerror or exc}",
                "is ser2net running on that machine (systemctl status ser2net) and listening on that "
                "port (hardware/ser2net.yaml)? Is a firewall in the way?",
            )
        return Check("port", "OK", f"{port} accepts connections")
    path = Path(port)
    if not path.exists():
        return Check(
            "port",
            "FAIL",
            f"{port} does not exist (serial ports here: {_candidates()})",
            "plug the P1 cable in; /dev/p1 comes from the udev rule installed by hardware/install.sh "
            "(other adapter? install.sh --usb-vendor/--usb-product); `dmesg | tail` shows what the "
            "kernel saw when you plugged it",
        )
    real = os.path.realpath(port)
    shown = port if real == port else f"{port} -> {real}"
    if not os.access(real, os.R_OK | os.W_OK, effective_ids=True):
        st = os.stat(real)
        group = grp.getgrgid(st.st_gid).gr_name if _gid_exists(st.st_gid) else str(st.st_gid)
        user = pwd.getpwuid(os.geteuid()).pw_name
        listed = user in (grp.getgrnam(group).gr_mem if _gid_exists(st.st_gid) else [])
        advice = (
            f"you are in {group} but this session predates it: log out and in (or `newgrp {group}`)"
            if listed
            else f"add yourself to the {group} group: `sudo usermod -aG {group} {user}`, then log out and in"
        )
        return Check("port", "FAIL", f"{shown}: permission denied for user {user}", advice)
    return Check("port", "OK", f"{shown} is readable (groups: {', '.join(sorted(_group_names()))})")


def check_serial(captures: list[Capture], configured: Setting | None) -> Check:
    """Which setting yields valid telegrams, and whether the config says the same."""
    winner = next((c for c in captures if c.valid), None)
    if winner is None:
        if all(not c.data for c in captures):
            return Check(
                "serial",
                "FAIL",
                "no data at all at " + " nor ".join(str(c.setting or "the socket") for c in captures),
                "is the P1 port activated (Belgium: ask your DSO through myORES / MyRESA / Fluvius)? Is "
                "the data-request line (RJ12 pin 2) held at +5 V? Is the RJ12 plug fully in? On a Pi "
                "UART: is the serial console disabled (raspi-config) and RX on GPIO15?",
            )
        tried = "; ".join(
            f"{c.setting or 'socket'}: {len(c.data)} bytes, no valid telegram" for c in captures
        )
        seven = next(
            (c for c in captures if c.seven_bit.telegrams and c.setting and c.setting.bytesize == 8), None
        )
        if seven is not None:
            return Check(
                "serial",
                "FAIL",
                f"{tried}; telegrams appear with 7 data bits",
                'a DSMR 2.2/3 meter sends 7E1: set [source] baudrate = 9600, bytesize = 7, parity = "E" '
                "(on ser2net: 9600e71)",
            )
        return Check(
            "serial",
            "FAIL",
            tried,
            "see the inversion check below; otherwise the baud rate is wrong or the line is noisy",
        )
    how = str(winner.setting) if winner.setting else "over the socket"
    version = winner.decoded.telegrams[0].version
    first = winner.decoded.telegrams[0]
    summary = f"{len(winner.decoded.telegrams)} valid telegram(s) at {how} (header {first.header!r}"
    summary += f", version {version})" if version else ")"
    if configured is not None and winner.setting is not None and winner.setting != configured:
        return Check(
            "serial",
            "WARN",
            f"{summary}, but the config says {configured}",
            f"set [source] baudrate = {winner.setting.baudrate}, bytesize = {winner.setting.bytesize}, "
            f'parity = "{winner.setting.parity}" in the config',
        )
    return Check("serial", "OK", summary)


def check_inversion(captures: list[Capture]) -> Check:
    for capture in captures:
        if not capture.data or capture.valid:
            continue
        if capture.looks_inverted:
            proof = (
                f"{len(capture.inverted.telegrams)} telegram(s) appear once every bit is flipped"
                if capture.inverted.telegrams
                else f"no '/' or '!', {capture.high_bit_ratio:.0%} bytes with the high bit set, "
                f"{capture.nul_ratio:.0%} NULs (framing errors)"
            )
            return Check(
                "inversion",
                "FAIL",
                f"your cable does not invert the data line: {proof} at {capture.setting or 'the socket'}",
                "the P1 data line is open-collector and logically inverted: use a P1 cable with an "
                "inverted RX (FTDI FT232R programmed with RXD inverted, e.g. `ftx_prog --invert rxd`), or "
                "a transistor inverter with a pull-up to the Pi's 3.3 V in front of GPIO15 "
                "(hardware/README.md, drawings in hardware/)",
            )
    if any(c.valid for c in captures):
        return Check("inversion", "OK", "the data line is inverted correctly (telegrams are readable)")
    if all(not c.data for c in captures):
        return Check("inversion", "SKIP", "no data to judge")
    return Check("inversion", "WARN", "no sign of a non-inverted line, but no telegram either")


def check_crc(captures: list[Capture]) -> Check:
    winner = next((c for c in captures if c.valid), None)
    if winner is None:
        return Check("crc", "SKIP", "no telegrams to count")
    good, bad = len(winner.decoded.telegrams), winner.decoded.bad_crc
    other = len(winner.decoded.errors) - bad
    rate = bad / (good + bad)
    summary = f"{bad} CRC error(s) in {good + bad} telegrams ({rate:.1%}); {other} other framing error(s)"
    advice = (
        "errors come from noise: shorten or shield the cable, keep it away from mains wires, use a "
        "stronger pull-up (1-4.7 kΩ) on the data line, check the USB supply (250 mA at most from P1)"
    )
    if rate > 1 / 3:  # a few seconds give few telegrams: any error warns, many fail
        return Check("crc", "FAIL", summary, advice)
    if bad or other:
        return Check("crc", "WARN", summary, advice)
    return Check("crc", "OK", summary)


async def _mqtt_connect(url: str) -> None:
    import aiomqtt

    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl")
    async with aiomqtt.Client(
        parts.hostname or "localhost",
        parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls_params=aiomqtt.TLSParameters() if tls else None,
        identifier=f"p1gw-doctor-{os.getpid()}",
        timeout=5,
    ):
        pass


def check_broker(url: str) -> Check:
    if not url:
        return Check("broker", "SKIP", "no broker configured (--mqtt mqtt://host:1883)")
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        return Check(
            "broker", "FAIL", f"{url!r} is not an MQTT URL", "write it as mqtt://[user:pass@]host:1883"
        )
    where = f"{parts.hostname}:{parts.port or 1883}"
    try:
        asyncio.run(asyncio.wait_for(_mqtt_connect(url), 10))
    except Exception as exc:  # aiomqtt.MqttError, OSError, TimeoutError: all mean "cannot use it"
        reason = str(exc) or type(exc).__name__
        if "not authori" in reason.lower() or "bad user" in reason.lower() or "code:5" in reason:
            advice = "check [mqtt] username/password (mosquitto_passwd manages Mosquitto's users)"
        else:
            advice = (
                "is the broker running (`systemctl status mosquitto`) and listening on the network "
                "(`listener 1883` in /etc/mosquitto/conf.d/)? install.sh --with-mosquitto sets one up"
            )
        return Check("broker", "FAIL", f"cannot connect to {where}: {reason}", advice)
    return Check("broker", "OK", f"connected to {where}")


def check_disk(db: str) -> Check:
    if db.startswith(("postgresql://", "postgres://")):
        return Check("disk", "SKIP", "the database is PostgreSQL; its server's disk is its own business")
    directory = Path(db).absolute().parent
    if not directory.exists():
        return Check(
            "disk",
            "WARN",
            f"{directory} does not exist",
            "create it, or run hardware/install.sh (it makes /var/lib/p1gw)",
        )
    usage = shutil.disk_usage(directory)
    free_mb = usage.free / 1e6
    summary = f"{free_mb:,.0f} MB free of {usage.total / 1e6:,.0f} MB on {directory}"
    if Path(db).is_file():
        summary += f"; database {Path(db).stat().st_size / 1e6:,.1f} MB"
    if not os.access(directory, os.W_OK, effective_ids=True):
        return Check(
            "disk",
            "WARN",
            f"{summary}; not writable by this user",
            "run as the service user: sudo -u p1gw p1gw doctor",
        )
    if free_mb < 100:
        return Check("disk", "FAIL", summary, "free some space (journalctl --vacuum-size=50M, apt-get clean)")
    if free_mb < 500 or usage.free / usage.total < 0.05:
        return Check("disk", "WARN", summary, "little room left: free some space or use a larger SD card")
    return Check("disk", "OK", summary)


def check_clock(timedatectl: str, meter_time: datetime | None, now: datetime) -> Check:
    """NTP sync as systemd sees it; else (or also) the offset to the meter's own clock."""
    ntp: str | None = None
    try:
        proc = subprocess.run(
            [timedatectl, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if proc.returncode == 0 and proc.stdout.strip() in ("yes", "no"):
            ntp = proc.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    offset = (
        f"; the meter's clock differs by {(now - meter_time).total_seconds():+.0f} s" if meter_time else ""
    )
    if ntp == "yes":
        return Check("clock", "OK", "system clock synchronised by NTP" + offset)
    if ntp == "no":
        return Check(
            "clock",
            "WARN",
            "system clock NOT synchronised" + offset,
            "enable NTP: `sudo timedatectl set-ntp true` (a Pi has no real-time clock: it needs the network)",
        )
    if meter_time is None:
        return Check("clock", "SKIP", "timedatectl unavailable and no meter timestamp to compare with")
    delta = abs((now - meter_time).total_seconds())
    summary = f"system clock differs from the meter's by {delta:.0f} s (timedatectl unavailable)"
    advice = "set the time (NTP: `sudo timedatectl set-ntp true`); quarter-hours need a right clock"
    if delta > 900:
        return Check("clock", "FAIL", summary, advice)
    if delta > 30:
        return Check("clock", "WARN", summary, advice)
    return Check("clock", "OK", summary)
