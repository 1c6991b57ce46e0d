"""The outbox rule at start-up: stored quarter-hours that never reached the MQTT queue are queued again.

A crash between the store's commit and the publisher's queue write leaves quarter-hours stored but never
queued. The publisher keeps, per meter, the newest start it queued (`quarter_hours_queued`); stored ones
newer than that mark are queued at start, oldest first, at most the queue's capacity (the newest).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from gateway.logs import get_logger, log
from gateway.ports import GatewayPublisher
from metering.record import QuarterHourRecord

logger = get_logger("pipeline")


def not_yet_queued(
    records: list[QuarterHourRecord], queued: Mapping[str, datetime], since: datetime
) -> list[QuarterHourRecord]:
    """The quarter-hour records (oldest first, as given) starting at or after `since` and after the newest
    start queued for their meter (`queued`; a meter absent from it has none queued)."""
    out = []
    for record in records:
        start = datetime.fromisoformat(record["start"])
        mark = queued.get(record["meter_id"])
        if start >= since and (mark is None or start > mark):
            out.append(record)
    return out


def republish(publisher: GatewayPublisher, records: list[QuarterHourRecord], since: datetime) -> None:
    """Queue the stored quarter-hours (oldest first) newer than the publisher's durable mark of their
    meter, at most the queue's capacity (the newest)."""
    missing = not_yet_queued(records, publisher.quarter_hours_queued(), since)
    if not missing:
        return
    skipped = max(0, len(missing) - publisher.queue.max_messages)
    log(
        logger,
        logging.WARNING if skipped else logging.INFO,
        "quarter-hours stored but never queued for MQTT: publishing them",
        count=len(missing) - skipped,
        first=missing[skipped]["start"],
        skipped_oldest=skipped,
    )
    for record in missing[skipped:]:
        publisher.publish_quarter_hour(record)
