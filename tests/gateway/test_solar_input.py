"""The [solar] production input with real components: a cumulative counter on the test Mosquitto into
stored production quarter-hours, and `p1gw run` with a simulated prosumer (`sim:` source, `[solar] source =
"sim"`) whose dashboard history shows self-consumption at midday equal to production - export."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.cli.run import serve
from gateway.config import ConfigError, MqttConfig, SolarConfig, load_config
from gateway.sources.solar import SimulatedPvCounter, SolarInput, parse_counter
from gateway.store import open_store
from gateway.store.solar import production_quarters, production_source
from meter_sim.meter import Meter
from tests.conftest import free_port
from tests.gateway.test_http_view import TZ

T0 = 1_781_604_000  # 2026-06-16 10:00 UTC, on a quarter-hour


async def until(predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            found = predicate()
            if found if isinstance(found, bool) else await found:
                return
            await asyncio.sleep(0.05)


def test_payloads_and_config() -> None:
    assert parse_counter(b"12.3456", "kWh") == 12_346
    assert parse_counter(b'{"total": 5400.4}', "Wh", "total") == 5_400
    for bad in (b"nan", b"-1", b"on"):
        with pytest.raises(ValueError):
            parse_counter(bad, "kWh")
    with pytest.raises(ConfigError, match=r"solar\.source = mqtt:TOPIC needs a broker"):
        load_config(None, environ={}, overrides={"solar": {"source": "mqtt:pv/energy"}})
    with pytest.raises(ConfigError, match=r"solar\.source = sim needs a simulated meter"):
        load_config(None, environ={"P1GW_SOLAR__SOURCE": "sim"})
    with pytest.raises(ConfigError, match=r"solar\.unit must be kWh or Wh"):
        load_config(None, environ={"P1GW_SOLAR__UNIT": "MWh"})


def test_simulated_pv_counter_adds_the_production_loads() -> None:
    meter = Meter("be-3ph", 3, T0)
    counter = SimulatedPvCounter(meter, T0)
    noon = counter.wh_at(T0 + 900)
    assert noon > 0 and counter.wh_at(T0 + 1800) > noon
    night = SimulatedPvCounter(meter, T0 + 12 * 3600)  # 00:00 local
    assert night.wh_at(T0 + 12 * 3600 + 900) == 0


async def test_mqtt_counter_becomes_stored_quarter_hours(tmp_path: Path, mosquitto: Any) -> None:
    import aiomqtt

    store = open_store(tmp_path / "gw.db", tz="Europe/Brussels")
    times = iter([T0, T0 + 300, T0 + 900, T0 + 1000])  # the bad payload is refused before its time
    solar = SolarInput.from_config(
        SolarConfig(source="mqtt:home/pv/energy", unit="kWh"),
        MqttConfig(url=mosquitto.url),
        store,
        clock=lambda: next(times),
    )
    assert solar is not None
    await solar.restore()
    solar.start()
    try:
        await until(lambda: solar.subscribed.is_set())
        async with aiomqtt.Client(hostname=mosquitto.host, port=mosquitto.port) as client:
            for payload in ("2.000", "2.100", "not a number", "2.350", "2.360"):
                await client.publish("home/pv/energy", payload, qos=1)
        await until(lambda: solar.readings + solar.rejected == 5)
    finally:
        await solar.aclose()
    assert (solar.readings, solar.rejected, solar.stored) == (4, 1, 1)
    start = datetime.fromtimestamp(T0, TZ)
    rows = production_quarters(store, start, start + timedelta(hours=1))
    assert [(r["start"], r["production_wh"], r["complete"]) for r in rows] == [
        ("2026-06-16T12:00:00+02:00", 350, True)
    ]
    assert production_source(store) == "mqtt:home/pv/energy"
    store.close()
    again = open_store(tmp_path / "gw.db", tz="Europe/Brussels")  # a restart continues the open quarter
    resumed = SolarInput(again, "mqtt:home/pv/energy")
    await resumed.restore()
    assert resumed.aggregator.last_reading == (T0 + 1000, 2_360)
    again.close()


async def test_simulated_prosumer_self_consumption_at_midday(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "p1gw.sqlite"
    config = load_config(
        None,
        environ={},
        overrides={
            "source": {"port": "sim:be-3ph?seed=3&speed=600&every=10&start=2026-06-16T10:00:00Z"},
            "http": {"port": port},
            "storage": {"path": str(db)},
            "solar": {"source": "sim"},
        },
    )
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop=stop))
    params = {"view": "day", "date": "2026-06-16"}
    found: dict[str, Any] = {}

    async def midday_known() -> bool:
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                view = (await client.get("/api/v1/dashboard/history", params=params)).json()
        except httpx.TransportError:
            return running.done()
        known = [b for b in view["buckets"] if b.get("self_consumption_kwh") is not None]
        found.update(view=view, known=known)
        return len(known) >= 2 or running.done()

    try:
        await until(midday_known, timeout=120)
    finally:
        stop.set()
        assert await running == 0
    view, known = found["view"], found["known"]
    assert view["production_configured"] is True and len(known) >= 2, view["totals"]
    assert any(b["self_consumption_kwh"] > 0 for b in known)
    noon = datetime(2026, 6, 16, 12, 0, tzinfo=TZ)
    with open_store(db) as store:
        production = {
            r["start"][11:16]: r["production_wh"]
            for r in production_quarters(store, noon, noon + timedelta(hours=2))
        }
        exports = {
            r["start"][11:16]: r["export_kwh"] for r in store.quarter_hours(noon, noon + timedelta(hours=2))
        }
    for bucket in known:
        assert bucket["key"] >= "12:00"
        assert bucket["production_kwh"] * 1000 == production[bucket["key"]] > 0
        expected = max(0.0, (production[bucket["key"]] - round(exports[bucket["key"]] * 1000)) / 1000)
        assert bucket["self_consumption_kwh"] == pytest.approx(expected, abs=1e-9)
