"""Run a simulated smart meter: P1 telegrams (or S1 frames) to a file, stdout, a pty or a TCP server.

Examples:
  p1gw sim --meter be-3ph --out - --count 3 --fast          three telegrams on stdout
  p1gw sim --meter be-1ph --pty                             prints /dev/pts/N, then one telegram a second
  p1gw sim --meter nl-dsmr5 --tcp 127.0.0.1:2001 --speed 10 a ser2net-like server, 10x real time
  p1gw sim --meter be-3ph --start 2026-03-29T00:00:00+01:00 --duration 1d --fast --out day.txt \\
           --truth day_qh.csv                               a DST day and its exact quarter-hour deltas
  p1gw sim --prepayment --credit 1 --scenario topups.toml --every 60 --duration 12h --fast --out -
  p1gw sim --faults corrupt=0.05,bad_crc=0.01,silence=30s@1h,clock_jump=+3600@2h --pty
  p1gw sim --meter be-1ph --grid weak --duration 1d --fast --out day.txt --truth-appliances runs.jsonl
  p1gw sim --s1 --meter be-3ph --tcp 127.0.0.1:2002          the S1 port (binary HDLC frames)
  p1gw sim --community 12 --pv 250 --wind 2000 --duration 1y --out community/   members.csv + data.csv

Meters: be-1ph, be-3ph (e-MUCS 1.7, Fluvius headers), nl-dsmr5, dsmr22 (every 10 s, no CRC). Contracts
(--preset; default the meter's DSO, ores with --prepayment): ores, resa, aieg, aiesh, rew, fluvius,
sibelga, nl. Calendars (--calendar, default the contract's): wallonia-2026, wallonia-legacy, brussels,
flanders-22-7, flanders-21-6, nl, single, or a spec such as peak=6-21,weekends.
Durations: 90s, 15m, 6h, 6d, 2w, 1y.
Without --fast the simulated clock runs at --speed x real time (default 1). See docs/simulator.md.
This module only reads the arguments; `meter_sim.serve` streams the simulation (files, pty, TCP).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .calendars import CONTRACT_CALENDARS, ZONE, calendar_names
from .faults import parse_duration, parse_faults
from .kinds import KINDS
from .meter_prepayment import PrepaymentOptions
from .scenario import load_scenario
from .serve import Sink, serve
from .simulation import Simulation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--meter", default="be-3ph", choices=sorted(KINDS), help="meter type (default be-3ph)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same telegrams)")
    parser.add_argument("--start", help="ISO start time (default: now, whole second)")
    parser.add_argument(
        "--calendar",
        help=f"tariff calendar: {', '.join(calendar_names())} or a spec like peak=6-21,weekends "
        "(default: the contract's)",
    )
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    pace.add_argument("--fast", action="store_true", help="as fast as possible (simulated clock)")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--count", type=int, help="stop after N telegrams")
    stop.add_argument("--duration", help="stop after this simulated time (90s, 15m, 6h, 6d, 1y)")
    parser.add_argument("--every", type=int, help="one telegram per N simulated seconds (model steps 1 s)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--out", help="output file, '-' for stdout (a directory with --community)")
    out.add_argument("--pty", action="store_true", help="create a pty; prints the device path first")
    out.add_argument("--tcp", metavar="HOST:PORT", help="TCP server; every client gets the stream")
    parser.add_argument("--prepayment", action="store_true", help="run the prepayment function")
    parser.add_argument("--credit", default="20.00", help="start credit in EUR (with --prepayment)")
    parser.add_argument(
        "--preset",
        choices=sorted(CONTRACT_CALENDARS),
        help="the DSO contract: default calendar and prepayment rules "
        "(default: the meter's DSO; ores with --prepayment)",
    )
    parser.add_argument(
        "--accounting", choices=("immediate", "central"), help="prepayment accounting (default: the preset's)"
    )
    parser.add_argument("--scenario", help="TOML timeline (top-ups, button, leak test, loads, faults)")
    parser.add_argument("--faults", help="e.g. corrupt=0.05,bad_crc=0.01,truncate=0.01,silence=30s@1h")
    parser.add_argument("--truth", help="write the exact per-quarter-hour register deltas (Wh) as CSV")
    parser.add_argument("--truth-appliances", metavar="FILE", help="write the appliance runs (JSON Lines)")
    parser.add_argument(
        "--grid", choices=("normal", "weak"), default="normal", help="voltage model (weak: long PV feeder)"
    )
    parser.add_argument("--s1", action="store_true", help="stream the S1 port (binary frames) instead of P1")
    parser.add_argument("--community", type=int, metavar="N", help="write N members' quarter-hours (CSV)")
    parser.add_argument("--pv", type=float, default=0.0, help="community PV park size, kWp")
    parser.add_argument("--wind", type=float, default=0.0, help="community wind turbine size, kW")


def _fail(message: str) -> int:
    print(f"p1gw sim: {message}", file=sys.stderr)
    return 2


def _start(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC).replace(microsecond=0).astimezone(ZONE)
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=ZONE)


def run(args: argparse.Namespace) -> int:
    try:
        start = _start(args.start)
        duration_s = parse_duration(args.duration) if args.duration else None
        if args.community is not None:
            return _community(args, start, duration_s)
        faults = parse_faults(args.faults) if args.faults else None
        scenario = load_scenario(args.scenario, start) if args.scenario else None
        prepay = None
        if args.prepayment:
            prepay = PrepaymentOptions(
                credit_eur=Decimal(args.credit), preset=args.preset or "ores", accounting=args.accounting
            )
        sim = Simulation(
            args.meter,
            args.seed,
            start,
            every=args.every,
            count=args.count,
            duration_s=duration_s,
            prepayment=prepay,
            scenario=scenario,
            faults=faults,
            calendar=args.calendar,
            contract=args.preset,
            grid=args.grid,
        )
    except (ValueError, InvalidOperation, OSError) as exc:
        return _fail(str(exc))
    if args.s1 and not sim.meter.kind.s1:
        return _fail(f"meter {args.meter} has no S1 port (be-1ph and be-3ph have one)")
    try:
        sink = Sink(out=args.out, pty=args.pty, tcp=args.tcp)
    except OSError as exc:
        return _fail(f"cannot open the output: {exc}")
    sent = serve(
        sim,
        sink,
        speed=None if args.fast else args.speed,
        s1=args.s1,
        count=args.count,
        duration_s=duration_s,
        truth_path=args.truth,
    )
    if args.truth_appliances:
        from .truth import write_appliance_truth

        write_appliance_truth(args.truth_appliances, sim.meter, sim.meter.start_ts, sim.meter.ts)
    if sim.injector is not None:
        counts = ", ".join(f"{k}={v}" for k, v in sim.injector.counts.items() if v)
        print(f"p1gw sim: {sent} writes; faults: {counts or 'none'}", file=sys.stderr)
    return 0


def _community(args: argparse.Namespace, start: datetime, duration_s: int | None) -> int:
    from .community import write_community

    if not args.out or args.out == "-":
        return _fail("--community needs --out DIR")
    if args.community < 1:
        return _fail("--community needs at least 1 member")
    t0 = time.perf_counter()
    members, data, rows = write_community(
        args.out, args.community, args.pv, args.wind, start, duration_s or 7 * 86400, args.seed
    )
    print(f"{members} and {data}: {rows} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
