"""Helpers for the Raspberry Pi deployment tests: throwaway roots, install.sh, a real Mosquitto.

The install tests run the real hardware/install.sh into a directory seeded like a minimal Debian
root (passwd, group, shadow, gshadow with root and dialout), never into /. The broker fixture starts
the real /usr/sbin/mosquitto on a free loopback port with a config written by the test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SH = ROOT / "hardware" / "install.sh"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

# Files shadow-utils leaves behind on any system it touches: backups and its lock file.
SHADOW_LEFTOVERS = ("etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-", "etc/.pwd.lock")


def seed_root(root: Path) -> Path:
    """A minimal Debian-like root: just the account databases install.sh edits."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\ndialout:*::\n")
    (etc / "shadow").chmod(0o640)
    (etc / "gshadow").chmod(0o640)
    return root


def snapshot(root: Path, *, ignore: tuple[str, ...] = ()) -> dict[str, tuple[object, ...]]:
    """Every path under root with its type, mode, owner and, for files, content hash and mtime."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if rel in ignore:
                continue
            st = path.lstat()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", st.st_mode, st.st_uid, st.st_gid)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[rel] = ("file", st.st_mode, st.st_uid, st.st_gid, digest, st.st_mtime_ns)
    return out


def run_install(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run hardware/install.sh with the test interpreter for the venv and no network for pip."""
    cmd = [
        "bash",
        str(INSTALL_SH),
        "--python",
        sys.executable,
        "--pip-args",
        "--no-deps --no-index",
        *map(str, args),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"install.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _skip_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = info.name.split("/")
    if any(p == "__pycache__" or p.endswith("_cache") or p == ".hypothesis" for p in parts):
        return None
    return info


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def start_mosquitto(
    tmp: Path, extra_conf: str = "allow_anonymous true\n"
) -> tuple[subprocess.Popen[bytes], int]:
    """A real Mosquitto on a free loopback port; the caller terminates it."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (scripts/bootstrap installs it)")
    port = free_port()
    conf = tmp / f"mosquitto-{port}.conf"
    conf.write_text(f"listener {port} 127.0.0.1\n{extra_conf}persistence false\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port)
    except TimeoutError:
        proc.kill()
        _, err = proc.communicate(timeout=5)
        raise RuntimeError(f"mosquitto did not start: {err.decode(errors='replace')[-500:]}") from None
    return proc, port
