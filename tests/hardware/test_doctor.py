"""`p1gw doctor` against real ports: pty pairs fed by a writer thread, a TCP server, a real Mosquitto.

What is proved: valid e-MUCS telegrams make every check OK (exit 0); the same telegrams with every
bit flipped are diagnosed as a non-inverting cable (exit 2); 7E1 data is found at 9600 7E1 and a
config saying 115200 8N1 gets a warning; a share of bad CRCs warns (exit 1); a silent line, a
missing device, an unreadable device, an absent broker and a refused socket fail with advice; the
clock check follows timedatectl's answer and otherwise the meter's own timestamp.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import socket
import stat
import threading
import tty
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hw_support import ROOT, free_port

from dsmr_parser import crc16
from gateway.cli import doctor, main

TELEGRAMS = ROOT / "tests" / "dsmr_parser" / "telegrams"
BRUSSELS = ZoneInfo("Europe/Brussels")


def fluvius_now(now: datetime | None = None) -> bytes:
    """fluvius_v171.txt with its clock set to now and its CRC recomputed (a live e-MUCS meter)."""
    raw = (TELEGRAMS / "fluvius_v171.txt").read_bytes()
    now = (now or datetime.now(BRUSSELS)).astimezone(BRUSSELS)
    flag = "S" if now.dst() else "W"
    raw = re.sub(rb"0-0:1\.0\.0\(\d{12}[SW]\)", f"0-0:1.0.0({now:%y%m%d%H%M%S}{flag})".encode(), raw)
    body = raw[: raw.index(b"!") + 1]
    return body + f"{crc16(body):04X}\r\n".encode()


def corrupt(telegram: bytes) -> bytes:
    """The same telegram with one register digit changed: its CRC no longer matches."""
    return telegram.replace(b"1-0:1.8.2(000015.758", b"1-0:1.8.2(000015.759", 1)


def with_even_parity(data: bytes) -> bytes:
    """7E1 characters as an 8N1 UART at the right baud sees them: the parity bit becomes bit 7."""
    return bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in data)


class PtyMeter:
    """A meter on a real pty pair: a thread writes `frames` in turn to the master every `every_s`."""

    def __init__(self, frames: list[bytes], every_s: float = 0.05) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no CR/LF translation until the doctor configures it
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.frames, self.every_s = frames, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set() and self.frames:
            pending = memoryview(self.frames[i % len(self.frames)])
            while pending and not self._stop.is_set():  # whole frames, even when the buffer is full
                try:
                    pending = pending[os.write(self.master, pending) :]
                except BlockingIOError:
                    self._stop.wait(0.01)
            i += 1
            self._stop.wait(self.every_s)

    def __enter__(self) -> PtyMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        os.close(self.master)
        os.close(self.slave)


@contextlib.contextmanager
def tcp_meter(frame: bytes, every_s: float = 0.05) -> Iterator[int]:
    """A ser2net stand-in: a TCP server sending telegrams to whoever connects."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                while not stop.is_set():
                    try:
                        conn.sendall(frame)
                    except OSError:
                        break
                    stop.wait(every_s)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=30)
        server.close()


def doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    """Run `p1gw doctor --json` in-process; the checks by name."""
    code = main(["doctor", "--json", "--timedatectl", "/nonexistent/timedatectl", *args])
    out = json.loads(capsys.readouterr().out)
    assert out["exit_code"] == code
    return code, {c["name"]: c for c in out["checks"]}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "p1gw.sqlite")


def test_valid_telegrams_make_every_check_ok(
    capsys: pytest.CaptureFixture[str], mosquitto: int, db: str
) -> None:
    with PtyMeter([fluvius_now()]) as meter:
        code, checks = doctor_json(
            capsys,
            "--port",
            meter.path,
            "--mqtt",
            f"mqtt://127.0.0.1:{mosquitto}",
            "--db",
            db,
            "--seconds",
            "3",
        )
    assert {name: c["status"] for name, c in checks.items()} == {
        "port": "OK",
        "serial": "OK",
        "inversion": "OK",
        "crc": "OK",
        "broker": "OK",
        "disk": "OK",
        "clock": "OK",
    }
    assert "at 115200 8N1" in checks["serial"]["summary"] and "FLU5" in checks["serial"]["summary"]
    assert "0 CRC error(s)" in checks["crc"]["summary"]
    assert "differs from the meter's by" in checks["clock"]["summary"]
    assert code == 0


def test_bit_inverted_bytes_mean_a_non_inverting_cable(capsys: pytest.CaptureFixture[str], db: str) -> None:
    flipped = bytes(~b & 0xFF for b in fluvius_now())
    with PtyMeter([flipped]) as meter:
        code, checks = doctor_json(capsys, "--port", meter.path, "--mqtt", "", "--db", db, "--seconds", "1")
    assert checks["inversion"]["status"] == "FAIL"
    assert checks["inversion"]["summary"].startswith("your cable does not invert the data line:")
    assert "appear once every bit is flipped" in checks["inversion"]["summary"]
    assert "transistor inverter" in checks["inversion"]["advice"]
    assert checks["serial"]["status"] == "FAIL" and checks["crc"]["status"] == "SKIP"
    assert code == 2


