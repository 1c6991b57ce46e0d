"""The analysis aggregates in the store (migration 0003), and the pipeline side fed from S1 seconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from analysis.appliances import PowerStep, PowerWindow
from analysis.voltage import VoltageEpisode, VoltageWindow
from gateway.pipeline.analysis import LiveAnalysis
from gateway.store import open_store
from gateway.store.analysis import add_analysis, appliance_data, meter_identity, stored_period, voltage_data

ZONE = ZoneInfo("Europe/Brussels")
T0 = datetime(2026, 6, 17, 12, 0, tzinfo=ZONE)
TS = int(T0.timestamp())


def test_round_trip_idempotent_and_s1_preferred(tmp_path: Path) -> None:
    p1 = VoltageWindow(TS, 1, 600, 2300 * 600, 2290, 2310, 10, 4, 2, "p1")
    s1 = VoltageWindow(TS, 1, 600, 2301 * 600, 2280, 2320, 10, None, None, "s1")
    episode = VoltageEpisode(1, "over_voltage", TS + 60, TS + 90, 2551, 30, "p1")
    step = PowerStep(TS + 5, 2000, (1, 2))
    power = PowerWindow(TS, 600, 600 * 150, 0)
    with open_store(tmp_path / "a.db") as store:
        for _ in range(2):  # a replay writes nothing twice
            add_analysis(
                store, "M1", windows=[p1, s1], episodes=[episode], steps=[step], power_windows=[power]
            )
        end = T0 + timedelta(hours=1)
        assert voltage_data(store, T0, end) == ([s1], [])  # S1 measured the RMS of every period
        assert voltage_data(store, T0, end, source="p1") == ([p1], [episode])
        assert appliance_data(store, T0, end) == ([step], [power])
        assert voltage_data(store, T0, end, meter_id="other") == ([], [])
        assert stored_period(store) == (T0, T0 + timedelta(minutes=10))
        assert meter_identity(store) == {"meter_id": "M1", "ean": None}


def test_s1_seconds_become_s1_windows() -> None:
    live = LiveAnalysis()
    events = []
    for i in range(601):
        volts = 255.0 if 100 <= i < 110 else 231.0
        values = {"s1_voltage_l1": volts, "s1_power_l1": -1500.0, "s1_power": -1500.0}
        events += live.feed_s1(T0 + timedelta(seconds=i), values)
    assert live.due
    [window] = live._windows
    assert (window.source, window.samples, window.export_samples) == ("s1", 600, 600)
    [event] = events
    assert (event["type"], event["kind"], event["source"], event["exporting"]) == (
        "voltage_limit", "over_voltage", "s1", True,
    )  # fmt: skip
