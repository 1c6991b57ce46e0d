"""The sharing engine: per member and quarter-hour, who received how much of the local production.

Strategy: the community's data is two integer matrices in Wh, ``consumption`` and ``injection``,
shaped ``(T, M)`` (quarter-hours x members, columns in member order). Roles decide who gives and who
receives: producers and prosumers put their injection into the pool, consumers and prosumers
receive; a producer's own consumption is not eligible (it stays residual). The key (see
:mod:`sharing.keys`) is applied to row chunks so temporaries stay small whatever T is; the only
full-size output is ``received`` (same shape and dtype as the input). Community surplus per row is
``pool - sum(received)``. The shared part of each giver's injection is attributed by cumulative
floor (``floor(cum_I * A / P)`` differenced), which is exact: it sums to the allocated total ``A``
and never exceeds a giver's injection. No floats anywhere, so energy is never created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from sharing.keys import AllocationKey, IntArray

CHUNK_ELEMENTS = 32_768  # member-quarter-hours per chunk: temporaries stay in cache


class Role(StrEnum):
    """A member's role in the community."""

    CONSUMER = "consumer"
    PRODUCER = "producer"
    PROSUMER = "prosumer"

    @property
    def receives(self) -> bool:
        return self is not Role.PRODUCER

    @property
    def gives(self) -> bool:
        return self is not Role.CONSUMER


@dataclass(frozen=True, eq=False)
class Allocation:
    """Result of :func:`allocate`; all arrays int Wh.

    ``received_wh`` (T, M): energy each member received from the community (0 for producers).
    ``surplus_wh`` (T,): community surplus (pool not taken by anyone).
    ``giver_columns`` (G,): member columns of producers/prosumers;
    ``shared_injection_wh`` (T, G): part of each giver's injection that was shared.
    """

    received_wh: npt.NDArray[np.integer]
    surplus_wh: IntArray
    pool_wh: IntArray
    giver_columns: IntArray
    shared_injection_wh: IntArray

    def residual_wh(self, consumption_wh: npt.NDArray[np.integer]) -> IntArray:
        """Grid consumption left after sharing: ``consumption - received``."""
        residual: IntArray = consumption_wh.astype(np.int64) - self.received_wh
        return residual

    def member_surplus_wh(self, injection_wh: npt.NDArray[np.integer]) -> IntArray:
        """Per member injection not shared (T, M): ``injection - shared injection``."""
        surplus: IntArray = injection_wh.astype(np.int64)
        surplus[:, self.giver_columns] -= self.shared_injection_wh
        return surplus


def role_masks(roles: Sequence[Role]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(receives, gives) boolean masks over members."""
    receives = np.array([Role(r).receives for r in roles], dtype=bool)
    gives = np.array([Role(r).gives for r in roles], dtype=bool)
    return receives, gives


def attribute_shared(injection_wh: IntArray, pool_wh: IntArray, shared_wh: IntArray) -> IntArray:
    """Split the shared total of each row over givers in proportion to their injection, exactly.

    ``injection_wh`` (T, G), ``pool_wh`` = its row sums, ``shared_wh`` (T,) <= pool. Cumulative
    floor: ``s_k = floor(S_k * A / P) - floor(S_(k-1) * A / P)`` with ``S`` the running sum.
    """
    cumulative = np.cumsum(injection_wh, axis=1)
    safe = np.where(pool_wh > 0, pool_wh, 1)
    floors = cumulative * shared_wh[:, None] // safe[:, None]
    shared: IntArray = np.diff(floors, axis=1, prepend=0)
    return shared


def validate(
    consumption_wh: npt.NDArray[np.integer],
    injection_wh: npt.NDArray[np.integer],
    roles: Sequence[Role],
) -> None:
    """Raise ValueError on shape mismatch, negative values or injection by a pure consumer."""
    if consumption_wh.shape != injection_wh.shape or consumption_wh.ndim != 2:
        raise ValueError("consumption and injection must both be shaped (quarter-hours, members)")
    if consumption_wh.shape[1] != len(roles):
        raise ValueError("one role per member column")
    if consumption_wh.size and (consumption_wh.min() < 0 or injection_wh.min() < 0):
        raise ValueError("energies must not be negative")
    _, gives = role_masks(roles)
    if (~gives).any() and injection_wh[:, ~gives].any():
        col = int(np.flatnonzero(~gives & injection_wh.any(axis=0))[0])
        raise ValueError(f"member column {col} is a consumer but has injection: make it prosumer")


def allocate(
    consumption_wh: npt.NDArray[np.integer],
    injection_wh: npt.NDArray[np.integer],
    roles: Sequence[Role],
    key: AllocationKey,
    period: npt.NDArray[np.integer] | None = None,
    *,
    chunk_rows: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Allocation:
    """Allocate every quarter-hour with ``key``.

    Args:
        consumption_wh: (T, M) integer Wh taken from the grid by each member.
        injection_wh: (T, M) integer Wh injected by each member.
        roles: one Role per member column.
        key: an allocation key from :mod:`sharing.keys`.
        period: (T,) tariff period index per row (needed by the static-period key).
        chunk_rows: rows per chunk (bounds temporary memory); default ~32k elements.
        on_progress: called with (rows done, rows total) after each chunk.
    """
    validate(consumption_wh, injection_wh, roles)
    n_rows, n_members = consumption_wh.shape
    rows_per_chunk = chunk_rows or max(16, CHUNK_ELEMENTS // max(1, n_members))
    receives, gives = role_masks(roles)
    givers = np.flatnonzero(gives).astype(np.int64)
    periods = np.zeros(n_rows, dtype=np.int64) if period is None else np.asarray(period, dtype=np.int64)
    if periods.shape != (n_rows,):
        raise ValueError("period must have one entry per quarter-hour")
    received = np.zeros_like(consumption_wh)
    surplus = np.zeros(n_rows, dtype=np.int64)
    pool = np.zeros(n_rows, dtype=np.int64)
    shared_injection = np.zeros((n_rows, givers.size), dtype=np.int64)
    receive_mask = receives.astype(np.int64)
    for lo in range(0, n_rows, max(1, rows_per_chunk)):
        hi = min(n_rows, lo + rows_per_chunk)
        need = consumption_wh[lo:hi].astype(np.int64) * receive_mask
        given = injection_wh[lo:hi, givers].astype(np.int64)
        pool_chunk = given.sum(axis=1)
        got = key(need, pool_chunk, periods[lo:hi])
        taken = got.sum(axis=1)
        if (got < 0).any() or (got > need).any() or (taken > pool_chunk).any():
            raise ValueError(f"key {key.name!r} broke an invariant in rows {lo}..{hi - 1}")
        received[lo:hi] = got
        pool[lo:hi] = pool_chunk
        surplus[lo:hi] = pool_chunk - taken
        shared_injection[lo:hi] = attribute_shared(given, pool_chunk, taken)
        if on_progress is not None:
            on_progress(hi, n_rows)
    return Allocation(received, surplus, pool, givers, shared_injection)
