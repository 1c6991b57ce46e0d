"""The HomeWizard P1 API v1 read by the official client library (`python-homewizard-energy`, the one Home
Assistant's HomeWizard integration uses) from a real `p1gw run --port sim:be-3ph --homewizard ...` process,
and found by a zeroconf browse on the loopback interface (nothing leaves the machine).

Every field the library returns is compared with the gateway's own parse of the very telegram the API
served (`/api/v1/telegram`, read before and after `/api/v1/data`: equal means the data is of that telegram).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from homewizard_energy import HomeWizardEnergy
from homewizard_energy.models import Data, ExternalDevice

from dsmr_parser import Telegram, TelegramParser
from gateway.compat.homewizard import measurement
from meter_sim import Simulation

from ..conftest import free_port
from ..telegram_values import number, stamp, text

ROOT = Path(__file__).resolve().parents[2]
SERIAL = secrets.token_hex(6)  # unique per run: other test runs on this host may announce too


@pytest.fixture(scope="module")
def homewizard_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`p1gw run` with a simulated Belgian 3-phase meter (one telegram a second) and `--homewizard`."""
    port = free_port()
    db = tmp_path_factory.mktemp("homewizard") / "p1gw.sqlite"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "run",
            "--port",
            "sim:be-3ph?seed=11",
            "--db",
            str(db),
            "--http",
            f"127.0.0.1:{free_port()}",
            "--homewizard",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "P1GW_HOMEWIZARD__SERIAL": SERIAL},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield port
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()


async def _first_telegram(port: int) -> bytes:
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                response = await client.get(f"http://127.0.0.1:{port}/api/v1/telegram")
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return response.content
            await asyncio.sleep(0.1)


def _kwh(telegram: Telegram, code: str) -> float:
    return float(number(telegram.values, code))


def _watts(telegram: Telegram, imported: str, exported: str) -> float:
    return float((number(telegram.values, imported) - number(telegram.values, exported)) * 1000)


def expected_data(telegram: Telegram) -> dict[str, Any]:
    """What the library must return for this telegram, straight from its OBIS values (None: not sent)."""
    fields: dict[str, Any] = {f.name: None for f in dataclasses.fields(Data)}
    v = telegram.values

    def naive(moment: datetime) -> datetime:
        return moment.replace(tzinfo=None)  # the device's stamps are the meter's wall time

    fields.update(
        smr_version=50,  # 0-0:96.1.4(50217)
        meter_model=telegram.header,
        unique_meter_id=telegram.meter_id,
        active_tariff=v["0-0:96.14.0"].value,
        total_energy_import_kwh=float(number(v, "1-0:1.8.1") + number(v, "1-0:1.8.2")),
        total_energy_import_t1_kwh=_kwh(telegram, "1-0:1.8.1"),
        total_energy_import_t2_kwh=_kwh(telegram, "1-0:1.8.2"),
        total_energy_export_kwh=float(number(v, "1-0:2.8.1") + number(v, "1-0:2.8.2")),
        total_energy_export_t1_kwh=_kwh(telegram, "1-0:2.8.1"),
        total_energy_export_t2_kwh=_kwh(telegram, "1-0:2.8.2"),
        active_power_w=_watts(telegram, "1-0:1.7.0", "1-0:2.7.0"),
        active_power_l1_w=_watts(telegram, "1-0:21.7.0", "1-0:22.7.0"),
        active_power_l2_w=_watts(telegram, "1-0:41.7.0", "1-0:42.7.0"),
        active_power_l3_w=_watts(telegram, "1-0:61.7.0", "1-0:62.7.0"),
        active_voltage_l1_v=float(number(v, "1-0:32.7.0")),
        active_voltage_l2_v=float(number(v, "1-0:52.7.0")),
        active_voltage_l3_v=float(number(v, "1-0:72.7.0")),
        active_current_l1_a=float(number(v, "1-0:31.7.0")),
        active_current_l2_a=float(number(v, "1-0:51.7.0")),
        active_current_l3_a=float(number(v, "1-0:71.7.0")),
        active_power_average_w=float(number(v, "1-0:1.4.0") * 1000),
        monthly_power_peak_w=float(number(v, "1-0:1.6.0") * 1000),
        monthly_power_peak_timestamp=naive(peak) if (peak := v["1-0:1.6.0"].timestamp) else None,
        total_gas_m3=float(number(v, "0-1:24.2.3")),
        gas_timestamp=naive(stamp(v, "0-1:24.2.3")),
        gas_unique_id=v["0-1:96.1.1"].value,
        external_devices={
            f"gas_meter_{v['0-1:96.1.1'].value}": ExternalDevice(
                text(v, "0-1:96.1.1"),
                ExternalDevice.DeviceType.GAS_METER,
                float(number(v, "0-1:24.2.3")),
                "m3",
                naive(stamp(v, "0-1:24.2.3")),
            ),
            f"water_meter_{v['0-2:96.1.1'].value}": ExternalDevice(
                text(v, "0-2:96.1.1"),
                ExternalDevice.DeviceType.WATER_METER,
                float(number(v, "0-2:24.2.1")),
                "m3",
                naive(stamp(v, "0-2:24.2.1")),
            ),
        },
    )
    return fields


