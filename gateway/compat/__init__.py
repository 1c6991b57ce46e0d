"""The protocols other tools already speak, served by `p1gw run` beside its own API (all off unless asked):

- `--homewizard [HOST:]PORT`: the HomeWizard P1 meter's local API v1 (`compat.homewizard_api`), announced
  over mDNS (`gateway.compat.mdns`) unless `homewizard.mdns = false`;
- `--serve-p1 [HOST:]PORT`: the telegrams themselves over TCP (`gateway.compat.p1_server`).

Both need the telegrams' exact bytes, so the source is wrapped in a `TappedSource` (only when one of them is
on: otherwise nothing changes in the data path). Their counters appear in health as `serve_p1` and
`homewizard` (and so in `/api/v1/metrics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from gateway.compat.frame_tap import TappedSource
from gateway.config import Config, listen_address
from gateway.logs import get_logger, log

logger = get_logger("compat")


class CompatError(RuntimeError):
    """A compatibility server could not start (the message says which and why)."""


class CompatServers:
    """Starts and stops the servers `config` asks for.

    Args:
        config: the gateway configuration ([homewizard], [serve_p1], [meter] timezone).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.p1_server: Any = None
        self.homewizard: Any = None  # the uvicorn server
        self.feed: Any = None
        self.announcer: Any = None
        self.serial = ""
        self._http_task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.homewizard.listen or self.config.serve_p1.listen)

    def wrap(self, source: Any) -> Any:
        """The source the gateway should read: `source` itself, or a `TappedSource` around it."""
        if not self.enabled:
            return source
        if getattr(getattr(source, "spec", None), "s1", False):
            log(
                logger,
                logging.WARNING,
                "--serve-p1 and --homewizard need P1 telegrams; an S1 source has none",
            )
            return source
        tapped = TappedSource(source)
        if self.config.serve_p1.listen:
            from gateway.compat.p1_server import P1Server

            host, port = listen_address(self.config.serve_p1.listen, "--serve-p1")
            self.p1_server = P1Server(host, port)
            tapped.listeners.append(self.p1_server.publish)
        if self.config.homewizard.listen:
            from gateway.compat.homewizard_api import HomeWizardFeed

            self.feed = HomeWizardFeed(self.config.meter.timezone)
            tapped.listeners.append(self.feed)
        return tapped

    async def start(self, gateway: Any) -> None:
        """Listen; raises CompatError when an address cannot be used."""
        if self.p1_server is not None:
            try:
                await self.p1_server.start()
            except OSError as exc:
                raise CompatError(f"--serve-p1 {self.config.serve_p1.listen}: cannot listen: {exc}") from None
            gateway.health_sections["serve_p1"] = self.p1_server.status
        if self.feed is not None:
            await self._start_homewizard(gateway)

    async def _start_homewizard(self, gateway: Any) -> None:
        from gateway.compat.homewizard_api import create_app, default_serial
        from gateway.http.server import listen, make_server

        cfg = self.config.homewizard
        host, port = listen_address(cfg.listen, "--homewizard")
        self.serial = (cfg.serial or default_serial()).lower()
        try:  # bound here: uvicorn would exit the process on a taken port
            sock = listen(host, port)
        except OSError as exc:
            raise CompatError(f"--homewizard {cfg.listen}: cannot listen: {exc}") from None
        self.homewizard = make_server(create_app(self.feed, serial=self.serial))
        task = asyncio.create_task(self.homewizard.serve(sockets=[sock]), name="homewizard-http")
        self._http_task = task
        while not self.homewizard.started and not task.done():
            await asyncio.sleep(0.02)
        if task.done():
            with contextlib.suppress(BaseException):
                task.result()
            raise CompatError(f"--homewizard {cfg.listen}: the HTTP server could not start on {host}:{port}")
        gateway.health_sections["homewizard"] = self.status
        log(
            logger,
            logging.INFO,
            "HomeWizard API v1 running",
            url=f"http://{host}:{port}/api",
            serial=self.serial,
        )
        if cfg.mdns:
            from gateway.compat.mdns import HomeWizardAnnouncer

            self.announcer = HomeWizardAnnouncer(host, port, self.serial)
            try:
                await self.announcer.start()
            except Exception as exc:  # no multicast route, port 5353 refused: the API still works
                log(
                    logger,
                    logging.WARNING,
                    "mDNS announcement failed; the API works by address",
                    error=str(exc),
                )
                self.announcer = None

    def status(self) -> dict[str, Any]:
        """The `homewizard` section of health."""
        return {
            "listen": self.config.homewizard.listen,
            "serial": self.serial,
            "mdns": self.announcer is not None,
        }

    async def aclose(self) -> None:
        if self.announcer is not None:
            with contextlib.suppress(Exception):
                await self.announcer.aclose()
        if self.homewizard is not None and self._http_task is not None:
            self.homewizard.should_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._http_task, 5)
        if self.p1_server is not None:
            await self.p1_server.aclose()
