"""`p1gw sim --grid weak --truth-appliances`: telegrams with sag/swell counters, and the runs behind them."""

from __future__ import annotations

import json
from pathlib import Path

from dsmr_parser import Telegram, TelegramReader
from gateway.cli import main

from ..telegram_values import number


def test_weak_grid_telegrams_and_appliance_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "day.txt", tmp_path / "runs.jsonl"
    args = [
        "sim",
        "--meter",
        "be-1ph",
        "--seed",
        "1",
        "--grid",
        "weak",
        "--start",
        "2026-06-17T06:00:00+02:00",
    ]
    args += [
        "--duration",
        "2d",
        "--fast",
        "--every",
        "60",
        "--out",
        str(out),
        "--truth-appliances",
        str(truth),
    ]
    assert main(args) == 0
    telegrams = [
        t for t in TelegramReader("Europe/Brussels").feed(out.read_bytes()) if isinstance(t, Telegram)
    ]
    assert len(telegrams) == 2880
    volts = [float(number(t.values, "1-0:32.7.0")) for t in telegrams]
    assert max(volts) > 253  # the sunny noon on the weak feeder
    swells = [int(number(t.values, "1-0:32.36.0")) for t in telegrams]
    assert swells == sorted(swells) and swells[-1] >= 1 and "1-0:32.32.0" in telegrams[-1].values
    runs = [json.loads(line) for line in truth.read_text().splitlines()]
    assert runs and {"appliance", "start_ts", "end_ts", "power_w", "phases", "energy_wh"} <= set(runs[0])
    assert all(r["end_ts"] > r["start_ts"] and r["phases"] == [1] for r in runs)
