"""What the simulated meter's registers keep and produce: the state a restart continues from
(`MeterRegisters`), the exact per-quarter-hour deltas (`QuarterHourTruth`), and the exact conversions the
meter prints with (scaled integers to Decimal, Unix seconds to Brussels time and its UTC offset).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from . import calendars
from .profiles import _DST_INSTANTS, _DST_OFFSETS

_DST_LIST = _DST_INSTANTS.tolist()
_DST_OFF = _DST_OFFSETS.tolist()


@dataclass(frozen=True, slots=True)
class MeterRegisters:
    """What a restarted simulated meter continues from: kind, seed, clock (Unix s) and registers."""

    kind: str
    seed: int
    ts: int
    import_j: tuple[int, int]  # tariff 1, tariff 2, joules
    export_j: tuple[int, int]
    gas_ml: int
    water_ml: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "ts": self.ts,
            "import_j": list(self.import_j),
            "export_j": list(self.export_j),
            "gas_ml": self.gas_ml,
            "water_ml": self.water_ml,
        }

    @classmethod
    def from_json(cls, data: Any) -> MeterRegisters:
        """Raises ValueError naming what is wrong."""
        try:
            imp, exp = data["import_j"], data["export_j"]
            return cls(
                str(data["kind"]),
                int(data["seed"]),
                int(data["ts"]),
                (int(imp[0]), int(imp[1])),
                (int(exp[0]), int(exp[1])),
                int(data["gas_ml"]),
                int(data["water_ml"]),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"not a simulated meter's saved registers: {exc!r}") from None


class QuarterHourTruth(NamedTuple):
    """The register deltas (Wh) the model produced in one quarter-hour [start, start + 15 min)."""

    start: datetime
    import_t1_wh: int
    import_t2_wh: int
    export_t1_wh: int
    export_t2_wh: int

    @property
    def import_wh(self) -> int:
        return self.import_t1_wh + self.import_t2_wh

    @property
    def export_wh(self) -> int:
        return self.export_t1_wh + self.export_t2_wh


def scaled_decimal(n: int, decimals: int) -> Decimal:
    """The scaled integer `n` (e.g. Wh for kWh with 3 decimals) as the exact Decimal it stands for."""
    return Decimal(n).scaleb(-decimals)


def local_offset(ts: int) -> tuple[int, int]:
    """(UTC offset s of Europe/Brussels at `ts`, next instant the offset changes)."""
    i = bisect.bisect_right(_DST_LIST, ts) - 1
    off = _DST_OFF[i] if i >= 0 else 3600
    nxt = _DST_LIST[i + 1] if i + 1 < len(_DST_LIST) else 2**62
    return off, nxt


def unix_seconds(start: datetime | int) -> int:
    """An aware datetime or Unix seconds as Unix seconds (ValueError for a naive datetime)."""
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime (time zone required)")
        return int(start.timestamp())
    return int(start)


def local_time(ts: int) -> datetime:
    """Unix seconds as the meter's local (Europe/Brussels) aware datetime."""
    return datetime.fromtimestamp(ts, UTC).astimezone(calendars.ZONE)
