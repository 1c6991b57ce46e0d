"""What each install gives: `pip install p1-gateway` is the parser and its CRC library, the extras the rest.

Strategy: the declared dependencies are read from pyproject.toml (what the wheel's Requires-Dist is built
from); what code needs is checked by importing it in a fresh interpreter where every third-party package the
extra does not declare is made impossible to import (a `sys.meta_path` finder raising ModuleNotFoundError, as
a missing package does), so the test venv, which has everything, can stand in for each smaller install.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from gateway.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
IMPORT_NAMES = {  # distribution -> the top-level module it installs, where the two differ
    "crcmod-plus": "crcmod",
    "pyserial": "serial",
    "pyserial-asyncio-fast": "serial_asyncio_fast",
    "fastapi-offline": "fastapi_offline",
}
RUNTIME_EXTRAS = ("gateway", "sim", "share", "hub", "demo", "postgres", "pdf")

# A fresh interpreter that cannot import `blocked` packages, then runs `code`.
BLOCKING = """
import json, sys
blocked = set(json.loads(sys.argv[1]))
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())
"""

IMPORT_ALL = """
import importlib, pkgutil
failed = {}
for target in json.loads(sys.argv[2]):
    names = [target]
    module = importlib.import_module(target)
    if hasattr(module, "__path__"):
        names += [m.name for m in pkgutil.walk_packages(module.__path__, target + ".")
                  if not m.name.endswith("__main__")]
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            failed[name] = exc.name
print(json.dumps(failed))
"""


def _requirements(extra: str | None) -> list[Requirement]:
    return [Requirement(text) for text in (PROJECT["dependencies"] if extra is None else EXTRAS[extra])]


def _module_names(extra: str | None, seen: frozenset[str] = frozenset()) -> set[str]:
    """Top-level modules an install with `extra` (None: the base) provides, self-references followed."""
    names = {IMPORT_NAMES.get(r.name, r.name.replace("-", "_")) for r in _requirements(None)}
    if extra is None:
        return names
    for requirement in _requirements(extra):
        if requirement.name == PROJECT["name"]:
            for inner in requirement.extras - seen:
                names |= _module_names(inner, seen | {extra})
        else:
            names.add(IMPORT_NAMES.get(requirement.name, requirement.name.replace("-", "_")))
    return names


def _blocked_without(extra: str | None) -> list[str]:
    """Every declared third-party module that an install with `extra` does not provide."""
    return sorted(set().union(*(_module_names(e) for e in RUNTIME_EXTRAS)) - _module_names(extra))


def _run(code: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *(json.dumps(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_the_base_install_requires_the_crc_library_and_tzdata_only_on_windows() -> None:
    base = {r.name: r for r in _requirements(None)}
    assert set(base) == {"crcmod-plus", "tzdata"}
    assert base["crcmod-plus"].marker is None
    tzdata = base["tzdata"].marker
    assert tzdata is not None  # zoneinfo has the OS's database everywhere but on Windows
    assert tzdata.evaluate({"sys_platform": "win32"}) and not tzdata.evaluate({"sys_platform": "linux"})


def test_every_extra_a_command_names_exists_and_all_holds_them_all() -> None:
    assert {c.extra for c in COMMANDS.values() if c.extra} <= set(EXTRAS)
    (everything,) = _requirements("all")
    assert everything.name == PROJECT["name"] and everything.extras == set(RUNTIME_EXTRAS)
    (dev_all,) = [r for r in _requirements("dev") if r.name == PROJECT["name"]]
    assert dev_all.extras == {"all"}  # the tests import every part


def test_import_dsmr_parser_imports_only_the_stdlib_and_the_crc_library() -> None:
    proc = _run(
        "import sys\n"
        "before = set(sys.modules)\n"
        "import dsmr_parser\n"
        "import os\n"
        "stdlib = os.path.dirname(os.__file__)  # _sysconfigdata_* and the like are not in the names\n"
        "def outside(name):\n"
        "    where = getattr(sys.modules[name], '__file__', None) or ''\n"
        "    inside = where.startswith(stdlib) and 'site-packages' not in where\n"
        "    return name.split('.')[0] not in sys.stdlib_module_names and not inside\n"
        "print(sorted({n.split('.')[0] for n in set(sys.modules) - before if outside(n)}))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['crcmod', 'dsmr_parser']"


@pytest.mark.parametrize(
    ("extra", "modules"),
    [
        (None, ["dsmr_parser.builder", "dsmr_parser.reader", "metering.quarter_hours", "prepayment"]),
        ("sim", ["meter_sim", "gateway.cli.sim", "dsmr_parser"]),
        ("share", ["sharing.cli", "sharing.ingest", "gateway.cli.share", "gateway.cli.statement"]),
        ("hub", ["sharing.hub", "gateway.cli.hub"]),
        ("gateway", ["gateway", "analysis", "tariffs", "prepayment", "metering", "dsmr_parser"]),
    ],
)  # fmt: skip
def test_each_extra_provides_what_its_code_imports(extra: str | None, modules: list[str]) -> None:
    proc = _run(BLOCKING + IMPORT_ALL, _blocked_without(extra), modules)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == {}, f"[{extra}] misses packages these modules import"


def test_p1gw_without_the_gateway_extra_names_the_extra_to_install() -> None:
    code = BLOCKING + "from gateway.cli import main\nsys.exit(main(json.loads(sys.argv[2])))"
    bare = _blocked_without(None)
    proc = _run(code, bare, ["run", "--port", "sim:be-3ph"])
    assert proc.returncode == 2
    assert "p1gw run:" in proc.stderr and "pip install 'p1-gateway[gateway]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run(code, bare, ["share", "--help"])
    assert proc.returncode == 2 and "pip install 'p1-gateway[share]'" in proc.stderr
    listing = _run(code, bare, ["--help"])  # the command list needs no extra
    assert listing.returncode == 0 and "doctor" in listing.stdout


def test_p1gw_parse_works_on_the_base_install() -> None:
    telegram = (ROOT / "tests/dsmr_parser/telegrams/fluvius_v171.txt").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKING + "from gateway.cli import main\nsys.exit(main(['parse', '-']))",
         json.dumps(_blocked_without(None))],
        input=telegram, capture_output=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["header"]
