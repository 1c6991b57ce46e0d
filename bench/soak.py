"""Soak run: the gateway against the simulator for simulated days or a month, with faults; prints figures.

Real processes: `p1gw sim --tcp` (the meter and its truth), a port proxy that can drop (ser2net), `p1gw run`
(SQLite on a small tmpfs that gets filled, MQTT to a real Mosquitto that gets restarted, SIGKILLed and
restarted mid-quarter-hour), a persistent-session MQTT subscriber. Afterwards every quarter-hour is checked
against the simulator's truth in the store and on MQTT; RSS, log lines and the MQTT queue are summed up.
The machinery is tests/soak/harness.py (shared with tests/soak/test_soak.py).

examples:
  .venv/bin/python bench/soak.py --days 30 --speed 50              # the issue's figure: 14.4 h of wall time
  .venv/bin/python bench/soak.py --days 30 --every 10 --speed 3000 # a month in ~15 min (telegram every 10 s)
  .venv/bin/python bench/soak.py --hours 6 --speed 300             # a quick look
Options: --faults broker,port,sigkill,disk  --fault-every 1d (a round of faults per simulated day)
         --corrupt 0.05  --keep DIR (keep the database, truth and logs)  --json (machine-readable summary)
Exit status 0 when every quarter-hour is present once and equals the truth, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meter_sim.faults import parse_duration  # noqa: E402
from tests.soak.harness import FAULTS, Soak, SoakConfig, check, soak_broker, summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--days", type=float, help="simulated days (default 1)")
    length.add_argument("--hours", type=float, help="simulated hours")
    parser.add_argument("--speed", type=float, default=50.0, help="simulated seconds per real second (50)")
    parser.add_argument("--every", type=int, default=1, help="one telegram per N simulated seconds (1)")
    parser.add_argument("--start", default="2026-03-02T00:00:00+01:00", help="the meter's start (local time)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corrupt", type=float, default=0.05, help="share of corrupted telegrams (0.05)")
    parser.add_argument("--faults", default=",".join(FAULTS), help="broker,port,sigkill,disk (or none)")
    parser.add_argument("--fault-every", help="one round of faults per this simulated time (e.g. 1d)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON only")
    args = parser.parse_args()
    hours = args.hours if args.hours is not None else 24 * (args.days if args.days is not None else 1.0)
    duration_s = round(hours * 3600 / 900) * 900
    faults = tuple(f for f in args.faults.split(",") if f and f != "none")
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="p1gw-soak-"))
    say = (lambda text: None) if args.json else (lambda text: print(f"[{time.strftime('%H:%M:%S')}] {text}"))
    config = SoakConfig(
        workdir=workdir, duration_s=duration_s, speed=args.speed, every=args.every, start=args.start,
        seed=args.seed, corrupt=args.corrupt, faults=faults,
        fault_period_s=parse_duration(args.fault_every) if args.fault_every else None, progress=say,
    )  # fmt: skip
    with soak_broker(workdir / "mosquitto") as broker, Soak(config, broker) as soak:
        run = soak.run()
        verdict = check(run)
        figures = summary(run, verdict)
    if args.json:
        print(json.dumps(figures, default=str))
    else:
        q, m, r, lg = figures["quarter_hours"], figures["mqtt"], figures["rss"], figures["log"]
        print(
            f"\nsoak: {figures['simulated_days']} simulated days at {args.speed:g}x (every {args.every} s) "
            f"in {figures['wall_s']:.0f} s of wall time; work dir {workdir}"
        )
        print(
            f"quarter-hours: expected {q['expected']}, present {q['present']}, missing {q['missing']}, "
            f"duplicated {q['duplicated']}, exact {q['exact']}, estimated {q['estimated']} "
            f"in {q['estimated_runs']} runs, mismatched {q['mismatched']} "
            f"(+{q['estimated_runs_mismatched']} estimated runs)"
        )
        print(
            f"MQTT: present {m['present']}, missing {m['missing']}, re-delivered {m['redelivered']}, "
            f"differs {m['differs']}, queue max depth {m['queue_max_depth']}"
        )
        print(
            f"faults: {dict(figures['faults'])}; simulator: {' '.join(figures['sim'])}; "
            f"disk full by {figures['disk_full_method']}"
        )
        print(
            f"RSS (MB): first {r.get('first_mb')}, after warm-up {r['start_mb']}, peak {r['peak_mb']}, "
            f"end {r['end_mb']} (growth {r['growth_mb']}, {r['samples']} samples)"
        )
        print(f"log: {lg['lines']} lines, {lg['per_simulated_hour']} per simulated hour; {lg['levels']}")
        for text, count in lg["top"]:
            print(f"  {count:6d}  {text}")
        print(
            f"store errors (max seen in health): {figures['store_errors_max']}; gateway exit "
            f"{figures['gateway_exit']}; database {figures['db_bytes'] / 1e6:.1f} MB"
        )
        if not verdict.ok:
            print("PROBLEMS:\n" + verdict.problems())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
