"""How the store writes values: times as UTC seconds, state and event dicts as JSON (`gateway.jsonenc`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway import jsonenc


def seconds(moment: datetime | str) -> int:
    """An aware time (datetime or ISO text) -> UTC seconds; a naive one is refused (ValueError)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give an aware time (with its offset)")
    return int(moment.timestamp())


def dumps(data: Any) -> str:
    """Stored JSON: the shell's one encoding (`gateway.jsonenc`), keys sorted so a state reads the same."""
    return jsonenc.dumps(data, sort_keys=True)
