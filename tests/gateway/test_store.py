"""Store over SQLite (on disk) and PostgreSQL (127.0.0.1:5432, a fresh schema per test; skipped when absent).

Also `p1gw db` end to end (migrate, backup, restore, export) and the migration of a version-1 database.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main as p1gw
from gateway.store import StoreError, migrate, migrations, open_store, restore_sqlite
from metering.quarter_hours import QuarterHour
from metering.record import CSV_COLUMNS

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_available() -> str | None:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # the reason is shown in the skip message
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL: a SQLite file in tmp_path, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "p1gw.db")
        return
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"p1gw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def record(start: str, import_day: float, meter_id: str = "M1", **extra: Any) -> dict[str, Any]:
    begin = datetime.fromisoformat(start)
    return {
        "meter_id": meter_id,
        "ean": "541449000000000001",
        "start": start,
        "end": (begin + timedelta(minutes=15)).isoformat(),
        "import_day": import_day,
        "import_night": 0.0,
        "export_day": 0.0,
        "export_night": 0.012,
        "complete": True,
        "estimated": False,
        "telegrams": 900,
        **extra,
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_quarter_hours_round_trip_exactly_and_inserts_are_idempotent(store_url: str) -> None:
    records = [record("2026-11-22T14:00:00+01:00", 0.123), record("2026-11-22T14:15:00+01:00", 1234.567)]
    with open_store(store_url) as store:
        assert store.add_quarter_hours(records, checkpoint={"n": 1}) == 2
        assert store.add_quarter_hours(records, checkpoint={"n": 2}) == 0
        got = store.quarter_hours(at("2026-11-22T14:00:00+01:00"), at("2026-11-22T15:00:00+01:00"))
        assert [r["import_day"] for r in got] == [0.123, 1234.567]
        assert got[0]["avg_import_kw"] == 0.492 and got[1]["import_kwh"] == 1234.567
        assert got[0]["export_kwh"] == 0.012 and got[0]["ean"] == "541449000000000001"
        assert set(got[0]) >= set(CSV_COLUMNS)
        days = store.daily_totals(date(2026, 11, 22), date(2026, 11, 23))
        assert len(days) == 1 and days[0]["import_kwh"] == 1234.69 and days[0]["quarter_hours"] == 2
        assert store.get_checkpoint() == {"n": 2}
        assert (
            store.quarter_hours(at("2026-11-22T14:15:00+01:00"), at("2026-11-22T14:30:00+01:00"), "X") == []
        )


def test_quarter_hour_objects_and_the_repeated_autumn_hour_are_distinct_rows(store_url: str) -> None:
    first = at("2026-10-25T02:00:00+02:00")
    second = at("2026-10-25T02:00:00+01:00")
    quarters = [
        QuarterHour(start, start + timedelta(minutes=15), wh, 0, 0, 0, True, False, 900)
        for start, wh in ((first, 100), (second, 200))
    ]
    with open_store(store_url) as store:
        assert store.add_quarter_hours(quarters, meter_id="M1") == 2
        got = store.quarter_hours(at("2026-10-25T00:00:00+02:00"), at("2026-10-26T00:00:00+01:00"))
        assert [(r["start"], r["import_day"]) for r in got] == [
            ("2026-10-25T02:00:00+02:00", 0.1),
            ("2026-10-25T02:00:00+01:00", 0.2),
        ]


def test_a_bad_record_stores_nothing_and_says_why(store_url: str) -> None:
    with open_store(store_url) as store:
        bad = [
            record("2026-11-22T14:00:00+01:00", 0.5),
            record("2026-11-22T14:15:00+01:00", 0.1234),  # a fraction of a Wh
        ]
        with pytest.raises(ValueError, match="3 decimals"):
            store.add_quarter_hours(bad, checkpoint={"must": "not be saved"})
        with pytest.raises(ValueError, match="naive"):
            store.add_quarter_hours([record("2026-11-22T14:00:00", 0.5)])
        with pytest.raises(ValueError, match="without"):
            store.add_quarter_hours([{"meter_id": "M1"}])
        assert store.counts()["quarter_hours"] == 0
        assert store.get_checkpoint() is None


def test_events_newest_first(store_url: str) -> None:
    with open_store(store_url) as store:
        for minute in range(5):
            store.add_event(
                {"type": "peak_warning", "kind": "threshold", "at": f"2026-11-22T14:0{minute}:00+01:00"},
                meter_id="M1",
            )
        events = store.events(limit=3)
        assert [(e["at"] or "")[11:16] for e in events] == ["14:04", "14:03", "14:02"]
        assert events[0]["meter_id"] == "M1" and events[0].get("kind") == "threshold"
        assert len(store.events(since=at("2026-11-22T14:03:00+01:00"))) == 2


def test_history_is_downsampled_buffered_and_flushed(store_url: str) -> None:
    clock = [0.0]
    with open_store(store_url, flush_interval_s=60, monotonic=lambda: clock[0]) as store:
        t0 = at("2026-11-22T14:00:00+01:00")
        for second in range(150):
            store.add_history("M1", t0 + timedelta(seconds=second), {"power_import_kw": second, "tariff": 1})
        assert store.pending == 3 and store.counts()["history"] == 0
        points = store.history(t0, t0 + timedelta(hours=1))
        assert [p["power_import_kw"] for p in points] == [29.5, 89.5, 134.5]
        clock[0] = 61.0
        store.add_history("M1", t0 + timedelta(seconds=150), {"power_import_kw": 150})
        assert store.counts()["history"] == 3 and store.pending == 1  # newest minute stays open in memory
        assert store.history(t0, t0 + timedelta(hours=1))[-1]["power_import_kw"] == 135.0
    with open_store(store_url) as store:
        assert store.counts()["history"] == 3  # close() flushed


def test_retention_trims_history_and_events_but_keeps_quarter_hours(store_url: str) -> None:
    now = at("2026-11-22T14:00:00+01:00")
    with open_store(
        store_url, history_retention=timedelta(days=7), events_retention=timedelta(days=30)
    ) as store:
        for days in (1, 10):
            moment = now - timedelta(days=days)
            store.add_history("M1", moment, {"power_import_kw": 1})
            store.add_event({"type": "x", "at": (now - timedelta(days=days * 5)).isoformat()})
            store.add_quarter_hours([record(moment.isoformat(), 1.0)])
        assert store.apply_retention(now) == {"history": 1, "events": 1}
        assert store.counts()["history"] == 1 and store.counts()["events"] == 1
        assert store.counts()["quarter_hours"] == 2


def test_prepayment_state_is_kept_and_survives_a_restart(store_url: str) -> None:
    with open_store(store_url) as store:
        store.save_prepayment("M1", {"credit_eur": "12.34"})
        store.save_prepayment("M1", {"credit_eur": "12.30"})
        assert store.prepayment("M1") == {"credit_eur": "12.30"}
        store.add_quarter_hours([record("2026-11-22T14:00:00+01:00", 0.1)])  # flushes in the same transaction
        assert store.pending == 0
    with open_store(store_url) as store:
        assert store.prepayment() == {"credit_eur": "12.30"}
        assert store.prepayment("other") is None


def _raw_insert_v1(url: str, rows: list[tuple[Any, ...]]) -> None:
    sql = "INSERT INTO quarter_hours VALUES (" + ", ".join(["?"] * 13) + ")"
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for row in rows:
                conn.execute(sql.replace("?", "%s"), row)
    else:
        with sqlite3.connect(url) as conn:
            conn.executemany(sql, rows)


def test_a_version_1_database_is_upgraded_with_its_data_intact(store_url: str) -> None:
    assert migrate(store_url, target=1) == (0, 1)
    t0 = int(at("2026-11-22T14:00:00+01:00").timestamp())
    rows = [
        ("M1", t0 + 900 * i, t0 + 900 * (i + 1), f"2026-11-22T14:{15 * i:02d}:00+01:00",
         "x", None, 100 + i, 5, 0, 0, 1, 0, 900)
        for i in range(3)
    ]  # fmt: skip
    _raw_insert_v1(store_url, rows)
    with open_store(store_url) as store:
        latest = migrations()[-1][0]  # later migrations add tables; version 1's data stays intact
        assert (store.migrated_from, store.schema_version) == (1, latest)
        got = store.quarter_hours(at("2026-11-22T00:00:00+01:00"), at("2026-11-23T00:00:00+01:00"))
        assert [r["import_day"] for r in got] == [0.1, 0.101, 0.102]
        assert store.daily_totals(date(2026, 11, 22), date(2026, 11, 23))[0]["import_day"] == 0.303
    assert migrate(store_url) == (latest, latest)


def test_open_store_refuses_a_non_database_with_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not"):
        open_store(junk)
    assert junk.read_bytes() == b"this is not a database" * 100
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing" / "p1gw.db")


def test_backup_while_writing_then_restore(tmp_path: Path) -> None:
    db = tmp_path / "p1gw.db"
    start = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    with open_store(db) as store:
        store.add_quarter_hours(
            [record((start + timedelta(minutes=15 * i)).isoformat(), 0.5) for i in range(50)]
        )
        stop = threading.Event()

        def writer() -> None:
            with open_store(db) as other:
                i = 50
                while not stop.is_set():
                    other.add_quarter_hours([record((start + timedelta(minutes=15 * i)).isoformat(), 0.5)])
                    i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            backup = store.backup(tmp_path / "backup.db")
        finally:
            stop.set()
            thread.join()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copied = conn.execute("SELECT count(*) FROM quarter_hours").fetchone()[0]
        totals = conn.execute("SELECT sum(quarter_hours) FROM daily_totals").fetchone()[0]
    assert copied >= 50 and totals == copied  # consistent: daily totals match the quarter-hours copied
    target = tmp_path / "restored.db"
    latest = migrations()[-1][0]
    assert restore_sqlite(backup, target) == (latest, latest)
    with open_store(target) as store:
        assert store.counts()["quarter_hours"] == copied
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 4096)
    with pytest.raises(StoreError):
        restore_sqlite(junk, target)
    with open_store(target) as store:
        assert store.counts()["quarter_hours"] == copied  # untouched


def test_backup_is_refused_on_postgresql(store_url: str, tmp_path: Path) -> None:
    with open_store(store_url) as store:
        if store.dialect == "sqlite":
            assert store.backup(tmp_path / "b.db").exists()
        else:
            with pytest.raises(StoreError, match="pg_dump"):
                store.backup(tmp_path / "b.db")


def test_p1gw_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p1gw.db"
    assert p1gw(["db", "migrate", "--db", str(db)]) == 0
    assert f"0 -> {migrations()[-1][0]}" in capsys.readouterr().out
    with open_store(db) as store:
        store.add_quarter_hours(
            [
                record("2026-11-22T14:00:00+01:00", 0.123),
                record("2026-11-23T00:00:00+01:00", 2.0, estimated=True),
            ]
        )
    out = tmp_path / "q.csv"
    assert (
        p1gw(
            ["db", "export", "--db", str(db), "--from", "2026-11-22", "--to", "2026-11-23", "--out", str(out)]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == 1
    assert rows[0]["import_day"] == "0.123" and rows[0]["avg_import_kw"] == "0.492"
    assert rows[0]["complete"] == "true" and rows[0]["estimated"] == "false"
    assert p1gw(["db", "backup", "--db", str(db), "--to", str(tmp_path / "b.db")]) == 0
    assert p1gw(["db", "restore", "--db", str(tmp_path / "r.db"), "--from", str(tmp_path / "b.db")]) == 0
    capsys.readouterr()
    assert p1gw(["db", "info", "--db", str(tmp_path / "r.db")]) == 0
    assert '"quarter_hours": 2' in capsys.readouterr().out
    assert p1gw(["db", "export", "--db", str(db), "--from", "yesterday", "--to", "2026-11-23"]) == 1
    assert "not an ISO date" in capsys.readouterr().err
    assert p1gw(["db", "restore", "--db", str(db), "--from", str(tmp_path / "none.db")]) == 1
    assert "does not exist" in capsys.readouterr().err
