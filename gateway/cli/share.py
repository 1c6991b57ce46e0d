"""`p1gw share`, energy-sharing allocation: its arguments, --help text and logic are `sharing.cli`'s.

This module gives the subcommand the shape of every other (`gateway.cli.share` with `add_arguments`
and `run`); `sharing.cli` stays where its package's owner keeps it.
"""

from __future__ import annotations

import argparse
import os

# A batch job that formats gigabytes of text a week at a time: polars' allocator (jemalloc) keeps the
# pages it freed for the next week instead of handing them back to the kernel after half a second (the
# decay polars sets when it is imported, appending this variable to it) and faulting them in again (a
# year of 1,000 members: 5x fewer page faults). A setting of the user's wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1")

from sharing import cli as command  # after the allocator's setting

__doc__ = command.__doc__  # the --help description


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return int(command.run(args) or 0)
