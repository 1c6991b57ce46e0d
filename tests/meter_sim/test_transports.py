"""`p1gw sim` as a program: a real pty read with pyserial, a TCP server with two clients, files, bad input."""

from __future__ import annotations

import contextlib
import itertools
import socket
import subprocess
import sys
import time
from pathlib import Path

import serial

from dsmr_parser import Telegram, TelegramReader

ROOT = Path(__file__).resolve().parents[2]
SIM = [sys.executable, "-m", "gateway.cli", "sim"]


def _start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([*SIM, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline().decode().strip()
    return proc, first


def _telegrams(reader: TelegramReader, data: bytes) -> list[Telegram]:
    return [e for e in reader.feed(data) if isinstance(e, Telegram)]


def test_pty_read_with_pyserial() -> None:
    proc, path = _start("--meter", "be-1ph", "--pty", "--speed", "10", "--count", "200")
    try:
        assert path.startswith("/dev/")
        reader = TelegramReader()
        got: list[Telegram] = []
        with serial.Serial(path, 115200, timeout=0.2) as port:
            deadline = time.monotonic() + 60
            while len(got) < 3 and time.monotonic() < deadline:
                got += _telegrams(reader, port.read(4096))
        assert len(got) >= 3
        assert all(t.crc == "ok" and t.header.startswith("FLU5") for t in got)
    finally:
        proc.terminate()
        proc.wait(30)


def test_tcp_server_two_clients() -> None:
    proc, url = _start("--meter", "nl-dsmr5", "--tcp", "127.0.0.1:0", "--speed", "10", "--count", "300")
    try:
        host, port = url.removeprefix("tcp://").rsplit(":", 1)
        clients = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
        readers = [TelegramReader(), TelegramReader()]
        got: list[list[Telegram]] = [[], []]
        deadline = time.monotonic() + 60
        while min(len(g) for g in got) < 3 and time.monotonic() < deadline:
            for i, c in enumerate(clients):
                c.settimeout(0.2)
                with contextlib.suppress(TimeoutError):
                    got[i] += _telegrams(readers[i], c.recv(65536))
        assert all(len(g) >= 3 for g in got)
        assert all(t.crc == "ok" and t.version == "50" for g in got for t in g)
        for c in clients:
            c.close()
    finally:
        proc.terminate()
        proc.wait(30)


def test_out_file_truth_and_faults(tmp_path: Path) -> None:
    out, truth = tmp_path / "t.txt", tmp_path / "qh.csv"
    res = subprocess.run(
        [
            *SIM,
            "--meter",
            "be-3ph",
            "--start",
            "2026-03-29T00:00:00+01:00",
            "--duration",
            "1h",
            "--fast",
            "--every",
            "10",
            "--out",
            str(out),
            "--truth",
            str(truth),
            "--faults",
            "bad_crc=0.2,silence=60s@10m,clock_jump=+3600@30m",
            "--seed",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    events = TelegramReader().feed(out.read_bytes())
    good = [e for e in events if isinstance(e, Telegram)]
    bad = [e for e in events if not isinstance(e, Telegram)]
    assert 300 < len(good) + len(bad) < 360 - 5 and len(bad) > 20  # 360 telegrams, 6 silenced
    assert b"bad_crc=" in res.stderr
    stamps = [t.timestamp for t in good if t.timestamp is not None]
    assert any(b - a > __import__("datetime").timedelta(minutes=30) for a, b in itertools.pairwise(stamps))
    rows = truth.read_text().splitlines()
    assert rows[0].startswith("start,end,import_t1_wh") and len(rows) == 1 + 4


def test_bad_arguments_give_a_clear_error(tmp_path: Path) -> None:
    bad_scenario = tmp_path / "s.toml"
    bad_scenario.write_text('[[event]]\nat = "1h"\naction = "explode"\n')
    for args in (["--duration", "3x"], ["--faults", "corrupt=2"], ["--scenario", str(bad_scenario)]):
        res = subprocess.run([*SIM, "--fast", "--out", "-", *args], cwd=ROOT, capture_output=True)
        assert res.returncode == 2 and b"p1gw sim:" in res.stderr and res.stdout == b""