def test_framing_error_garbage_is_recognised_as_non_inverted() -> None:
    """What a UART makes of a non-inverted line: NULs (framing errors), high-bit bytes, no '/' or '!'."""
    garbage = bytes([0x00, 0xF9, 0x00, 0xC7, 0xE3, 0x00, 0x9C, 0xFE, 0x80, 0x0F] * 20)
    capture = doctor.Capture.analyse(doctor.Setting(115200, 8, "N"), garbage)
    assert capture.looks_inverted and not capture.valid
    text = b"hello, this is plain ASCII noise without telegram markers " * 4
    assert not doctor.Capture.analyse(doctor.Setting(115200, 8, "N"), text).looks_inverted
    check = doctor.check_inversion([capture])
    assert check.status == "FAIL" and "NULs (framing errors)" in check.summary


def test_7e1_meter_is_found_at_9600_and_the_config_is_corrected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "hardware/config.example.toml").read_text().replace('"/dev/p1"', '"/dev/null"'))
    v22 = with_even_parity((TELEGRAMS / "v2_2.txt").read_bytes())
    with PtyMeter([v22]) as meter:
        code, checks = doctor_json(
            capsys, "--config", str(config), "--port", meter.path, "--mqtt", "", "--db", db, "--seconds", "1"
        )
    assert checks["serial"]["status"] == "WARN"
    assert "at 9600 7E1" in checks["serial"]["summary"]
    assert "config says 115200 8N1" in checks["serial"]["summary"]
    assert 'baudrate = 9600, bytesize = 7, parity = "E"' in checks["serial"]["advice"]
    assert checks["inversion"]["status"] == "OK"  # 7-bit data is not mistaken for an inverted line
    assert checks["clock"]["status"] == "SKIP"  # DSMR 2.2 sends no clock, and timedatectl is absent
    assert code == 1


def test_some_bad_crcs_warn(capsys: pytest.CaptureFixture[str], mosquitto: int, db: str) -> None:
    good = fluvius_now()
    with PtyMeter([good, good, good, corrupt(good)]) as meter:
        code, checks = doctor_json(
            capsys,
            "--port",
            meter.path,
            "--mqtt",
            f"mqtt://127.0.0.1:{mosquitto}",
            "--db",
            db,
            "--seconds",
            "3",
        )
    assert checks["crc"]["status"] == "WARN", checks["crc"]
    # one frame in four is corrupt; how many the doctor read before its 5 good ones (or its deadline, on a
    # loaded machine) depends on where in the cycle it started: the counts must fit that pattern
    found = re.match(r"(\d+) CRC error\(s\) in (\d+) telegrams", checks["crc"]["summary"])
    assert found, checks["crc"]["summary"]
    errors, telegrams = int(found[1]), int(found[2])
    assert 1 <= errors <= (telegrams + 3) // 4 and telegrams - errors >= 3, checks["crc"]["summary"]
    assert "shield" in checks["crc"]["advice"]
    assert checks["serial"]["status"] == "OK"
    assert code == 1


def test_mostly_bad_crcs_fail(capsys: pytest.CaptureFixture[str], db: str) -> None:
    good = fluvius_now()
    with PtyMeter([good] + [corrupt(good)] * 3) as meter:
        code, checks = doctor_json(capsys, "--port", meter.path, "--mqtt", "", "--db", db, "--seconds", "2")
    assert checks["crc"]["status"] == "FAIL" and code == 2


def test_silent_line_fails_with_activation_advice(capsys: pytest.CaptureFixture[str], db: str) -> None:
    with PtyMeter([]) as meter:
        code, checks = doctor_json(capsys, "--port", meter.path, "--mqtt", "", "--db", db, "--seconds", "0.3")
    assert checks["serial"]["status"] == "FAIL"
    assert "no data at all at 115200 8N1 nor 9600 7E1" in checks["serial"]["summary"]
    assert "data-request line" in checks["serial"]["advice"]
    assert checks["inversion"]["status"] == "SKIP" and code == 2


def test_socket_port_from_a_tcp_server(capsys: pytest.CaptureFixture[str], mosquitto: int, db: str) -> None:
    with tcp_meter(fluvius_now()) as port:
        code, checks = doctor_json(
            capsys,
            "--port",
            f"socket://127.0.0.1:{port}",
            "--mqtt",
            f"mqtt://127.0.0.1:{mosquitto}",
            "--db",
            db,
            "--seconds",
            "3",
        )
    assert checks["port"]["status"] == "OK"
    assert "over the socket" in checks["serial"]["summary"]
    assert code == 0, checks


