"""`p1gw share`, energy-sharing allocation: its arguments, --help text and logic are `sharing.cli`'s.

This module gives the subcommand the shape of every other (`gateway.cli.share` with `add_arguments`
and `run`); `sharing.cli` stays where its package's owner keeps it.
"""

from __future__ import annotations

import argparse

from sharing import cli as command

__doc__ = command.__doc__  # the --help description


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return int(command.run(args) or 0)
