"""What the HTTP API and the dashboard may ask of a running gateway (implemented by `gateway.pipeline`).

The HTTP layer depends only on this protocol, so it can be served over any gateway: a single meter
(`p1gw run`), or tests building a real pipeline over a file or a simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, NotRequired, Protocol, TypedDict

from gateway.answers import GatewayEvent, LiveItem, PrepaymentState, StateJson, TelegramJson
from metering.record import QuarterHourRecord
from prepayment.view import AccountStateJson


class CurrentQuarterHour(QuarterHourRecord):
    """The open quarter-hour: its record so far (`as_of` set) and the capacity guard's running figures."""

    elapsed_s: int
    average_kw: float
    demand_kw: float
    power_kw: float
    projected_kw: float


class ControlResult(TypedDict):
    """What a control did: the action, its figures, and the simulator account's state after it."""

    action: str
    credited: NotRequired[bool]  # top_up: False when that top-up id was already credited
    kw: NotRequired[float]  # set_load
    duration_s: NotRequired[int]  # set_load
    prepayment: NotRequired[AccountStateJson]


class ControlDenied(Exception):
    """A state-changing request that this gateway does not allow (not a simulator, unknown action)."""


class GatewayView(Protocol):
    """Read access to the live gateway, plus the few controls that change state (token-protected)."""

    def latest(self) -> TelegramJson | None:
        """The latest telegram JSON (ARCHITECTURE §3), or None before the first telegram."""

    def states(self) -> dict[str, StateJson]:
        """Latest value per state name (`energy_import_day`, `power_import`, ...) with unit and code."""

    def health(self) -> dict[str, Any]:
        """Source status, last telegram age (s), frame/CRC error counts, MQTT state, queue depth, ..."""

    def peaks(self) -> dict[str, Any]:
        """Running quarter-hour average and its projection, this month's peak, 13-month history."""

    def prepayment(self) -> PrepaymentState | None:
        """Prepayment credit state JSON (None when the meter has no prepayment function)."""

    def quarter_hours(self, start: datetime, end: datetime) -> list[QuarterHourRecord]:
        """Closed quarter-hour records with start in [start, end), oldest first."""

    def current_quarter_hour(self) -> CurrentQuarterHour | QuarterHourRecord | None:
        """The open quarter-hour so far: energy per register, average power, projection (the record
        alone while the capacity guard has no running figures)."""

    def history(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Downsampled recent history (e.g. one point per minute: import/export kW, registers)."""

    def events(self, limit: int = 50) -> list[GatewayEvent]:
        """The latest events (peak warnings, low credit, disconnections, source faults), newest first."""

    def subscribe(self) -> AsyncIterator[LiveItem]:
        """Live feed for SSE: `{"type": "telegram" | "quarter_hour" | "event" | "prepayment", "data": {...}}`
        (type names as listed; data as the matching endpoint returns it)."""

    async def control(self, action: str, params: dict[str, Any]) -> ControlResult:
        """Change state (simulator: `top_up`, `press_button`, `start_leak_test`, `set_load`; raises
        ControlDenied when not allowed, ValueError on bad parameters)."""
