"""Shared fixtures: a real Mosquitto broker per test, and a real MQTT subscriber that records what crossed it.

Strategy: every broker gets its own config file in the test's tmp dir (`listener <port> 127.0.0.1`,
`allow_anonymous`, `persistence false`, a log file) and runs as `/usr/sbin/mosquitto -c <conf>` on a free
loopback port; the fixture waits until the port accepts TCP connections and kills the process at teardown.
`stop()` / `start()` restart it on the same port (broker-outage tests). Variants: `mosquitto_auth`
(password file made with `mosquitto_passwd -b`, anonymous refused) and `mosquitto_tls` (a throwaway CA
and server certificate made with `openssl`; a client certificate signed by the same CA is provided).
Tests are skipped, with the reason, when Mosquitto (or openssl for TLS) is not installed:
`scripts/bootstrap` installs it.

`mqtt_collector(broker, "p1gw/#")` is an async context manager factory: a real aiomqtt client (MQTT 5,
subscription QoS 2, retain-as-published) that records every message as `Received(topic, payload, retain,
qos)`, so a test asserts the QoS and retain flag the publisher really used. Messages a subscriber gets from
the broker's retained store on subscribe arrive with `retain=True` as well.

Example:
    async def test_x(mosquitto, mqtt_collector):
        async with mqtt_collector(mosquitto, "p1gw/#") as seen:
            ...  # publish something
            await seen.wait_for(lambda m: m.topic.endswith("/availability"))
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import random
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def _find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


MOSQUITTO = _find_mosquitto()
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
OPENSSL = shutil.which("openssl")
NO_MOSQUITTO = "mosquitto is not installed (scripts/bootstrap installs it from Debian's packages)"


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody uses right now and no other test was given, taken below the
    kernel's ephemeral range.

    The kernel never gives a client socket a port below that range. Inside it, a client retrying a
    stopped server (a broker restarted on the same port) can be given the server's port as its own
    and connect to itself (TCP simultaneous open): it then holds the port and the restarted server
    fails with "Address already in use".
    """
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(500):
        port = rng.randrange(max(1024, low - 12_000), low)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port below {low} on 127.0.0.1")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux; 49152, the IANA range, elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost, and a client certificate."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@dataclass
class Broker:
    """A running Mosquitto on 127.0.0.1:port; `stop()`/`start()` restart it on the same port."""

    dir: Path
    port: int
    host: str = "127.0.0.1"
    username: str | None = None
    password: str | None = None
    tls: TlsFiles | None = None
    require_certificate: bool = False
    persistence: bool = False
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def conf_path(self) -> Path:
        return self.dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.dir / "mosquitto.log"

    @property
    def scheme(self) -> str:
        return "mqtts" if self.tls else "mqtt"

    @property
    def url(self) -> str:
        """`mqtt://127.0.0.1:PORT` (`mqtts://` for TLS; `user:pass@` included when the broker needs it)."""
        cred = f"{self.username}:{self.password}@" if self.username else ""
        return f"{self.scheme}://{cred}{self.host}:{self.port}"

    @property
    def anonymous_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.username else 'true'}",
            "persistence true" if self.persistence else "persistence false",
            f"log_dest file {self.log_path}",
            "log_type all",
            "connection_messages true",
            "log_timestamp true",
        ]
        if self.persistence:  # sessions and retained messages survive stop()/start()
            lines.append(f"persistence_location {self.dir}/")
        if os.geteuid() == 0:  # mosquitto would otherwise drop to user "mosquitto" and lose our files
            lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
        if self.username:
            lines.append(f"password_file {self.dir / 'passwd'}")
        if self.tls:
            lines += [
                f"cafile {self.tls.ca_cert}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                f"require_certificate {'true' if self.require_certificate else 'false'}",
            ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout_s: float = 30.0) -> None:
        """Start (or restart) the broker on the same port and wait until it accepts connections."""
        if self.running:
            return
        assert MOSQUITTO is not None
        self._write_config()
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "mosquitto.stderr", "ab"),  # noqa: SIM115 - lives as long as the process
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = (self.dir / "mosquitto.stderr").read_text(errors="replace")
                raise RuntimeError(f"mosquitto exited with {self._proc.returncode}: {err}\n{self.log()}")
            if _port_open(self.host, self.port):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL); its in-memory state (retained, sessions) is gone."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def ssl_context(self, *, client_cert: bool = False) -> ssl.SSLContext:
        """A client SSL context trusting this broker's CA (optionally presenting the client certificate)."""
        assert self.tls is not None
        ctx = ssl.create_default_context(cafile=str(self.tls.ca_cert))
        if client_cert:
            ctx.load_cert_chain(str(self.tls.client_cert), str(self.tls.client_key))
        return ctx


