"""The community hub: many gateways' quarter-hours in, each member's allocated share out.

Strategy: a synchronous core (:class:`HubCore`) over a store (:class:`HubStore`, SQLite or
PostgreSQL with the same SQL, through the gateway store's backends and migration runner) and an
asyncio shell (:func:`run_hub`) that only moves messages.

- Readings are upserted keyed by (EAN, start): duplicates change nothing, a late correction replaces
  the old value. The upsert's ``RETURNING`` tells which quarter-hours actually changed.
- After its write is committed, a worker checks in the store whether every member's reading for a
  changed quarter-hour is in; if so it allocates it (final). Several workers sharing the load via
  an MQTT 5 shared subscription all see the same store, and the last writer to commit always sees
  the complete set, so no quarter-hour is forgotten; two workers allocating the same one write the
  same rows (idempotent).
- :meth:`HubCore.sweep` (called periodically with the current time, the clock lives in the shell)
  allocates quarter-hours still incomplete ``deadline_s`` after their end, with missing members
  counted as zero, flagged provisional. Late data for a provisional quarter-hour recomputes it.
- Every (re)allocation whose numbers or flag changed is published per member, retained, QoS 1, on
  ``p1gw/<meter_id>/community`` (EAN when the member has no meter_id).
- A deadline sweep in one worker can race another worker completing the same quarter-hour: a provisional
  row never replaces a final one in the store (the upsert's ``WHERE``), and after publishing provisional
  results a worker re-reads them (:meth:`HubCore.settle`) and republishes any made final meanwhile, so the
  last message on each topic is the final one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import numpy as np

from gateway.store import Backend, apply_migrations, open_backend
from metering.quarter_hours import QUARTER_S
from sharing.clock import DEFAULT_TZ, parse_start, period_of
from sharing.community import Community
from sharing.engine import allocate
from sharing.keys import AllocationKey
from sharing.kwh import format_kwh, parse_kwh

log = logging.getLogger("p1gw.hub")

HUB_MIGRATIONS = "sharing.hub_sql"
# not the gateway's `schema_version`: a hub may share its PostgreSQL database with a gateway store
HUB_VERSION_TABLE = "sharing_schema_version"
UPSERT_READING = """INSERT INTO sharing_readings (ean, start_ts, consumption_wh, injection_wh)
    VALUES (?, ?, ?, ?)
    ON CONFLICT (ean, start_ts) DO UPDATE SET
        consumption_wh = excluded.consumption_wh, injection_wh = excluded.injection_wh
    WHERE sharing_readings.consumption_wh <> excluded.consumption_wh
       OR sharing_readings.injection_wh <> excluded.injection_wh
    RETURNING start_ts"""
UPSERT_ALLOCATION = """INSERT INTO sharing_allocations
    (ean, start_ts, shared_wh, residual_wh, surplus_wh, provisional) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (ean, start_ts) DO UPDATE SET shared_wh = excluded.shared_wh,
        residual_wh = excluded.residual_wh, surplus_wh = excluded.surplus_wh,
        provisional = excluded.provisional
    WHERE sharing_allocations.provisional <> 0 OR excluded.provisional = 0
    RETURNING ean"""


class HubStore:
    """Readings and allocations in SQLite (a file path) or PostgreSQL (a ``postgresql://`` URL).

    The connection is the gateway store's backend (:func:`gateway.store.open_backend`); the schema is
    versioned like the gateway's (``sharing/hub_sql/``, table ``sharing_schema_version``). A hub database
    from before the versioning holds exactly version 1 and is recorded as such when opened.
    """

    def __init__(self, target: str | Path) -> None:
        # NORMAL, not FULL: after a power cut the gateways' retained, QoS 1 quarter-hours fill in whatever
        # the last commits lost, and a recomputed allocation is the same
        self.db: Backend = open_backend(target, synchronous="NORMAL")
        self.postgres = self.db.dialect == "postgresql"
        try:
            versions = apply_migrations(self.db, package=HUB_MIGRATIONS, table=HUB_VERSION_TABLE)
        except BaseException:
            self.db.close()
            raise
        self.schema_version = versions[1]

    @property
    def conn(self) -> Any:
        """The driver's connection (sqlite3 or psycopg), for diagnostics such as ``EXPLAIN QUERY PLAN``."""
        return cast(Any, self.db).conn

    def upsert_readings(self, rows: Iterable[tuple[str, int, int, int]]) -> set[int]:
        """Store readings; returns the starts whose stored values are new or changed."""
        changed: set[int] = set()
        with self.db.transaction():
            for row in rows:
                changed.update(int(r[0]) for r in self.db.query(UPSERT_READING, row))
        return changed

    def readings(self, start_ts: int) -> dict[str, tuple[int, int]]:
        rows = self.db.query(
            "SELECT ean, consumption_wh, injection_wh FROM sharing_readings WHERE start_ts = ?", (start_ts,)
        )
        return {str(e): (int(c), int(i)) for e, c, i in rows}

    def allocation(self, start_ts: int) -> dict[str, tuple[int, int, int, bool]]:
        rows = self.db.query(
            "SELECT ean, shared_wh, residual_wh, surplus_wh, provisional FROM sharing_allocations "
            "WHERE start_ts = ?",
            (start_ts,),
        )
        return {str(e): (int(s), int(r), int(u), bool(p)) for e, s, r, u, p in rows}

    def save_allocation(self, start_ts: int, rows: Sequence[tuple[str, int, int, int, bool]]) -> set[str]:
        """Store allocation rows; returns the EANs written. A provisional row never replaces a final
        one (another worker may have completed the quarter-hour meanwhile)."""
        written: set[str] = set()
        with self.db.transaction():
            for ean, shared, residual, surplus, provisional in rows:
                params = (ean, start_ts, shared, residual, surplus, int(provisional))
                written.update(str(r[0]) for r in self.db.query(UPSERT_ALLOCATION, params))
        return written

    def unallocated_before(self, end_ts: int) -> list[int]:
        """Starts with readings but no allocation whose quarter-hour started before ``end_ts``."""
        rows = self.db.query(
            "SELECT DISTINCT r.start_ts FROM sharing_readings r WHERE r.start_ts < ? AND "
            "NOT EXISTS (SELECT 1 FROM sharing_allocations a WHERE a.start_ts = r.start_ts)"
            " ORDER BY r.start_ts",
            (end_ts,),
        )
        return [int(r[0]) for r in rows]

    def all_allocations(self) -> dict[tuple[str, int], tuple[int, int, int, bool]]:
        rows = self.db.query(
            "SELECT ean, start_ts, shared_wh, residual_wh, surplus_wh, provisional FROM sharing_allocations"
        )
        return {(str(e), int(t)): (int(s), int(r), int(u), bool(p)) for e, t, s, r, u, p in rows}

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True)
class Publication:
    topic: str
    payload: str
    start_ts: int = 0
    provisional: bool = False


