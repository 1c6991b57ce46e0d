"""Soak: `p1gw run` against `p1gw sim` with every fault, then every quarter-hour checked against the truth.

The default test runs 3 simulated hours at 300x (about a minute) with each fault once: broker restart, port
drop, SIGKILL mid-quarter-hour, full disk, 5 % corrupted telegrams. The `slow` ones run a simulated day at
1 telegram/s and a simulated month fast-forwarded (a telegram every 10 s). All checks are gathered and
reported together, so one failure does not hide the others. The clock tests run the gateway with a meter
years away from the system clock (and, when `faketime` is installed, with a faked system clock).
What is asserted for estimated quarter-hours is in `harness.Verdict`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .harness import Soak, SoakConfig, check, log_lines, rss_figures, stored_records, summary

PROMETHEUS_LINE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+-]+|[+-]Inf|NaN$")


def soak_problems(run: Any, *, max_log_per_hour: float, max_rss_growth_mb: float) -> list[str]:
    """Everything the issue asks of a soak run, as a list of failures (empty: all good)."""
    verdict = check(run)
    figures = summary(run, verdict)
    problems: list[str] = []
    if not verdict.ok:
        problems.append("quarter-hours vs truth: " + verdict.problems())
    if verdict.expected < run.config.duration_s // 900 - 2:
        problems.append(f"only {verdict.expected} quarter-hours checked")
    if run.gateway_exit != 0:
        problems.append(f"gateway exit status {run.gateway_exit} after SIGTERM")
    # logs: structured (one JSON object per line), no per-telegram spam
    lines = log_lines(run.log_path)
    raw = [item["raw"] for item in lines if "raw" in item]
    if raw:
        problems.append(f"{len(raw)} log lines are not JSON objects, e.g. {raw[:3]}")
    per_hour = figures["log"]["per_simulated_hour"]
    if per_hour > max_log_per_hour:
        problems.append(f"{per_hour} log lines per simulated hour (bound {max_log_per_hour})")
    framing = [i for i in lines if str(i.get("msg", "")).startswith("framing error")]
    if len(framing) > 4 * (len(run.faults) + 1):
        problems.append(f"{len(framing)} framing-error log lines for {len(run.faults)} faults: not damped")
    # memory
    rss = rss_figures(run)
    if rss["samples"] >= 8 and rss["growth_mb"] > max_rss_growth_mb:
        problems.append(f"RSS grew {rss['growth_mb']} MB after warm-up (bound {max_rss_growth_mb}): {rss}")
    # health and metrics saw the faults
    kinds = {f.kind for f in run.faults}
    health = run.health
    if "broker" in kinds and not any(h.get("mqtt", {}).get("connected") is False for h in health):
        problems.append("health never showed MQTT disconnected during the broker restart")
    disk_seen = any("store errors" in h.get("problems", []) for h in health) or any(
        (h.get("mqtt", {}).get("errors") or 0) > 0 for h in health
    )
    if "disk" in kinds and run.disk_method.startswith("tmpfs") and not disk_seen:
        problems.append("the full disk never showed in health (store errors or MQTT queue errors)")
    if "sigkill" in kinds and not any(h["quarter_hours"].get("restored_from") for h in health):
        problems.append("the restarted gateway did not report restoring from its checkpoint")
    metric_lines = [line for line in run.metrics_text.splitlines() if line and not line.startswith("#")]
    bad = [line for line in metric_lines if not PROMETHEUS_LINE.match(line)]
    if not metric_lines or bad:
        problems.append(f"/api/v1/metrics is not Prometheus text: {bad[:3] or run.metrics_text[:200]}")
    for name in ("telegrams", "frames_errors", "mqtt_queue_depth", "clock_skew_s"):
        if not any(name in line for line in metric_lines):
            problems.append(f"/api/v1/metrics has no {name} metric")
    return problems


def run_soak(tmp_path: Path, broker: Any, **options: Any) -> Any:
    config = SoakConfig(workdir=tmp_path / "soak", **options)
    with Soak(config, broker) as soak:
        return soak.run()


def test_soak_short_every_fault_once(tmp_path: Path, mosquitto_persistent: Any) -> None:
    run = run_soak(tmp_path, mosquitto_persistent, duration_s=3 * 3600, speed=300.0)
    assert {f.kind for f in run.faults} == {"broker", "port", "sigkill", "disk"}
    problems = soak_problems(run, max_log_per_hour=40.0, max_rss_growth_mb=20.0)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_soak_one_day_one_telegram_per_second(tmp_path: Path, mosquitto_persistent: Any) -> None:
    run = run_soak(tmp_path, mosquitto_persistent, duration_s=86400, speed=400.0, fault_period_s=6 * 3600)
    problems = soak_problems(run, max_log_per_hour=15.0, max_rss_growth_mb=10.0)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_soak_month_fast_forwarded(tmp_path: Path, mosquitto_persistent: Any) -> None:
    run = run_soak(
        tmp_path,
        mosquitto_persistent,
        duration_s=30 * 86400,
        speed=3500.0,
        every=10,
        fault_period_s=3 * 86400,
    )
    problems = soak_problems(run, max_log_per_hour=8.0, max_rss_growth_mb=10.0)
    assert not problems, "\n".join(problems)


# -- the clock rule: the meter's timestamp is the truth, a wrong system clock is detected and reported ------
def _aligned(moment: datetime) -> str:
    moment = moment.replace(second=0, microsecond=0)
    return (moment - timedelta(minutes=moment.minute % 15 + 1)).isoformat()


def clock_checks(run: Any, sign: int) -> None:
    verdict = check(run)
    assert verdict.ok, verdict.problems()
    # every quarter-hour after the cold start's partial one equals the meter's truth (how many the run
    # covers depends on how fast a loaded machine starts the meter: at least three)
    assert verdict.expected >= 3 and verdict.exact >= verdict.expected - 1
    late = [h for h in run.health if h.get("clock", {}).get("measured")]
    assert late, "health never measured the clock"
    last = late[-1]
    skew = last["clock"]["skew_s"]
    assert sign * skew > 300 * 86400, last["clock"]  # about a year and more, with the right sign
    assert last["clock"]["ok"] is False
    assert "system clock off the meter clock" in last["problems"]
    assert last["status"] == "degraded"  # data flows; the clock is what is wrong
    warned = [i for i in log_lines(run.log_path) if "system clock" in str(i.get("msg", ""))]
    assert len(warned) == 1, warned  # said once, not per telegram
    assert "clock_skew_s" in run.metrics_text


def test_meter_years_behind_the_system_clock(tmp_path: Path, mosquitto_persistent: Any) -> None:
    """A meter whose clock is 3 years behind ours (same as a Pi whose clock is 3 years ahead): quarter-hours
    are keyed by the meter's time and equal its truth; health reports the skew."""
    start = _aligned(datetime.now(UTC).astimezone() - timedelta(days=3 * 365))
    run = run_soak(
        tmp_path, mosquitto_persistent, duration_s=4500, speed=300.0, start=start, faults=(), corrupt=0.0
    )
    clock_checks(run, +1)
    stored = stored_records(run.db_path)
    first = datetime.fromisoformat(stored[0]["start"])
    assert abs(first - datetime.fromisoformat(start)) < timedelta(hours=1)  # keyed by the meter's time


LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), Path("/nonexistent"))


@pytest.mark.skipif(
    not LIBFAKETIME.exists(), reason="libfaketime is not installed (apt-get install faketime)"
)
def test_system_clock_faked_years_behind(tmp_path: Path, mosquitto_persistent: Any) -> None:
    """The gateway with a faked system clock (libfaketime: a Pi without RTC that booted in 2021) reads a meter
    at today's time. The library is preloaded directly: the `faketime` wrapper forks, so signals sent to it
    (SIGTERM, SIGKILL) and RSS samples would not be the gateway's."""
    start = _aligned(datetime.now(UTC).astimezone())
    run = run_soak(
        tmp_path,
        mosquitto_persistent,
        duration_s=4500,
        speed=300.0,
        start=start,
        faults=(),
        corrupt=0.0,
        extra_env={
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME": "@2021-06-01 03:00:00",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        },
    )
    clock_checks(run, -1)
    first = datetime.fromisoformat(stored_records(run.db_path)[0]["start"])
    assert abs(first - datetime.fromisoformat(start)) < timedelta(hours=1)  # the meter's time, not 2021
