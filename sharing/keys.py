"""Allocation keys: how each quarter-hour's pool of local production is split among members.

Strategy: a key is a pure function of integer arrays shaped ``(T, M)`` (T quarter-hours, M members)
that treats every row -- one quarter-hour -- independently, so the same code allocates one
quarter-hour (the hub) or a whole year (the batch engine, in row chunks). Energies are integer Wh
(int64). Shares are computed with floor division, the only rounding there is: a key can therefore
never hand out more than the pool. Every member is capped at its own need (its consumption in that
quarter-hour); whatever no member takes -- caps and floor remainders alike -- stays in the pool and
becomes surplus. Weights are integer parts per million (ppm, 100 % = 1_000_000).

Keys (``need`` = consumption of receiving members, ``pool`` = production available, per row):

- :class:`FixedSpecific`    ``a_m = min(floor(P * w_m / 1e6), C_m)``
- :class:`FixedEqual`       ``a_m = min(floor(P / N), C_m)`` for each of the N receiving members
  (CWaPE "fixe et identique": 1/N whatever m consumes; what a member cannot take is surplus)
- :class:`EqualActive`      ``a_m = min(floor(P / n_active), C_m)`` for members with ``C_m > 0``
- :class:`StaticPerPeriod`  fixed specific with weights chosen by the row's tariff period
- :class:`DynamicProportional` ``a_m = min(floor(C_m * P / sum C), C_m)``
- :class:`MultiRound`       ordered rounds; round r releases ``release_r * P`` plus the previous
  round's leftover to members still short (``fixed`` %, ``fixed`` renormalised, ``equal`` or
  ``pro_rata`` to remaining need). Presets: :func:`fluvius_optimal`, :func:`sibelga_multi_round`,
  :func:`hybrid`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

PPM = 1_000_000
"""Parts per million: weights are integers, 100 % == PPM."""

IntArray = npt.NDArray[np.int64]

PERIOD_WEEKDAY_DAY = 0
PERIOD_NIGHT = 1
PERIOD_WEEKEND_DAY = 2
PERIOD_NAMES = ("weekday_day", "night", "weekend_day")


class AllocationKey(Protocol):
    """A key: ``(need (T,M), pool (T,), period (T,)) -> allocated (T,M)``, all int64 Wh."""

    @property
    def name(self) -> str: ...

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray: ...


def _check_weights(weights_ppm: IntArray, what: str) -> IntArray:
    weights = np.asarray(weights_ppm, dtype=np.int64)
    if weights.ndim != 1 and what != "period weights":
        raise ValueError(f"{what}: expected one weight per member")
    if (weights < 0).any():
        raise ValueError(f"{what}: weights must not be negative")
    sums = weights.sum(axis=-1)
    if np.any(sums > PPM):
        raise ValueError(f"{what}: weights add up to more than 100 %")
    return weights


def share_pro_rata(need_wh: IntArray, avail_wh: IntArray) -> IntArray:
    """``min(floor(need_m * avail / sum need), need_m)`` per row; rows with no need get 0."""
    total = need_wh.sum(axis=1)
    safe = np.where(total > 0, total, 1)
    give = need_wh * avail_wh[:, None] // safe[:, None]
    capped: IntArray = np.minimum(give, need_wh)
    return capped


def share_fixed(need_wh: IntArray, avail_wh: IntArray, weights_ppm: IntArray) -> IntArray:
    """``min(floor(avail * w_m / 1e6), need_m)``; ``weights_ppm`` is (M,) or (T, M)."""
    w = weights_ppm if weights_ppm.ndim == 2 else weights_ppm[None, :]
    capped: IntArray = np.minimum(avail_wh[:, None] * w // PPM, need_wh)
    return capped


def share_fixed_renormalised(need_wh: IntArray, avail_wh: IntArray, weights_ppm: IntArray) -> IntArray:
    """Fixed weights re-normalised over members still short (``need > 0``) in each row."""
    w = np.where(need_wh > 0, weights_ppm[None, :], 0)
    denom = w.sum(axis=1)
    safe = np.where(denom > 0, denom, 1)
    return np.minimum(avail_wh[:, None] * w // safe[:, None], need_wh)


def share_equal(need_wh: IntArray, avail_wh: IntArray) -> IntArray:
    """``min(floor(avail / n_short), need_m)`` for members still short, 0 for the others."""
    short = need_wh > 0
    n = short.sum(axis=1)
    each = avail_wh // np.where(n > 0, n, 1)
    return np.where(short, np.minimum(each[:, None], need_wh), 0)


@dataclass(frozen=True, eq=False)
class FixedSpecific:
    """Fixed specific key: member m may take ``w_m`` % of production (e.g. by investment)."""

    weights_ppm: IntArray
    name: str = "fixed"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights_ppm", _check_weights(self.weights_ppm, "fixed key"))

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
        return share_fixed(need_wh, pool_wh, self.weights_ppm)


@dataclass(frozen=True, eq=False)
class FixedEqual:
    """Fixed equal key ("fixe et identique"): each of the N receiving members may take 1/N of
    production whatever it consumes, capped at its consumption; the rest is surplus.

    ``receivers`` (M,) marks the receiving members (consumers and prosumers); None = every column.
    """

    receivers: npt.NDArray[np.bool_] | None = None
    name: str = "equal"

    def __post_init__(self) -> None:
        if self.receivers is not None:
            object.__setattr__(self, "receivers", np.asarray(self.receivers, dtype=bool))

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
        mask = np.ones(need_wh.shape[1], dtype=bool) if self.receivers is None else self.receivers
        if mask.shape != (need_wh.shape[1],):
            raise ValueError("equal key: expected one receiver flag per member")
        n = int(mask.sum())
        each = pool_wh // max(n, 1)
        share: IntArray = np.where(mask[None, :], np.minimum(each[:, None], need_wh), 0)
        return share


@dataclass(frozen=True, eq=False)
class EqualActive:
    """Equal shares re-normalised over the members consuming in each quarter-hour
    (``min(floor(P / n_active), C_m)``). Not the CWaPE fixed equal key: it hands a quarter-hour's
    production to fewer members when some consume nothing, so it self-consumes more."""

    name: str = "equal-active"

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
        return share_equal(need_wh, pool_wh)


@dataclass(frozen=True, eq=False)
class StaticPerPeriod:
    """Static key per tariff period (the pilot's phase 1): ``weights_ppm`` is (3, M), rows
    indexed by PERIOD_WEEKDAY_DAY (Mon-Fri 7-22 h), PERIOD_NIGHT (22-7 h), PERIOD_WEEKEND_DAY."""

    weights_ppm: IntArray
    name: str = "static-period"

    def __post_init__(self) -> None:
        weights = _check_weights(self.weights_ppm, "period weights")
        if weights.ndim != 2 or weights.shape[0] != len(PERIOD_NAMES):
            raise ValueError("static-period key: expected weights shaped (3, members)")
        object.__setattr__(self, "weights_ppm", weights)

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
        return share_fixed(need_wh, pool_wh, self.weights_ppm[period])


@dataclass(frozen=True, eq=False)
class DynamicProportional:
    """Dynamic key proportional to consumption: ``a_m = min(C_m / sum C * P, C_m)``.

    (The pilot report prints ``max`` in this formula; the cap ``min`` is what is meant.)
    """

    name: str = "dynamic"

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
        return share_pro_rata(need_wh, pool_wh)


RoundMode = Literal["fixed", "fixed_renormalised", "equal", "pro_rata"]
ROUND_MODES: tuple[RoundMode, ...] = ("fixed", "fixed_renormalised", "equal", "pro_rata")


@dataclass(frozen=True)
class Round:
    """One round: releases ``release_ppm`` of production (plus the previous leftover) by ``mode``."""

    release_ppm: int
    mode: RoundMode

    def __post_init__(self) -> None:
        if not 0 <= self.release_ppm <= PPM:
            raise ValueError("round release must be between 0 and 100 %")
        if self.mode not in ROUND_MODES:
            raise ValueError(f"round mode must be one of {', '.join(ROUND_MODES)}")


@dataclass(frozen=True, eq=False)
class MultiRound:
    """Ordered rounds. Releases must add up to 100 %; the last round receives the exact rest of
    the pool so no Wh is lost to rounding. ``weights_ppm`` (M,) serves the fixed modes."""

    rounds: tuple[Round, ...]
    weights_ppm: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    name: str = "multi-round"

    def __post_init__(self) -> None:
        if not self.rounds:
            raise ValueError("multi-round key: at least one round")
        if sum(r.release_ppm for r in self.rounds) != PPM:
            raise ValueError("multi-round key: round releases must add up to 100 %")
        object.__setattr__(self, "weights_ppm", _check_weights(self.weights_ppm, "round weights"))

    def __call__(self, need_wh: IntArray, pool_wh: IntArray, period: IntArray) -> IntArray:
        fixed_modes = ("fixed", "fixed_renormalised")
        if any(r.mode in fixed_modes for r in self.rounds) and (
            self.weights_ppm.shape[0] != need_wh.shape[1]
        ):
            raise ValueError("multi-round key: fixed rounds need one weight per member")
        remaining = need_wh.copy()
        carry = np.zeros_like(pool_wh)
        released = np.zeros_like(pool_wh)
        last = len(self.rounds) - 1
        for i, rnd in enumerate(self.rounds):
            release = pool_wh - released if i == last else pool_wh * rnd.release_ppm // PPM
            released = released + release
            avail = release + carry
            if rnd.mode == "pro_rata":
                give = share_pro_rata(remaining, avail)
            elif rnd.mode == "fixed":
                give = share_fixed(remaining, avail, self.weights_ppm)
            elif rnd.mode == "fixed_renormalised":
                give = share_fixed_renormalised(remaining, avail, self.weights_ppm)
            else:
                give = share_equal(remaining, avail)
            remaining -= give
            carry = avail - give.sum(axis=1)
        allocated: IntArray = need_wh - remaining
        return allocated


def fluvius_optimal(weights_ppm: IntArray) -> MultiRound:
    """Fixed % first, then what is left pro rata to the remaining need of members still short."""
    rounds = (Round(PPM, "fixed"), Round(0, "pro_rata"))
    return MultiRound(rounds, np.asarray(weights_ppm, dtype=np.int64), name="fluvius-optimal")


def sibelga_multi_round(weights_ppm: IntArray, rounds: int = 3) -> MultiRound:
    """Fixed % in round 1, then the leftover re-shared by the same weights re-normalised over
    members still short, ``rounds - 1`` more times."""
    if rounds < 1:
        raise ValueError("sibelga key: at least one round")
    seq = (Round(PPM, "fixed"), *tuple(Round(0, "fixed_renormalised") for _ in range(rounds - 1)))
    return MultiRound(seq, np.asarray(weights_ppm, dtype=np.int64), name="sibelga-multi-round")


def hybrid(weights_ppm: IntArray, fixed_part_ppm: int) -> MultiRound:
    """A fixed part of production by fixed %, the rest (and the fixed part's leftover) pro rata
    to remaining need, then a last pro-rata round for what is still left."""
    rounds = (
        Round(fixed_part_ppm, "fixed"),
        Round(PPM - fixed_part_ppm, "pro_rata"),
        Round(0, "pro_rata"),
    )
    return MultiRound(rounds, np.asarray(weights_ppm, dtype=np.int64), name="hybrid")


def parse_rounds(spec: str) -> tuple[Round, ...]:
    """``"100:fixed,0:pro_rata"`` -> rounds (release in %, up to 4 decimals, then the mode)."""
    rounds: list[Round] = []
    for part in spec.split(","):
        release, sep, mode = part.strip().partition(":")
        if not sep:
            raise ValueError(f"round {part!r}: expected RELEASE_PCT:MODE")
        if mode not in ROUND_MODES:
            raise ValueError(f"round {part!r}: mode must be one of {', '.join(ROUND_MODES)}")
        rounds.append(Round(pct_to_ppm(release), mode))
    return tuple(rounds)


def pct_to_ppm(text: str) -> int:
    """Exact percent text (``"17.64"``) -> ppm (``176400``); at most 4 decimals."""
    whole, _, frac = text.strip().partition(".")
    if not whole.lstrip("-").isdigit() and whole not in ("", "-"):
        raise ValueError(f"not a percentage: {text!r}")
    if frac and (not frac.isdigit() or len(frac) > 4):
        raise ValueError(f"percentage {text!r}: at most 4 decimals")
    if whole.startswith("-"):
        raise ValueError(f"percentage {text!r} is negative")
    return int(whole or "0") * 10_000 + int((frac or "0").ljust(4, "0"))


def key_names() -> Sequence[str]:
    """The key names the CLI accepts."""
    return (
        "fixed",
        "equal",
        "equal-active",
        "static-period",
        "dynamic",
        "multi-round",
        "fluvius-optimal",
        "sibelga-multi-round",
        "hybrid",
    )