async def test_official_client_reads_device_and_a_full_measurement(homewizard_gateway: int) -> None:
    port = homewizard_gateway
    await _first_telegram(port)
    async with HomeWizardEnergy(f"127.0.0.1:{port}") as api:
        device = await api.device()  # raises UnsupportedError unless api_version is "v1"
        assert (device.product_type, device.product_name, device.serial, device.api_version) == (
            "HWE-P1",
            "P1 meter",
            SERIAL,
            "v1",
        )
        assert device.product is not None and device.product.name == "Wi-Fi P1 Meter"
        assert device.firmware_version
        async with asyncio.timeout(60):
            while True:  # the telegram before and after the data must be the same one
                before = await _first_telegram(port)
                data = await api.data()
                if await _first_telegram(port) == before:
                    break
    telegram = TelegramParser("Europe/Brussels").parse(before)
    assert before.startswith(b"/FLU5") and before.endswith(b"\r\n")
    got = dataclasses.asdict(data)
    want = {key: value for key, value in expected_data(telegram).items()}
    want["external_devices"] = {k: dataclasses.asdict(d) for k, d in want["external_devices"].items()}
    assert got == want
    assert isinstance(data.active_tariff, int) and isinstance(data.total_energy_import_t1_kwh, float)


async def test_zeroconf_browse_on_loopback_finds_the_service(homewizard_gateway: int) -> None:
    """As Home Assistant's zeroconf discovery: `_hwenergy._tcp` with the five TXT records its HomeWizard
    config flow checks; browsing binds to 127.0.0.1 only."""
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    port = homewizard_gateway
    await _first_telegram(port)  # the API is up: the announcement was made right after it started
    zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    found: asyncio.Queue[str] = asyncio.Queue()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Added:
            found.put_nowait(name)

    browser = AsyncServiceBrowser(zeroconf.zeroconf, ["_hwenergy._tcp.local."], handlers=[on_change])
    try:
        async with asyncio.timeout(60):
            name, info = "", None
            while info is None:
                name = await found.get()
                for _ in range(5):  # resolve it (SRV, TXT, A); another run's service is skipped
                    candidate = AsyncServiceInfo("_hwenergy._tcp.local.", name)
                    if await candidate.async_request(zeroconf.zeroconf, 3000):
                        info = candidate if candidate.port == port else None
                        break
    finally:
        await browser.async_cancel()
        await zeroconf.async_close()
    assert name == f"p1meter-{SERIAL[-6:]}._hwenergy._tcp.local."
    assert info.parsed_addresses() == ["127.0.0.1"]
    assert info.decoded_properties == {
        "api_enabled": "1",
        "path": "/api/v1",
        "serial": SERIAL,
        "product_name": "P1 meter",
        "product_type": "HWE-P1",
    }
    async with HomeWizardEnergy(f"{info.parsed_addresses()[0]}:{info.port}") as api:
        assert (await api.device()).serial == info.decoded_properties["serial"]


@pytest.mark.parametrize("kind", ["be-1ph", "nl-dsmr5", "dsmr22"])
def test_other_meters_map_to_the_client_model(kind: str) -> None:
    """Single-phase, Dutch DSMR 5 (power failures, sags and swells, a gas meter on M-Bus) and DSMR 2.2 (no
    CRC, hourly gas): what the meter sends arrives in the library's model, what it does not send is None."""
    parser = TelegramParser("Europe/Brussels")
    start = datetime.fromisoformat("2026-07-01T12:00:00+02:00")
    _, frame = next(iter(Simulation(kind, 5, start, count=1)))
    telegram = parser.parse(frame)
    data = Data.from_dict(measurement(telegram))
    v = telegram.values
    assert data.total_energy_import_t1_kwh == float(number(v, "1-0:1.8.1"))
    assert data.active_power_w == float((number(v, "1-0:1.7.0") - number(v, "1-0:2.7.0")) * 1000)
    assert data.unique_meter_id == telegram.meter_id
    if kind == "nl-dsmr5":
        assert data.smr_version == 50
        assert data.any_power_fail_count == v["0-0:96.7.21"].value
        assert data.long_power_fail_count == v["0-0:96.7.9"].value
        assert data.voltage_sag_l1_count == v["1-0:32.32.0"].value
        assert data.total_gas_m3 == float(number(v, "0-1:24.2.1"))
    if kind == "be-1ph":
        assert data.active_power_l2_w is None and data.active_voltage_l2_v is None
        assert data.active_power_average_w == float(number(v, "1-0:1.4.0") * Decimal(1000))
    if kind == "dsmr22":
        assert data.smr_version is None and data.active_power_average_w is None
