"""Downsampled history: points kept one per step in memory (`Bucket`), and the history queries.

Power-like values (`*_kw`, `*_w`, `*_v`, `*_a`, `power_*`, `voltage_*`, `current_*`) are averaged over a
step; everything else keeps its last value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.store.backend import Backend
from gateway.store.encoding import dumps


def averaged(name: str) -> bool:
    """Power-like values are averaged over a history step; everything else keeps its last value."""
    return name.endswith(("_kw", "_w", "_v", "_a")) or name.startswith(("power_", "voltage_", "current_"))


@dataclass
class Bucket:
    """The points of one meter and one history step, summed (power-like values) or last seen (the rest)."""

    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)

    def add(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if averaged(name) and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                self.sums[name] = self.sums.get(name, 0.0) + float(value)
                self.counts[name] = self.counts.get(name, 0) + 1
            else:
                self.last[name] = value

    def data(self) -> dict[str, Any]:
        out = dict(self.last)
        for name, total in self.sums.items():
            out[name] = round(total / self.counts[name], 4)
        return out


def save_point(db: Backend, meter_id: str, ts: int, data: Mapping[str, Any]) -> None:
    """Write (or replace) the history point of `meter_id` at `ts`."""
    db.execute(
        "INSERT INTO history VALUES (?, ?, ?) ON CONFLICT (meter_id, ts) DO UPDATE SET data = excluded.data",
        (meter_id, ts, dumps(data)),
    )


def points(
    db: Backend, first_ts: int, end_ts: int, meter_id: str | None
) -> dict[tuple[str, int], dict[str, Any]]:
    """Stored points with time in [first_ts, end_ts), keyed by (meter_id, ts)."""
    sql = "SELECT meter_id, ts, data FROM history WHERE ts >= ? AND ts < ?"
    params: list[Any] = [first_ts, end_ts]
    if meter_id is not None:
        sql += " AND meter_id = ?"
        params.append(meter_id)
    return {(m, ts): json.loads(data) for m, ts, data in db.query(sql, params)}


def delete_before(db: Backend, ts: int) -> int:
    """Delete points older than `ts`; returns how many went."""
    return max(db.execute("DELETE FROM history WHERE ts < ?", (ts,)), 0)
