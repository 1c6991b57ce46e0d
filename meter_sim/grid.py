"""The grid behind the meter: how each phase's voltage follows the home's own power and its neighbours'.

Strategy: a `GridModel` turns the second's base voltage (the transformer's, seeded per quarter-hour),
the home's net power per phase and its own PV production into deci-volts, in integers. `normal` is a stiff
urban grid (about 0.25 Ω to the transformer: a few volts of drop). `weak` is a long rural feeder with PV on
most roofs: the neighbours' PV (same sun, same clouds: taken proportional to the home's own production) lifts
the voltage at midday, the home's own export lifts it further through a larger impedance (the typical
inverter trip on over-voltage, above 253 V), and the evening load of the street plus a large load of the
home (an EV charger) pull it down into dips (below 207 V). The meter counts sags and swells per phase
(`1-0:32.32.0`, `1-0:32.36.0`, ...) when the model says it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GridModel:
    """Voltage model of the supply.

    Args:
        name: `normal` or `weak`.
        w_per_dv: the home's own net power (W) that moves its phase voltage by 0.1 V (line impedance).
        street_pv_dv: rise (0.1 V) from the street's PV at full output; it follows the home's own PV (same
            sun, same clouds) as a fraction of its peak (kWp).
        evening_drop_dv: the street's evening load, at its 19:30 peak (0.1 V).
        counts_events: the meter prints its sag/swell counters.
    """

    name: str
    w_per_dv: int
    street_pv_dv: int = 0
    evening_drop_dv: int = 0
    counts_events: bool = False

    def voltages_dv(
        self, base_dv: list[int], phase_w: list[int], pv_w: int, pv_peak_w: int, local_hour: float
    ) -> list[int]:
        """Per phase: base + the street's PV rise - the street's evening drop - own net power x impedance."""
        street = pv_w * self.street_pv_dv // pv_peak_w if pv_peak_w > 0 else 0
        if self.evening_drop_dv:
            d = (local_hour - 19.5 + 12.0) % 24.0 - 12.0
            street -= int(self.evening_drop_dv * math.exp(-0.5 * (d / 2.0) ** 2))
        return [base_dv[k] + street - phase_w[k] // self.w_per_dv for k in range(len(phase_w))]


GRIDS = {
    "normal": GridModel("normal", w_per_dv=92),
    "weak": GridModel("weak", w_per_dv=40, street_pv_dv=330, evening_drop_dv=90, counts_events=True),
}


def get_grid(name: str) -> GridModel:
    """A grid model by name, with a clear error listing the known ones."""
    try:
        return GRIDS[name]
    except KeyError:
        raise ValueError(f"unknown grid {name!r}; known: {', '.join(GRIDS)}") from None