def make_broker(
    directory: Path,
    *,
    username: str | None = None,
    password: str | None = None,
    tls: TlsFiles | None = None,
    require_certificate: bool = False,
    persistence: bool = False,
) -> Broker:
    """Create and start a broker whose files live in `directory` (skips the test without mosquitto)."""
    if MOSQUITTO is None:
        pytest.skip(NO_MOSQUITTO)
    directory.mkdir(parents=True, exist_ok=True)
    broker = Broker(
        dir=directory,
        port=free_port(),
        username=username,
        password=password,
        tls=tls,
        require_certificate=require_certificate,
        persistence=persistence,
    )
    if username:
        if MOSQUITTO_PASSWD is None:
            pytest.skip("mosquitto_passwd is not installed (package mosquitto)")
        passwd = directory / "passwd"
        passwd.touch()
        subprocess.run(
            [MOSQUITTO_PASSWD, "-b", str(passwd), username, password or ""], check=True, capture_output=True
        )
        passwd.chmod(0o600)
    broker.start()
    return broker


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate a self-signed CA, a server certificate (SAN 127.0.0.1, localhost) and a client certificate."""
    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    d = directory

    def run(*args: str) -> None:
        subprocess.run([OPENSSL, *args], check=True, capture_output=True, cwd=d)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=p1gw test CA")
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    (d / "client.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=p1gw-{name}")
        run(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
        )  # fmt: skip
    for key in d.glob("*.key"):
        key.chmod(0o644)  # mosquitto may read them as another user
    return TlsFiles(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A fresh anonymous Mosquitto (`.host`, `.port`, `.url`, `.stop()`, `.start()`, `.log_path`)."""
    broker = make_broker(tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mosquitto_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One anonymous Mosquitto shared by the whole session: use unique topics, do not stop it."""
    broker = make_broker(tmp_path_factory.mktemp("mosquitto-session"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_persistent(tmp_path: Path) -> Iterator[Broker]:
    """Like `mosquitto`, but with `persistence true`: persistent sessions (and their queued QoS 1
    messages) and retained messages survive `stop()`/`start()`. For outage tests with
    `mqtt_collector(..., session="name")`, which then miss nothing whoever reconnects first."""
    broker = make_broker(tmp_path / "mosquitto-persistent", persistence=True)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_auth(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto refusing anonymous clients; user `p1gw`, password `broker-secret` (in `.url`)."""
    broker = make_broker(tmp_path / "mosquitto-auth", username="p1gw", password="broker-secret")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mosquitto_tls(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    """A TLS-only Mosquitto (`mqtts://127.0.0.1:PORT`); trust `.tls.ca_cert`; client certs optional."""
    broker = make_broker(tmp_path / "mosquitto-tls", tls=tls_files)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_tls_client_cert(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Broker]:
    """A TLS Mosquitto that requires a client certificate (`.tls.client_cert` / `.tls.client_key`)."""
    broker = make_broker(tmp_path / "mosquitto-tls-cc", tls=tls_files, require_certificate=True)
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class Received:
    """One message as a subscriber saw it (retain as published, QoS as published: subscription QoS is 2)."""

    topic: str
    payload: bytes
    retain: bool
    qos: int

    @property
    def text(self) -> str:
        return self.payload.decode()


class Collector:
    """The messages a real subscriber received, in arrival order, with async waiting."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._changed = asyncio.Event()

    def _add(self, message: Received) -> None:
        self.messages.append(message)
        self._changed.set()

    def on(self, topic: str) -> list[Received]:
        """Messages on exactly this topic."""
        return [m for m in self.messages if m.topic == topic]

    def matching(self, predicate: Callable[[Received], bool]) -> list[Received]:
        return [m for m in self.messages if predicate(m)]

    async def wait_for(
        self, predicate: Callable[[Received], bool] = lambda m: True, *, count: int = 1, timeout: float = 60.0
    ) -> list[Received]:
        """Wait until at least `count` received messages satisfy `predicate`; returns them."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.matching(predicate)
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()

    async def settle(self, quiet_s: float = 0.3, *, timeout: float = 60.0) -> None:
        """Wait until no message arrived for `quiet_s` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                try:
                    async with asyncio.timeout(quiet_s):
                        await self._changed.wait()
                except TimeoutError:
                    return


CollectorFactory = Callable[..., contextlib.AbstractAsyncContextManager[Collector]]
"""What the `mqtt_collector` fixture gives: `async with mqtt_collector(broker, "p1gw/#") as seen:`."""


@pytest.fixture
def mqtt_collector() -> CollectorFactory:
    """Factory: `async with mqtt_collector(broker, "p1gw/#", ...) as seen:` subscribes before yielding."""

    @contextlib.asynccontextmanager
    async def collect(
        broker: Broker,
        *topics: str,
        client_cert: bool = False,
        session: str | None = None,
        subscribe: bool = True,
        **client_kwargs: Any,
    ) -> AsyncIterator[Collector]:
        """`session="name"`: a persistent session (client id `collector-name`, expiry 1 h): reopening the
        same session gets what the broker queued (QoS 1) while it was away; pass `subscribe=False` then,
        as subscribing again would also deliver the retained messages again."""
        import aiomqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        from paho.mqtt.subscribeoptions import SubscribeOptions

        kwargs: dict[str, Any] = {
            "hostname": broker.host,
            "port": broker.port,
            "protocol": aiomqtt.ProtocolVersion.V5,
            "username": broker.username,
            "password": broker.password,
        }
        if broker.tls:
            kwargs["tls_context"] = broker.ssl_context(client_cert=client_cert)
        if session is not None:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
            props.SessionExpiryInterval = 3600
            kwargs.update(identifier=f"collector-{session}", clean_start=False, properties=props)
        kwargs.update(client_kwargs)
        collector = Collector()
        async with aiomqtt.Client(**kwargs) as client:
            options = SubscribeOptions(qos=2, retainAsPublished=True)
            for topic in (topics or ("#",)) if subscribe else ():
                await client.subscribe(topic, options=options)

            async def pump() -> None:
                async for msg in client.messages:
                    raw = msg.payload
                    payload = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
                    collector._add(Received(str(msg.topic), payload, bool(msg.retain), int(msg.qos)))

            task = asyncio.create_task(pump())
            try:
                yield collector
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await task

    return collect


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Any]:
    """A real 16 MB tmpfs (root only) that a test fills to the last byte and frees: `DataDir` from
    tests/soak/harness.py."""
    from tests.soak.harness import DataDir

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    data = DataDir(tmp_path / "data", 16)
    if not data.mounted:
        pytest.skip("mount -t tmpfs is not allowed here")
    try:
        yield data
    finally:
        data.free()
        data.close()
