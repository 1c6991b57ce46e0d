"""The architecture as a test: a functional core that does no I/O, a shell around it, and no import cycles.

Read from the source with `ast` (nothing is imported), so a violation names the file and line:
- the core (the parser, the metering, prepayment, tariff and analysis maths, the allocation engine) imports
  nothing from the shell, asyncio, sockets, MQTT, HTTP, serial ports or databases, and reads no clock
  (time is passed in);
- no two first-party modules import each other, directly or round a loop (imports under `TYPE_CHECKING`
  count: a cycle for the type checker is a cycle for the reader too).
docs/ARCHITECTURE.md draws the same rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = (
    "dsmr_parser",
    "metering",
    "prepayment",
    "tariffs",
    "analysis",
    "sharing",
    "meter_sim",
    "gateway",
)
CORE = (
    "dsmr_parser",
    "metering",
    "prepayment",
    "tariffs",
    "analysis",
    "sharing.clock",
    "sharing.community",
    "sharing.engine",
    "sharing.keys",
    "sharing.keyspec",
    "sharing.kpis",
    "sharing.kwh",
)
SHELL = ("gateway", "meter_sim", "sharing")  # what the core may not import (core modules of `sharing` aside)
IO_MODULES = frozenset(
    {
        "asyncio", "socket", "socketserver", "selectors", "ssl", "select", "threading", "subprocess",
        "multiprocessing", "sqlite3", "http", "urllib.request", "aiomqtt", "paho", "amqtt", "fastapi",
        "starlette", "uvicorn", "httpx", "serial", "serial_asyncio", "serial_asyncio_fast", "psycopg",
        "zeroconf", "signal", "pty", "termios",
    }
)  # fmt: skip
CLOCK_CALLS = frozenset(
    {"now", "utcnow", "today", "time", "time_ns", "monotonic", "monotonic_ns", "localtime"}
)
CLOCK_OWNERS = frozenset({"datetime", "date", "time"})


@dataclass(frozen=True)
class Import:
    target: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_files() -> dict[str, Path]:
    files = {}
    for package in FIRST_PARTY:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[module_name(path)] = path
    return files


def imports(path: Path, name: str, known: set[str]) -> Iterator[Import]:
    """Every module `path` imports, resolved to a module name (a submodule when `from pkg import sub`)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(sub if sub in known else base, node.lineno)


def is_under(module: str, roots: tuple[str, ...] | frozenset[str]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def test_the_core_imports_no_shell_and_no_io() -> None:
    files = first_party_files()
    known = set(files)
    problems = []
    for name, path in files.items():
        if not is_under(name, CORE):
            continue
        for imp in imports(path, name, known):
            if is_under(imp.target, IO_MODULES):
                problems.append(
                    f"{path.relative_to(ROOT)}:{imp.line}: imports {imp.target} (I/O in the core)"
                )
            elif is_under(imp.target, SHELL) and not is_under(imp.target, CORE):
                problems.append(f"{path.relative_to(ROOT)}:{imp.line}: imports the shell ({imp.target})")
    assert not problems, "the core must stay pure:\n" + "\n".join(problems)


def clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, call) of every `datetime.now()`, `date.today()`, `time.time()`... in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
        ):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if owner_name in CLOCK_OWNERS:
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_core_reads_no_clock() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}: reads the clock ({call})"
        for name, path in first_party_files().items()
        if is_under(name, CORE)
        for line, call in clock_reads(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "time is an input of the core:\n" + "\n".join(problems)


def test_the_clock_check_sees_clock_reads() -> None:
    source = "import time, datetime as dt\nfrom datetime import datetime, date\n" + "\n".join(
        [
            "a = datetime.now(tz)",
            "b = date.today()",
            "c = time.monotonic()",
            "d = dt.datetime.now()",
            "e = x.now",
        ]
    )
    assert [line for line, _ in clock_reads(source)] == [3, 4, 5, 6]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: its strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def import_graph() -> dict[str, set[str]]:
    files = first_party_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = {imp.target for imp in imports(path, name, known) if imp.target in known}
        graph[name] = {t for t in targets if t != name}
    return graph


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "modules that import each other:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_every_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}}) == [
        ["a", "b", "c"],
        ["d", "e"],
    ]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []
