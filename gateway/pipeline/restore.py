"""What a gateway continues from at start: the store's checkpoint, its stored quarter-hours and its last
prepayment state.

Strategy: the aggregators (the quarter-hour one and the capacity guard's) continue from the checkpoint
written with the last stored quarter-hour; a checkpoint they cannot use is logged and they start cold. The
register floor is raised to the checkpoint's, then to the newer periodic one. The stored quarter-hours of
the last 13 months seed the month peaks, and are returned for the MQTT outbox rule and the memory of
recent quarter-hours. The store is synchronous: every call goes through `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from gateway.answers import PrepaymentState
from gateway.logs import get_logger, log
from gateway.ports import GatewayStore
from metering.peaks import CapacityGuard
from metering.quarter_hours import QuarterHourAggregator
from metering.record import QuarterHourRecord
from metering.screening import RegisterFloor

logger = get_logger("pipeline")

PEAK_HISTORY_DAYS = 400  # the stored quarter-hours read back for the month peaks (13 months and more)


@dataclass(frozen=True, slots=True)
class Restored:
    """What the store gave back: the meter id and last reading of a usable checkpoint (else None), the
    stored quarter-hours (oldest first) and the last prepayment state."""

    meter_id: str | None
    restored_from: str | None
    records: list[QuarterHourRecord]
    prepayment: PrepaymentState | None


async def restore_from_store(
    store: GatewayStore,
    now: datetime,
    *,
    aggregator: QuarterHourAggregator,
    guard: CapacityGuard,
    floor: RegisterFloor,
) -> Restored:
    """Continue `aggregator`, `guard` and `floor` from `store` at `now` (the system time, aware)."""
    meter_id = restored_from = None
    snapshot = await asyncio.to_thread(store.get_checkpoint)
    if snapshot is not None:
        try:
            aggregator.restore(snapshot.get("aggregator"))
            guard.aggregator.restore(snapshot.get("aggregator"))
        except ValueError as exc:
            log(logger, logging.ERROR, "checkpoint not usable, starting cold", error=str(exc))
            aggregator.restore(None)
            guard.aggregator.restore(None)
        else:
            meter_id = snapshot.get("meter_id")
            _raise_floor(floor, snapshot.get("registers"))
            reading = aggregator.last_reading
            restored_from = reading[0].isoformat() if reading else None
            log(logger, logging.INFO, "aggregator restored", last_reading=restored_from)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = (month - timedelta(days=PEAK_HISTORY_DAYS)).replace(day=1)
    records = await asyncio.to_thread(store.quarter_hours, since, now + timedelta(days=1))
    guard.load(records)
    newer = await asyncio.to_thread(store.get_checkpoint, "registers")
    if newer is not None:
        _raise_floor(floor, newer)
    prepayment = await asyncio.to_thread(store.prepayment)
    return Restored(meter_id, restored_from, records, cast("PrepaymentState | None", prepayment))


def _raise_floor(floor: RegisterFloor, snapshot: Mapping[str, Any] | None) -> None:
    """Raise the register floor to a stored one (the checkpoint's, then the newer periodic one)."""
    found = RegisterFloor()
    try:
        found.restore(snapshot)
        floor.merge(found)
    except ValueError as exc:
        log(logger, logging.ERROR, "register floor not usable, starting without", error=str(exc))
