"""Run the gateway: read a P1 port, store quarter-hours, publish to MQTT, serve the dashboard and API.

Everything runs in one asyncio event loop: the source (with reconnection), the pipeline, the MQTT
publisher and the HTTP server (uvicorn). SIGTERM or SIGINT (Ctrl-C): the HTTP server stops, the
aggregator checkpoint and buffered data are written, `offline` is published, exit status 0.

Settings come from defaults < --config FILE (TOML, see hardware/config.example.toml) < environment
variables P1GW_SECTION__KEY (P1GW_MQTT__URL, P1GW_HTTP__TOKEN, ...) < these flags.

examples:
  p1gw run --port /dev/ttyUSB0 --mqtt mqtt://localhost:1883
  p1gw run --port /dev/ttyUSB0 --baudrate 9600 --bytesize 7 --parity E        # DSMR 2.2 / 3
  p1gw run --port socket://pi.local:2001 --db ~/p1gw.sqlite                   # ser2net
  p1gw run --port "sim:be-3ph?seed=3&speed=10&prepayment=20" --http 127.0.0.1:8080
  p1gw run --port capture.txt --mqtt mqtt://user:secret@broker:1883           # replay a capture
  p1gw run --config /etc/p1gw/config.toml
  p1gw run --port /dev/ttyUSB0 --homewizard 8081 --serve-p1 2001              # other tools read along
  P1GW_MQTT__URL=mqtt://broker:1883 p1gw run --port /dev/p1 --ean 541449000000000001

then: open http://127.0.0.1:8080/ (dashboard), /docs (API), /api/v1/health;
      mosquitto_sub -v -t 'p1gw/#'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.config import Config, ConfigError, load_config
from gateway.logs import get_logger, log, setup_logging
from gateway.sources import SerialSettings, SourceError, SourceSpec, make_source, parse_spec

logger = get_logger("run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    src = parser.add_argument_group("source")
    src.add_argument(
        "--port",
        help="/dev/ttyUSB0, socket://host:port, sim:be-3ph[?seed=&speed=&prepayment=], file:PATH or a file",
    )
    src.add_argument("--baudrate", type=int, help="115200 (e-MUCS, DSMR 4/5, default) or 9600 (DSMR 2.2/3)")
    src.add_argument("--bytesize", type=int, choices=(7, 8), help="8 (default) or 7 (DSMR 2.2/3)")
    src.add_argument(
        "--parity", choices=("N", "E", "O"), type=str.upper, help="N (default) or E (DSMR 2.2/3)"
    )
    parser.add_argument("--mqtt", metavar="URL", help="mqtt://[user:pass@]host:port (no MQTT when absent)")
    parser.add_argument("--http", metavar="HOST:PORT", help="dashboard and API address (127.0.0.1:8080)")
    parser.add_argument("--token", help="bearer token for the API's state-changing requests")
    parser.add_argument("--db", metavar="PATH", help="SQLite file or postgresql:// URL (p1gw.sqlite)")
    meter = parser.add_argument_group("meter")
    meter.add_argument("--ean", help="the connection's EAN (18 digits), copied into quarter-hour records")
    meter.add_argument("--country", choices=("BE", "NL"), type=str.upper, help="tariff labels (BE)")
    meter.add_argument("--timezone", help="zone of the quarter-hours (Europe/Brussels)")
    share = parser.add_argument_group("other readers of the same meter (off unless given)")
    share.add_argument(
        "--homewizard",
        metavar="[HOST:]PORT",
        help="serve the HomeWizard P1 meter API v1 here, announced over mDNS (a bare PORT: all interfaces)",
    )
    share.add_argument(
        "--serve-p1",
        metavar="[HOST:]PORT",
        help="re-serve every valid telegram, byte for byte, to TCP readers (a bare PORT: all interfaces)",
    )
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="(info)")
    parser.add_argument("--log-format", choices=("text", "json"), help="text (default) or json lines")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration: file, environment, then the flags that were given."""
    http: dict[str, Any] = {"token": args.token}
    if args.http:
        http["host"], http["port"] = _host_port(args.http)
    overrides: dict[str, dict[str, Any]] = {
        "source": {
            "port": args.port,
            "baudrate": args.baudrate,
            "bytesize": args.bytesize,
            "parity": args.parity,
        },
        "mqtt": {"url": args.mqtt},
        "http": http,
        "storage": {"path": args.db},
        "meter": {"ean": args.ean, "country": args.country, "timezone": args.timezone},
        "log": {"level": args.log_level, "format": args.log_format},
        "homewizard": {"listen": args.homewizard},
        "serve_p1": {"listen": args.serve_p1},
    }
    return load_config(args.config, overrides=overrides)


def source_from_config(config: Config, *, sim_state: str | None = None) -> Any:
    """The `Source` of the [source] section (raises SourceError on a spec that can never work).

    A `sim:` source without `start=` continues its clock and registers across restarts from `sim_state`
    (default: next to a SQLite database, `sim_state_path`), so a restart never sends them backwards.
    """
    src = config.source
    spec = parse_spec(src.port)
    if sim_state is None and spec.kind == "sim" and "start" not in spec.params:
        sim_state = sim_state_path(config.storage.path, spec)
    return make_source(
        spec,
        serial=SerialSettings(src.baudrate, src.bytesize, src.parity, src.stopbits),
        silence_timeout_s=src.silence_timeout_s,
        backoff_max_s=src.reconnect_max_s,
        sim_state=sim_state,
    )


