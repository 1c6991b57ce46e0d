"""Parse P1 telegrams from a file or stdin into JSON Lines (one object per valid telegram).

Reads any byte stream (a capture of a serial port, a simulator's --out file, garbage included) in
64 KiB chunks through the sans-I/O `TelegramReader`: memory stays bounded whatever the input size.
Each valid telegram is one line of telegram JSON on stdout (ARCHITECTURE §3); each bad frame is one
line on stderr with its byte offset and reason; a summary line ends stderr.

examples:
  p1gw parse capture.txt                       # JSON Lines on stdout
  p1gw parse capture.txt 2>errors.txt | jq '.values["1-0:1.8.1"].value'
  p1gw sim --meter be-3ph --fast --count 900 --out - | p1gw parse -
  p1gw parse --tz Europe/Amsterdam --no-crc-check dsmr5_spec_example.txt

exit status: 0 when at least one telegram was read, 1 when none (2 on a usage error).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any, BinaryIO, TextIO

from dsmr_parser import FramingError, TelegramEncoder, TelegramReader

CHUNK_BYTES = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default="-", help="input file, or '-' for stdin (default)")
    parser.add_argument(
        "--no-crc-check",
        action="store_true",
        help="accept telegrams whose CRC does not match (known-bad captures, spec examples)",
    )
    parser.add_argument(
        "--tz",
        default="Europe/Brussels",
        help="time zone that gives the meter's S/W timestamp flags their offsets (default Europe/Brussels)",
    )


def parse_stream(
    stream: BinaryIO, out: TextIO, err: TextIO, *, tz: str = "Europe/Brussels", check_crc: bool = True
) -> tuple[int, Counter[str], int]:
    """Parse `stream` to JSON Lines on `out`, errors on `err`; return (telegrams, errors by reason, bytes)."""
    reader = TelegramReader(tz, check_crc=check_crc)
    errors: Counter[str] = Counter()
    telegrams = 0
    total = 0
    dumps = TelegramEncoder().encode
    write = out.write

    def emit(events: list[Any]) -> None:
        nonlocal telegrams
        lines: list[str] = []
        for event in events:
            if isinstance(event, FramingError):
                errors[event.reason] += 1
                err.write(f"offset {event.offset}: {event.reason}: {event.detail}\n")
            else:
                telegrams += 1
                lines.append(dumps(event))
        if lines:
            lines.append("")
            write("\n".join(lines))

    read = stream.read
    while True:
        chunk = read(CHUNK_BYTES)
        if not chunk:
            break
        total += len(chunk)
        emit(reader.feed(chunk))
    emit(reader.close())
    return telegrams, errors, total


def summary_line(telegrams: int, errors: Counter[str], total_bytes: int) -> str:
    """`telegrams=12 errors=2 (bad_crc=1 garbage=1) bytes=12345`"""
    detail = " ".join(f"{reason}={count}" for reason, count in sorted(errors.items()))
    errs = sum(errors.values())
    return (
        f"telegrams={telegrams} errors={errs}" + (f" ({detail})" if detail else "") + f" bytes={total_bytes}"
    )


def run(args: argparse.Namespace) -> int:
    try:
        TelegramReader(args.tz)
    except Exception as exc:  # zoneinfo raises several types for a bad key
        print(f"p1gw parse: unknown time zone {args.tz!r} ({exc})", file=sys.stderr)
        return 2
    try:
        stream: BinaryIO = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"p1gw parse: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        with stream:
            telegrams, errors, total = parse_stream(
                stream, sys.stdout, sys.stderr, tz=args.tz, check_crc=not args.no_crc_check
            )
        sys.stdout.flush()
    except BrokenPipeError:  # `p1gw parse big.txt | head`: the reader went away, not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    print(summary_line(telegrams, errors, total), file=sys.stderr)
    return 0 if telegrams else 1
