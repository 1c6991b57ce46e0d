"""A restarted simulated meter continues: `p1gw run --port sim:...` stopped and started again on the same
database keeps its meter clock and registers going forward (none of its telegrams is rejected, no value
published to Mosquitto ever decreases), at a speed where the meter's clock runs ahead of the wall clock."""

from __future__ import annotations

import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from meter_sim.meter import Meter

from ..conftest import free_port
from .test_run_faults import ROOT, wait_health


def p1gw_sim(db: Path, http_port: int, mqtt_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--port", "sim:be-3ph?seed=3&speed=300", "--db", str(db),
         "--http", f"127.0.0.1:{http_port}", "--mqtt", mqtt_url, "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


async def run_until(db: Path, mqtt_url: str, predicate: Any) -> dict[str, Any]:
    http_port = free_port()
    proc = p1gw_sim(db, http_port, mqtt_url)
    try:
        health = await wait_health(http_port, predicate)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    return health


async def test_restarted_simulator_continues_and_nothing_published_goes_back(
    tmp_path: Path, mosquitto: Any, mqtt_collector: Any
) -> None:
    db = tmp_path / "p1gw.sqlite"
    async with mqtt_collector(mosquitto, "p1gw/#") as mqtt:
        first = await run_until(db, mosquitto.url, lambda h: h["quarter_hours"]["stored"] >= 1)
        assert (tmp_path / "p1gw-sim-be-3ph-3.json").exists()
        second = await run_until(
            db, mosquitto.url, lambda h: h["quarter_hours"]["stored"] >= 1 and h["accepted"] >= 20
        )
        await mqtt.settle()
    assert second["rejected"] == {}, second
    assert "every telegram rejected" not in " ".join(second["problems"])
    assert second["last_meter_time"] > first["last_meter_time"]
    for name in ("energy_import_day", "energy_import_night", "energy_export_day", "gas_volume"):
        values = [Decimal(m.text) for m in mqtt.messages if m.topic.endswith(f"/state/{name}")]
        assert len(values) >= 2, name
        assert values == sorted(values), (name, values)


def test_meter_resumes_from_saved_registers_never_lower() -> None:
    first = Meter("be-3ph", 3, 1_795_000_500)
    first.step(4000)
    saved = first.registers()
    again = Meter("be-3ph", 3, 1_795_000_500 + 100, resume=saved)  # restarted "now", behind its own clock
    assert again.ts == saved.ts
    assert again.registers() == saved
    again.step(10)
    assert all(b >= a for a, b in zip(saved.import_j, again.registers().import_j, strict=True))
    other = Meter("be-3ph", 4, 1_795_000_500, resume=saved)  # another seed: not this meter's registers
    assert other.registers().import_j != saved.import_j
