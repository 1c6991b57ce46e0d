"""The pipeline end to end with real parts: simulator, TCP, SQLite on disk, Mosquitto; faults on the way.

Truth is the simulator's own register deltas per quarter-hour (`Simulation.drain_quarter_hours`). A
quarter-hour whose two boundary telegrams both reached the gateway must equal the truth exactly; one whose
boundary was lost (a corrupted telegram, an outage) is interpolated and may differ by the energy of the
missing seconds; the sum always telescopes, and no quarter-hour is ever stored or published twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeGuard

import pytest

from gateway.answers import GatewayEvent, PrepaymentEvent
from gateway.pipeline import Gateway, prepayment_from_telegram
from gateway.sources import make_source
from gateway.store import open_store
from meter_sim.simulation import Simulation
from metering.record import QuarterHourRecord

from ..conftest import free_port

START = "2026-11-22T14:14:00+01:00"  # one minute before a quarter-hour boundary
SPEED = 600.0  # a quarter-hour in 1.5 s


def truth_by_start(truths: list[Any]) -> dict[str, tuple[int, int, int, int]]:
    return {
        t.start.isoformat(): (t.import_t1_wh, t.import_t2_wh, t.export_t1_wh, t.export_t2_wh) for t in truths
    }


def record_wh(record: QuarterHourRecord) -> tuple[int, int, int, int]:
    return (
        round(record["import_day"] * 1000),
        round(record["import_night"] * 1000),
        round(record["export_day"] * 1000),
        round(record["export_night"] * 1000),
    )


def is_prepayment_event(event: GatewayEvent) -> TypeGuard[PrepaymentEvent]:
    return event["type"].startswith("prepayment_")


def check_against_truth(
    records: list[QuarterHourRecord], truth: dict[str, tuple[int, int, int, int]], seen: set[str]
) -> int:
    """No duplicate; exact where both boundaries were seen (by the watcher, which may miss telegrams the
    gateway saw); between two seen boundaries the records together hold exactly the meter's energy: an
    estimate across a gap only moves Wh from one side of a boundary to the other, however long the gap
    lasted on a loaded machine. Returns how many records were exact."""
    starts = [r["start"] for r in records]
    assert len(starts) == len(set(starts)), "a quarter-hour was stored twice"
    exact = 0
    run: list[tuple[tuple[int, ...], tuple[int, ...]]] | None = None  # since the last seen boundary
    for record in records:
        if record["start"] not in truth:
            run = None
            continue
        want = truth[record["start"]]
        got = record_wh(record)
        if record["start"] in seen:
            run = []
        if record["start"] in seen and record["end"] in seen and record["complete"]:
            assert got == want, record
            exact += 1
        if run is not None:
            run.append((got, want))
            if record["end"] in seen:
                total_got = [sum(g[i] for g, _ in run) for i in range(4)]
                total_want = [sum(w[i] for _, w in run) for i in range(4)]
                assert total_got == total_want, ("energy lost or invented across a gap", run)
                run = []
    return exact


class SimServer:
    """A meter behind ser2net: the simulation runs on at `speed` whether or not a client listens;
    `stop()`/`start()` restart the TCP server on the same port (telegrams meanwhile are lost)."""

    def __init__(self, simulation: Simulation, speed: float) -> None:
        self.simulation = simulation
        self.speed = speed
        self.port = free_port()
        self.clients: set[asyncio.StreamWriter] = set()
        self.server: asyncio.base_events.Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.sent_times: list[datetime] = []

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        with contextlib.suppress(Exception):
            await reader.read()
        self.clients.discard(writer)

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        t0, n = loop.time(), 0
        frames = iter(self.simulation)
        while True:
            n += 1
            await asyncio.sleep(max(0.0, t0 + n * self.simulation.every / self.speed - loop.time()))
            at, frame = next(frames)
            for writer in list(self.clients):
                try:
                    writer.write(frame)
                except Exception:
                    self.clients.discard(writer)
            if self.clients:
                self.sent_times.append(at)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)
        if self.task is None:
            self.task = asyncio.create_task(self._produce())

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.clients):
            writer.close()
        self.clients.clear()
        await self.server.wait_closed()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        with contextlib.suppress(Exception):
            await self.stop()


@contextlib.asynccontextmanager
async def sim_server(speed: float = SPEED, **options: Any) -> AsyncIterator[SimServer]:
    server = SimServer(Simulation("be-3ph", 3, datetime.fromisoformat(START), **options), speed)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def watch(gateway: Gateway, seen: set[str], quarter_hours: list[QuarterHourRecord]) -> None:
    """A live-stream subscriber: meter times of the telegrams, and the quarter-hours as announced."""
    async for item in gateway.subscribe():
        if item["type"] == "telegram":
            assert item["data"] is not None, "a telegram item carries its telegram"
            seen.add(item["data"]["timestamp"])
        elif item["type"] == "quarter_hour":
            quarter_hours.append(item["data"])


async def until(predicate: Any, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


LIVE_QUEUE = 1_000_000  # a test's subscriber never loses an item, however late the loop lets it run


async def delivered(gateway: Gateway) -> None:
    """Wait until every live subscriber has taken all that was broadcast (a subscriber appends in the same
    step in which it takes an item off its queue, so empty queues mean everything was recorded)."""
    await until(lambda: all(queue.empty() for queue in gateway.live.subscribers))


async def stop_watching(gateway: Gateway, watcher: asyncio.Task[None]) -> None:
    await delivered(gateway)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher


async def test_sim_with_corrupted_telegrams_to_store_and_mqtt(
    tmp_path: Path, mosquitto: Any, mqtt_collector: Any
) -> None:
    from gateway.mqtt import MqttPublisher, MqttSettings

    spec = f"sim:be-3ph?seed=3&speed={SPEED}&prepayment=20&start={START}&faults=corrupt=0.05"
    source = make_source(spec)
    store = open_store(tmp_path / "p1gw.sqlite")
    seen: set[str] = set()
    announced: list[QuarterHourRecord] = []
    async with (
        mqtt_collector(mosquitto, "p1gw/#") as mqtt,
        MqttPublisher(mosquitto.url, MqttSettings(queue_path=tmp_path / "q.sqlite")) as publisher,
    ):
        gateway = Gateway(source, store=store, publisher=publisher, live_queue_size=LIVE_QUEUE)
        watcher = asyncio.create_task(watch(gateway, seen, announced))
        async with gateway:
            await until(lambda: gateway.quarter_hours_stored >= 3)
            health = gateway.health()  # more may close and be stored before the stop
        # what the stop announced (quarter-hours whose write the stop finished) reaches the watcher first
        await stop_watching(gateway, watcher)
        truth = truth_by_start(source.simulation.drain_quarter_hours())
        await mqtt.wait_for(lambda m: m.topic.endswith("/quarter_hour"), count=3)
        await mqtt.wait_for(lambda m: m.topic.endswith("/prepayment"))
    stored = store.quarter_hours(
        datetime.fromisoformat(START) - timedelta(hours=1), datetime.fromisoformat(START) + timedelta(hours=1)
    )
    store.close()

    # the live stream announced exactly what the store holds, in order
    assert [r["start"] for r in announced] == [r["start"] for r in stored]
    assert check_against_truth(stored, truth, seen) >= 1
    on_mqtt = [json.loads(m.payload) for m in mqtt.messages if m.topic.endswith("/quarter_hour")]
    assert [r["start"] for r in on_mqtt] == [r["start"] for r in stored[: len(on_mqtt)]]
    assert {r["start"]: record_wh(r) for r in on_mqtt} == {
        r["start"]: record_wh(r) for r in stored[: len(on_mqtt)]
    }
    # 5 % corrupted: counted in health by reason, never data
    assert health["frames"]["errors"] > 0
    assert sum(health["frames"]["by_reason"].values()) == health["frames"]["errors"]
    assert health["telegrams"] + health["frames"]["errors"] >= 0.99 * (len(seen) + health["frames"]["errors"])
    assert 3 <= health["quarter_hours"]["stored"] <= len(stored)
    assert health["status"] in ("ok", "degraded")
    assert any(m.topic.endswith("/state/energy_import_day") for m in mqtt.messages)


async def test_socket_source_restarted_and_restore_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "p1gw.sqlite"
    async with sim_server() as meter:
        seen: set[str] = set()
        first: list[QuarterHourRecord] = []
        source = make_source(f"socket://127.0.0.1:{meter.port}", backoff_initial_s=0.05, backoff_max_s=0.1)
        store = open_store(db)
        gateway = Gateway(source, store=store, live_queue_size=LIVE_QUEUE)
        watcher = asyncio.create_task(watch(gateway, seen, first))
        async with gateway:
            await until(lambda: gateway.quarter_hours_closed >= 1)
            await meter.stop()  # the ser2net server goes away for a while (~ 0.4 min of meter time)
            await asyncio.sleep(0.05)
            await meter.start()
            await until(lambda: gateway.quarter_hours_closed >= 2)
            assert gateway.source.status()["connects"] == 2
        await stop_watching(gateway, watcher)
        store.close()

        # a second gateway process continues from the checkpoint: no quarter-hour twice, none missing
        source = make_source(f"socket://127.0.0.1:{meter.port}", backoff_initial_s=0.05, backoff_max_s=0.1)
        store = open_store(db)
        gateway = Gateway(source, store=store, live_queue_size=LIVE_QUEUE)
        watcher = asyncio.create_task(watch(gateway, seen, first))
        async with gateway:
            assert gateway.restored_from is not None
            await until(lambda: gateway.quarter_hours_closed >= 2)
        await stop_watching(gateway, watcher)
        truth = truth_by_start(meter.simulation.drain_quarter_hours())
        stored = store.quarter_hours(
            datetime.fromisoformat(START) - timedelta(hours=1),
            datetime.fromisoformat(START) + timedelta(hours=3),
        )
        store.close()
    starts = [datetime.fromisoformat(r["start"]) for r in stored]
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(starts)), "a gap"
    check_against_truth(stored, truth, seen)


async def test_live_subscriber_never_blocks_the_pipeline(tmp_path: Path) -> None:
    source = make_source(f"sim:be-1ph?seed=1&speed={SPEED}&start={START}")
    store = open_store(tmp_path / "db.sqlite")
    gateway = Gateway(source, store=store, live_queue_size=8)
    stalled = gateway.subscribe()
    assert isinstance(stalled, AsyncGenerator)  # closed below, as a web client's going away closes it
    first = asyncio.ensure_future(anext(stalled))  # subscribes, then never reads again
    async with gateway:
        await until(lambda: gateway.telegrams >= 300)
    await first
    assert gateway.live_dropped >= 250
    assert gateway.health()["live"]["dropped"] == gateway.live_dropped
    await stalled.aclose()
    store.close()


def test_prepayment_from_p1_lines() -> None:
    from dsmr_parser import parse_telegram

    sim = Simulation("be-3ph", 3, datetime.fromisoformat(START), count=2, prepayment=None)
    frame = next(iter(sim))[1]
    assert prepayment_from_telegram(parse_telegram(frame)) is None
    from meter_sim import PrepaymentOptions

    sim = Simulation("be-3ph", 3, datetime.fromisoformat(START), count=2, prepayment=PrepaymentOptions())
    state = prepayment_from_telegram(parse_telegram(next(iter(sim))[1]))
    assert state is not None
    assert state["balance_eur"] == 20 and state["supply_state"] == "connected" and state["in_credit"]
    assert set(state["accounts"]) == {"electricity", "gas"}


async def test_events_read_from_p1_lines_carry_the_domain_notification_names() -> None:
    """A meter read over P1 (no simulator account in the process): its prepayment lines tell the same
    notifications as the account would, named `prepayment_<NotificationKind>`."""
    from decimal import Decimal

    from dsmr_parser import parse_telegram
    from meter_sim import PrepaymentOptions

    options = PrepaymentOptions(credit_eur=Decimal("0.30"), emergency_credit_eur=Decimal(0))
    sim = Simulation("be-3ph", 3, datetime.fromisoformat(START), count=1500, every=60, prepayment=options)
    gateway = Gateway(make_source(f"sim:be-1ph?start={START}"))
    gateway.source.sim = None
    for _, frame in sim:
        await gateway.handle(parse_telegram(frame))
    events = [e for e in gateway.events(200) if is_prepayment_event(e)]
    assert {"prepayment_low_credit", "prepayment_supply_interrupted"} <= {e["type"] for e in events}
    for event in events:
        assert event["type"] == f"prepayment_{event['kind']}" and event["energy"] in ("electricity", "gas")
        assert event["meter_id"] == gateway.meter_id and event["at"]


@pytest.mark.parametrize("action", ["top_up", "press_button", "set_load"])
async def test_controls_reach_the_simulator(tmp_path: Path, action: str) -> None:
    from gateway.view import ControlDenied

    source = make_source(f"sim:be-3ph?seed=3&speed=60&prepayment=20&start={START}")
    gateway = Gateway(source)
    by_action: dict[str, dict[str, Any]] = {
        "top_up": {"id": "t1", "amount_eur": "10.00"},
        "press_button": {},
        "set_load": {"kw": "3.5", "duration_s": 60},
    }
    params = by_action[action]
    async with gateway:
        await until(lambda: gateway.telegrams >= 2)
        result = await gateway.control(action, params)
    assert result["action"] == action
    if action == "top_up":
        assert result["credited"] is True
        assert result["prepayment"]["balance_eur"] > 25
    other = Gateway(make_source(f"sim:be-1ph?start={START}"))
    other.source.sim = None
    with pytest.raises(ControlDenied):
        await other.control(action, params)


# -- a store that refuses writes (full disk), and history retention -----------------------------------------
def store_full(store: Any, full: bool) -> None:
    """A real SQLITE_FULL ("database or disk is full"): the SQLite file may not grow past the pages it has."""
    conn = store._db.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages if full else 1_073_741_823}")


class Fed:
    """Drives a `Gateway` telegram by telegram (`handle`) from the simulator of its `sim:` source, with a
    live-stream subscriber recording the quarter-hours as announced."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.frames = iter(gateway.source.simulation)
        self.announced: list[QuarterHourRecord] = []
        self.last_at: datetime | None = None
        gateway.live_queue_size = LIVE_QUEUE
        subscribers = len(gateway.live.subscribers)
        self._watcher = asyncio.create_task(watch(gateway, set(), self.announced))
        self._subscribed = lambda: len(gateway.live.subscribers) > subscribers

    async def until_closed(self, count: int) -> None:
        from dsmr_parser import parse_telegram

        await until(self._subscribed)  # the subscriber is in place before the first telegram
        target = self.gateway.quarter_hours_closed + count
        while self.gateway.quarter_hours_closed < target:
            self.last_at, frame = next(self.frames)
            await self.gateway.handle(parse_telegram(frame))
        await delivered(self.gateway)

    async def close(self) -> None:
        await stop_watching(self.gateway, self._watcher)


