"""Soak harness: `p1gw sim` -> TCP proxy -> `p1gw run` -> Mosquitto + SQLite, faults, checked against truth.

Strategy: every component is a real process or socket. The simulator (`p1gw sim --tcp`) runs for the whole
simulated period and writes its own truth (exact per-quarter-hour register deltas in Wh). It cannot be
restarted as the same meter (a new process starts again from the seeded registers), so a *port drop* is made
by a small TCP proxy owned by the harness, standing where ser2net would: it keeps reading the meter and throws
the bytes away while its client side is down (connections closed, new ones refused), exactly what the
gateway sees when a cable or ser2net goes away. The other faults: the broker is stopped and started again
(a `Broker` from tests/conftest.py, persistence on, so a persistent-session collector misses nothing), the
gateway is SIGKILLed in the middle of a quarter-hour and started again on the same database, the simulator
corrupts a share of the telegrams (`--faults corrupt=P`), and the disk holding the database and the MQTT
queue is filled to the last byte (a tmpfs mounted for the data directory; where mounting is not allowed,
`prlimit(RLIMIT_FSIZE)` on the gateway process makes every file growth fail with EFBIG instead), then freed.

While it runs the harness samples the gateway's RSS (psutil) and its `/api/v1/health` (queue depth, skew,
store errors), counts its log lines (JSON, one object per line) and collects the `quarter_hour` messages
from MQTT. `check()` then compares the store and MQTT with the truth (see `Verdict`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
SLOTS = ("import_day", "import_night", "export_day", "export_night")
FAULTS = ("broker", "port", "sigkill", "disk")
Wh = tuple[int, int, int, int]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


# -- the port: a ser2net-like proxy that can drop its client side -------------------------------------------
class DroppingProxy:
    """Reads the meter (upstream TCP) all the time; forwards to clients unless dropped."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.clients: list[socket.socket] = []
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.drops = 0
        self.bytes_discarded = 0
        self.upstream_ended = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._server.listen(8)
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()
        threading.Thread(target=self._pump, daemon=True, name="proxy-pump").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                conn.close()  # the port is down: refused right after accept, as a dead ser2net
                continue
            with self.lock:
                self.clients.append(conn)

    def _pump(self) -> None:
        up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        with up:
            while True:
                try:
                    data = up.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    break
                with self.lock:
                    if not self.clients:
                        self.bytes_discarded += len(data)
                    for conn in list(self.clients):
                        try:
                            conn.sendall(data)
                        except OSError:
                            self.clients.remove(conn)
                            conn.close()
        self.upstream_ended.set()
        self.close_clients()

    def close_clients(self) -> None:
        with self.lock:
            for conn in self.clients:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self.clients.clear()

    def drop(self, down_s: float) -> None:
        """Close every client connection and refuse new ones for `down_s` wall seconds."""
        self.drops += 1
        self.down_until = time.monotonic() + down_s
        self.close_clients()

    def close(self) -> None:
        self._server.close()
        self.close_clients()


# -- the disk ---------------------------------------------------------------------------------------------
class DataDir:
    """The gateway's data directory: a small tmpfs when mounting works (root), else a plain directory whose
    fullness is simulated with prlimit(RLIMIT_FSIZE) on the gateway process."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.mounted = False
        self.method = "prlimit RLIMIT_FSIZE"
        if os.geteuid() == 0 and shutil.which("mount"):
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path)],
                capture_output=True,
            )
            if done.returncode == 0:
                self.mounted = True
                self.method = f"tmpfs {size_mb} MB, filled to the last byte"
        self._filler = path / "filler.bin"
        self._limited: int | None = None

    def fill(self, pid: int) -> None:
        if self.mounted:
            fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                for size in (1 << 20, 4096, 512, 1):  # to the last byte
                    chunk = b"\0" * size
                    with contextlib.suppress(OSError):
                        while True:
                            os.write(fd, chunk)
            finally:
                os.close(fd)
        else:
            biggest = max((f.stat().st_size for f in self.path.iterdir() if f.is_file()), default=0)
            psutil.Process(pid).rlimit(psutil.RLIMIT_FSIZE, (biggest, biggest))
            self._limited = pid

    def free(self) -> None:
        if self.mounted:
            self._filler.unlink(missing_ok=True)
        elif self._limited is not None:
            with contextlib.suppress(psutil.Error):
                unlimited = resource.RLIM_INFINITY
                psutil.Process(self._limited).rlimit(psutil.RLIMIT_FSIZE, (unlimited, unlimited))
            self._limited = None

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False


# -- MQTT: a persistent-session subscriber ----------------------------------------------------------------
class Collector:
    """Collects `p1gw/+/quarter_hour` (QoS 1) in a persistent session: survives broker restarts."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"soak-collector-{os.getpid()}-{port}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        # paho annotates the delays as int, yet waits any float of seconds; the soak wants 0.1 s
        self.client.reconnect_delay_set(0.1, 1.0)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError("the MQTT collector could not connect")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not flags.session_present:
            client.subscribe("p1gw/+/quarter_hour", qos=1)
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def quarter_hours(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for _, p, _ in self.messages]

    def close(self) -> None:
        self.client.loop_stop()
        with contextlib.suppress(Exception):
            self.client.disconnect()