def _beside_database(storage: str, suffix: str) -> Path | None:
    """`<database stem><suffix>` next to a SQLite file (None with PostgreSQL or an in-memory database)."""
    if storage.startswith(("postgresql://", "postgres://")) or storage == ":memory:":
        return None
    path = Path(storage.removeprefix("sqlite:///")).expanduser()
    return path.with_name(path.stem + suffix)


def sim_state_path(storage: str, spec: SourceSpec) -> str | None:
    """Where a `sim:` source keeps its registers: `<db>-sim-<kind>-<seed>.json` next to a SQLite file."""
    found = _beside_database(storage, f"-sim-{spec.target}-{spec.params.get('seed', '0')}.json")
    return None if found is None else str(found)


def mqtt_queue_path(storage: str) -> str | None:
    """The persistent MQTT queue lives next to a SQLite database (in memory with PostgreSQL)."""
    found = _beside_database(storage, "-mqtt-queue.sqlite")
    return None if found is None else str(found)


async def serve(
    config: Config,
    *,
    stop: asyncio.Event | None = None,
    duration_s: float | None = None,
    on_ready: Any = None,
    source: Any = None,
) -> int:
    """Run the whole gateway until `stop` is set, a signal arrives, or `duration_s` passes."""
    from gateway.http.server import HttpBindError, listen

    try:  # first: a taken port is one sentence, and nothing was started
        sock = listen(config.http.host, config.http.port)
    except HttpBindError as exc:
        print(f"p1gw run: {exc}", file=sys.stderr)
        return 1
    with sock:
        return await _serve(config, sock, stop, duration_s, on_ready, source)


async def _serve(
    config: Config,
    sock: Any,
    stop: asyncio.Event | None,
    duration_s: float | None,
    on_ready: Any,
    source: Any,
) -> int:
    from gateway.compat import CompatError, CompatServers
    from gateway.http import create_app
    from gateway.http.server import make_server
    from gateway.pipeline import Gateway
    from gateway.store import StoreError, open_store
    from metering.prices import dashboard_prices

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    src_cfg, meter = config.source, config.meter
    if source is None:
        source = source_from_config(config)
    tariff = None
    if config.tariff.region and meter.price_eur_kwh <= 0:  # a flat price wins (docs/analysis.md)
        from gateway.cli.analysis_options import tariff_price

        t = config.tariff
        try:
            tariff = tariff_price(t.region, t.dso, t.option, t.offer)
        except ValueError as exc:
            print(f"p1gw run: [tariff]: {exc}", file=sys.stderr)
            return 1
    try:
        store = await asyncio.to_thread(open_store, config.storage.path, tz=meter.timezone)
    except (StoreError, OSError) as exc:
        print(f"p1gw run: cannot open the database: {exc}", file=sys.stderr)
        return 1
    publisher = None
    if config.mqtt.url:
        from gateway.mqtt import MqttPublisher

        publisher = MqttPublisher.from_config(
            config.mqtt, queue_path=mqtt_queue_path(config.storage.path), country=meter.country
        )
    from gateway.sources.solar import SolarInput

    solar = SolarInput.from_config(config.solar, config.mqtt, store, sim_meter=getattr(source, "sim", None))
    compat = CompatServers(config)
    source = compat.wrap(source)
    gateway = Gateway(
        source,
        store=store,
        publisher=publisher,
        tz=meter.timezone,
        country=meter.country,
        ean=meter.ean,
        language=config.dashboard.language or None,  # the events' customer sentences
    )
    app = create_app(
        gateway,
        token=config.http.token or None,
        cors_origins=config.http.cors_origins or None,
        tz=meter.timezone,
        price_eur_kwh=Decimal(str(meter.price_eur_kwh)) if meter.price_eur_kwh > 0 else None,
        tariff=tariff,
        prices=dashboard_prices(config.dashboard),
        language=config.dashboard.language or None,
    )
    server = make_server(app)
    try:
        if publisher is not None:
            publisher.start()
        await gateway.start()
        if solar is not None:
            await solar.restore()
            solar.start()
        try:
            await compat.start(gateway)
        except CompatError as exc:
            print(f"p1gw run: {exc}", file=sys.stderr)
            return 1
        server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
        while not server.started and not server_task.done():
            await asyncio.sleep(0.02)
        if server_task.done():
            server_task.result()  # raises what stopped it
            return 1
        log(
            logger,
            logging.INFO,
            "gateway running",
            source=src_cfg.port,
            http=f"http://{config.http.host}:{config.http.port}/",
            mqtt=publisher.address.redacted() if publisher is not None else None,
            db=config.storage.path,
        )
        if on_ready is not None:
            on_ready(gateway, server)
        waiters = [asyncio.create_task(stop.wait()), server_task]
        if duration_s is not None:
            waiters.append(asyncio.create_task(asyncio.sleep(duration_s)))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        log(logger, logging.INFO, "stopping")
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server_task, 5)
        for waiter in waiters:
            waiter.cancel()
    finally:
        await compat.aclose()
        if solar is not None:
            await solar.aclose()
        await gateway.stop()
        if publisher is not None:
            await publisher.aclose()
        await asyncio.to_thread(store.close)
        log(
            logger,
            logging.INFO,
            "stopped",
            telegrams=gateway.telegrams,
            quarter_hours=gateway.quarter_hours_closed,
        )
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        setup_logging(config.log.level, config.log.format)
        source = source_from_config(config)  # a spec that can never work fails here, with its reason
    except (ConfigError, SourceError) as exc:
        print(f"p1gw run: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(config, source=source))
