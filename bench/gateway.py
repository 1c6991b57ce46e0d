"""Gateway benchmarks: end-to-end latency, meters per core (hub mode), resident memory of `p1gw run`.

1. latency: telegram bytes written to a TCP socket (as ser2net) -> Gateway -> MqttPublisher -> a real
   Mosquitto -> a subscriber in this process; p50/p99 over N telegrams. Reference, same run: the same
   payload size published straight from an MQTT client to the same broker and subscriber.
2. hub mode: telegram streams of many simulated meters through one TelegramReader + QuarterHourAggregator
   each, in one process on one core; the cost per telegram gives the meters sustainable at 1 Hz
   (1 s / cost). Reference, same run: TelegramReader alone.
3. memory: RSS of a `p1gw run` process (in-process simulator at --rss-speed x, SQLite, Mosquitto, HTTP)
   sampled for --rss-seconds. Reference: RSS of a Python process that only imports the same modules.

Targets: p99 < 10 ms, >= 2,000 meters per core, < 80 MB RSS.

    .venv/bin/python bench/gateway.py                  # all three (about 3.5 minutes)
    .venv/bin/python bench/gateway.py --quick          # short version (about 40 s)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime.fromisoformat("2026-11-22T14:00:00+01:00")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        conf = directory / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false"]
        if os.geteuid() == 0:
            import pwd

            lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
        conf.write_text("\n".join(lines) + "\n")
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- 1. latency -------------------------------------------------------------------------------------------
async def latency(broker: Mosquitto, count: int, interval_s: float) -> dict[str, float]:
    import aiomqtt

    from gateway.mqtt import MqttPublisher, MqttSettings
    from gateway.pipeline import Gateway
    from gateway.sources import make_source
    from meter_sim.simulation import Simulation

    frames = [f for _, f in Simulation("be-3ph", 1, int(time.time()), count=count)]
    port = free_port()
    writers: list[asyncio.StreamWriter] = []
    connected = asyncio.Event()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        connected.set()
        await reader.read()

    server = await asyncio.start_server(client, "127.0.0.1", port)
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    piped: dict[str, float] = {}
    async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
        await sub.subscribe("p1gw/+/telegram")
        async with MqttPublisher(
            broker.url, MqttSettings(policy={"telegram": "every"}, discovery=False)
        ) as publisher:
            gateway = Gateway(make_source(f"socket://127.0.0.1:{port}"), publisher=publisher, skew_warn_s=1e9)

            async def receive() -> None:
                import json

                async for message in sub.messages:
                    stamp = json.loads(bytes(message.payload))["timestamp"]
                    got[stamp] = time.perf_counter()
                    if len(got) >= count:
                        return

            async def live() -> None:
                async for item in gateway.subscribe():
                    if item["type"] == "telegram":
                        assert item["data"] is not None, "a telegram item carries its telegram"
                        piped[item["data"]["timestamp"]] = time.perf_counter()

            receiver = asyncio.create_task(receive())
            watcher = asyncio.create_task(live())
            async with gateway:
                await connected.wait()
                await asyncio.sleep(1.0)  # MQTT connected, meter id learnt from the first telegram
                from dsmr_parser import parse_telegram

                for frame in frames:
                    stamp = parse_telegram(frame).timestamp
                    assert stamp is not None
                    sent[stamp.isoformat()] = time.perf_counter()
                    writers[0].write(frame)
                    await asyncio.sleep(interval_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(receiver, 10)
                watcher.cancel()
        # reference: a plain client publishing the same bytes to the same broker and subscriber
        ref: list[float] = []
        await sub.subscribe("bench/ref")
        async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
            payload = frames[0]
            for _ in range(min(count, 300)):
                t0 = time.perf_counter()
                await pub.publish("bench/ref", payload)
                async for message in sub.messages:
                    if str(message.topic) == "bench/ref":
                        break
                ref.append(time.perf_counter() - t0)
                await asyncio.sleep(interval_s)
    server.close()
    lat = [(got[k] - sent[k]) * 1000 for k in sent if k in got]
    pipe = [(piped[k] - sent[k]) * 1000 for k in sent if k in piped]
    return {
        "pipeline_p50_ms": statistics.median(pipe),
        "pipeline_p99_ms": pct(pipe, 0.99),
        "received": len(lat),
        "sent": len(sent),
        "p50_ms": statistics.median(lat),
        "p99_ms": pct(lat, 0.99),
        "max_ms": max(lat),
        "ref_p50_ms": statistics.median(ref) * 1000,
        "ref_p99_ms": pct(ref, 0.99) * 1000,
    }


# -- 2. hub mode ------------------------------------------------------------------------------------------
def hub(meters: int, seconds: int) -> dict[str, float]:
    from dsmr_parser import Telegram, TelegramReader
    from meter_sim.simulation import Simulation
    from metering.quarter_hours import QuarterHourAggregator

    distinct = 8  # distinct simulated meters; each simulated meter instance replays one of them
    streams = [[f for _, f in Simulation("be-3ph", seed, START, count=seconds)] for seed in range(distinct)]

    def run(with_aggregator: bool) -> float:
        readers = [TelegramReader() for _ in range(meters)]
        aggregators = [QuarterHourAggregator() for _ in range(meters)] if with_aggregator else []
        t0 = time.perf_counter()
        closed = 0
        for second in range(seconds):  # one telegram per meter per simulated second, as at 1 Hz
            for m in range(meters):
                for telegram in readers[m].feed(streams[m % distinct][second]):
                    if with_aggregator and isinstance(telegram, Telegram):  # the simulator's: all telegrams
                        closed += len(aggregators[m].add(telegram))
        elapsed = time.perf_counter() - t0
        return elapsed / (meters * seconds)

    run(False)  # warm-up: parser caches, allocator
    reader_only = min(run(False), run(False))
    full = min(run(True), run(True))
    return {
        "meters": meters,
        "telegrams": meters * seconds,
        "us_per_telegram": full * 1e6,
        "reader_us_per_telegram": reader_only * 1e6,
        "meters_per_core": 1.0 / full,
        "reader_meters_per_core": 1.0 / reader_only,
    }


# -- 3. memory --------------------------------------------------------------------------------------------
def rss(broker: Mosquitto, seconds: float, speed: float) -> dict[str, float]:
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        http = free_port()
        spec = f"sim:be-3ph?seed=3&speed={speed:g}&prepayment=20"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "run",
                "--port",
                spec,
                "--db",
                f"{tmp}/db.sqlite",
                "--mqtt",
                broker.url,
                "--http",
                f"127.0.0.1:{http}",
                "--log-level",
                "error",
            ],
            cwd=ROOT,
        )
        samples: list[float] = []
        try:
            process = psutil.Process(proc.pid)
            end = time.monotonic() + seconds
            while time.monotonic() < end and proc.poll() is None:
                time.sleep(min(5.0, max(0.5, seconds / 30)))
                samples.append(process.memory_info().rss / 2**20)
        finally:
            proc.terminate()
            proc.wait(20)
        ref = subprocess.run(
            [
                sys.executable,
                "-c",
                "import gateway.cli.run, gateway.pipeline, gateway.http, gateway.mqtt, "
                "gateway.store, meter_sim.simulation, uvicorn, resource, sys; "
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    return {
        "seconds": seconds,
        "speed": speed,
        "simulated_h": seconds * speed / 3600,
        "rss_first_mb": samples[0] if samples else float("nan"),
        "rss_last_mb": samples[-1] if samples else float("nan"),
        "rss_max_mb": max(samples) if samples else float("nan"),
        "imports_only_mb": int(ref.stdout.strip()) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency-count", type=int)
    parser.add_argument("--hub-meters", type=int)
    parser.add_argument("--rss-seconds", type=float)
    parser.add_argument("--rss-speed", type=float, default=100.0)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between telegrams (0.05)")
    args = parser.parse_args()
    count = args.latency_count or (200 if args.quick else 1000)
    meters = args.hub_meters or (100 if args.quick else 400)
    seconds = 30 if args.quick else 60
    rss_s = args.rss_seconds or (20 if args.quick else 180)

    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp))
        try:
            lat = asyncio.run(latency(broker, count, args.interval))
            print(
                f"latency  bytes -> MQTT subscriber: p50 {lat['p50_ms']:.2f} ms  p99 {lat['p99_ms']:.2f} ms  "
                f"max {lat['max_ms']:.2f} ms  ({lat['received']}/{lat['sent']} telegrams)"
            )
            print(
                f"         reference (client -> broker -> subscriber): p50 {lat['ref_p50_ms']:.2f} ms  "
                f"p99 {lat['ref_p99_ms']:.2f} ms;  gateway p99 / reference p99 = "
                f"{lat['p99_ms'] / lat['ref_p99_ms']:.1f}x   target p99 < 10 ms: "
                f"{'OK' if lat['p99_ms'] < 10 else 'MISSED'}"
            )
            print(
                f"         of which bytes -> pipeline (live stream): p50 {lat['pipeline_p50_ms']:.2f} ms  "
                f"p99 {lat['pipeline_p99_ms']:.2f} ms"
            )
            h = hub(meters, seconds)
            print(
                f"hub      {h['us_per_telegram']:.0f} us/telegram (reader + aggregator) -> "
                f"{h['meters_per_core']:.0f} meters per core at 1 Hz;  reader alone "
                f"{h['reader_us_per_telegram']:.0f} us ({h['reader_meters_per_core']:.0f} meters);  "
                "aggregator share "
                f"{(1 - h['reader_us_per_telegram'] / h['us_per_telegram']) * 100:.0f} %   target >= 2000: "
                f"{'OK' if h['meters_per_core'] >= 2000 else 'MISSED'}"
            )
            m = rss(broker, rss_s, args.rss_speed)
            print(
                f"memory   p1gw run RSS after {m['seconds']:.0f} s at {m['speed']:g}x "
                f"({m['simulated_h']:.1f} h simulated): {m['rss_last_mb']:.1f} MB "
                f"(first {m['rss_first_mb']:.1f}, "
                f"max {m['rss_max_mb']:.1f});  imports alone {m['imports_only_mb']:.1f} MB, "
                f"ratio {m['rss_max_mb'] / m['imports_only_mb']:.2f}   "
                f"target < 80 MB: {'OK' if m['rss_max_mb'] < 80 else 'MISSED'}"
            )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
