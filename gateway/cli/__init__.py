"""`p1gw`: one console script, one subcommand per job.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
the dispatcher imports it only when the subcommand is used, so `p1gw parse` stays light.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("gateway.cli.parse", "parse P1 telegrams from a file or stdin into JSON Lines"),
    "sim": ("meter_sim.cli", "run a simulated meter (file, stdout, pty, TCP)"),
    "run": ("gateway.cli.run", "run the gateway: P1 source -> MQTT, SQLite, HTTP API"),
    "demo": ("gateway.cli.demo", "simulator + gateway + MQTT + dashboard in one command"),
    "share": ("sharing.cli", "allocate shared energy over quarter-hour CSVs"),
    "hub": ("sharing.hub_cli", "community hub: many gateways' quarter-hours over MQTT"),
    "doctor": ("gateway.cli.doctor", "check port, wiring, broker, disk and clock; say what to do"),
    "db": ("gateway.cli.db", "database maintenance: migrate, backup, restore"),
    "advise": ("gateway.cli.advise", "price your last 12 months under every tariff option: cheapest and why"),
    "statement": ("gateway.cli.statement", "energy community's monthly statement per member, in euros"),
    "voltage": ("gateway.cli.voltage", "voltage quality report (EN 50160) for a DSO complaint"),
    "appliances": ("gateway.cli.appliances", "which appliances cost what, and the standby"),
}


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The argument parser; only the chosen subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="p1gw",
        description="P1/S1 smart-meter gateway for Belgian (e-MUCS) and Dutch (DSMR) meters.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, summary) in COMMANDS.items():
        if name != command:
            subparsers.add_parser(name, help=summary, add_help=False)
            continue
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name,
            help=summary,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
