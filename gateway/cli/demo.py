"""Try everything on a fresh machine: a simulated meter, the gateway, MQTT and the dashboard, one command.

Runs the simulator in this process (a Belgian three-phase meter with prepayment and gas, fixed seed), the
gateway pipeline with a SQLite database in a temporary directory, the dashboard on 127.0.0.1:8080 (or the
next free port), and MQTT: an embedded broker (amqtt) on a free port, or your broker when asked with
--mqtt (and it answers). On your broker the demo deletes what it retained there (its Home Assistant
discovery configs and `p1gw/<meter_id>/...` topics) when it stops, unless --keep-retained. It prints the
dashboard URL, the MQTT topics and which broker it uses, then runs until Ctrl-C.

The simulated meter continues across demo runs (its clock and registers are kept in
$XDG_STATE_HOME/p1gw/, ~/.local/state/p1gw/ by default, or next to --db), so energy never goes backwards.

examples:
  p1gw demo                                  # real time: one telegram a second
  p1gw demo --speed 60                       # a quarter-hour every 15 s
  p1gw demo --mqtt mqtt://192.168.1.10:1883  # your broker (Home Assistant discovers the meter)
  p1gw demo --mqtt mqtt://192.168.1.10:1883 --keep-retained   # the meter stays in Home Assistant
  p1gw demo --duration 30 --speed 100        # stop by itself (tests, CI)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.config import Config, HttpConfig, LogConfig, MeterConfig, MqttConfig, SourceConfig, StorageConfig
from gateway.logs import get_logger, setup_logging
from gateway.mqtt.discovery import topic_safe
from gateway.sources import SourceError

logger = get_logger("demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second (1)")
    parser.add_argument("--seed", type=int, default=3, help="simulator seed (3)")
    parser.add_argument("--meter", default="be-3ph", help="be-3ph (default), be-1ph, nl-dsmr5, dsmr22")
    parser.add_argument("--credit", default="20", help="prepayment start credit in EUR (20)")
    parser.add_argument(
        "--mqtt", metavar="URL", help="your broker (default: an embedded one, started for the demo)"
    )
    parser.add_argument(
        "--keep-retained",
        action="store_true",
        help="leave the demo's retained messages on your broker when it stops (deleted by default)",
    )
    parser.add_argument(
        "--http", default="127.0.0.1:8080", help="dashboard address (next free port if taken)"
    )
    parser.add_argument("--db", help="database (default: a fresh one in a temporary directory)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--token", default="demo", help="token for the dashboard's controls (demo)")


def port_free(host: str, port: int) -> bool:
    """True when a server could listen on (host, port) now: SO_REUSEADDR as the server's own socket has,
    so a port whose last connections linger in TIME_WAIT (a stop a moment ago) counts as free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port_from(host: str, port: int, tries: int = 50) -> int:
    """`port` if free, else the next free one (then any free port; 0 means any)."""
    for candidate in range(port, port + tries if port else 0):
        if port_free(host, candidate):
            return candidate
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def broker_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when an MQTT broker accepts a connection at `url`."""
    import aiomqtt

    parts = urlsplit(url)
    try:
        async with (
            asyncio.timeout(timeout_s),
            aiomqtt.Client(
                parts.hostname or "127.0.0.1",
                parts.port or 1883,
                username=parts.username,
                password=parts.password,
            ),
        ):
            return True
    except Exception:
        return False


@contextlib.asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1") -> AsyncIterator[str]:
    """An amqtt broker on a free port for the demo; yields its URL."""
    from amqtt.broker import Broker

    port = free_port_from(host, 1883)
    config: dict[str, Any] = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "sys_interval": 0,
        "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
        "topic-check": {"enabled": False},
    }
    for name in ("amqtt", "transitions", "passlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    broker = Broker(config)
    await broker.start()
    try:
        yield f"mqtt://{host}:{port}"
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.shutdown(), 5)


def state_dir() -> Path:
    """Where the demo keeps its simulated meter between runs: $XDG_STATE_HOME/p1gw (~/.local/state/p1gw)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "p1gw"


