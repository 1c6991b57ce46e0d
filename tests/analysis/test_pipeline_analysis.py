"""The gateway's pipeline feeds the analyses: real simulator telegrams, SQLite on disk, a real Mosquitto.

A weak-grid meter at a sunny June noon: the over-voltage crossing is an `event` on MQTT (and stored), the
10-minute windows and the appliance aggregates land in the store, and `p1gw appliances` reads them back.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dsmr_parser import parse_telegram
from gateway.cli import main
from gateway.mqtt import MqttPublisher, MqttSettings
from gateway.pipeline import Gateway
from gateway.sources import make_source
from gateway.store import open_store
from gateway.store.analysis import appliance_data, voltage_data

START = datetime.fromisoformat("2026-06-17T11:55:00+02:00")


async def test_crossing_published_and_aggregates_stored(
    tmp_path: Path, mosquitto: Any, mqtt_collector: Any, capsys: Any
) -> None:
    source = make_source(f"sim:be-1ph?seed=1&every=1&grid=weak&start={START.isoformat()}")
    db = tmp_path / "p1gw.sqlite"
    store = open_store(db)
    async with (
        mqtt_collector(mosquitto, "p1gw/#") as mqtt,
        MqttPublisher(mosquitto.url, MqttSettings(queue_path=tmp_path / "q.sqlite")) as publisher,
    ):
        gateway = Gateway(source, store=store, publisher=publisher)
        frames = iter(source.simulation)
        end = START + timedelta(minutes=25, seconds=1)
        while True:
            at, frame = next(frames)
            await gateway.handle(parse_telegram(frame))
            if at >= end:
                break
        [crossing] = await mqtt.wait_for(
            lambda m: m.topic.endswith("/event") and json.loads(m.payload)["type"] == "voltage_limit",
            timeout=60,
        )
    event = json.loads(crossing.payload)
    assert event["kind"] == "over_voltage" and event["phase"] == 1 and event["voltage_v"] > 253
    assert event["exporting"] is True
    assert any(e["type"] == "voltage_limit" for e in store.events())
    windows, _ = voltage_data(store, START - timedelta(hours=1), end)
    # 11:50 (from 11:55: half of it), 12:00 and 12:10 closed; 12:20 still open
    assert [(w.start_ts - int(START.timestamp()), w.samples) for w in windows] == [
        (-300, 299),  # the first telegram is the one of 11:55:01
        (300, 600),
        (900, 600),
    ]
    assert max(w.max_dv for w in windows) > 2530
    _steps, power = appliance_data(store, START - timedelta(hours=1), end)
    assert len(power) == 3 and all(w.export_samples > 0 for w in power)
    store.close()

    assert main(["appliances", "--db", str(db), "--price", "0.30"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["meter_id"] == gateway.meter_id and "clusters" in report and "standby" in report
    out = tmp_path / "report"
    assert main(["appliances", "--db", str(db), "--out", str(out), "--lang", "nl"]) == 0
    assert json.loads((out / "appliances.json").read_text(encoding="utf-8"))["meter_id"] == gateway.meter_id
    page = (out / "appliances.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in page and "Sluimerverbruik" in page
