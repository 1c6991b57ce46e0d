"""Streams of distinct, realistic telegrams for benchmarks: every telegram has its own time, powers,
voltages, currents and registers (as a real meter's do), so a benchmark measures parsing, not a cache."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dsmr_parser import MonthlyPeak, Value, build_telegram

START = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def _kw(x: float) -> Value:
    return Value(Decimal(f"{x:.3f}"), "kW")


def belgian(count: int, seed: int = 1) -> list[bytes]:
    """e-MUCS 1.7.1 three-phase telegrams with gas (like a Fluvius meter), one per second."""
    rng = random.Random(seed)
    wh = [116_372_000, 62_193_000, 112_716_000, 42_757_000]  # mWh
    peaks = Value(
        tuple(
            MonthlyPeak(
                datetime(2025, m, 1, tzinfo=UTC) - timedelta(hours=1),
                datetime(2025, m, 9, 18, 15, tzinfo=UTC),
                Decimal(f"{2 + m / 7:.3f}"),
                "kW",
            )
            for m in range(1, 13)
        ),
        "kW",
    )
    out = []
    gas = 338_711
    for i in range(count):
        moment = START + timedelta(seconds=i)
        phases = [rng.uniform(0.05, 3.0) for _ in range(3)]
        power = sum(phases)
        tariff = 1 if 7 <= (moment.hour + 1) % 24 < 22 else 2
        wh[tariff - 1] += int(power * 1_000_000 / 3600)
        if i % 300 == 0:
            gas += rng.randint(0, 40)
        values = {
            "0-0:96.1.4": Value("50217"),
            "0-0:96.1.1": Value("1SAG3105056625"),
            "0-0:1.0.0": Value(moment),
            "1-0:1.8.1": Value(Decimal(wh[0] // 1000) / 1000, "kWh"),
            "1-0:1.8.2": Value(Decimal(wh[1] // 1000) / 1000, "kWh"),
            "1-0:2.8.1": Value(Decimal(wh[2] // 1000) / 1000, "kWh"),
            "1-0:2.8.2": Value(Decimal(wh[3] // 1000) / 1000, "kWh"),
            "0-0:96.14.0": Value(tariff),
            "1-0:1.4.0": _kw(power * 0.9),
            "1-0:1.6.0": Value(Decimal("4.485"), "kW", datetime(2026, 11, 7, 18, 0, tzinfo=UTC)),
            "0-0:98.1.0": peaks,
            "1-0:1.7.0": _kw(power),
            "1-0:2.7.0": _kw(0),
            "1-0:21.7.0": _kw(phases[0]),
            "1-0:41.7.0": _kw(phases[1]),
            "1-0:61.7.0": _kw(phases[2]),
            "1-0:22.7.0": _kw(0),
            "1-0:42.7.0": _kw(0),
            "1-0:62.7.0": _kw(0),
            "1-0:32.7.0": Value(Decimal(f"{rng.uniform(226, 238):.1f}"), "V"),
            "1-0:52.7.0": Value(Decimal(f"{rng.uniform(226, 238):.1f}"), "V"),
            "1-0:72.7.0": Value(Decimal(f"{rng.uniform(226, 238):.1f}"), "V"),
            "1-0:31.7.0": Value(Decimal(f"{phases[0] * 4.3:.2f}"), "A"),
            "1-0:51.7.0": Value(Decimal(f"{phases[1] * 4.3:.2f}"), "A"),
            "1-0:71.7.0": Value(Decimal(f"{phases[2] * 4.3:.2f}"), "A"),
            "0-0:96.3.10": Value(1),
            "0-0:17.0.0": Value(Decimal("999.9"), "kW"),
            "1-0:31.4.0": Value(Decimal("999"), "A"),
            "0-0:96.13.0": Value(""),
            "0-1:24.1.0": Value(3),
            "0-1:96.1.1": Value("7FLO2123006385"),
            "0-1:24.4.0": Value(1),
            "0-1:24.2.3": Value(Decimal(gas) / 1000, "m3", moment - timedelta(seconds=moment.second % 300)),
        }
        out.append(build_telegram("FLU5\\253769484_A", values))
    return out


def dsmr5(count: int, seed: int = 2) -> list[bytes]:
    """DSMR 5.0.2 three-phase telegrams with a gas meter (like an Iskra AM550), one per second."""
    rng = random.Random(seed)
    wh = [2_130_115_000, 245_467_000, 10_000, 0]
    out = []
    for i in range(count):
        moment = START + timedelta(seconds=i)
        phases = [rng.uniform(0.02, 2.5) for _ in range(3)]
        power = sum(phases)
        wh[0] += int(power * 1_000_000 / 3600)
        values = {
            "1-3:0.2.8": Value("50"),
            "0-0:1.0.0": Value(moment),
            "0-0:96.1.1": Value("E0044007382246019"),
            "1-0:1.8.1": Value(Decimal(wh[0] // 1000) / 1000, "kWh"),
            "1-0:1.8.2": Value(Decimal(wh[1] // 1000) / 1000, "kWh"),
            "1-0:2.8.1": Value(Decimal(wh[2] // 1000) / 1000, "kWh"),
            "1-0:2.8.2": Value(Decimal(wh[3] // 1000) / 1000, "kWh"),
            "0-0:96.14.0": Value(1),
            "1-0:1.7.0": _kw(power),
            "1-0:2.7.0": _kw(0),
            "0-0:96.7.21": Value(5),
            "0-0:96.7.9": Value(3),
            "1-0:99.97.0": Value((), "s"),
            "1-0:32.32.0": Value(1),
            "1-0:52.32.0": Value(1),
            "1-0:72.32.0": Value(192),
            "1-0:32.36.0": Value(1),
            "1-0:52.36.0": Value(1),
            "1-0:72.36.0": Value(1),
            "0-0:96.13.0": Value(""),
            "1-0:32.7.0": Value(Decimal(f"{rng.uniform(222, 236):.1f}"), "V"),
            "1-0:52.7.0": Value(Decimal(f"{rng.uniform(222, 236):.1f}"), "V"),
            "1-0:72.7.0": Value(Decimal(f"{rng.uniform(222, 236):.1f}"), "V"),
            "1-0:31.7.0": Value(int(phases[0] * 4.3), "A"),
            "1-0:51.7.0": Value(int(phases[1] * 4.3), "A"),
            "1-0:71.7.0": Value(int(phases[2] * 4.3), "A"),
            "1-0:21.7.0": _kw(phases[0]),
            "1-0:41.7.0": _kw(phases[1]),
            "1-0:61.7.0": _kw(phases[2]),
            "1-0:22.7.0": _kw(0),
            "1-0:42.7.0": _kw(0),
            "1-0:62.7.0": _kw(0),
            "0-1:24.1.0": Value(3),
            "0-1:96.1.0": Value("G0039001936990619"),
            "0-1:24.2.1": Value(Decimal("246.138"), "m3", moment - timedelta(seconds=moment.second)),
        }
        out.append(build_telegram("ISK5\\2M550T-1012", values))
    return out