async def clear_retained(
    url: str, meter_id: str, *, base: str = "p1gw", prefix: str = "homeassistant"
) -> int:
    """Delete (empty retained payload) every retained message of this meter: `<base>/<meter_id>/...` and
    its discovery configs `<prefix>/sensor/<meter_id>_<name>/config`. Returns how many."""
    import aiomqtt

    parts = urlsplit(url)
    meter = topic_safe(meter_id)
    found: set[str] = set()
    async with aiomqtt.Client(
        parts.hostname or "127.0.0.1", parts.port or 1883, username=parts.username, password=parts.password
    ) as client:
        await client.subscribe(f"{base}/{meter}/#", qos=1)
        await client.subscribe(f"{prefix}/sensor/+/config", qos=1)
        with contextlib.suppress(TimeoutError):
            while True:  # the broker sends every retained message at once: stop after a quiet second
                async with asyncio.timeout(1.0):
                    message = await anext(client.messages)
                topic = str(message.topic)
                mine = topic.startswith(f"{base}/{meter}/") or topic.startswith(f"{prefix}/sensor/{meter}_")
                if message.retain and message.payload and mine:
                    found.add(topic)
        for topic in sorted(found):
            await client.publish(topic, b"", qos=1, retain=True)
    return len(found)


def banner(
    http: str, mqtt_url: str, embedded: bool, base: str = "p1gw", *, keep_retained: bool = False
) -> str:
    parts = urlsplit(mqtt_url)
    host, port = parts.hostname, parts.port or 1883
    if embedded:
        where = "embedded broker (amqtt), started for this demo"
    elif keep_retained:
        where = "your broker; what the demo retains there stays after it stops"
    else:
        where = "your broker; what the demo retains there is deleted when it stops"
    return "\n".join(
        [
            "",
            "p1gw demo: simulated Belgian meter (e-MUCS, 3 phases, prepayment, gas) -> gateway",
            f"  dashboard   {http}/",
            f"  API         {http}/docs   health: {http}/api/v1/health",
            f"  MQTT        {mqtt_url}  ({where})",
            f"  topics      {base}/<meter_id>/availability | telegram | state/<name> | quarter_hour |",
            "              prepayment | event;  homeassistant/sensor/<meter_id>_<name>/config",
            f"  watch       mosquitto_sub -h {host} -p {port} -v -t '{base}/#'",
            "  stop        Ctrl-C",
            "",
        ]
    )


async def demo(args: argparse.Namespace) -> int:
    from gateway.cli.run import serve, source_from_config

    host, _, port_text = args.http.rpartition(":")
    host = host or "127.0.0.1"
    http_port = free_port_from(host, int(port_text or 8080))
    with contextlib.ExitStack() as stack:
        db = args.db or str(
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="p1gw-demo-"))) / "demo.sqlite"
        )
        async with contextlib.AsyncExitStack() as astack:
            embedded = args.mqtt is None or not await broker_answers(args.mqtt)
            if args.mqtt is not None and embedded:
                print(f"p1gw demo: no broker answers at {args.mqtt}; using an embedded one", file=sys.stderr)
            mqtt_url = await astack.enter_async_context(embedded_broker()) if embedded else args.mqtt
            spec = f"sim:{args.meter}?seed={args.seed}&speed={args.speed:g}&prepayment={args.credit}"
            config = Config(
                source=SourceConfig(port=spec),
                mqtt=MqttConfig(url=mqtt_url),
                http=HttpConfig(host=host, port=http_port, token=args.token),
                storage=StorageConfig(path=db),
                meter=MeterConfig(),
                log=LogConfig(level="warning"),
            )

            running: list[Any] = []

            def ready(gateway: Any, server: Any) -> None:
                running.append(gateway)
                text = banner(
                    f"http://{host}:{http_port}", mqtt_url, embedded, keep_retained=args.keep_retained
                )
                print(text, flush=True)

            sim_state = None
            if args.db is None:
                sim_state = str(state_dir() / f"demo-sim-{args.meter}-{args.seed}.json")
            try:
                source = source_from_config(config, sim_state=sim_state)
            except SourceError as exc:
                print(f"p1gw demo: {exc}", file=sys.stderr)
                return 2
            status = await serve(config, duration_s=args.duration, on_ready=ready, source=source)
            meter_id = running[0].meter_id if running else None
            if not embedded and not args.keep_retained and meter_id:
                try:
                    cleared = await clear_retained(mqtt_url, meter_id)
                except Exception as exc:  # the broker went away: say so, the exit status stays
                    print(f"p1gw demo: retained messages not deleted from {mqtt_url}: {exc}", file=sys.stderr)
                else:
                    print(f"p1gw demo: deleted {cleared} retained messages from {mqtt_url}", flush=True)
            return status
    return 0


def run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("p1gw demo: --speed must be positive", file=sys.stderr)
        return 2
    setup_logging("warning")
    try:
        return asyncio.run(demo(args))
    except KeyboardInterrupt:
        return 0
