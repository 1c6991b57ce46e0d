"""End to end: the weak-grid simulator -> the analysis aggregators -> the store -> `p1gw voltage`.

The simulator's model is driven directly with its own (passed-in) time, one reading every 10 s, so two
simulated weeks take seconds. A sunny June week on the weak feeder must be flagged for over-voltage (with
the home exporting), the January week on the same feeder and the same June week on a normal grid must not.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from analysis.readings import reading_from_values
from analysis.voltage import VoltageAggregator
from gateway.cli import main
from gateway.store import open_store
from gateway.store.analysis import add_analysis
from meter_sim.grid import get_grid
from meter_sim.meter import Meter
from meter_sim.truth import phase_values

ZONE = ZoneInfo("Europe/Brussels")
JUNE = datetime(2026, 6, 15, tzinfo=ZONE)
JANUARY = datetime(2026, 1, 12, tzinfo=ZONE)
EAN = "541448800000012345"


def simulate_week(db: Path, start: datetime, grid: str) -> str:
    meter = Meter("be-1ph", 1, start, grid=get_grid(grid))
    agg = VoltageAggregator(max_gap_s=15)
    windows, episodes = [], []
    end = start + timedelta(days=7)
    while meter.time < end:
        meter.step(10)
        update = agg.feed(meter.time, reading_from_values(phase_values(meter)))
        windows += update.windows
        episodes += update.ended
    last = agg.flush()
    windows += [w for w in last.windows if w.start_ts < int(end.timestamp())]
    episodes += last.ended
    with open_store(db) as store:
        add_analysis(store, meter.equipment_id, windows=windows, episodes=episodes)
        record = {
            "meter_id": meter.equipment_id, "ean": EAN, "start": start.isoformat(),
            "end": (start + timedelta(minutes=15)).isoformat(), "import_day": 0.1, "import_night": 0,
            "export_day": 0, "export_night": 0,
        }  # fmt: skip
        store.add_quarter_hours([record])
    return meter.equipment_id


def report(db: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["voltage", "--db", str(db), "--out", str(out), "--min-samples", "30", *extra])
    return code, json.loads((out / "voltage.json").read_text(encoding="utf-8"))


def test_weak_grid_flags_the_sunny_week_and_not_the_winter_one(tmp_path: Path) -> None:
    weak = tmp_path / "weak.sqlite"
    meter_id = simulate_week(weak, JANUARY, "weak")
    simulate_week(weak, JUNE, "weak")
    code, data = report(weak, tmp_path / "weak", "--lang", "en")
    assert code == 3  # a week fails
    assert (data["meter_id"], data["ean"], data["source"]) == (meter_id, EAN, "p1")
    weeks = {w["start"][:10]: w for w in data["weeks"]}
    assert len(weeks) == 23  # every week from January to June is stated, with or without data
    january, june = weeks["2026-01-12"], weeks["2026-06-15"]
    assert (january["verdict"], january["over_voltage_flagged"]) == ("pass", False)
    assert (june["verdict"], june["over_voltage_flagged"]) == ("fail", True)
    [phase] = june["phases"]
    assert phase["over_voltages"] >= 1 and phase["over_voltages_with_export"] == phase["over_voltages"]
    assert phase["max_mean_v"] > 253 and phase["meter_swells"] >= 1
    assert phase["worst"] and all(e["kind"] == "over_voltage" and e["with_export"] for e in phase["worst"])
    empty = weeks["2026-03-02"]
    assert empty["verdict"] == "undetermined" and empty["phases"][0]["windows_valid"] == 0
    html = (tmp_path / "weak" / "voltage.html").read_text(encoding="utf-8")
    assert EAN in html and "NOT COMPLIANT" in html and "<svg" in html
    assert "2026-06-1" in html  # the worst episodes are listed with their local times

    # the same June week on a normal grid: nothing to report
    normal = tmp_path / "normal.sqlite"
    simulate_week(normal, JUNE, "normal")
    code, data = report(normal, tmp_path / "normal", "--lang", "fr")
    [week] = data["weeks"]
    assert code == 0 and (week["verdict"], week["over_voltage_flagged"]) == ("pass", False)
    assert "conforme" in (tmp_path / "normal" / "voltage.html").read_text(encoding="utf-8")
