"""Announce the HomeWizard-compatible API over mDNS/DNS-SD (zeroconf), as the real P1 meter does, so Home
Assistant, openHAB or Homey find it without an address typed in.

The service is `_hwenergy._tcp.local.`, instance `p1meter-<last 6 of serial>`, with the device's TXT records
(`api_enabled=1`, `path=/api/v1`, `serial`, `product_name`, `product_type`): Home Assistant's HomeWizard
integration checks all five. A listener on one address announces that address on that interface only
(127.0.0.1: nothing leaves the machine); on all interfaces (0.0.0.0), every IPv4 address of the host.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from gateway.compat.homewizard import PRODUCT_NAME, PRODUCT_TYPE
from gateway.logs import get_logger, log

logger = get_logger("mdns")

SERVICE_TYPE = "_hwenergy._tcp.local."
_ANY = ("", "0.0.0.0", "::")


def instance_name(serial: str) -> str:
    """`p1meter-aabbcc`, as the device names itself."""
    return f"p1meter-{serial[-6:].lower()}"


def txt_records(serial: str, product_name: str = PRODUCT_NAME) -> dict[str, str]:
    return {
        "api_enabled": "1",
        "path": "/api/v1",
        "serial": serial,
        "product_name": product_name,
        "product_type": PRODUCT_TYPE,
    }


class HomeWizardAnnouncer:
    """Registers the service on `start`, withdraws it (goodbye packets) on `aclose`.

    Args:
        host: the API's listen address (a specific IPv4 address, or 0.0.0.0 for all).
        port: the API's port.
        serial: the `/api` serial (also the instance name's suffix).
    """

    def __init__(self, host: str, port: int, serial: str, product_name: str = PRODUCT_NAME) -> None:
        self.host = host
        self.port = port
        self.serial = serial
        self.product_name = product_name
        self._zeroconf: Any = None
        self._info: Any = None

    async def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

        if self.host in _ANY:
            from zeroconf import get_all_addresses  # type: ignore[attr-defined]  # public, not in __all__

            interfaces: Any = InterfaceChoice.All
            addresses = [a for a in get_all_addresses() if not a.startswith("127.")] or ["127.0.0.1"]
        else:
            interfaces, addresses = [self.host], [self.host]
        name = instance_name(self.serial)
        self._info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(address) for address in addresses],
            port=self.port,
            properties=txt_records(self.serial, self.product_name),
            server=f"{name}.local.",
        )
        self._zeroconf = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        await self._zeroconf.async_register_service(self._info, allow_name_change=True)
        log(
            logger,
            logging.INFO,
            "announced over mDNS",
            service=self._info.name,
            addresses=",".join(addresses),
        )

    async def aclose(self) -> None:
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is None:
            return
        try:
            await zeroconf.async_unregister_service(self._info)
        finally:
            await zeroconf.async_close()
