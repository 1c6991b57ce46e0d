"""The documentation's examples work as written: README.md and every docs/*.md, whoever wrote them.

Strategy: read every fenced code block of the Markdown files and check what it promises with the real code:
- a ```toml block loads with the loader it belongs to: the gateway's `load_config` (tables of its sections,
  [mqtt.policy] included), or the simulator's scenario loader ([prepayment], [[event]]); a block whose
  tables no loader knows fails, naming the file and line;
- every `p1gw ...` command line in any block (after `$ `, `sudo -u x`, `VAR=value` assignments, a venv
  path; through pipes, `&&`, `;` and `\\` continuations) parses with the real argparse parser of its
  subcommand (`gateway.cli.build_parser`), and a `p1gw run` without `--config` also builds its
  configuration (flags + the line's `P1GW_*` variables) and source spec;
- every configuration key the prose documents exists: the rows of a table whose first column is `key`
  (`section.key`, `section.a` / `b`), every `P1GW_SECTION__KEY` variable, every inline `[section] key`.
A block that is deliberately not runnable says so on the line before its fence:
`<!-- docs-test: skip (why) -->`. File paths inside examples are the reader's (`/etc/p1gw/ca.pem`), so
TOML is loaded without checking that such files exist (`load_config(check_files=False)`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.cli import COMMANDS, build_parser
from gateway.config import SECTIONS, ConfigError, env_layer, load_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
ENV_KEY = re.compile(r"\bP1GW_([A-Z0-9]+)__([A-Z0-9_]+)\b")
SECTION_KEY = re.compile(r"`\[(\w+)\]\s+(\w+)")
SCENARIO_TABLES = {"prepayment", "event"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the first line of the block's body
    lang: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, without those marked `docs-test: skip`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        found = FENCE.match(lines[i])
        if found is None:
            i += 1
            continue
        fence, lang, start = found.group(2), found.group(3).lower(), i + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        skipped = i > 0 and SKIP.search(lines[i - 1]) is not None
        if not skipped:
            out.append(Block(path, start + 1, lang, "\n".join(lines[start:end])))
        i = end + 1
    return out


ALL_BLOCKS = [block for path in DOCS for block in blocks(path)]


def _id(block: Block) -> str:
    return block.where


# -- TOML ----------------------------------------------------------------------------------------------


TARIFF_TABLES = {"tariff", "component", "offer", "calendar"}


def load_tariff_example(block: Block, path: Path) -> None:
    """A whole tariff file builds on its own; a fragment (an override, a user's offer) builds merged over
    the shipped tariff it would change, as `p1gw advise --tariff FILE` merges it."""
    from tariffs.bands import TariffDataError
    from tariffs.load import build, load_tariff, read_toml

    try:
        doc = read_toml(path)
        if "tariff" in doc:
            build(doc)
        else:
            load_tariff("wallonia", overrides=[doc])
    except (TariffDataError, ValueError, KeyError) as exc:
        pytest.fail(f"{block.where}: the tariff loader rejects it: {exc}")


def load_toml(block: Block, tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "example.toml"
    path.write_text(block.body + "\n", encoding="utf-8")
    try:
        tables = set(tomllib.loads(block.body))
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{block.where}: not valid TOML: {exc}")
    if tables and tables <= set(SECTIONS):
        try:
            load_config(path, environ={}, check_files=False)
        except ConfigError as exc:
            pytest.fail(f"{block.where}: p1gw run --config rejects it: {exc}")
    elif tables and tables <= SCENARIO_TABLES:
        from meter_sim.scenario import load_scenario

        try:
            load_scenario(path, datetime(2026, 11, 22, 13, 0, tzinfo=UTC))
        except ValueError as exc:
            pytest.fail(f"{block.where}: the scenario loader rejects it: {exc}")
    elif tables and tables <= TARIFF_TABLES:
        load_tariff_example(block, path)
    else:
        pytest.fail(
            f"{block.where}: no loader for the tables {sorted(tables)}; add one to this test, or mark the "
            "block `<!-- docs-test: skip (why) -->`"
        )


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "toml"], ids=_id)
def test_toml_examples_load(block: Block, tmp_path: Path) -> None:
    load_toml(block, tmp_path)


# -- command lines -------------------------------------------------------------------------------------


def logical_lines(body: str) -> list[tuple[int, str]]:
    """(offset, line) with `\\` continuations joined."""
    out: list[tuple[int, str]] = []
    pending, first = "", 0
    for offset, raw in enumerate(body.splitlines()):
        if not pending:
            first = offset
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        out.append((first, pending + raw))
        pending = ""
    if pending:
        out.append((first, pending))
    return out


def commands(line: str) -> list[tuple[dict[str, str], list[str]]]:
    """The `p1gw` invocations of one shell line: (environment assignments, arguments after `p1gw`)."""
    text = line.strip()
    text = text[2:] if text.startswith("$ ") else text
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
    except ValueError:
        return []
    out: list[tuple[dict[str, str], list[str]]] = []
    segment: list[str] = []
    for token in [*tokens, ";"]:
        if token and set(token) <= set("|&;<>"):
            found = _invocation(segment)
            if found is not None:
                out.append(found)
            segment = [] if token not in (">", "<", ">>") else ["__redirect__"]
            continue
        if segment == ["__redirect__"]:
            segment = []  # the redirection's target: not a command
            continue
        segment.append(token)
    return out


def _invocation(tokens: list[str]) -> tuple[dict[str, str], list[str]] | None:
    env: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token):
            name, _, value = token.partition("=")
            env[name] = value
        elif token == "sudo":
            i += 1
            while i < len(tokens) and tokens[i].startswith("-"):
                i += 2 if tokens[i] in ("-u", "-g") else 1
            continue
        elif token == "p1gw" or token.endswith("/p1gw"):
            return env, tokens[i + 1 :]
        else:
            return None
        i += 1
    return None


COMMAND_LINES = [
    (block, offset, line, env, args)
    for block in ALL_BLOCKS
    if block.lang in ("", "sh", "bash", "shell", "console", "text")
    for offset, line in logical_lines(block.body)
    for env, args in commands(line)
]


def parse(args: list[str]) -> argparse.Namespace:
    command = next((a for a in args if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_args(args)
    except SystemExit:
        raise AssertionError(errors.getvalue().strip()) from None


@pytest.mark.parametrize(
    ("block", "offset", "line", "env", "args"),
    COMMAND_LINES,
    ids=[f"{b.where}+{o}" for b, o, *_ in COMMAND_LINES],
)
def test_command_lines_parse(
    block: Block,
    offset: int,
    line: str,
    env: dict[str, str],
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    where = f"{block.path.relative_to(ROOT)}:{block.line + offset}: {line.strip()}"
    try:
        namespace = parse(args)
    except AssertionError as exc:
        pytest.fail(f"{where}\n  argparse: {exc}")
    assert args and args[0] in COMMANDS, f"{where}: not a p1gw command"
    if args[0] == "run" and not namespace.config:
        from gateway.cli.run import config_from_args
        from gateway.sources import SourceError, parse_spec

        for name in [n for n in list(__import__("os").environ) if n.upper().startswith("P1GW_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        try:
            config = config_from_args(namespace)
            parse_spec(config.source.port)
        except (ConfigError, SourceError) as exc:
            pytest.fail(f"{where}\n  configuration: {exc}")


def test_the_docs_show_command_lines_of_every_kind() -> None:
    """The extraction itself works: the known examples are found (a broken regex would pass vacuously)."""
    found = {args[0] for *_, args in COMMAND_LINES if args}
    assert {"run", "demo", "sim", "parse", "db"} <= found, found
    assert any(b.lang == "toml" for b in ALL_BLOCKS)


# -- documented keys -----------------------------------------------------------------------------------


def fields(section: str) -> set[str]:
    cls = SECTIONS.get(section)
    return {f.name for f in dataclasses.fields(cls)} if cls is not None else set()


def table_keys(path: Path) -> list[tuple[int, str, str]]:
    """(line, section, key) of every row of a configuration table: a table whose first column header is
    `key` and whose first row names `section.key` of a configuration section (other `key` tables, such as
    a database's, are not about the configuration)."""
    out: list[tuple[int, str, str]] = []
    state = "out"  # out | header (first row decides) | config | other
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("|"):
            state = "out"
            continue
        first = line.strip("|").split("|")[0].strip()
        if first == "key":
            state = "header"
            continue
        if state in ("out", "other") or set(first) <= set("-: "):
            continue
        names = re.findall(r"`([\w.]+)`", first)
        if state == "header":
            head = names[0] if names else ""
            state = "config" if "." in head and head.split(".")[0] in SECTIONS else "other"
            if state == "other":
                continue
        section = ""
        for name in names:
            if "." in name:
                section, _, key = name.partition(".")
            else:
                key = name
            out.append((number, section, key))
    return out


DOCUMENTED = [
    (path, number, section, key)
    for path in DOCS
    for number, section, key in [
        *table_keys(path),
        *[
            (n, m.group(1).lower(), m.group(2).lower())
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            for m in ENV_KEY.finditer(line)
        ],
        *[
            (n, m.group(1), m.group(2))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            for m in SECTION_KEY.finditer(line)
            if m.group(1) in SECTIONS
        ],
    ]
]


@pytest.mark.parametrize(
    ("path", "number", "section", "key"),
    DOCUMENTED,
    ids=[f"{p.relative_to(ROOT)}:{n}:{s}.{k}" for p, n, s, k in DOCUMENTED],
)
def test_documented_keys_are_accepted(path: Path, number: int, section: str, key: str) -> None:
    where = f"{path.relative_to(ROOT)}:{number}"
    assert section in SECTIONS, f"{where}: [{section}] is not a configuration section ({', '.join(SECTIONS)})"
    assert key in fields(section), f"{where}: {section}.{key} is not a key of [{section}]"
    layer = env_layer({f"P1GW_{section.upper()}__{key.upper()}": ""})
    assert layer == {section: {key: ""}}


def test_documented_keys_cover_every_configuration_key() -> None:
    """docs/gateway.md's table lists every key the loader accepts (and nothing it does not)."""
    listed = {(s, k) for _, _, s, k in DOCUMENTED}
    every = {(section, key) for section in SECTIONS for key in fields(section)}
    assert every - listed == set(), "undocumented configuration keys"
