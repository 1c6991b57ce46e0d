"""Fuzz the framer and parser with mutated telegram streams; print the figures.

Each input is a stream: hostile junk (runs of `/`, random bytes, sometimes more than a frame's worth),
a mutated real telegram (half of them with a recomputed, valid CRC), a valid telegram glued right after it,
and sometimes more junk. The mutations are what the field and an adversary send: values replaced by `NaN`,
`sNaN`, `Infinity`, `1E+1000000`, 5,000 digits, negative durations; bytes flipped, inserted (`/`, `!`, `(`,
line breaks), deleted; lines duplicated; CRC lines broken. Every input is checked for:

- exceptions: anything raised out of `TelegramReader.feed()` / `close()` (must be 0);
- lost: the glued valid telegram missing from what the reader returned (must be 0);
- chunk mismatches: the framer's frames and errors for the stream fed whole differ from those for the same
  bytes fed in random chunks (one byte at a time for 2% of those up to 4,000 bytes) (must be 0); the reader
  parses each frame in order, so equal frames give equal telegrams;
- bad values: a value that is not typed and finite (Decimal NaN/Infinity, a negative duration, a number
  longer than the registry allows, an unknown type) (must be 0);
- the slowest `feed()` of a whole stream (wall clock: an upper bound of its CPU time on a busy machine),
  so a value that keeps the event loop busy shows.

    .venv/bin/python bench/fuzz.py                      # 1,000,000 inputs (the long run: ~15 min of CPU)
    .venv/bin/python bench/fuzz.py --inputs 20000 --seed 7
    # or in parallel, seeds adding up: --inputs 334000 --seed 1, --inputs 333000 --seed 2 and --seed 3

tests/dsmr_parser/test_fuzz.py runs a short version (a few thousand inputs) on every test run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dsmr_parser import (  # noqa: E402
    Frame,
    Framer,
    FramingError,
    MonthlyPeak,
    PowerFailure,
    Telegram,
    TelegramReader,
)
from dsmr_parser.crc import crc16  # noqa: E402

TELEGRAMS = ROOT / "tests" / "dsmr_parser" / "telegrams"
HOSTILE_VALUES = [
    b"NaN",
    b"sNaN",
    b"-NaN",
    b"Infinity",
    b"-Infinity",
    b"inf",
    b"1E+1000000",
    b"1e-999999",
    b"9" * 5000,
    b"0." + b"0" * 4000 + b"1",
    b"-1",
    b"-0000000042*s",
    b"NaN*kWh",
    b"Infinity*s",
    b"1E+1000000*s",
    b"00000.000*kWh",
    b"+1.5",
    b" 1",
    b"1_000",
    b"0x1F",
    b"\xb2",
    b"",
    b"abc",
    b"1.2.3",
    b"12345678901234567890123*kWh",
]
JUNK_BYTES = b"/!()\r\n*:.-0123456789ABCDEFW"


def corpus() -> list[bytes]:
    """The example and real telegrams the tests use (those carrying a valid CRC or none)."""
    return [path.read_bytes() for path in sorted(TELEGRAMS.rglob("*.txt")) if "as_printed" not in path.name]


def with_crc(frame: bytes) -> bytes:
    """The stream bytes with the CRC line after the last `!` recomputed over the first `/` .. that `!`."""
    start, bang = frame.find(b"/"), frame.rfind(b"!")
    if start < 0 or bang < start:
        return frame
    end = bang + 1
    while end < len(frame) and frame[end : end + 1] in b"0123456789ABCDEFabcdef" and end - bang <= 5:
        end += 1
    return frame[: bang + 1] + f"{crc16(frame[start : bang + 1]):04X}".encode() + frame[end:]


def mutate(rng: random.Random, telegram: bytes) -> bytes:
    data = bytearray(telegram)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 6))):
        op = rng.randrange(9)
        if op <= 2 and b"(" in data:  # a value replaced by a hostile one
            opens = [i for i, c in enumerate(data) if c == 0x28]
            i = rng.choice(opens)
            j = data.find(b")", i)
            if j > i:
                data[i + 1 : j] = rng.choice(HOSTILE_VALUES)
        elif op == 3 and data:  # a byte flipped
            i = rng.randrange(len(data))
            data[i] = rng.randrange(256)
        elif op == 4:  # structural bytes inserted
            i = rng.randrange(len(data) + 1)
            data[i:i] = bytes(rng.choice(JUNK_BYTES) for _ in range(rng.randint(1, 4)))
        elif op == 5 and data:  # a range deleted
            i = rng.randrange(len(data))
            del data[i : i + rng.randint(1, 40)]
        elif op == 6:  # a line duplicated or dropped
            lines = bytes(data).split(b"\r\n")
            if len(lines) > 3:
                k = rng.randrange(1, len(lines) - 1)
                if rng.random() < 0.5:
                    lines.insert(k, lines[k])
                else:
                    del lines[k]
                data = bytearray(b"\r\n".join(lines))
        elif op == 7:  # the CRC line broken
            bang = data.rfind(b"!")
            if bang >= 0:
                data[bang + 1 : bang + 5] = rng.choice((b"12G4", b"", b"1", b"12345", b"zz\r\n", b"\r"))
        else:  # a number's digits changed
            i = data.find(b"(", rng.randrange(len(data) + 1))
            if i >= 0:
                data[i + 1 : i + 2] = rng.choice((b"-", b"9" * 60, b"E", b"."))
    return bytes(data)


def junk(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 3 and rng.random() < 0.5:
        kind = 5
    if kind == 0:
        return b""
    if kind == 1:
        return b"/" * rng.randint(1, 40)
    if kind == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    if kind == 3:  # more than a frame's worth, '/'s and '!'s in it
        size = rng.randint(16_000, 20_000)
        return bytes(rng.choice(JUNK_BYTES + b"abcxyz ") for _ in range(64)) * (size // 64)
    if kind == 4:
        return b"\r\n!" + bytes(rng.choice(JUNK_BYTES) for _ in range(rng.randint(1, 16)))
    return bytes(rng.choice(JUNK_BYTES) for _ in range(rng.randint(1, 200)))


def chunked(rng: random.Random, data: bytes) -> list[bytes]:
    if rng.random() < 0.02 and len(data) <= 4000:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12)))) if data else []
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def value_problem(code: str, value: object) -> str | None:
    """Why a parsed value is not a typed, finite value within the registry's sizes (None when it is)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return f"{code}: {value} is not finite"
        if len(value.as_tuple().digits) > 24:
            return f"{code}: {len(value.as_tuple().digits)} digits"
        return None
    if isinstance(value, bool) or value is None or isinstance(value, str | datetime):
        return None
    if isinstance(value, int):
        return f"{code}: int of {value.bit_length()} bits" if value.bit_length() > 80 else None
    if isinstance(value, tuple):
        for entry in value:
            if isinstance(entry, PowerFailure):
                if entry.duration_s < 0 or entry.duration_s.bit_length() > 64:
                    bits = entry.duration_s.bit_length()
                    return f"{code}: duration of {bits} bits, negative {entry.duration_s < 0}"
            elif isinstance(entry, MonthlyPeak):
                problem = value_problem(code, entry.value)
                if problem:
                    return problem
            else:
                return f"{code}: {type(entry).__name__} in a buffer"
        return None
    return f"{code}: {type(value).__name__}"