def all_quarter_hours(store: Any) -> list[QuarterHourRecord]:
    at = datetime.fromisoformat(START)
    return list(store.quarter_hours(at - timedelta(days=1), at + timedelta(days=1)))


async def test_quarter_hours_closed_while_the_store_is_full_are_stored_then_published_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    source = make_source(f"sim:be-3ph?seed=3&every=10&start={START}")
    store = open_store(tmp_path / "p1gw.sqlite")
    gateway = Gateway(source, store=store)
    await gateway.restore()
    fed = Fed(gateway)
    await fed.until_closed(2)
    assert gateway.quarter_hours_stored == 2
    before = list(fed.announced)

    store_full(store, True)
    await fed.until_closed(3)
    assert gateway.store_errors > 0 and "full" in (gateway.store_last_error or "")
    assert gateway.health()["quarter_hours"]["unstored"] == 3
    assert fed.announced == before, "a quarter-hour was published before it was stored"
    assert len(all_quarter_hours(store)) == 2
    checkpoint = store.get_checkpoint()
    assert checkpoint is not None and checkpoint["aggregator"]["open"]["start"] < int(
        datetime.fromisoformat(fed.announced[-1]["end"]).timestamp() + 1
    ), "the checkpoint moved past quarter-hours that are not stored"

    store_full(store, False)
    await fed.until_closed(1)
    stored = all_quarter_hours(store)
    assert gateway.health()["quarter_hours"]["unstored"] == 0
    assert gateway.quarter_hours_stored == gateway.quarter_hours_closed == len(stored) == 6
    starts = [datetime.fromisoformat(r["start"]) for r in stored]
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(starts)), "a hole"
    # announced once each, in order, only once stored, and the same records as the store's
    assert [r["start"] for r in fed.announced] == [r["start"] for r in stored]
    assert [record_wh(r) for r in fed.announced] == [record_wh(r) for r in stored]
    truth = truth_by_start(source.simulation.drain_quarter_hours())
    exact = [r for r in stored[1:] if r["start"] in truth]  # the first one is a cold start's partial one
    assert len(exact) == 5 and all(record_wh(r) == truth[r["start"]] and not r["estimated"] for r in exact)
    messages = [r.getMessage() for r in caplog.records]
    assert (
        messages.count("store write failed; closed quarter-hours wait in memory until it accepts writes") == 1
    )
    assert messages.count("store writes work again") == 1
    await fed.close()
    await gateway.stop()
    store.close()


