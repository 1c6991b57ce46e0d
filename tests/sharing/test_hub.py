"""Hub core over a real store (SQLite file; PostgreSQL when running): completeness, duplicates,
late data, provisional allocation at the deadline and its recomputation."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sharing import synthetic
from sharing.clock import Grid, parse_start
from sharing.engine import allocate
from sharing.hub import HubCore, HubStore, Publication
from sharing.keys import DynamicProportional

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_store() -> HubStore:
    try:
        import psycopg

        schema = f"sh_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:  # no server, no driver
        pytest.skip(f"PostgreSQL not available at {PG_URL}: {exc}")
    return HubStore(f"{PG_URL}?options=-csearch_path%3D{schema}")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    s = HubStore(tmp_path / "hub.sqlite") if request.param == "sqlite" else _postgres_store()
    yield s
    s.close()


COMM = synthetic.community(4)
GRID = Grid(parse_start("2026-05-04T11:00:00+02:00"), 4)
DATA = synthetic.generate(COMM, GRID, seed=11)


def message(t: int, m: int, *, consumption_wh: int | None = None) -> tuple[str, str]:
    member = COMM.members[m]
    c = int(DATA.consumption_wh[t, m]) if consumption_wh is None else consumption_wh
    record = {"meter_id": member.meter_id, "start": GRID.iso(t), "end": GRID.iso(t + 1),
              "import_kwh": c / 1000, "export_kwh": int(DATA.injection_wh[t, m]) / 1000,
              "complete": True}  # fmt: skip
    return f"p1gw/{member.meter_id}/quarter_hour", json.dumps(record)


def payloads(pubs: list[Publication]) -> dict[str, dict[str, Any]]:
    return {p.topic: json.loads(p.payload) for p in pubs}


def test_complete_quarter_hour_matches_batch_and_duplicates_are_idempotent(store: HubStore) -> None:
    core = HubCore(COMM, DynamicProportional(), store)
    n = len(COMM.members)
    assert core.ingest([message(0, m) for m in range(n - 1)]) == []  # one member missing: wait
    pubs = core.ingest([message(0, n - 1)])
    assert len(pubs) == n
    batch = allocate(DATA.consumption_wh[:1], DATA.injection_wh[:1], COMM.roles,
                     DynamicProportional())  # fmt: skip
    got = payloads(pubs)
    for m, member in enumerate(COMM.members):
        p = got[f"p1gw/{member.meter_id}/community"]
        assert round(p["shared_kwh"] * 1000) == int(batch.received_wh[0, m])
        assert p["provisional"] is False and p["start"] == GRID.iso(0)
    assert core.ingest([message(0, m) for m in range(n)]) == []  # duplicates change nothing
    assert core.ingest([message(0, 0)] * 3) == []


def test_deadline_gives_provisional_then_late_data_recomputes(store: HubStore) -> None:
    core = HubCore(COMM, DynamicProportional(), store, deadline_s=600)
    n = len(COMM.members)
    assert core.ingest([message(1, m) for m in range(1, n)]) == []  # member 0 is late
    end = GRID.ts(2)
    assert core.sweep(end + 599) == []  # deadline not reached
    pubs = payloads(core.sweep(end + 600))
    assert len(pubs) == n and all(p["provisional"] for p in pubs.values())
    first = pubs[f"p1gw/{COMM.members[0].meter_id}/community"]
    assert first["shared_kwh"] == 0 and first["consumption_kwh"] == 0
    assert core.sweep(end + 10_000) == []  # already allocated
    late = payloads(core.ingest([message(1, 0)]))
    assert all(p["provisional"] is False for p in late.values())
    batch = allocate(DATA.consumption_wh[1:2], DATA.injection_wh[1:2], COMM.roles,
                     DynamicProportional())  # fmt: skip
    stored = store.allocation(GRID.ts(1))
    for m, member in enumerate(COMM.members):
        assert stored[member.ean][0] == int(batch.received_wh[0, m])
        assert stored[member.ean][3] is False


def test_correction_of_a_final_quarter_hour_republishes(store: HubStore) -> None:
    core = HubCore(COMM, DynamicProportional(), store)
    core.ingest([message(2, m) for m in range(len(COMM.members))])
    pubs = core.ingest([message(2, 0, consumption_wh=int(DATA.consumption_wh[2, 0]) + 5000)])
    assert pubs and all(json.loads(p.payload)["provisional"] is False for p in pubs)


def test_unknown_and_malformed_messages_are_skipped(store: HubStore) -> None:
    core = HubCore(COMM, DynamicProportional(), store)
    bad: list[tuple[str, bytes | str]] = [
        ("p1gw/NOPE/quarter_hour", json.dumps({"start": GRID.iso(0), "import_kwh": 1, "export_kwh": 0})),
        ("p1gw/SIM00000/quarter_hour", b"{not json"),
        ("p1gw/SIM00000/quarter_hour", json.dumps({"start": GRID.iso(0)})),
    ]
    assert core.ingest(bad) == []
    assert core.rejected == 3
    assert np.all([store.readings(GRID.ts(0)) == {}])


def test_a_provisional_sweep_racing_a_final_never_wins(store: HubStore) -> None:
    """Worker A's deadline sweep read an incomplete quarter-hour just before worker B completed it.
    Whether A writes before or after B, the store ends final and A's last word on MQTT is final."""
    n = len(COMM.members)
    a = HubCore(COMM, DynamicProportional(), store, deadline_s=600)
    b = HubCore(COMM, DynamicProportional(), store, deadline_s=600)
    batch = allocate(DATA.consumption_wh[3:4], DATA.injection_wh[3:4], COMM.roles, DynamicProportional())

    def final_in_store() -> None:
        stored = store.allocation(GRID.ts(3))
        assert len(stored) == n and not any(row[3] for row in stored.values())
        for m, member in enumerate(COMM.members):
            assert stored[member.ean][0] == int(batch.received_wh[0, m])

    assert a.ingest([message(3, m) for m in range(1, n)]) == []
    stale = store.readings(GRID.ts(3))  # A's sweep reads n-1 readings ...
    final = payloads(b.ingest([message(3, 0)]))  # ... B completes the quarter-hour and publishes
    assert len(final) == n and not any(p["provisional"] for p in final.values())
    # A writes after B: the store refuses to go back to provisional, A publishes nothing
    assert a.allocate_start(GRID.ts(3), stale, provisional=True) == []
    final_in_store()


