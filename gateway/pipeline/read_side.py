"""What a running `Gateway` answers: the `gateway.view.GatewayView` methods and the counters by name.

Strategy: read-only views of the pipeline's state objects, computed on demand (the health JSON, the open
quarter-hour, the latest telegram); what the store holds comes from the store, what it does not (no store,
or nothing stored yet) from the few items kept in memory (`RecentItems`). The simulator controls are the one
exception: they change the in-process simulator's state.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gateway.answers import GatewayEvent, LiveItem, PrepaymentState, StateJson, TelegramJson
from gateway.ports import GatewayPublisher, GatewayStore
from gateway.sources import Source
from gateway.view import ControlDenied, ControlResult, CurrentQuarterHour
from metering.peaks import CapacityGuard
from metering.quarter_hours import QuarterHourAggregator
from metering.record import QuarterHourRecord

from .counters import MeterClock, QuarterHourCounts, TelegramCounts
from .health import HealthInputs, build_health
from .latest import LatestTelegram
from .live import LiveStream
from .persistence import PipelineStore

if TYPE_CHECKING:
    from gateway.sources.s1 import S1Reader

RECENT_EVENTS = 200
RECENT_QUARTER_HOURS = 96 * 2


class RecentItems:
    """Kept in memory: the latest events (newest first), quarter-hours (oldest first), prepayment state."""

    def __init__(self) -> None:
        self.events: deque[GatewayEvent] = deque(maxlen=RECENT_EVENTS)
        self.quarter_hours: deque[QuarterHourRecord] = deque(maxlen=RECENT_QUARTER_HOURS)
        self.prepayment: PrepaymentState | None = None

    def remember_quarter_hours(self, records: list[QuarterHourRecord]) -> None:
        self.quarter_hours.extend(records[-RECENT_QUARTER_HOURS:])


class GatewayReadSide:
    """The read side of `gateway.pipeline.Gateway` (which sets these attributes)."""

    source: Source
    publisher: GatewayPublisher | None
    persist: PipelineStore | None
    meter_id: str | None
    ean: str | None
    aggregator: QuarterHourAggregator
    guard: CapacityGuard
    s1: S1Reader | None
    counts: TelegramCounts
    clock: MeterClock
    quarter_hour_counts: QuarterHourCounts
    latest_telegram: LatestTelegram
    recent: RecentItems
    live: LiveStream
    health_sections: dict[str, Callable[[], Any]]

    # -- the counters by name (CLI summary, tests) -------------------------------------------------------
    @property
    def store(self) -> GatewayStore | None:
        return None if self.persist is None else self.persist.store

    @property
    def telegrams(self) -> int:
        return self.counts.telegrams

    @property
    def accepted(self) -> int:
        return self.counts.accepted

    @property
    def framing_errors(self) -> Counter[str]:
        return self.counts.framing_errors

    @property
    def rejected(self) -> Counter[str]:
        return self.counts.rejected

    @property
    def quarter_hours_closed(self) -> int:
        return self.quarter_hour_counts.closed

    @property
    def quarter_hours_stored(self) -> int:
        return self.quarter_hour_counts.stored

    @property
    def restored_from(self) -> str | None:
        return self.quarter_hour_counts.restored_from

    @property
    def live_dropped(self) -> int:
        return self.live.dropped

    @property
    def live_queue_size(self) -> int:
        return self.live.queue_size

    @live_queue_size.setter
    def live_queue_size(self, size: int) -> None:
        self.live.queue_size = size

    @property
    def store_errors(self) -> int:
        """Store writes refused since start (`persist.outage` tells the current outage)."""
        return 0 if self.persist is None else self.persist.outage.errors

    @property
    def store_last_error(self) -> str | None:
        return None if self.persist is None else self.persist.outage.last_error

    @property
    def _stored_meter_id(self) -> str:
        return self.meter_id or "unknown"

    # -- GatewayView -------------------------------------------------------------------------------------
    def latest(self) -> TelegramJson | None:
        return self.latest_telegram.json()

    def states(self) -> dict[str, StateJson]:
        return self.latest_telegram.states()

    def health(self) -> dict[str, Any]:
        current = self.aggregator.current()
        inputs = HealthInputs(
            meter_id=self.meter_id,
            source=self.source,
            publisher=self.publisher,
            store=self.persist,
            counts=self.counts,
            clock=self.clock,
            quarter_hours=self.quarter_hour_counts,
            open_start=current.start if current else None,
            live=self.live,
            s1=self.s1,
        )
        health: dict[str, Any] = dict(build_health(inputs))
        for name, section in self.health_sections.items():
            health[name] = section()
        return health

    def peaks(self) -> dict[str, Any]:
        return self.guard.state()

    def prepayment(self) -> PrepaymentState | None:
        return self.recent.prepayment

    def quarter_hours(self, start: datetime, end: datetime) -> list[QuarterHourRecord]:
        if self.store is not None:
            return list(self.store.quarter_hours(start, end, self.meter_id))
        return [r for r in self.recent.quarter_hours if start <= datetime.fromisoformat(r["start"]) < end]

    def current_quarter_hour(self) -> CurrentQuarterHour | QuarterHourRecord | None:
        current = self.aggregator.current()
        if current is None:
            return None
        record = current.to_json(self.meter_id or "unknown", self.ean)
        running = self.guard.running()
        if running is None:
            return record
        return {  # the guard's figures the record does not have, in the guard's order
            **record,
            "elapsed_s": running["elapsed_s"],
            "average_kw": running["average_kw"],
            "demand_kw": running["demand_kw"],
            "power_kw": running["power_kw"],
            "projected_kw": running["projected_kw"],
        }

    def history(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        return list(self.store.history(start, end, self.meter_id))

    def events(self, limit: int = 50) -> list[GatewayEvent]:
        if self.store is not None:
            stored = list(self.store.events(limit, meter_id=self.meter_id))
            if stored:
                return stored
        return list(self.recent.events)[:limit]

    def subscribe(self) -> AsyncIterator[LiveItem]:
        """Live feed: `{"type": "telegram" | "quarter_hour" | "event" | "prepayment", "data": ...}`."""
        return self.live.subscribe()

    async def control(self, action: str, params: dict[str, Any]) -> ControlResult:
        sim = self.source.sim
        if sim is None:
            raise ControlDenied(
                "controls need the in-process simulator (a real meter is not steered from here)"
            )
        if action == "top_up":
            new = sim.top_up(
                str(params["id"]), Decimal(str(params["amount_eur"])), params.get("energy", "electricity")
            )
            result: ControlResult = {"action": action, "credited": new}
        elif action == "press_button":
            sim.press_button(params.get("energy", "electricity"))
            result = {"action": action}
        elif action == "start_leak_test":
            sim.start_leak_test()
            result = {"action": action}
        elif action == "set_load":
            sim.set_extra_load(Decimal(str(params["kw"])), int(params["duration_s"]))
            result = {"action": action, "kw": float(params["kw"]), "duration_s": int(params["duration_s"])}
        else:
            raise ControlDenied(f"unknown action {action!r}")
        if getattr(sim, "account", None) is not None:
            from prepayment.view import account_state

            result["prepayment"] = account_state(sim.account)
        return result
