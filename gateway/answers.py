"""The shapes of what a running gateway answers beyond the quarter-hour record (`metering.record`): its
events, its latest states, its prepayment state and its live-stream items, as TypedDicts (the JSON of MQTT,
the store and the HTTP API). The telegram JSON stays a plain dict: its values are keyed by OBIS code.

Events, one TypedDict per `type` (stored, published on MQTT `event`, on the live stream and answered by
`GET /api/v1/events`):
- `peak_warning`: the capacity guard projects the open quarter-hour above the month peak or the threshold
  (`metering.peaks.PeakWarningEvent`);
- `voltage_limit`: a phase crossed 253 V or 207 V (`gateway.pipeline.analysis`);
- `clock_skew`: the system clock is off the meter clock (kept in memory only);
- `prepayment_<kind>`: a prepayment notification (`gateway.pipeline.prepayment.notification_event`).

The pipeline adds `meter_id` (and `at` when the event has none); the store adds `id` when it reads one back.
A live-stream item is `{"type": ..., "data": ...}`, the data as the matching endpoint answers it.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from analysis.voltage import EpisodeKind
from metering.peaks import PeakWarningEvent
from metering.record import QuarterHourRecord
from prepayment.view import AccountStateJson

Number = float | int
TelegramJson = dict[str, Any]  # the telegram JSON of ARCHITECTURE §3 (`dsmr_parser.Telegram.to_json`)


class VoltageLimitEvent(TypedDict):
    """A phase's voltage crossed a limit (over-voltage above 253 V, a dip below 207 V)."""

    type: Literal["voltage_limit"]
    at: str
    kind: EpisodeKind
    phase: int
    voltage_v: float
    exporting: bool
    source: str  # p1 or s1
    message: str
    text: NotRequired[dict[str, object]]  # the sentence as data (English template and its values)
    meter_id: NotRequired[str | None]
    id: NotRequired[int]


class ClockSkewEvent(TypedDict):
    """The system clock differs from the meter's (data keeps the meter's time)."""

    type: Literal["clock_skew"]
    at: str
    skew_s: float
    message: str
    text: NotRequired[dict[str, object]]  # the sentence as data (English template and its values)
    meter_id: NotRequired[str | None]
    id: NotRequired[int]


class PrepaymentEvent(TypedDict):
    """A prepayment notification."""

    type: str  # prepayment_<kind>
    kind: str  # a prepayment.NotificationKind
    at: str
    energy: str
    message: str  # the customer's sentence, in the gateway's language ([dashboard] language; English)
    balance_eur: float
    text: NotRequired[dict[str, Any]]  # the sentence as data (English template `id`, `params`), for pages
    meter_id: NotRequired[str | None]
    id: NotRequired[int]


GatewayEvent = PeakWarningEvent | VoltageLimitEvent | ClockSkewEvent | PrepaymentEvent


class StateJson(TypedDict):
    """The latest value of one state (`GET /api/v1/states`, keyed by state name)."""

    value: object  # a number, text, an ISO time or a flag, as the meter sent it
    unit: str | None
    code: str  # the OBIS code, or "S1"


# -- the prepayment state ---------------------------------------------------------------------------------
class EmergencyCreditJson(TypedDict):
    remaining: Number | None


class P1AccountJson(TypedDict):
    """One account of the P1 lines, as published."""

    energy: str
    channel: int
    balance_eur: Number | None  # never None: an account has a balance
    emergency_credit_eur: EmergencyCreditJson
    debt_eur: Number | None
    start_credit_due_eur: Number | None
    credit_status: int
    in_credit: bool
    low_credit: bool
    out_of_credit: bool
    emergency_state: str | None
    breaker_state: int | None
    supply_state: str | None
    power_limit_kw: Number | None


class P1StateJson(P1AccountJson):
    """The credit state of the P1 lines: the first account (electricity, else gas) at the top level, every
    account under `accounts` by energy."""

    meter_id: str | None
    at: str | None
    source: str
    accounts: dict[str, P1AccountJson]


class SimulatorStateJson(AccountStateJson):
    """The in-process simulator's account (docs/prepayment.md), with the accounts its P1 lines carry."""

    meter_id: str | None
    source: str
    accounts: dict[str, P1AccountJson]


PrepaymentState = P1StateJson | SimulatorStateJson


# -- the live stream --------------------------------------------------------------------------------------
class S1Values(TypedDict):
    """One second of an S1 source's values (RMS, power, frequency, THD) by name."""

    meter_id: str | None
    values: dict[str, float]


class TelegramItem(TypedDict):
    type: Literal["telegram"]
    data: TelegramJson | None


class QuarterHourItem(TypedDict):
    type: Literal["quarter_hour"]
    data: QuarterHourRecord


class EventItem(TypedDict):
    type: Literal["event"]
    data: GatewayEvent


class PrepaymentItem(TypedDict):
    type: Literal["prepayment"]
    data: PrepaymentState


class S1Item(TypedDict):
    type: Literal["s1"]
    data: S1Values


LiveItem = TelegramItem | QuarterHourItem | EventItem | PrepaymentItem | S1Item
