"""`p1gw hub`, the community hub: its arguments, --help text and logic are `sharing.hub_cli`'s.

This module gives the subcommand the shape of every other (`gateway.cli.hub` with `add_arguments`
and `run`); `sharing.hub_cli` stays where its package's owner keeps it.
"""

from __future__ import annotations

import argparse

from sharing import hub_cli as command

__doc__ = command.__doc__  # the --help description


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return int(command.run(args) or 0)