async def test_quarter_hours_waiting_for_the_store_are_written_at_stop_with_the_checkpoint(
    tmp_path: Path,
) -> None:
    db = tmp_path / "p1gw.sqlite"
    source = make_source(f"sim:be-3ph?seed=3&every=10&start={START}")
    store = open_store(db)
    gateway = Gateway(source, store=store)
    await gateway.restore()
    fed = Fed(gateway)
    await fed.until_closed(1)
    store_full(store, True)
    await fed.until_closed(2)
    assert gateway.health()["quarter_hours"]["unstored"] == 2 and len(all_quarter_hours(store)) == 1
    store_full(store, False)
    await gateway.stop()  # before the next quarter-hour closes
    await fed.close()
    stored = all_quarter_hours(store)
    assert len(stored) == 3 and [r["start"] for r in fed.announced] == [r["start"] for r in stored]
    store.close()
    # a restarted gateway continues from the last telegram handled, right after the stored ones
    reopened = open_store(db)
    again = Gateway(make_source(f"sim:be-3ph?seed=3&every=10&start={START}"), store=reopened)
    await again.restore()
    assert fed.last_at is not None and again.restored_from == fed.last_at.isoformat()
    current = again.aggregator.current()
    assert current is not None and current.start.isoformat() == stored[-1]["end"]
    reopened.close()


