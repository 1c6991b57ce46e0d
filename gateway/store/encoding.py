"""How the store writes values: times as UTC seconds, state and event dicts as compact JSON text."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def seconds(moment: datetime | str) -> int:
    """An aware time (datetime or ISO text) -> UTC seconds; a naive one is refused (ValueError)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give an aware time (with its offset)")
    return int(moment.timestamp())


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def dumps(data: Any) -> str:
    """Compact, key-sorted JSON (Decimals as numbers, dates as ISO text)."""
    return json.dumps(data, default=_json_default, separators=(",", ":"), sort_keys=True)
