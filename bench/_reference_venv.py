"""The reference `dsmr-parser` (from PyPI) in its own venv, `.bench-venv` at the project root: its import name
collides with ours, so it always runs as a separate process. Made on first use, then reused; benchmarks and
tests share it (a lock keeps two first uses from building it at the same time; a half-built venv, without
the marker file, is rebuilt)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv"
_MARKER = VENV / ".dsmr-parser-installed"


def reference_python() -> Path:
    """The venv's interpreter, with `dsmr-parser` installed (raises CalledProcessError when pip fails)."""
    python = VENV / "bin" / "python"
    if _MARKER.exists():
        return python
    with open(ROOT / ".bench-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _MARKER.exists() or _importable(python):
            _MARKER.touch()
            return python
        if VENV.exists() and not _importable(python):
            shutil.rmtree(VENV)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "dsmr-parser"], check=True, capture_output=True
        )
        _MARKER.touch()
    return python


def _importable(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-I", "-c", "import dsmr_parser.clients.protocol"], capture_output=True, cwd="/"
    )
    return probe.returncode == 0