class RecordError(ValueError):
    """A quarter-hour message the hub cannot use (logged and skipped)."""


class HubCore:
    """Allocation logic over a :class:`HubStore`; time is always passed in."""

    def __init__(self, community: Community, key: AllocationKey, store: HubStore, *,
                 deadline_s: int = 3600, tz: str = DEFAULT_TZ, base_topic: str = "p1gw") -> None:  # fmt: skip
        self.community = community
        self.key = key
        self.store = store
        self.deadline_s = deadline_s
        self.zone = ZoneInfo(tz)
        self.base_topic = base_topic
        self.rejected = 0

    def parse(self, topic: str, payload: bytes | str) -> tuple[str, int, int, int]:
        """A gateway quarter-hour record -> (ean, start_ts, consumption_wh, injection_wh)."""
        try:
            record = json.loads(payload)
            start = parse_start(str(record["start"]))
            consumption = parse_kwh(str(record["import_kwh"]))
            injection = parse_kwh(str(record["export_kwh"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"{topic}: unusable quarter-hour record ({exc})") from None
        if consumption < 0 or injection < 0:
            raise RecordError(f"{topic}: negative energy")
        ean = str(record.get("ean") or "")
        if ean not in self.community.by_ean:
            parts = topic.split("/")
            meter_id = str(record.get("meter_id") or (parts[-2] if len(parts) >= 2 else ""))
            index = self.community.by_meter_id.get(meter_id)
            if index is None:
                raise RecordError(f"{topic}: meter {meter_id!r} / EAN {ean!r} is not a member")
            ean = self.community.members[index].ean
        return ean, start, consumption, injection

    def ingest(self, messages: Iterable[tuple[str, bytes | str]]) -> list[Publication]:
        """Store a batch of (topic, payload) messages and allocate what became allocatable."""
        rows: dict[tuple[str, int], tuple[str, int, int, int]] = {}
        for topic, payload in messages:
            try:
                row = self.parse(topic, payload)
            except RecordError as exc:
                self.rejected += 1
                log.warning("%s", exc)
                continue
            rows[(row[0], row[1])] = row  # the last of duplicates in one batch wins
        changed = self.store.upsert_readings(rows.values())
        publications: list[Publication] = []
        for start in sorted(changed):
            readings = self.store.readings(start)
            complete = len(readings) == len(self.community.members)
            if complete or self.store.allocation(start):
                publications += self.allocate_start(start, readings, provisional=not complete)
        return publications

    def sweep(self, now_ts: float) -> list[Publication]:
        """Allocate, provisionally, quarter-hours still incomplete ``deadline_s`` after their end."""
        cutoff = int(now_ts) - self.deadline_s - QUARTER_S
        publications: list[Publication] = []
        for start in self.store.unallocated_before(cutoff + 1):
            readings = self.store.readings(start)
            complete = len(readings) == len(self.community.members)
            publications += self.allocate_start(start, readings, provisional=not complete)
        return publications

    def settle(self, published: Sequence[Publication]) -> list[Publication]:
        """After provisional results went out: those quarter-hours another worker has made final since
        are published again, final, recomputed from the stored readings (nothing is written). A worker's
        provisional message can reach the broker after another's final one; this makes the final one the
        last (and retained) message."""
        out: list[Publication] = []
        for start in sorted({p.start_ts for p in published if p.provisional}):
            stored = self.store.allocation(start)
            if stored and not any(row[3] for row in stored.values()):
                out += self.allocate_start(start, self.store.readings(start), provisional=False, again=True)
        return out

    def allocate_start(self, start_ts: int, readings: dict[str, tuple[int, int]], *,
                       provisional: bool, again: bool = False) -> list[Publication]:  # fmt: skip
        """Allocate one quarter-hour; store and publish only what changed (``again``: store nothing and
        publish every member's result, for :meth:`settle`)."""
        members = self.community.members
        cons = np.array([[readings.get(m.ean, (0, 0))[0] for m in members]], dtype=np.int64)
        inj = np.array([[readings.get(m.ean, (0, 0))[1] for m in members]], dtype=np.int64)
        local = datetime.fromtimestamp(start_ts, self.zone)
        period = np.array([period_of(local)], dtype=np.int64)
        result = allocate(cons, inj, self.community.roles, self.key, period)
        residual = result.residual_wh(cons)[0]
        surplus = result.member_surplus_wh(inj)[0]
        rows = [
            (m.ean, int(result.received_wh[0, i]), int(residual[i]), int(surplus[i]), provisional)
            for i, m in enumerate(members)
        ]
        if again:
            fresh = rows
        else:
            before = self.store.allocation(start_ts)
            fresh = [r for r in rows if before.get(r[0]) != r[1:]]
            written = self.store.save_allocation(start_ts, fresh) if fresh else set()
            fresh = [r for r in fresh if r[0] in written]
        if not fresh:
            return []
        end = datetime.fromtimestamp(start_ts + QUARTER_S, self.zone).isoformat()
        total_shared = int(result.received_wh.sum())
        publications = []
        index = self.community.by_ean
        for ean, shared, res, sur, prov in fresh:
            member = members[index[ean]]
            c, i = int(cons[0, index[ean]]), int(inj[0, index[ean]])
            payload = {
                "ean": ean, "meter_id": member.meter_id, "start": local.isoformat(), "end": end,
                "consumption_kwh": float(format_kwh(c)), "injection_kwh": float(format_kwh(i)),
                "shared_kwh": float(format_kwh(shared)), "residual_kwh": float(format_kwh(res)),
                "surplus_kwh": float(format_kwh(sur)), "provisional": prov, "key": self.key.name,
                "community_shared_kwh": float(format_kwh(total_shared)),
                "community_production_kwh": float(format_kwh(int(result.pool_wh[0]))),
            }  # fmt: skip
            topic = f"{self.base_topic}/{member.meter_id or ean}/community"
            publications.append(
                Publication(topic, json.dumps(payload, separators=(",", ":")), start_ts, prov)
            )
        return publications


@dataclass(frozen=True)
class HubConfig:
    broker_url: str
    store: str
    client_id: str = "p1gw-hub"
    group: str = "p1gw-hub"
    deadline_s: int = 3600
    sweep_every_s: float = 30.0
    batch: int = 500
    mqtt_v311: bool = False
    base_topic: str = "p1gw"


def subscription(config: HubConfig) -> str:
    topic = f"{config.base_topic}/+/quarter_hour"
    return f"$share/{config.group}/{topic}" if config.group else topic


async def run_hub(config: HubConfig, community: Community, key: AllocationKey,
                  stop: asyncio.Event | None = None,
                  ready: asyncio.Event | None = None) -> None:  # fmt: skip
    """Subscribe, store, allocate and publish until ``stop`` is set (or cancelled); ``ready`` is
    set once the subscription is acknowledged."""
    import aiomqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    url = urlparse(config.broker_url)
    store = HubStore(config.store)
    core = HubCore(community, key, store, deadline_s=config.deadline_s,
                   base_topic=config.base_topic)  # fmt: skip
    options: dict[str, Any] = {"identifier": config.client_id}
    if config.mqtt_v311:
        options.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=False)
    else:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 7 * 86_400  # keep the session (queued QoS 1) for a week
        options.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=props)
    stop = stop or asyncio.Event()
    try:
        async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883,
                                  username=url.username, password=url.password,
                                  **options) as client:  # fmt: skip
            await client.subscribe(subscription(config), qos=1)
            if ready is not None:
                ready.set()
            queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

            async def receive() -> None:
                async for message in client.messages:
                    payload = message.payload
                    data = payload if isinstance(payload, bytes) else str(payload).encode()
                    queue.put_nowait((str(message.topic), data))

            async def publish(pubs: list[Publication]) -> None:
                # all in flight at once, not a PUBACK round trip each; they reach the client in order,
                # so one topic's messages keep their order on the wire
                for first in range(0, len(pubs), 256):
                    chunk = pubs[first : first + 256]
                    await asyncio.gather(
                        *(client.publish(p.topic, p.payload, qos=1, retain=True) for p in chunk)
                    )

            async def deliver(pubs: list[Publication]) -> None:
                await publish(pubs)
                await publish(core.settle(pubs))  # what another worker made final meanwhile

            receiver = asyncio.create_task(receive())
            last_sweep = 0.0
            try:
                while not stop.is_set():
                    batch: list[tuple[str, bytes]] = []
                    with contextlib.suppress(TimeoutError):
                        batch.append(await asyncio.wait_for(queue.get(), 0.2))
                    while batch and not queue.empty() and len(batch) < config.batch:
                        batch.append(queue.get_nowait())
                    if batch:
                        await deliver(core.ingest(batch))
                    now = time.time()
                    if now - last_sweep >= config.sweep_every_s:
                        last_sweep = now
                        await deliver(core.sweep(now))
                    if receiver.done():
                        receiver.result()  # surface a lost connection
                        break
            finally:
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await receiver
    finally:
        store.close()