@dataclass
class Figures:
    inputs: int = 0
    valid_crc: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    chunk_mismatches: int = 0
    bad_values: Counter[str] = field(default_factory=Counter)
    telegrams: int = 0
    slowest_feed_s: float = 0.0
    examples: list[str] = field(default_factory=list)

    def failed(self) -> bool:
        return bool(self.exceptions or self.lost or self.chunk_mismatches or self.bad_values)

    def report(self) -> str:
        exceptions = sum(self.exceptions.values())
        bad = sum(self.bad_values.values())
        lines = [
            f"inputs {self.inputs:,} ({self.valid_crc:,} with a recomputed valid CRC), "
            f"telegrams parsed {self.telegrams:,}",
            f"exceptions {exceptions:,}  lost telegrams {self.lost:,}  chunk mismatches "
            f"{self.chunk_mismatches:,}  bad values {bad:,}",
            f"slowest feed of a whole stream {self.slowest_feed_s * 1000:.1f} ms (wall clock)",
        ]
        lines += [f"  exception {name}: {count:,}" for name, count in self.exceptions.most_common(5)]
        lines += [f"  bad value {name}: {count:,}" for name, count in self.bad_values.most_common(5)]
        lines += [f"  e.g. {example}" for example in self.examples[:5]]
        return "\n".join(lines)