def test_a_provisional_published_after_a_final_is_followed_by_the_final(store: HubStore) -> None:
    n = len(COMM.members)
    a = HubCore(COMM, DynamicProportional(), store, deadline_s=600)
    b = HubCore(COMM, DynamicProportional(), store, deadline_s=600)
    assert a.ingest([message(3, m) for m in range(1, n)]) == []
    # A writes its provisional result first, but its messages reach the broker after B's final ones
    provisional = a.sweep(GRID.ts(4) + 600)
    assert len(provisional) == n and all(p.provisional for p in provisional)
    final = b.ingest([message(3, 0)])
    assert len(final) == n and not any(p.provisional for p in final)
    assert b.settle(final) == []  # nothing provisional published by B
    settled = a.settle(provisional)  # after publishing, A re-reads: the quarter-hour is final now
    assert [(p.topic, p.payload) for p in settled] == [(p.topic, p.payload) for p in final]
    # and a worker that published provisional results nobody has completed republishes nothing
    assert a.ingest([message(2, m) for m in range(1, n)]) == []
    assert a.settle(a.sweep(GRID.ts(3) + 600)) == []


def test_lookups_by_quarter_hour_use_an_index(tmp_path: Path) -> None:
    """A year of a 12-member community is 420,000 rows per table: every per-message lookup by start must
    be an index search, not a scan (without the index the year-long e2e run slowed to 40 messages/s)."""
    store = HubStore(tmp_path / "hub.sqlite")
    try:
        for table in ("sharing_readings", "sharing_allocations"):
            plan = store.conn.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE start_ts = ?", (0,)
            ).fetchall()
            detail = " ".join(str(row[-1]) for row in plan)
            assert "USING INDEX" in detail and "SCAN" not in detail, detail
    finally:
        store.close()


def test_a_hub_database_from_before_versioning_opens_as_version_1(tmp_path: Path) -> None:
    """The hub schema as it was created before migrations existed (no version table): opening it records
    version 1, keeps its rows and changes no table."""
    path = tmp_path / "old-hub.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """CREATE TABLE sharing_readings (ean TEXT NOT NULL, start_ts BIGINT NOT NULL,
               consumption_wh BIGINT NOT NULL, injection_wh BIGINT NOT NULL, PRIMARY KEY (ean, start_ts));
           CREATE TABLE sharing_allocations (ean TEXT NOT NULL, start_ts BIGINT NOT NULL,
               shared_wh BIGINT NOT NULL, residual_wh BIGINT NOT NULL, surplus_wh BIGINT NOT NULL,
               provisional INTEGER NOT NULL, PRIMARY KEY (ean, start_ts));
           CREATE INDEX sharing_readings_start ON sharing_readings (start_ts);
           CREATE INDEX sharing_allocations_start ON sharing_allocations (start_ts);
           INSERT INTO sharing_readings VALUES ('E1', 900, 120, 0);
           INSERT INTO sharing_allocations VALUES ('E1', 900, 10, 110, 0, 1);"""
    )
    old.close()
    store = HubStore(path)
    try:
        assert store.schema_version == 1
        assert store.readings(900) == {"E1": (120, 0)}
        assert store.all_allocations() == {("E1", 900): (10, 110, 0, True)}
    finally:
        store.close()
    again = HubStore(path)
    try:
        assert again.schema_version == 1
        assert again.conn.execute("SELECT count(*) FROM sharing_schema_version").fetchone()[0] == 1
    finally:
        again.close()