def test_refused_socket_and_absent_broker_fail(capsys: pytest.CaptureFixture[str], db: str) -> None:
    nobody = free_port()
    code, checks = doctor_json(
        capsys, "--port", f"socket://127.0.0.1:{nobody}", "--mqtt", f"mqtt://127.0.0.1:{nobody}", "--db", db
    )
    assert checks["port"]["status"] == "FAIL" and "ser2net" in checks["port"]["advice"]
    assert (
        checks["broker"]["status"] == "FAIL" and "cannot connect to 127.0.0.1" in checks["broker"]["summary"]
    )
    assert "listener 1883" in checks["broker"]["advice"]
    assert code == 2


def test_bad_broker_url_is_explained(capsys: pytest.CaptureFixture[str], db: str) -> None:
    _, checks = doctor_json(capsys, "--port", "/dev/nonexistent-p1", "--mqtt", "http://x", "--db", db)
    assert checks["broker"]["status"] == "FAIL" and "mqtt://" in checks["broker"]["advice"]


def test_missing_device_fails_and_human_output_says_what_to_do(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code = main(
        ["doctor", "--port", "/dev/nonexistent-p1", "--mqtt", "", "--db", db, "--timedatectl", "/nope"]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert re.search(r"^FAIL  port +/dev/nonexistent-p1 does not exist \(serial ports here: ", out, re.M)
    assert re.search(r"^ +-> plug the P1 cable in", out, re.M)
    assert re.search(r"^SKIP  serial", out, re.M)
    assert out.rstrip().endswith("something needs fixing (exit 2)")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_unreadable_device_names_the_group_to_join() -> None:
    nobody = pwd.getpwnam("nobody")
    with PtyMeter([fluvius_now()]) as meter:
        os.chown(meter.path, 0, grp.getgrnam("dialout").gr_gid)  # crw-rw---- root:dialout, as a
        os.chmod(meter.path, 0o660)  # USB serial port is, and this user is not in dialout
        groups = os.getgroups()
        os.setgroups([])
        os.setegid(nobody.pw_gid)
        os.seteuid(nobody.pw_uid)
        try:
            check = doctor.check_port(meter.path)
        finally:
            os.seteuid(0)
            os.setegid(0)
            os.setgroups(groups)
    assert check.status == "FAIL" and "permission denied for user nobody" in check.summary
    assert "sudo usermod -aG dialout nobody" in check.advice


def test_busy_port_says_stop_the_service(capsys: pytest.CaptureFixture[str], db: str) -> None:
    import serial

    with PtyMeter([fluvius_now()]) as meter, serial.Serial(meter.path, exclusive=True):
        code, checks = doctor_json(capsys, "--port", meter.path, "--mqtt", "", "--db", db, "--seconds", "0.5")
    assert checks["port"]["status"] == "FAIL" and "systemctl stop p1gw" in checks["port"]["advice"]
    assert code == 2


@pytest.mark.parametrize(("answer", "status"), [("yes", "OK"), ("no", "WARN")])
def test_clock_follows_timedatectl(tmp_path: Path, answer: str, status: str) -> None:
    fake = tmp_path / "timedatectl"
    fake.write_text(f"#!/bin/sh\n[ \"$*\" = 'show -p NTPSynchronized --value' ] && echo {answer}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    check = doctor.check_clock(str(fake), None, datetime.now(BRUSSELS))
    assert check.status == status
    if status == "WARN":
        assert "timedatectl set-ntp true" in check.advice


def test_clock_against_the_meter_when_timedatectl_is_absent() -> None:
    meter = datetime(2026, 11, 22, 14, 0, 0, tzinfo=BRUSSELS)
    for offset_s, status in ((5, "OK"), (120, "WARN"), (3600, "FAIL")):
        now = meter.fromtimestamp(meter.timestamp() + offset_s, BRUSSELS)
        assert doctor.check_clock("/nonexistent", meter, now).status == status


def test_disk_check(tmp_path: Path) -> None:
    assert doctor.check_disk(str(tmp_path / "p1gw.sqlite")).status in ("OK", "WARN")
    missing = doctor.check_disk(str(tmp_path / "nowhere" / "p1gw.sqlite"))
    assert missing.status == "WARN" and "does not exist" in missing.summary
    assert doctor.check_disk("postgresql://localhost/p1gw").status == "SKIP"


def test_exit_code_semantics() -> None:
    ok, warn, fail, skip = (doctor.Check("x", s, "") for s in ("OK", "WARN", "FAIL", "SKIP"))
    assert doctor.exit_code([ok, skip]) == 0
    assert doctor.exit_code([ok, warn, skip]) == 1
    assert doctor.exit_code([warn, fail]) == 2


def test_bad_config_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[source]\nbaudrate = 'fast'\n")
    assert main(["doctor", "--config", str(config)]) == 2
    assert "baudrate" in capsys.readouterr().err