# -- the run ----------------------------------------------------------------------------------------------
@dataclass
class SoakConfig:
    """One soak run: `duration_s` simulated seconds at `speed` x real time, one telegram per `every` s."""

    workdir: Path
    duration_s: int = 3 * 3600
    speed: float = 300.0
    every: int = 1
    start: str = "2026-03-02T00:00:00+01:00"
    seed: int = 7
    corrupt: float = 0.05
    faults: tuple[str, ...] = FAULTS
    fault_period_s: int | None = None  # simulated seconds between rounds of faults (None: one round)
    disk_mb: int = 48
    log_format: str = "json"
    extra_env: dict[str, str] = field(default_factory=dict)
    gateway_prefix: tuple[str, ...] = ()  # a command the gateway runs under (it must exec, not fork)
    progress: Callable[[str], None] | None = None

    @property
    def wall_s(self) -> float:
        return self.duration_s / self.speed

    def sim_to_wall(self, sim_s: float) -> float:
        return sim_s / self.speed


@dataclass
class FaultLog:
    kind: str
    wall_s: float
    meter_time: str | None
    detail: str = ""


@dataclass
class Run:
    """What happened: fault log, RSS samples per gateway process, health samples, paths."""

    config: SoakConfig
    truth_path: Path
    db_path: Path
    log_path: Path
    faults: list[FaultLog] = field(default_factory=list)
    rss: list[list[tuple[float, int]]] = field(default_factory=list)  # per gateway process: (wall, bytes)
    health: list[dict[str, Any]] = field(default_factory=list)
    metrics_text: str = ""
    mqtt: list[dict[str, Any]] = field(default_factory=list)
    mqtt_retained: int = 0
    disk_method: str = ""
    proxy_bytes_discarded: int = 0
    sim_stderr: str = ""
    gateway_exit: int | None = None
    wall_s: float = 0.0