async def test_quarter_hours_waiting_for_the_store_are_bounded_oldest_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    source = make_source(f"sim:be-3ph?seed=3&every=10&start={START}")
    store = open_store(tmp_path / "p1gw.sqlite")
    gateway = Gateway(source, store=store, unstored_max=2)
    await gateway.restore()
    fed = Fed(gateway)
    await fed.until_closed(1)
    store_full(store, True)
    await fed.until_closed(5)
    health = gateway.health()["quarter_hours"]
    assert (health["unstored"], health["dropped"]) == (2, 3)
    store_full(store, False)
    await fed.until_closed(1)
    stored = [r["start"] for r in all_quarter_hours(store)]
    closed_starts = [r["start"] for r in fed.announced]
    assert closed_starts == stored and len(stored) == 1 + 2 + 1  # the 3 oldest waiting ones were dropped
    gaps = [b - a for a, b in itertools.pairwise(datetime.fromisoformat(s) for s in stored)]
    assert gaps == [timedelta(minutes=15 * 4), timedelta(minutes=15), timedelta(minutes=15)]
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("quarter-hours dropped: the store refused writes for too long") == 1
    assert gateway.health()["quarter_hours"] == {**gateway.health()["quarter_hours"], "dropped": 3}
    await fed.close()
    await gateway.stop()
    store.close()


