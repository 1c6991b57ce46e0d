"""`p1gw`: one console script, one subcommand per job, each named one way.

Subcommand NAME is the module `gateway.cli.NAME`, which exposes ``add_arguments(parser) -> None`` and
``run(args) -> int``; its docstring is the subcommand's --help description. This module only builds the
parser from the `COMMANDS` table: it imports a subcommand's module only when that subcommand is used, so
`p1gw parse` stays light and works on a base install (`pip install p1-gateway`). A subcommand whose
packages are missing says which extra to install (`pip install 'p1-gateway[gateway]'`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NamedTuple


class Command(NamedTuple):
    """A subcommand: its one-line summary and the extra (`pip install 'p1-gateway[EXTRA]'`) it needs."""

    summary: str
    extra: str | None


COMMANDS: dict[str, Command] = {
    "parse": Command("parse P1 telegrams from a file or stdin into JSON Lines", None),
    "sim": Command("run a simulated meter (file, stdout, pty, TCP)", "sim"),
    "run": Command("run the gateway: P1 source -> MQTT, SQLite, HTTP API", "gateway"),
    "demo": Command("simulator + gateway + MQTT + dashboard in one command", "demo"),
    "share": Command("allocate shared energy over quarter-hour CSVs", "share"),
    "hub": Command("community hub: many gateways' quarter-hours over MQTT", "hub"),
    "doctor": Command("check port, wiring, broker, disk and clock; say what to do", "gateway"),
    "db": Command("database maintenance: migrate, backup, restore", "gateway"),
    "advise": Command("price your last 12 months under every tariff option: cheapest and why", "gateway"),
    "statement": Command("energy community's monthly statement per member, in euros", "share"),
    "voltage": Command("voltage quality report (EN 50160) for a DSO complaint", "gateway"),
    "appliances": Command("which appliances cost what, and the standby", "gateway"),
}
OWN_PACKAGES = frozenset(
    {"gateway", "dsmr_parser", "metering", "meter_sim", "prepayment", "sharing", "tariffs", "analysis"}
)


class MissingExtra(Exception):
    """A subcommand's third-party package is not installed."""

    def __init__(self, command: str, module: str) -> None:
        extra = COMMANDS[command].extra or "all"
        super().__init__(
            f"p1gw {command}: the Python package {module!r} is not installed; "
            f"this command needs the [{extra}] extra: pip install 'p1-gateway[{extra}]'"
        )


def _missing_package(exc: ModuleNotFoundError) -> str | None:
    """The third-party package an import failed on, or None when the missing module is one of ours."""
    root = (exc.name or "").split(".")[0]
    return None if not root or root in OWN_PACKAGES else root


def command_module(name: str) -> ModuleType:
    """The module of subcommand `name`; `MissingExtra` when a package it imports is not installed."""
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        missing = _missing_package(exc)
        if missing is None:
            raise
        raise MissingExtra(name, missing) from exc


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The argument parser; only the chosen subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="p1gw",
        description="P1/S1 smart-meter gateway for Belgian (e-MUCS) and Dutch (DSMR) meters.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, spec in COMMANDS.items():
        if name != command:
            subparsers.add_parser(name, help=spec.summary, add_help=False)
            continue
        module = command_module(name)
        sub = subparsers.add_parser(
            name,
            help=spec.summary,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(command if command in COMMANDS else None)
        args = parser.parse_args(argv)
        if getattr(args, "_module", None) is None:
            parser.print_help()
            return 2
        return int(args._module.run(args) or 0)
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # a package imported late, inside the command
        missing = _missing_package(exc)
        if missing is None or command not in COMMANDS:
            raise
        print(MissingExtra(command, missing), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
