"""Building a key from its name and parameters (shared by `p1gw share`, sizing and the hub).

Strategy: one function maps the CLI/config vocabulary onto :mod:`sharing.keys` objects, taking
member weights from the members file (``weight``, or ``weight_day/night/weekend`` for the
static-period key).
"""

from __future__ import annotations

from sharing.community import Community
from sharing.engine import role_masks
from sharing.keys import (
    PPM,
    AllocationKey,
    DynamicProportional,
    EqualActive,
    FixedEqual,
    FixedSpecific,
    MultiRound,
    StaticPerPeriod,
    fluvius_optimal,
    hybrid,
    key_names,
    parse_rounds,
    pct_to_ppm,
    sibelga_multi_round,
)


def build_key(
    name: str,
    community: Community,
    *,
    rounds: str | None = None,
    fixed_part_pct: str = "50",
    sibelga_rounds: int = 3,
) -> AllocationKey:
    """A key by CLI name; raises ValueError with a readable message when parameters are wrong."""
    weights = community.weights_ppm()
    if name == "fixed":
        return FixedSpecific(weights)
    if name == "equal":
        receivers, _ = role_masks(community.roles)
        return FixedEqual(receivers)
    if name == "equal-active":
        return EqualActive()
    if name == "static-period":
        return StaticPerPeriod(community.period_weights_ppm())
    if name == "dynamic":
        return DynamicProportional()
    if name == "multi-round":
        if not rounds:
            raise ValueError("--key multi-round needs --rounds, e.g. '60:fixed,40:pro_rata'")
        return MultiRound(parse_rounds(rounds), weights)
    if name == "fluvius-optimal":
        return fluvius_optimal(weights)
    if name == "sibelga-multi-round":
        return sibelga_multi_round(weights, sibelga_rounds)
    if name == "hybrid":
        part = pct_to_ppm(fixed_part_pct)
        if part > PPM:
            raise ValueError("--fixed-part must be at most 100")
        return hybrid(weights, part)
    raise ValueError(f"unknown key {name!r}; choose from {', '.join(key_names())}")
