"""Appliance detection against the simulator's ground truth, over a simulated month.

For each meter (default: a be-1ph household with PV and a be-3ph home with heat pump, EV and PV), the model
is stepped second by second with its own time (no real-time wait); every second's per-phase lines feed the
gateway's incremental `StepDetector` and `PowerWindows`, exactly as the pipeline does. Then:
  * runs of >= 1 kW are paired and compared with the truth (`meter_sim.truth`): a detected run matches a
    true run when both its start and end are within 5 s. Precision = matched detected runs >= 1 kW / all
    detected runs >= 1 kW (matched against any true run); recall = true runs >= 1 kW matched / all of them;
    energy error = |sum detected Wh - sum true Wh| / sum true Wh over the matched pairs, and the median of
    the per-run errors. Targets: precision and recall >= 0.9, energy error <= 10 %.
  * what the store keeps for appliances: steps + 10-minute power windows per day (voltage windows: 144 a
    day per phase), instead of 86,400 telegrams.
  * speed: analysis time per simulated second, against the model's own step (the reference, same run).

    .venv/bin/python bench/appliances.py [--days 30] [--meters be-1ph,be-3ph] [--seed 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.appliances import PowerWindows, StepDetector, pair_runs
from analysis.readings import reading_from_values
from meter_sim.meter import Meter
from meter_sim.truth import appliance_truth, phase_values

START = datetime(2026, 3, 2, tzinfo=ZoneInfo("Europe/Brussels"))
MATCH_S = 5


def run(kind: str, seed: int, days: int) -> dict[str, float]:
    meter = Meter(kind, seed, START)
    det, windows = StepDetector(), PowerWindows()
    steps, closed = [], []
    model_s = analysis_s = 0.0
    for _ in range(days * 86400):
        t0 = time.perf_counter()
        meter.step(1)
        values = phase_values(meter)
        t1 = time.perf_counter()
        reading = reading_from_values(values)
        steps += det.feed(meter.time, reading)
        closed += windows.feed(meter.time, reading)
        t2 = time.perf_counter()
        model_s += t1 - t0
        analysis_s += t2 - t1
    steps += det.flush()
    runs = [r for r in pair_runs(steps) if r.power_w >= 1000]
    truth = appliance_truth(meter, meter.start_ts, meter.ts)
    big = [t for t in truth if t.power_w >= 1000]

    def same(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return abs(a[0] - b[0]) <= MATCH_S and abs(a[1] - b[1]) <= MATCH_S

    pairs = []
    for t in big:
        match = next((r for r in runs if same((t.start_ts, t.end_ts), (r.start_ts, r.end_ts))), None)
        if match is not None:
            pairs.append((t, match))
    real = [r for r in runs if any(same((t.start_ts, t.end_ts), (r.start_ts, r.end_ts)) for t in truth)]
    true_wh = sum(t.energy_wh for t, _ in pairs)
    got_wh = sum(r.energy_wh for _, r in pairs)
    per_run = [abs(r.energy_wh - t.energy_wh) / t.energy_wh for t, r in pairs if t.energy_wh]
    return {
        "true_runs": len(big),
        "detected_runs": len(runs),
        "precision": len(real) / len(runs) if runs else 0.0,
        "recall": len(pairs) / len(big) if big else 0.0,
        "energy_error": abs(got_wh - true_wh) / true_wh if true_wh else 0.0,
        "median_run_error": statistics.median(per_run) if per_run else 0.0,
        "true_kwh": true_wh / 1000,
        "rows_per_day": (len(steps) + len(closed)) / days,
        "analysis_us": analysis_s / (days * 86400) * 1e6,
        "model_us": model_s / (days * 86400) * 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--meters", default="be-1ph,be-3ph")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{args.days} simulated days from {START.date()}, seed {args.seed}, "
        f"runs >= 1 kW, match within {MATCH_S} s"
    )
    print(
        "| meter | true runs | detected | precision | recall | energy error | median run error | true kWh "
        "| steps+windows/day | analysis µs/s | model µs/s (ref) | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for kind in args.meters.split(","):
        t0 = time.perf_counter()
        f = run(kind, args.seed, args.days)
        ok &= f["precision"] >= 0.9 and f["recall"] >= 0.9 and f["energy_error"] <= 0.1
        print(
            f"| {kind} | {f['true_runs']:.0f} | {f['detected_runs']:.0f} | {f['precision']:.3f} "
            f"| {f['recall']:.3f} "
            f"| {100 * f['energy_error']:.2f} % | {100 * f['median_run_error']:.2f} % | {f['true_kwh']:.1f} "
            f"| {f['rows_per_day']:.0f} | {f['analysis_us']:.1f} | {f['model_us']:.1f} "
            f"| {f['analysis_us'] / f['model_us']:.2f}x |  ({time.perf_counter() - t0:.0f} s)"
        )
    print("targets (precision, recall >= 0.9, energy error <= 10 %):", "met" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
