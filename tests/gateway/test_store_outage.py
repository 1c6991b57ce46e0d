"""A full disk told as one story: one ERROR line when writes start failing, one line when what waited is
stored, and health back to `ok` (no `store errors`) at that very write, asked over the real HTTP API.

Strategy: the real pipeline (`Gateway`) is driven telegram by telegram from its in-process simulator into a
real SQLite store that refuses to grow (`PRAGMA max_page_count`: the same SQLITE_FULL a full disk gives);
health is read through the production HTTP server. No sleeps: each step waits for quarter-hours to close.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.http import create_app
from gateway.pipeline import Gateway
from gateway.sources import make_source
from gateway.store import open_store

from .test_http_limits import production_server
from .test_pipeline import START, Fed, all_quarter_hours, store_full


def pipeline_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "p1gw.pipeline" and r.levelno >= level]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    return dict(getattr(record, "fields", {}))


async def test_full_disk_logs_once_and_health_recovers_when_the_waiting_data_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="p1gw")
    store = open_store(tmp_path / "p1gw.sqlite")
    gateway = Gateway(make_source(f"sim:be-3ph?seed=3&every=10&start={START}"), store=store)
    await gateway.restore()
    fed = Fed(gateway)
    try:
        async with (
            production_server(create_app(gateway)) as (base, _),
            httpx.AsyncClient(base_url=base) as web,
        ):

            async def store_health() -> tuple[list[str], dict[str, Any]]:
                health = (await web.get("/api/v1/health")).json()
                return health["problems"], health["store"]

            await fed.until_closed(1)
            problems, state = await store_health()
            assert "store errors" not in problems and state["failing"] is False

            store_full(store, True)
            await fed.until_closed(3)  # three quarter-hours refused, and history flushes with them
            problems, state = await store_health()
            assert "store errors" in problems and state["failing"] is True
            assert state["errors"] >= 3 and "full" in state["last_error"]
            errors = pipeline_records(caplog, logging.ERROR)
            assert [r.getMessage() for r in errors] == [
                "store write failed; closed quarter-hours wait in memory until it accepts writes"
            ]
            assert "full" in fields(errors[0])["error"]

            store_full(store, False)
            await fed.until_closed(1)  # the next write stores the three that waited, then the new one
            problems, state = await store_health()
            assert "store errors" not in problems and state["failing"] is False
            assert state["errors"] >= 3  # the count stays (a Prometheus counter); the outage is over
    finally:
        await fed.close()
        await gateway.stop()
        store.close()

    with open_store(tmp_path / "p1gw.sqlite") as again:
        assert len(all_quarter_hours(again)) == 5
    told = [r for r in pipeline_records(caplog, logging.INFO) if "store" in r.getMessage()]
    assert [r.getMessage() for r in told] == [
        "store write failed; closed quarter-hours wait in memory until it accepts writes",
        "store writes work again",
    ]
    recovered = fields(told[1])
    assert recovered["quarter_hours_stored_late"] == 3 and recovered["refused_writes"] >= 3
    assert recovered["outage_s"] >= 0