async def test_history_retention_runs_at_the_first_telegram_then_periodically_on_meter_time(
    tmp_path: Path,
) -> None:
    source = make_source(f"sim:be-3ph?seed=3&every=10&start={START}")
    store = open_store(tmp_path / "p1gw.sqlite", history_retention=timedelta(days=35))
    first = datetime.fromisoformat(START)
    old, later = first - timedelta(days=36), first - timedelta(days=35) + timedelta(minutes=10)
    for moment in (old, later):
        store.add_history("1SAG0000000001", moment, {"power_import": 1.0})
    store.add_event({"type": "x", "at": (first - timedelta(days=401)).isoformat()}, meter_id="M")
    store.flush()
    gateway = Gateway(source, store=store, retention_every=timedelta(minutes=30))
    await gateway.restore()
    fed = Fed(gateway)
    await fed.until_closed(1)  # 14:14 -> 14:15 of meter time: only the first run so far

    def kept() -> list[str]:
        return [r["at"] for r in store.history(old - timedelta(days=1), later + timedelta(days=1))]

    assert kept() == [store.history(later, later + timedelta(minutes=1))[0]["at"]]
    assert store.counts()["events"] == 0
    retention = gateway.health()["store"]["retention"]
    # the simulator's first telegram is stamped 14:14:10
    assert retention == {"at": "2026-11-22T14:14:10+01:00", "history_deleted": 1, "events_deleted": 1}
    await fed.until_closed(2)  # past 14:44: the second run, 30 minutes of meter time later
    assert kept() == []
    assert gateway.health()["store"]["retention"]["at"] == "2026-11-22T14:44:10+01:00"
    await fed.close()
    await gateway.stop()
    store.close()