def _repr(value: object) -> str:
    try:
        return repr(value)
    except ValueError:  # an int too long to print (a bad value, counted as such)
        return f"<{type(value).__name__} too long to print>"


def _key(events: Sequence[Telegram | Frame | FramingError]) -> list[object]:
    """Events as comparable data (a signalling NaN raises when compared, so values compare as repr)."""
    return [
        (e.header, e.crc, e.unparsed, [(code, _repr(v)) for code, v in e.values.items()])
        if isinstance(e, Telegram)
        else e
        for e in events
    ]


def _same(a: Sequence[Telegram | Frame | FramingError], b: Sequence[Telegram | Frame | FramingError]) -> bool:
    try:
        return a == b  # fast; a signalling NaN value (a bad value, counted as such) raises
    except ArithmeticError:
        return _key(a) == _key(b)


def _frames(chunks: list[bytes], figures: Figures) -> list[Frame | FramingError] | None:
    """The framer's events: the reader parses each frame in order, so equal frames and errors give equal
    telegrams (the parse is the same function of the same frames whatever the chunking)."""
    framer = Framer()
    events: list[Frame | FramingError] = []
    try:
        for chunk in chunks:
            events += framer.feed(chunk)
        events += framer.close()
    except Exception as exc:
        figures.exceptions[type(exc).__name__] += 1
        return None
    return events


def _events(chunks: list[bytes], figures: Figures) -> list[Telegram | FramingError] | None:
    reader = TelegramReader()
    events: list[Telegram | FramingError] = []
    try:
        before = time.perf_counter()
        for chunk in chunks:
            events += reader.feed(chunk)
        if len(chunks) == 1:  # the stream fed whole: one feed() call
            figures.slowest_feed_s = max(figures.slowest_feed_s, time.perf_counter() - before)
        events += reader.close()
    except Exception as exc:
        figures.exceptions[type(exc).__name__] += 1
        if len(figures.examples) < 20:
            figures.examples.append(f"{type(exc).__name__}: {str(exc)[:120]}")
        return None
    return events


def run(inputs: int, seed: int = 1, progress: bool = False) -> Figures:
    rng = random.Random(seed)
    sources = corpus()
    glue = (TELEGRAMS / "fluvius_v171.txt").read_bytes()
    expected = next(e for e in TelegramReader().feed(glue) if isinstance(e, Telegram))
    figures = Figures()
    started = time.monotonic()
    for n in range(inputs):
        mutated = mutate(rng, rng.choice(sources))
        if n % 2:
            mutated = with_crc(mutated)
            figures.valid_crc += 1
        stream = junk(rng) + mutated + (b"" if rng.random() < 0.3 else b"\r\n") + glue + junk(rng)[:300]
        figures.inputs += 1
        whole = _events([stream], figures)
        split = _frames(chunked(rng, stream), figures)
        if whole is None or split is None:
            continue
        if not _same(_frames([stream], figures) or [], split):
            figures.chunk_mismatches += 1
            if len(figures.examples) < 20:
                figures.examples.append(f"chunk mismatch, seed {seed} input {n}")
        telegrams = [e for e in whole if isinstance(e, Telegram)]
        figures.telegrams += len(telegrams)
        if not any(_same([t], [expected]) for t in telegrams):
            figures.lost += 1
            if len(figures.examples) < 20:
                figures.examples.append(f"lost, seed {seed} input {n}")
        for telegram in telegrams:
            for code, value in telegram.values.items():
                problem = value_problem(code, value.value)
                if problem:
                    figures.bad_values[problem.split(": ")[0]] += 1
                    if len(figures.examples) < 20:
                        figures.examples.append(problem[:160])
        if progress and n and n % 25_000 == 0:
            rate = n / (time.monotonic() - started)
            print(f"{rate:,.0f} inputs/s; {figures.report()}", file=sys.stderr, flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1, help="runs with different seeds add up")
    args = parser.parse_args()
    started = time.monotonic()
    figures = run(args.inputs, args.seed, progress=True)
    print(figures.report())
    print(f"{time.monotonic() - started:,.0f} s")
    return 1 if figures.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
