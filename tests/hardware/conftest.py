"""Fixtures for the Raspberry Pi deployment tests: the project's wheel and a real Mosquitto."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # hw_support sits beside this file, whatever the import mode
from hw_support import ROOT, _skip_caches, start_mosquitto


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once from a clean copy of the checkout (the tree is shared)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("install.sh tests need root and useradd (they create users inside a temp root)")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    skip = {".venv", ".bench-venv", ".git", "build", "dist", "__pycache__", "artifacts"}
    with tarfile.open(base / "src.tar", "w") as tar:
        for entry in ROOT.iterdir():
            if entry.name not in skip and not entry.name.endswith(".egg-info"):
                tar.add(entry, arcname=entry.name, filter=_skip_caches)
    with tarfile.open(base / "src.tar") as tar:
        tar.extractall(src, filter="data")
    out = base / "dist"
    # pure Python (P1GW_COMPILE=0): these tests check the installer, not the mypyc build, which scripts/test
    # builds and tests on its own; compiling here took over five minutes on a loaded machine
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "P1GW_COMPILE": "0"},
    )
    wheels = list(out.glob("p1_gateway-*.whl"))
    if proc.returncode != 0 or not wheels:
        pytest.skip(f"could not build the project's wheel (build backend unavailable?): {proc.stderr[-300:]}")
    return wheels[0]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[int]:
    """Port of a running anonymous Mosquitto, stopped after the test."""
    proc, port = start_mosquitto(tmp_path)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
