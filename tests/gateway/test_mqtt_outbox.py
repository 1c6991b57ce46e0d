"""The outbox rule between the store and the MQTT queue, with a real SQLite store, a real queue file and a
real Mosquitto: quarter-hours stored but never queued for MQTT (the process died between the store's
commit and the queue's) are published by the next start, exactly those, oldest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.mqtt import MqttPublisher, MqttSettings
from gateway.pipeline import Gateway, not_yet_queued
from gateway.sources import make_source
from gateway.store import open_store
from metering.record import QuarterHourRecord

METER = "OUTBOX0001"
TOPIC = f"p1gw/{METER}/quarter_hour"


def record(start: datetime, i: int) -> dict[str, Any]:
    return {
        "meter_id": METER,
        "ean": None,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=15)).isoformat(),
        "import_day": round(0.01 * (i + 1), 3),
        "import_night": 0.0,
        "export_day": 0.0,
        "export_night": 0.0,
        "complete": True,
        "estimated": False,
        "telegrams": 900,
    }


def publisher(url: str, queue_path: Path) -> MqttPublisher:
    return MqttPublisher(
        url,
        MqttSettings(
            meter_id=METER, queue_path=queue_path, discovery=False, backoff_initial_s=0.05, backoff_max_s=0.3
        ),
    )


async def test_restart_publishes_exactly_the_stored_quarter_hours_that_never_reached_the_queue(
    tmp_path: Path, mosquitto: Any, mqtt_collector: Any
) -> None:
    now = datetime.now(UTC)
    first = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) - timedelta(hours=3)
    records = [record(first + timedelta(minutes=15 * i), i) for i in range(6)]
    delivered, lost = records[:2], records[2:]
    store = open_store(tmp_path / "p1gw.sqlite")
    queue_path = tmp_path / "p1gw-mqtt-queue.sqlite"
    try:
        async with mqtt_collector(mosquitto, TOPIC) as seen:
            async with publisher(mosquitto.url, queue_path) as before:
                store.add_quarter_hours(delivered)
                for r in delivered:
                    before.publish_quarter_hour(r)
                await seen.wait_for(count=len(delivered))
                # the crash window: committed to the store, then the process died before the queue got them
                store.add_quarter_hours(lost)
            assert before.status()["queue_depth"] == 0

            async with publisher(mosquitto.url, queue_path) as after:
                gateway = Gateway(make_source("sim:be-1ph?seed=1"), store=store, publisher=after)
                await gateway.restore()
                await seen.wait_for(count=len(records))
                assert await after.wait_idle(60)
                await gateway.source.aclose()
            await seen.settle()
        starts = [json.loads(m.payload)["start"] for m in seen.messages]
        assert starts == [
            r["start"] for r in records
        ]  # the lost ones once, in order; none of the others again

        # the next start finds nothing missing: the mark followed the re-published ones into the queue file
        async with publisher(mosquitto.url, queue_path) as again:
            assert again.quarter_hours_queued() == {METER: datetime.fromisoformat(records[-1]["start"])}
            gateway = Gateway(make_source("sim:be-1ph?seed=1"), store=store, publisher=again)
            await gateway.restore()
            status = again.status()  # nothing queued: neither waiting nor already sent
            assert status["queue_depth"] == 0
            assert status["published"].get("quarter_hour", 0) == 0
            await gateway.source.aclose()
    finally:
        store.close()


def test_not_yet_queued_compares_instants_per_meter_across_a_dst_change() -> None:
    def qh(meter: str, start: str) -> QuarterHourRecord:
        end = (datetime.fromisoformat(start) + timedelta(minutes=15)).isoformat()
        return {
            "meter_id": meter,
            "ean": None,
            "start": start,
            "end": end,
            "import_day": 0.0,
            "import_night": 0.0,
            "export_day": 0.0,
            "export_night": 0.0,
            "import_kwh": 0.0,
            "export_kwh": 0.0,
            "avg_import_kw": 0.0,
            "avg_export_kw": 0.0,
            "complete": True,
            "estimated": False,
            "telegrams": 90,
        }

    records = [
        qh("A", "2026-10-25T02:30:00+02:00"),
        qh("A", "2026-10-25T02:45:00+02:00"),
        qh("B", "2026-10-25T02:45:00+02:00"),
        qh("A", "2026-10-25T02:00:00+01:00"),  # later than 02:45+02:00 although it sorts before as text
        qh("A", "2025-01-01T00:00:00+01:00"),  # older than `since`
    ]
    queued = {"A": datetime.fromisoformat("2026-10-25T00:45:00+00:00")}  # 02:45+02:00
    since = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    assert not_yet_queued(records, queued, since) == [records[2], records[3]]