class Soak:
    """Runs one soak: `with Soak(config, broker) as soak: run = soak.run()`."""

    def __init__(self, config: SoakConfig, broker: Any) -> None:
        self.cfg = config
        self.broker = broker
        wd = config.workdir
        wd.mkdir(parents=True, exist_ok=True)
        self.data = DataDir(wd / "data", config.disk_mb)
        self.sim_port = free_port()
        self.http_port = free_port()
        self.truth_path = wd / "truth.csv"
        self.db_path = self.data.path / "soak.db"
        self.log_path = wd / "gateway.log"
        self.sim: subprocess.Popen[bytes] | None = None
        self.gateway: subprocess.Popen[bytes] | None = None
        self.proxy: DroppingProxy | None = None
        self.collector: Collector | None = None
        self._stop_sampling = threading.Event()
        self._samples_lock = threading.Lock()

    def __enter__(self) -> Soak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_sampling.set()
        for proc in (self.gateway, self.sim):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        if self.proxy is not None:
            self.proxy.close()
        if self.collector is not None:
            self.collector.close()
        self.data.free()
        self.data.close()

    def _say(self, text: str) -> None:
        if self.cfg.progress is not None:
            self.cfg.progress(text)

    # -- processes ---------------------------------------------------------------------------------------
    def _start_sim(self) -> None:
        c = self.cfg
        args = [
            sys.executable, "-m", "gateway.cli", "sim", "--meter", "be-3ph", "--seed", str(c.seed),
            "--start", c.start, "--duration", str(c.duration_s), "--speed", str(c.speed),
            "--every", str(c.every), "--tcp", f"127.0.0.1:{self.sim_port}", "--truth", str(self.truth_path),
        ]  # fmt: skip
        if c.corrupt:
            args += ["--faults", f"corrupt={c.corrupt}"]
        with open(c.workdir / "sim.stderr", "wb") as err:  # the child keeps its own descriptor
            self.sim = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)

    def _start_gateway(self) -> None:
        c = self.cfg
        env = {**os.environ, "P1GW_SOURCE__RECONNECT_MAX_S": "0.5", **c.extra_env}
        args = [
            *c.gateway_prefix, sys.executable, "-m", "gateway.cli", "run",
            "--port", f"socket://127.0.0.1:{self.proxy_port}", "--db", str(self.db_path),
            "--http", f"127.0.0.1:{self.http_port}", "--mqtt", self.broker.url,
            "--log-format", c.log_format, "--log-level", "info",
        ]  # fmt: skip
        with open(self.log_path, "ab") as err:  # one log across restarts
            self.gateway = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, env=env)
        with self._samples_lock:
            self._rss.append([])

    @property
    def proxy_port(self) -> int:
        assert self.proxy is not None
        return self.proxy.port

    def health(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.http_port}/api/v1/health", timeout=2.0)
            return dict(response.json())
        except (httpx.HTTPError, ValueError):
            return None

    def wait_health(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.health()
            if found is not None and predicate(found):
                return found
            time.sleep(0.05)
        raise TimeoutError(f"health never satisfied the condition; last: {self.health()}")

    def _sampler(self) -> None:
        t0 = time.monotonic()
        last_health = 0.0
        while not self._stop_sampling.wait(0.25):
            gw = self.gateway
            now = time.monotonic() - t0
            if gw is not None and gw.poll() is None:
                with contextlib.suppress(psutil.Error), self._samples_lock:
                    self._rss[-1].append((now, psutil.Process(gw.pid).memory_info().rss))
            if now - last_health >= 1.0:
                last_health = now
                found = self.health()
                if found is not None:
                    found["_wall_s"] = round(now, 2)
                    with self._samples_lock:
                        self._health.append(found)

    # -- faults ------------------------------------------------------------------------------------------
    def _meter_time(self) -> str | None:
        found = self.health()
        return found.get("last_meter_time") if found else None

    def _fault(self, kind: str, t0: float, run: Run) -> None:
        c = self.cfg
        assert self.gateway is not None and self.proxy is not None
        at = round(time.monotonic() - t0, 2)
        if kind == "broker":
            down = max(1.0, c.sim_to_wall(1800))  # two quarter-hours of the meter's time
            run.faults.append(FaultLog(kind, at, self._meter_time(), f"broker down {down:.1f} s wall"))
            self.broker.stop()
            time.sleep(down)
            self.broker.start()
        elif kind == "port":
            down = max(1.0, c.sim_to_wall(1350))  # a quarter-hour and a half
            run.faults.append(FaultLog(kind, at, self._meter_time(), f"port down {down:.1f} s wall"))
            self.proxy.drop(down)
            time.sleep(down)
        elif kind == "sigkill":
            # in the middle of a quarter-hour of the meter's time (minutes 4..10 of it)
            deadline = time.monotonic() + c.sim_to_wall(1800) + 5
            while time.monotonic() < deadline:
                stamp = self._meter_time()
                if stamp is not None and 4 <= datetime.fromisoformat(stamp).minute % 15 <= 10:
                    break
                time.sleep(0.01)
            stamp = self._meter_time()
            self.gateway.send_signal(signal.SIGKILL)
            self.gateway.wait(10)
            down = max(0.5, c.sim_to_wall(600))
            run.faults.append(FaultLog(kind, at, stamp, f"killed, restarted after {down:.1f} s wall"))
            time.sleep(down)
            self._start_gateway()
            self.wait_health(lambda h: h.get("telegrams", 0) > 0)
        elif kind == "disk":
            full = max(1.0, c.sim_to_wall(1800))
            run.faults.append(FaultLog(kind, at, self._meter_time(), f"disk full {full:.1f} s wall"))
            self.data.fill(self.gateway.pid)
            time.sleep(full)
            self.data.free()
        else:
            raise ValueError(f"unknown fault {kind!r}")
        self._say(f"{kind} at {at:.0f} s (meter {run.faults[-1].meter_time}): {run.faults[-1].detail}")

    def schedule(self) -> list[tuple[float, str]]:
        """(wall second, fault): one round spread over the run, or one round per `fault_period_s`."""
        c = self.cfg
        period = c.fault_period_s or c.duration_s
        rounds = max(1, int(c.duration_s // period))
        out = []
        for r in range(rounds):
            base = r * period
            for i, kind in enumerate(c.faults):
                frac = 0.15 + 0.65 * i / max(1, len(c.faults))
                out.append((c.sim_to_wall(base + frac * period), kind))
        return out

    def _drain(self, quiet_s: float = 2.0, timeout_s: float = 60.0) -> None:
        """Wait until the gateway has read everything the meter sent (its meter time stops moving)."""
        last, since = None, time.monotonic()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
            stamp = self._meter_time()
            if stamp != last:
                last, since = stamp, time.monotonic()
            time.sleep(0.1)

    # -- the whole run -----------------------------------------------------------------------------------
    def run(self) -> Run:
        c = self.cfg
        run = Run(c, self.truth_path, self.db_path, self.log_path, disk_method=self.data.method)
        self._rss: list[list[tuple[float, int]]] = []
        self._health: list[dict[str, Any]] = []
        self.collector = Collector(self.broker.host, self.broker.port)
        self._start_sim()
        wait_port(self.sim_port)
        self.proxy = DroppingProxy(self.sim_port)
        t0 = time.monotonic()
        self._start_gateway()
        threading.Thread(target=self._sampler, daemon=True, name="sampler").start()
        self.wait_health(lambda h: h.get("telegrams", 0) > 0)
        self._say(f"running: {c.duration_s / 86400:.2f} simulated days at {c.speed:g}x, every {c.every} s, "
                  f"about {c.wall_s:.0f} s of wall time")  # fmt: skip
        for at, kind in self.schedule():
            delay = t0 + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if self.sim is not None and self.sim.poll() is not None:
                break
            self._fault(kind, t0, run)
        # the meter finishes its period; then the gateway is stopped cleanly
        assert self.sim is not None
        self.sim.wait(timeout=c.wall_s + 120)
        self.proxy.upstream_ended.wait(10)
        self._drain()
        with contextlib.suppress(Exception):
            run.metrics_text = httpx.get(f"http://127.0.0.1:{self.http_port}/api/v1/metrics", timeout=5).text
        assert self.gateway is not None
        self.gateway.send_signal(signal.SIGTERM)
        run.gateway_exit = self.gateway.wait(30)
        self._stop_sampling.set()
        run.wall_s = time.monotonic() - t0
        time.sleep(1.0)  # last QoS 1 deliveries to the collector
        assert self.collector is not None
        run.mqtt = self.collector.quarter_hours()
        with self._samples_lock:
            run.rss = [list(r) for r in self._rss]
            run.health = list(self._health)
        run.proxy_bytes_discarded = self.proxy.bytes_discarded
        kept = c.workdir / "result"  # the data directory may be a tmpfs, unmounted at close()
        kept.mkdir(exist_ok=True)
        for path in self.data.path.glob("soak*"):
            shutil.copy2(path, kept / path.name)
        run.db_path = kept / self.db_path.name
        run.sim_stderr = (c.workdir / "sim.stderr").read_text(errors="replace")
        return run


# -- checking ---------------------------------------------------------------------------------------------
def read_truth(path: Path) -> dict[str, Wh]:
    with open(path, newline="") as fh:
        return {
            row["start"]: (
                int(row["import_t1_wh"]), int(row["import_t2_wh"]),
                int(row["export_t1_wh"]), int(row["export_t2_wh"]),
            )
            for row in csv.DictReader(fh)
        }  # fmt: skip


def stored_records(db: Path) -> list[dict[str, Any]]:
    """Quarter-hours straight from SQLite (read-only, not through the gateway's code)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT meter_id, start_local, start_ts, import_day_wh, import_night_wh, export_day_wh, "
            "export_night_wh, complete, estimated FROM quarter_hours ORDER BY start_ts"
        ).fetchall()
    return [
        {
            "meter_id": r["meter_id"], "start": r["start_local"], "start_ts": r["start_ts"],
            "wh": (r["import_day_wh"], r["import_night_wh"], r["export_day_wh"], r["export_night_wh"]),
            "complete": bool(r["complete"]), "estimated": bool(r["estimated"]),
        }
        for r in rows
    ]  # fmt: skip


def four(slots: list[int]) -> Wh:
    """Day and night import, day and night export, as the Wh tuple."""
    day_in, night_in, day_out, night_out = slots
    return (day_in, night_in, day_out, night_out)


def record_wh(record: dict[str, Any]) -> Wh:
    day_in, night_in, day_out, night_out = (round(record[k] * 1000) for k in SLOTS)
    return (day_in, night_in, day_out, night_out)


@dataclass
class Verdict:
    """The comparison of the store and MQTT with the simulator's truth.

    Expected quarter-hours: every truth quarter-hour from the first one the gateway stored (a cold start's
    first quarter-hour starts mid-way: it is only required to be present and marked incomplete) to the last
    truth quarter-hour. For each: present exactly once in the store; not `estimated` -> equal to the truth
    in Wh on all four registers; `estimated` (a boundary interpolated across an outage) -> each maximal run
    of consecutive estimated quarter-hours sums exactly to the truth over the same run, register by register
    (its outer boundaries are real readings, so nothing is lost or counted twice); a run that ends at a
    missing quarter-hour is not compared (the missing one is already a failure).
    """

    expected: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    exact: int = 0
    estimated: int = 0
    mismatched: list[tuple[str, Wh, Wh, bool]] = field(default_factory=list)  # start, got, want, estimated
    estimated_runs: int = 0
    estimated_runs_mismatched: list[tuple[str, Wh, Wh]] = field(default_factory=list)
    mqtt_present: int = 0
    mqtt_missing: list[str] = field(default_factory=list)
    mqtt_duplicates: int = 0
    mqtt_differs: list[str] = field(default_factory=list)
    first_incomplete: bool = True

    @property
    def ok(self) -> bool:
        return not (
            self.missing or self.duplicated or self.extra or self.mismatched or self.estimated_runs_mismatched
            or self.mqtt_missing or self.mqtt_differs or not self.first_incomplete
        )  # fmt: skip

    def problems(self) -> str:
        return json.dumps(
            {k: v[:10] if isinstance(v, list) else v for k, v in self.__dict__.items()}, default=str, indent=1
        )


def check(run: Run) -> Verdict:
    truth = read_truth(run.truth_path)
    records = stored_records(run.db_path)
    v = Verdict()
    if not records:
        v.missing = list(truth)
        return v
    counts = Counter(r["start"] for r in records)
    v.duplicated = [s for s, n in counts.items() if n > 1]
    by_start = {r["start"]: r for r in records}
    first = records[0]["start"]
    order = sorted(truth, key=lambda s: datetime.fromisoformat(s))
    expected = [s for s in order if datetime.fromisoformat(s) >= datetime.fromisoformat(first)]
    v.expected = len(expected)
    v.extra = [s for s in by_start if s not in truth]
    v.first_incomplete = not by_start[first]["complete"] or by_start[first]["wh"] == truth.get(first)
    run_got: list[int] = [0, 0, 0, 0]
    run_want: list[int] = [0, 0, 0, 0]
    run_start: str | None = None
    for start in [*expected, None]:  # None: the end, closing a last run of estimated quarter-hours
        record = by_start.get(start) if start is not None else None
        if start is not None and record is None:
            v.missing.append(start)
        elif start is not None:
            v.present += 1
        if record is not None and record["estimated"] and start != first:
            v.estimated += 1
            assert start is not None  # a record was found under it
            run_start = run_start or start
            for i in range(4):
                run_got[i] += record["wh"][i]
                run_want[i] += truth[start][i]
            continue
        if run_start is not None:  # a run of estimated quarter-hours ended
            v.estimated_runs += 1
            # a run cut short by a missing quarter-hour has no real end boundary: that one is reported missing
            if run_got != run_want and record is not None:
                v.estimated_runs_mismatched.append((run_start, four(run_got), four(run_want)))
            run_got, run_want, run_start = [0, 0, 0, 0], [0, 0, 0, 0], None
        if record is None or start == first:
            continue
        assert start is not None  # a record was found under it
        if record["wh"] == truth[start]:
            v.exact += 1
        else:
            v.mismatched.append((start, record["wh"], truth[start], record["estimated"]))
    # MQTT: the same quarter-hours, deduplicated by (meter_id, start), with the same values as the store
    published: dict[tuple[str, str], list[Wh]] = {}
    for msg in run.mqtt:
        published.setdefault((msg["meter_id"], msg["start"]), []).append(record_wh(msg))
    v.mqtt_duplicates = sum(len(x) - 1 for x in published.values())
    for start in expected:
        record = by_start.get(start)
        if record is None:
            continue
        seen = published.get((record["meter_id"], start))
        if not seen:
            v.mqtt_missing.append(start)
        elif any(wh != record["wh"] for wh in seen):
            v.mqtt_differs.append(start)
        else:
            v.mqtt_present += 1
    return v


# -- figures ----------------------------------------------------------------------------------------------
def log_lines(path: Path) -> list[dict[str, Any]]:
    """The gateway's log as JSON objects; a line that is not one JSON object is returned as {"raw": line}."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = {"raw": line}
        out.append(item if isinstance(item, dict) else {"raw": line})
    return out


def rss_figures(run: Run, warmup: float = 0.25) -> dict[str, float]:
    """RSS in MB of the longest-lived gateway process: at the end of warm-up, peak after it, at the end."""
    alive = [[(t, b) for t, b in samples if b > 8 * 1024 * 1024] for samples in run.rss]  # not exiting
    longest = max(alive, key=len, default=[])
    if len(longest) < 4:
        return {"samples": len(longest), "start_mb": 0.0, "peak_mb": 0.0, "end_mb": 0.0, "growth_mb": 0.0}
    skip = int(len(longest) * warmup)
    after = [b for _, b in longest[skip:]]
    mb = 1024 * 1024
    return {
        "samples": len(longest),
        "first_mb": round(longest[0][1] / mb, 1),
        "start_mb": round(after[0] / mb, 1),
        "peak_mb": round(max(after) / mb, 1),
        "end_mb": round(after[-1] / mb, 1),
        "growth_mb": round((max(after[-max(1, len(after) // 10) :]) - after[0]) / mb, 1),
    }


def summary(run: Run, verdict: Verdict) -> dict[str, Any]:
    lines = log_lines(run.log_path)
    sim_hours = run.config.duration_s / 3600
    depth = [h.get("queue_depth") or 0 for h in run.health]
    levels = Counter(str(item.get("level", "raw")) for item in lines)
    messages = Counter(str(item.get("msg", item.get("raw", "")))[:60] for item in lines)
    return {
        "simulated_days": round(run.config.duration_s / 86400, 2),
        "speed": run.config.speed,
        "every_s": run.config.every,
        "wall_s": round(run.wall_s, 1),
        "quarter_hours": {
            "expected": verdict.expected,
            "present": verdict.present,
            "missing": len(verdict.missing),
            "duplicated": len(verdict.duplicated),
            "exact": verdict.exact,
            "estimated": verdict.estimated,
            "estimated_runs": verdict.estimated_runs,
            "mismatched": len(verdict.mismatched),
            "estimated_runs_mismatched": len(verdict.estimated_runs_mismatched),
        },
        "mqtt": {
            "present": verdict.mqtt_present,
            "missing": len(verdict.mqtt_missing),
            "redelivered": verdict.mqtt_duplicates,
            "differs": len(verdict.mqtt_differs),
            "queue_max_depth": max(depth, default=0),
        },
        "faults": Counter(f.kind for f in run.faults),
        "fault_log": [f.__dict__ for f in run.faults],
        "sim": run.sim_stderr.strip().splitlines()[-1:] if run.sim_stderr.strip() else [],
        "disk_full_method": run.disk_method,
        "rss": rss_figures(run),
        "log": {
            "lines": len(lines),
            "per_simulated_hour": round(len(lines) / sim_hours, 2),
            "levels": dict(levels),
            "top": messages.most_common(8),
        },
        "store_errors_max": max((h.get("store", {}).get("errors") or 0 for h in run.health), default=0),
        "gateway_exit": run.gateway_exit,
        "db_bytes": run.db_path.stat().st_size if run.db_path.exists() else 0,
    }


@contextlib.contextmanager
def soak_broker(directory: Path) -> Iterator[Any]:
    """A Mosquitto with persistence (sessions survive restarts), for bench/soak.py outside pytest."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import MOSQUITTO, Broker

    if MOSQUITTO is None:
        raise SystemExit("mosquitto is not installed (scripts/bootstrap installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    broker = Broker(dir=directory, port=free_port(), persistence=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
