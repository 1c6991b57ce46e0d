"""The pipeline's side of the store: calls in the store's thread, refused writes told once, closed
quarter-hours kept until the store takes them, the register floor, history retention.

Strategy: every call goes through `asyncio.to_thread` (the store is synchronous; the event loop keeps
serving), and a call the store refuses (a full disk, a lost server) is counted by `WriteOutage` and returns
None: it never stops the gateway, health says it. Closed quarter-hours are written WITH the aggregator
checkpoint in ONE transaction; those the store refuses wait in a bounded in-memory list (the oldest are
dropped, counted and logged once) and go into the next write, still with the checkpoint, so the checkpoint
never moves past a closed quarter-hour that is not stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict, TypeVar, TypeVarTuple

from gateway.logs import get_logger, log
from gateway.ports import GatewayStore
from gateway.store import WriteOutage
from metering.record import QuarterHourRecord

from .counters import QuarterHourCounts

logger = get_logger("pipeline")

FLOOR_SAVE_S = 60.0  # the register floor goes to the store at most this often (and with every checkpoint)
RETENTION_RETRY = timedelta(hours=1)  # after a failed retention (a full disk is when it matters most)

Args = TypeVarTuple("Args")
Result = TypeVar("Result")


class RetentionRun(TypedDict):
    """The last `Store.apply_retention` run (health `store.retention`)."""

    at: str
    history_deleted: int
    events_deleted: int


class PipelineStore:
    """A store as the pipeline uses it.

    Args:
        store: the store.
        counts: the quarter-hour counters to keep (stored, dropped).
        unstored_max: closed quarter-hours kept in memory while the store refuses writes (oldest dropped).
        retention_every: meter time between two `apply_retention` runs (None: never).
    """

    def __init__(
        self,
        store: GatewayStore,
        counts: QuarterHourCounts,
        *,
        unstored_max: int,
        retention_every: timedelta | None,
    ) -> None:
        self.store = store
        self.counts = counts
        self.outage = WriteOutage(logger)  # refused writes: counted, logged once per outage
        self.unstored: deque[QuarterHourRecord] = deque()  # closed, not yet known durable (oldest first)
        self.unstored_max = unstored_max
        self._dropping = False  # dropping in the current episode of store errors (logged once)
        self.retention_every = retention_every
        self._retention_due: datetime | None = None  # meter time of the next retention run
        self.retention_last: RetentionRun | None = None
        self._floor_saved = 0.0

    async def call(self, func: Callable[[*Args], Result], *args: *Args) -> Result | None:
        """`func(*args)` in a thread; None when the store refused (counted, logged once per outage)."""
        try:
            result = await asyncio.to_thread(func, *args)
        except Exception as exc:  # a full disk must not stop the gateway; health says it
            self.outage.refused(exc, time.monotonic())
            return None
        self.outage.accepted(time.monotonic(), waiting=len(self.unstored))
        return result

    async def write(self, func: Callable[[*Args], object], *args: *Args) -> bool:
        """`func(*args)` in a thread, its result unused: whether the store took it."""
        try:
            await asyncio.to_thread(func, *args)
        except Exception as exc:
            self.outage.refused(exc, time.monotonic())
            return False
        self.outage.accepted(time.monotonic(), waiting=len(self.unstored))
        return True

    async def store_quarter_hours(
        self, records: list[QuarterHourRecord], checkpoint: Mapping[str, Any]
    ) -> list[QuarterHourRecord]:
        """Write the quarter-hours still waiting for the store, then `records`, with `checkpoint` (what
        follows them), in ONE transaction. Returns all of them (oldest first) once durable; [] when the
        store refused: they wait (at most `unstored_max`, the oldest dropped) for the next call. A cancelled
        call leaves them waiting too: rewriting is harmless (upserts keyed by meter and start)."""
        self.unstored.extend(records)
        batch = list(self.unstored)
        stored = await self.call(self.store.add_quarter_hours, batch, checkpoint)
        if stored is None:
            self._bound_unstored()
            return []
        late = len(batch) - len(records)
        self.unstored.clear()
        self._dropping = False
        self.counts.stored += int(stored)
        self.outage.accepted(time.monotonic(), waiting=0, quarter_hours_stored_late=late)
        return batch

    def _bound_unstored(self) -> None:
        """Keep at most `unstored_max` quarter-hours waiting: the oldest go, counted and logged once."""
        excess = len(self.unstored) - self.unstored_max
        if excess <= 0:
            return
        if not self._dropping:
            self._dropping = True
            log(
                logger,
                logging.ERROR,
                "quarter-hours dropped: the store refused writes for too long",
                kept=self.unstored_max,
                oldest_dropped=self.unstored[0]["start"],
            )
        for _ in range(excess):
            self.unstored.popleft()
        self.counts.dropped += excess

    async def save_floor(self, snapshot: Callable[[], Mapping[str, Any]]) -> None:
        """The register floor (`snapshot()`) to the store every `FLOOR_SAVE_S` (a restart never publishes
        lower)."""
        if time.monotonic() - self._floor_saved < FLOOR_SAVE_S:
            return
        self._floor_saved = time.monotonic()
        await self.write(self.store.set_checkpoint, snapshot(), "registers")

    async def apply_retention(self, now: datetime) -> None:
        """When due, trim history and events relative to `now` (the meter's time of an accepted telegram);
        due again `retention_every` later, or in an hour when the store refused."""
        if self.retention_every is None:
            return
        if self._retention_due is not None and now < self._retention_due:
            return
        deleted = await self.call(self.store.apply_retention, now)
        if deleted is None:
            self._retention_due = now + RETENTION_RETRY
            return
        self._retention_due = now + self.retention_every
        self.retention_last = {
            "at": now.isoformat(),
            "history_deleted": deleted["history"],
            "events_deleted": deleted["events"],
        }
        log(logger, logging.INFO, "retention applied", **self.retention_last)
