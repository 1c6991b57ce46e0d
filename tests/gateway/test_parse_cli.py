"""`p1gw parse`: JSON Lines out, bad frames with their byte offsets on stderr, summary, exit status."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from dsmr_parser import parse_telegram
from gateway.cli.parse import CHUNK_BYTES, parse_stream
from tests.telegram_values import number

ROOT = Path(__file__).resolve().parents[2]
TELEGRAMS = ROOT / "tests" / "dsmr_parser" / "telegrams"


def _p1gw(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "parse", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def _fluvius() -> bytes:
    return (TELEGRAMS / "fluvius_v171.txt").read_bytes()


def _corrupt(frame: bytes) -> bytes:
    """Flip one digit inside the body: the CRC no longer matches."""
    i = frame.index(b"1-0:1.8.1(") + 12
    digit = b"7" if frame[i : i + 1] != b"7" else b"3"
    return frame[:i] + digit + frame[i + 1 :]


def test_good_bad_and_garbage_are_reported_with_offsets(tmp_path: Path) -> None:
    good = _fluvius()
    bad = _corrupt(good)
    garbage = b"\x00\xffnoise\r\n"
    stream = good + garbage + bad + good
    path = tmp_path / "capture.txt"
    path.write_bytes(stream)

    done = _p1gw(str(path))

    assert done.returncode == 0
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["meter_id"] for line in lines] == [parse_telegram(good).meter_id] * 2
    err = done.stderr.decode().splitlines()
    offset, reason = err[0].split(": ")[:2]
    # the garbage report starts where the framer stopped: right after the CRC digits (before CR LF)
    assert len(good) - 2 <= int(offset.removeprefix("offset ")) <= len(good)
    assert reason == "garbage"
    assert err[1].startswith(f"offset {len(good) + len(garbage)}: bad_crc")
    assert err[-1] == f"telegrams=2 errors=2 (bad_crc=1 garbage=1) bytes={len(stream)}"


def test_values_are_exact_numbers() -> None:
    frame = _fluvius()
    out, err = io.StringIO(), io.StringIO()
    parse_stream(io.BytesIO(frame), out, err)
    record = json.loads(out.getvalue(), parse_float=Decimal)
    telegram = parse_telegram(frame)
    for code, value in telegram.values.items():
        if isinstance(value.value, Decimal):
            assert Decimal(str(record["values"][code]["value"])) == value.value, code
    assert record["crc"] == "ok"
    assert telegram.timestamp is not None and record["timestamp"] == telegram.timestamp.isoformat()


def test_stdin_and_many_chunks_stream_every_telegram() -> None:
    frame = _fluvius()
    count = 3 * CHUNK_BYTES // len(frame) + 7  # telegrams straddle the 64 KiB chunk boundaries
    done = _p1gw("-", stdin=frame * count)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == count
    assert done.stderr.decode().splitlines()[-1] == f"telegrams={count} errors=0 bytes={len(frame) * count}"


def test_no_telegram_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "noise.bin"
    path.write_bytes(b"nothing to see here\r\n" * 10)
    done = _p1gw(str(path))
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode().splitlines()[-1].startswith("telegrams=0 errors=1 (garbage=1)")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    done = _p1gw(str(tmp_path / "absent.txt"))
    assert done.returncode == 1
    assert b"cannot read" in done.stderr


def test_bad_time_zone_is_a_usage_error() -> None:
    done = _p1gw("--tz", "Mars/Olympus", "-", stdin=b"")
    assert done.returncode == 2
    assert b"unknown time zone" in done.stderr


def test_no_crc_check_accepts_the_spec_example() -> None:
    spec = (TELEGRAMS / "real" / "dsmr502_spec_example_as_printed_EF2F.txt").read_bytes()
    checked = _p1gw("-", stdin=spec)
    assert checked.returncode == 1
    assert b"bad_crc" in checked.stderr
    unchecked = _p1gw("--no-crc-check", "--tz", "Europe/Amsterdam", "-", stdin=spec)
    assert unchecked.returncode == 0
    record = json.loads(unchecked.stdout)
    assert record["timestamp"].endswith("+01:00") or record["timestamp"].endswith("+02:00")


def test_truncated_last_telegram_is_reported() -> None:
    frame = _fluvius()
    done = _p1gw("-", stdin=frame + frame[: len(frame) // 2])
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert f"offset {len(frame)}: truncated".encode() in done.stderr


def _with_line(frame: bytes, code: bytes, line: bytes) -> bytes:
    """`frame` with the line of `code` replaced by `line`, its CRC recomputed."""
    from dsmr_parser.crc import crc_text

    body = frame[: frame.rindex(b"!")]
    start = body.index(b"\r\n" + code + b"(") + 2
    end = body.index(b"\r\n", start)
    framed = body[:start] + line + body[end:] + b"!"
    return framed + crc_text(framed).encode() + b"\r\n"


def test_json_lines_keep_the_meters_digits_on_the_command_line() -> None:
    frame = _with_line(_fluvius(), b"1-0:1.8.1", b"1-0:1.8.1(000005.980*kWh)")
    done = _p1gw("-", stdin=frame)
    assert done.returncode == 0
    assert b'"1-0:1.8.1":{"value":5.980,"unit":"kWh"}' in done.stdout
    assert b'"value":5.980,"unit":"kW"}' in done.stdout  # the 13-month buffer's 05.980 too


def test_a_5000_digit_value_is_reported_raw_and_parsing_goes_on() -> None:
    good = _fluvius()
    hostile = _with_line(good, b"1-0:1.8.2", b"1-0:1.8.2(" + b"9" * 5000 + b"*kWh)")
    failures = _with_line(good, b"0-0:96.14.0", b"1-0:99.97.0(1)(0-0:96.7.19)(260101000000W)(1E+1000000*s)")
    done = _p1gw("-", stdin=hostile + failures + good)
    assert done.returncode == 0, done.stderr[-300:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 3
    assert records[0]["values"]["1-0:1.8.2"] == {"value": None, "raw": "(" + "9" * 5000 + "*kWh)"}
    assert records[1]["values"]["1-0:99.97.0"]["value"] is None
    assert records[2]["values"]["1-0:1.8.2"]["value"] == float(
        number(parse_telegram(good).values, "1-0:1.8.2")
    )


def test_a_stream_encodes_as_each_telegram_alone() -> None:
    """The encoder re-encodes only the values that changed since the previous telegram: the lines of a
    stream must equal each telegram encoded alone, and the values the telegram's own (digits included)."""
    import importlib.util

    # by path: putting bench/ on sys.path would shadow our packages (bench/sharing.py, bench/gateway.py)
    spec = importlib.util.spec_from_file_location("telegram_streams", ROOT / "bench" / "telegram_streams.py")
    assert spec is not None and spec.loader is not None
    streams = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(streams)
    belgian, dsmr5 = streams.belgian, streams.dsmr5

    from dsmr_parser import Telegram, TelegramReader, telegram_json

    stream = b"".join(belgian(150) + dsmr5(150) + [_fluvius()] + belgian(20))
    out = io.StringIO()
    parse_stream(io.BytesIO(stream), out, io.StringIO())
    reader = TelegramReader()
    telegrams = [e for e in reader.feed(stream) + reader.close() if isinstance(e, Telegram)]
    lines = out.getvalue().splitlines()
    assert len(lines) == len(telegrams) == 321
    for line, telegram in zip(lines, telegrams, strict=True):
        assert line == telegram_json(telegram)
        values = json.loads(line, parse_float=Decimal, parse_int=Decimal)["values"]
        for code, value in telegram.values.items():
            if isinstance(value.value, Decimal):
                assert values[code]["value"].as_tuple() == value.value.as_tuple(), code
            elif isinstance(value.value, int | str):
                assert values[code]["value"] == value.value, code
