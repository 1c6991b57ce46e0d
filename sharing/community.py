"""The community as data: its members (EAN, role, weight) and a complete grid of their quarter-hours.

Pure: the members file and the data files are read by :mod:`sharing.csvio` and :mod:`sharing.ingest`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from metering.quarter_hours import QUARTER_S
from sharing.clock import Grid
from sharing.engine import Role
from sharing.keys import IntArray


@dataclass(frozen=True)
class Member:
    """One row of the members CSV."""

    ean: str
    name: str
    role: Role
    weight_ppm: int
    meter_id: str | None = None
    period_weights_ppm: tuple[int, int, int] | None = None


@dataclass(frozen=True, eq=False)
class Community:
    """Members in file order, with look-ups by EAN and meter id."""

    members: tuple[Member, ...]
    by_ean: dict[str, int] = field(init=False)
    by_meter_id: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_ean", {m.ean: i for i, m in enumerate(self.members)})
        object.__setattr__(
            self,
            "by_meter_id",
            {m.meter_id: i for i, m in enumerate(self.members) if m.meter_id},
        )

    @property
    def roles(self) -> list[Role]:
        return [m.role for m in self.members]

    @property
    def eans(self) -> list[str]:
        return [m.ean for m in self.members]

    def weights_ppm(self) -> IntArray:
        return np.array([m.weight_ppm for m in self.members], dtype=np.int64)

    def period_weights_ppm(self) -> IntArray:
        """(3, M) weights for the static-period key; members without them use ``weight``."""
        rows = [m.period_weights_ppm or (m.weight_ppm,) * 3 for m in self.members]
        return np.array(rows, dtype=np.int64).T.copy()


@dataclass(frozen=True, eq=False)
class Dataset:
    """A complete grid of quarter-hours for every member, in integer Wh."""

    grid: Grid
    consumption_wh: IntArray
    injection_wh: IntArray

    def pieces(self, quarters: int) -> Iterator[Dataset]:
        """Consecutive pieces of at most ``quarters`` quarter-hours (views, no copies)."""
        for lo in range(0, self.grid.count, quarters):
            hi = min(self.grid.count, lo + quarters)
            grid = Grid(self.grid.start_ts + lo * QUARTER_S, hi - lo, self.grid.tz)
            yield Dataset(grid, self.consumption_wh[lo:hi], self.injection_wh[lo:hi])
