"""Scenario files: a TOML timeline of what happens to the simulated meter.

Strategy: the file is read once into sorted `ScenarioEvent`s (offset in seconds from the start); the
simulation steps the meter exactly up to each event's instant and applies it through the meter's control
API, so events land on the second they name. Bad files fail early with the event index and the reason.

    [prepayment]            # optional: turns prepayment on (like --prepayment) with these settings
    credit_eur = 1.00       # start credit; also emergency_credit_eur, preset ("ores" default|"fluvius"),
                            # accounting ("immediate"|"central"; default the preset's),
                            # protected_customer, gas
    [[event]]
    at = "30m"              # offset from the start (90s, 15m, 6h, 6d) or an ISO time with offset
    action = "load"         # add kw for a duration
    kw = 8.0
    duration = "3h"
    [[event]]
    at = "4h"
    action = "top_up"       # id is required (a repeated id is credited once); energy = "gas" optional
    id = "tx-1"
    eur = 0.40
    [[event]]
    at = "4h5m"
    action = "press_button" # energy = "electricity" (default) or "gas"
    [[event]]
    at = "5h"
    action = "leak_test"    # leak_ml_s = 20 optional: gas flows during the test, which then fails
    [[event]]
    at = "6h"
    action = "fault"        # kind = "silence" (duration) | "clock_jump" (seconds)
    kind = "silence"
    duration = "30s"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .faults import parse_duration, parse_offset
from .meter_prepayment import PrepaymentOptions

ACTIONS = ("top_up", "press_button", "leak_test", "load", "fault")


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    offset_s: int
    action: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    events: list[ScenarioEvent]
    prepayment: PrepaymentOptions | None = None


def _offset(text: str) -> int:
    # offsets like "4h5m" are sums of duration parts
    import re

    parts = re.findall(r"\d+(?:\.\d+)?[smhdwy]?", text)
    if parts and "".join(parts) == text.replace(" ", ""):
        return sum(parse_duration(p) for p in parts)
    raise ValueError(f"bad offset {text!r}")


def parse_scenario(data: dict[str, Any], start: datetime) -> Scenario:
    """Validate a scenario (already parsed TOML) against the simulation start."""
    events: list[ScenarioEvent] = []
    for i, raw in enumerate(data.get("event", [])):
        where = f"event #{i + 1}"
        if not isinstance(raw, dict) or "at" not in raw or "action" not in raw:
            raise ValueError(f"{where}: needs 'at' and 'action'")
        action = raw["action"]
        if action not in ACTIONS:
            raise ValueError(f"{where}: unknown action {action!r} (one of {', '.join(ACTIONS)})")
        at = raw["at"]
        try:
            if isinstance(at, datetime):
                offset = parse_offset(at.isoformat(), start)
            elif isinstance(at, str) and ("T" in at or at[4:5] == "-"):
                offset = parse_offset(at, start)
            elif isinstance(at, int):
                offset = at
            else:
                offset = _offset(str(at))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if offset < 0:
            raise ValueError(f"{where}: happens before the simulation starts")
        params = {k: v for k, v in raw.items() if k not in ("at", "action")}
        if action == "top_up" and ("id" not in params or "eur" not in params):
            raise ValueError(f"{where}: top_up needs 'id' and 'eur'")
        if action == "load":
            if "kw" not in params or "duration" not in params:
                raise ValueError(f"{where}: load needs 'kw' and 'duration'")
            params["duration_s"] = _offset(str(params["duration"]))
        if action == "fault":
            kind = params.get("kind")
            if kind == "silence":
                params["duration_s"] = _offset(str(params.get("duration", "30s")))
            elif kind == "clock_jump":
                params["seconds"] = int(params.get("seconds", 3600))
            else:
                raise ValueError(f"{where}: fault kind must be 'silence' or 'clock_jump'")
        events.append(ScenarioEvent(offset, action, params))
    events.sort(key=lambda e: e.offset_s)
    prepay = None
    if "prepayment" in data:
        p = dict(data["prepayment"])
        try:
            prepay = PrepaymentOptions(
                credit_eur=Decimal(str(p.pop("credit_eur", "20.00"))),
                preset=_text_or_none(p.pop("preset", "ores")),
                accounting=_text_or_none(p.pop("accounting", None)),
                emergency_credit_eur=(
                    Decimal(str(p.pop("emergency_credit_eur"))) if "emergency_credit_eur" in p else None
                ),
                protected_customer=bool(p.pop("protected_customer", False)),
                gas=bool(p.pop("gas", True)),
            )
        except ArithmeticError:
            raise ValueError("[prepayment]: amounts must be numbers") from None
        if p:
            raise ValueError(f"[prepayment]: unknown keys {', '.join(sorted(p))}")
    return Scenario(events, prepay)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def load_scenario(path: str | Path, start: datetime) -> Scenario:
    """Read and validate a scenario TOML file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_scenario(data, start)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
