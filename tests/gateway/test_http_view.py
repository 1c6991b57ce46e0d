"""A small real `GatewayView` for the HTTP and dashboard tests, and the tests of that view itself.

Strategy: `TinyMeter` is a deterministic Belgian e-MUCS meter that emits real telegram bytes through
`dsmr_parser.build_telegram` (exact Wh registers, the Belgian tariff clock, gas) with a real
`prepayment.PrepaymentAccount` behind its breaker and its 0-0:19.x lines. `LiveView` does what the gateway
pipeline does, with the real parts: bytes -> `TelegramReader` -> `QuarterHourAggregator` (closed
quarter-hours into a real SQLite `Store`), `CapacityGuard` (peaks and peak events), downsampled history
and events in the store, per-name states from `state_values`, the account's `state()` as prepayment JSON,
and a fan-out of the live feed to subscribers. It stands in for `gateway.pipeline.Gateway` until that
lands; nothing in it is canned: every number the API serves comes from parsed telegrams or the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI

from dsmr_parser import (
    MonthlyPeak,
    Telegram,
    TelegramReader,
    Value,
    build_telegram,
    state_values,
    telegram_json,
    value_to_json,
)
from gateway.answers import (
    GatewayEvent,
    LiveItem,
    PrepaymentEvent,
    SimulatorStateJson,
    StateJson,
    TelegramJson,
)
from gateway.pipeline.prepayment import prepayment_from_telegram
from gateway.store import Store, open_store
from gateway.view import ControlDenied, ControlResult, CurrentQuarterHour
from metering.peaks import CapacityGuard
from metering.quarter_hours import QuarterHourAggregator
from metering.record import QuarterHourRecord
from prepayment.account import PrepaymentAccount
from prepayment.config import AccountConfig, PaymentPlan
from prepayment.p1 import p1_values
from tests.telegram_values import number

TZ = ZoneInfo("Europe/Brussels")
CODES = {
    "import_day": "1-0:1.8.1",
    "import_night": "1-0:1.8.2",
    "export_day": "1-0:2.8.1",
    "export_night": "1-0:2.8.2",
}


class TinyMeter:
    """A deterministic meter: power follows a slow wave plus extra loads; registers integrate it in Wh."""

    def __init__(
        self, start: datetime, *, prepayment: bool = True, config: AccountConfig | None = None
    ) -> None:
        self.now = start
        self.tick = 0
        self.energy_ws = dict.fromkeys(CODES, 0)  # watt-seconds, exact
        self.base_wh = {
            "import_day": 1234567,
            "import_night": 987654,
            "export_day": 1200,
            "export_night": 300,
        }
        self.gas_dm3 = 812345
        self.account: PrepaymentAccount | None = None
        if prepayment:
            self.account = PrepaymentAccount(config or AccountConfig(), start)
            self.account.add_debt(Decimal("42.00"), start, "old invoice")
            plan = PaymentPlan(Decimal("7.00"), first_due=start.date() + timedelta(days=7), interval_days=30)
            self.account.set_payment_plan(plan, start)
        self.extra_w = 0
        self.extra_until: datetime | None = None

    def tariff(self) -> int:
        local = self.now.astimezone(TZ)
        return 1 if local.weekday() < 5 and 7 <= local.hour < 22 else 2

    def supplied(self) -> bool:
        return self.account is None or self.account.supply_open

    def power_w(self) -> tuple[int, int]:
        wave = 600 + int(350 * math.sin(self.tick / 3)) + (self.tick * 37) % 120
        if self.extra_until is not None and self.now < self.extra_until:
            wave += self.extra_w
        net = wave - (900 if 10 <= self.now.astimezone(TZ).hour < 16 else 0)
        if not self.supplied():
            return 0, 0
        return (net, 0) if net >= 0 else (0, -net)

    def register(self, name: str) -> Decimal:
        return (Decimal(self.base_wh[name]) + Decimal(self.energy_ws[name] // 3600)) / 1000

    def step(self, seconds: int = 1) -> bytes:
        """Advance the clock and return the next telegram's bytes."""
        imp, exp = self.power_w()
        period = "day" if self.tariff() == 1 else "night"
        self.energy_ws[f"import_{period}"] += imp * seconds
        self.energy_ws[f"export_{period}"] += exp * seconds
        self.now += timedelta(seconds=seconds)
        self.tick += 1
        if self.account is not None:
            self.account.consume(Decimal(imp * seconds) / 3_600_000, period, self.now)
        return self.telegram()

    def telegram(self) -> bytes:
        imp, exp = self.power_w()
        local = self.now.astimezone(TZ)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        last_month = (month_start - timedelta(days=1)).replace(day=1)
        values: dict[str, Any] = {
            "0-0:96.1.4": "50217",
            "0-0:96.1.1": "1SAG1100000292",
            "0-0:1.0.0": local.replace(microsecond=0),
            **{code: Value(self.register(name), "kWh") for name, code in CODES.items()},
            "1-0:1.4.0": Value(Decimal(imp) / 1000, "kW"),
            "1-0:1.6.0": Value(Decimal("2.589"), "kW", month_start + timedelta(hours=13)),
            "0-0:98.1.0": Value(
                (MonthlyPeak(month_start, last_month + timedelta(days=9, hours=19), Decimal("3.695")),), "kW"
            ),
            "0-0:96.14.0": self.tariff(),
            "1-0:1.7.0": Value(Decimal(imp) / 1000, "kW"),
            "1-0:2.7.0": Value(Decimal(exp) / 1000, "kW"),
            "1-0:32.7.0": Value(Decimal("231.4"), "V"),
            "0-0:96.3.10": 1,
            "0-1:24.1.0": 3,
            "0-1:24.4.0": 1,
            "0-1:24.2.3": Value(Decimal(self.gas_dm3) / 1000, "m3", local.replace(second=0, microsecond=0)),
        }
        if self.account is not None:
            values |= {code: Value(value, unit) for code, (value, unit) in p1_values(self.account).items()}
        return build_telegram("FLU5\\253769484_A", values)


def _num(value: Value | None) -> float:
    return float(value.value) if value is not None and isinstance(value.value, Decimal | int) else 0.0


class LiveView:
    """A `GatewayView` over parsed telegrams and a real store (what `gateway.pipeline.Gateway` provides)."""

    def __init__(
        self, meter: TinyMeter | None, store: Store, *, ean: str | None = "541449000000000001"
    ) -> None:
        self.meter = meter
        self.store = store
        self.ean = ean
        self.reader = TelegramReader()
        self.aggregator = QuarterHourAggregator()
        self.guard = CapacityGuard(warn_after_s=60)
        self.last: Telegram | None = None
        self.queues: list[asyncio.Queue[LiveItem]] = []
        self.frames = 0
        self.crc_errors = 0
        self.last_prepayment: SimulatorStateJson | None = None
        self.last_query: tuple[datetime, datetime] | None = None

    # ---- input
    def feed(self, data: bytes) -> None:
        for item in self.reader.feed(data):
            self.frames += 1
            if isinstance(item, Telegram):
                self._telegram(item)
            else:
                self.crc_errors += 1

    def _telegram(self, telegram: Telegram) -> None:
        self.last = telegram
        ts = telegram.timestamp
        assert ts is not None
        closed = [q.to_json(telegram.meter_id, self.ean) for q in self.aggregator.add(telegram)]
        if closed:
            self.store.add_quarter_hours(closed, checkpoint=self.aggregator.snapshot())
        for event in self.guard.update(telegram):
            self._event(event)
        values = telegram.values
        self.store.add_history(
            telegram.meter_id,
            ts,
            {"import_kw": _num(values.get("1-0:1.7.0")), "export_kw": _num(values.get("1-0:2.7.0"))},
        )
        self._publish({"type": "telegram", "data": self.latest()})
        for record in closed:
            self._publish({"type": "quarter_hour", "data": record})
        state = self.prepayment()
        previous = self.last_prepayment
        if state is not None and previous is not None and state["supply_state"] != previous["supply_state"]:
            supply: PrepaymentEvent = {
                "type": "supply_" + state["supply_state"],
                "kind": state["supply_state"],
                "at": ts.isoformat(),
                "energy": state["energy"],
                "message": state["what_to_do"],
                "balance_eur": state["balance_eur"],
            }
            self._event(supply)
        if state is not None and (self.last_prepayment is None or _changed(state, self.last_prepayment)):
            self._publish({"type": "prepayment", "data": state})
        self.last_prepayment = state

    def _event(self, event: GatewayEvent) -> None:
        assert self.last is not None
        self.store.add_event(event, meter_id=self.last.meter_id)
        self._publish({"type": "event", "data": event})

    def _publish(self, item: LiveItem) -> None:
        for queue in self.queues:
            queue.put_nowait(item)

    # ---- GatewayView
    def latest(self) -> TelegramJson | None:
        """The telegram JSON with the meter's digits: its numbers are Decimal (`05.980` stays 5.980)."""
        if self.last is None:
            return None
        decoded: dict[str, Any] = json.loads(telegram_json(self.last), parse_float=Decimal)
        return decoded

    def states(self) -> dict[str, StateJson]:
        if self.last is None:
            return {}
        return {
            name: {"value": value_to_json(state.value)["value"], "unit": state.unit, "code": state.code}
            for name, state in state_values(self.last).items()
        }

    def health(self) -> dict[str, Any]:
        return {
            "source": {"status": "connected", "url": "sim:test"},
            "last_telegram_age_s": 0.4 if self.last else None,
            "frames": self.frames,
            "crc_errors": self.crc_errors,
            "mqtt": {"connected": False, "queue_depth": 0},
            "subscribers": len(self.queues),
        }

    def peaks(self) -> dict[str, Any]:
        return self.guard.state()

    def prepayment(self) -> SimulatorStateJson | None:
        """The simulated account's state, with the accounts its P1 lines carry (as the gateway answers)."""
        account = self.meter.account if self.meter is not None else None
        if account is None:
            return None
        p1 = prepayment_from_telegram(self.last) if self.last is not None else None
        return {
            "meter_id": self.last.meter_id if self.last is not None else None,
            "source": "simulator",
            **account.state(),
            "accounts": p1["accounts"] if p1 is not None else {},
        }

    def quarter_hours(self, start: datetime, end: datetime) -> list[QuarterHourRecord]:
        self.last_query = (start, end)
        return self.store.quarter_hours(start, end)

    def current_quarter_hour(self) -> CurrentQuarterHour | QuarterHourRecord | None:
        current = self.aggregator.current()
        if current is None or self.last is None:
            return None
        record = current.to_json(self.last.meter_id, self.ean)
        running = self.guard.running()
        if running is None:
            return record
        return {
            **record,
            "elapsed_s": running["elapsed_s"],
            "average_kw": running["average_kw"],
            "demand_kw": running["demand_kw"],
            "power_kw": running["power_kw"],
            "projected_kw": running["projected_kw"],
        }

    def history(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        self.last_query = (start, end)
        return self.store.history(start, end)

    def events(self, limit: int = 50) -> list[GatewayEvent]:
        return self.store.events(limit=limit)

    async def subscribe(self) -> AsyncIterator[LiveItem]:
        queue: asyncio.Queue[LiveItem] = asyncio.Queue()
        self.queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self.queues.remove(queue)

    async def control(self, action: str, params: dict[str, Any]) -> ControlResult:
        if self.meter is None or self.meter.account is None:
            raise ControlDenied("this gateway reads a real meter, not a simulator")
        account, now = self.meter.account, self.meter.now
        if action == "top_up":
            if params["energy"] != "electricity":
                raise ValueError("this meter has no gas prepayment")
            result = account.top_up(params["id"], params["amount_eur"], now)
            return {"action": action, "credited": not result.duplicate, "prepayment": account.state()}
        if action == "press_button":
            account.press_button(now)
            return {"action": action, "prepayment": account.state()}
        if action == "set_load":
            self.meter.extra_w = int(params["kw"] * 1000)
            self.meter.extra_until = now + timedelta(seconds=params["duration_s"])
            return {"action": action, "kw": float(params["kw"]), "duration_s": int(params["duration_s"])}
        raise ControlDenied(f"{action} is not simulated here (no gas meter)")

    # ---- driving
    async def run(self, *, every_s: float, step_s: int = 1) -> None:
        """Emit the meter's telegrams in real time (`every_s` apart, the meter clock moving `step_s`)."""
        assert self.meter is not None
        while True:
            self.feed(self.meter.step(step_s))
            await asyncio.sleep(every_s)


def _changed(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    return {k: v for k, v in a.items() if k != "at"} != {k: v for k, v in b.items() if k != "at"}


def fed_view(
    db: Path, start: datetime, seconds: int, *, step_s: int = 10, prepayment: bool = True, **meter: Any
) -> LiveView:
    """A view (store at `db`) that has already read `seconds` of telegrams, `step_s` apart, from `start`."""
    view = LiveView(TinyMeter(start, prepayment=prepayment, **meter), open_store(db, flush_interval_s=3600))
    assert view.meter is not None
    view.feed(view.meter.telegram())
    for _ in range(seconds // step_s):
        view.feed(view.meter.step(step_s))
    return view


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """A real uvicorn server for `app` on a free loopback port, in the running loop; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        assert server.started, "uvicorn did not start within 5 s"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


# ------------------------------------------------------------------------------------ the view's tests
START = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # a Monday: day tariff


def test_quarter_hours_are_register_deltas_in_the_store(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 3600)
    records = view.quarter_hours(START, START + timedelta(hours=2))
    assert [r["start"] for r in records][:2] == ["2026-11-23T09:00:00+01:00", "2026-11-23T09:15:00+01:00"]
    assert len(records) == 4
    first = records[0]
    assert first["import_kwh"] == first["import_day"] > 0.05
    assert first["import_night"] == 0.0


def test_prepayment_and_states_come_from_parsed_lines(tmp_path: Path) -> None:
    view = fed_view(tmp_path / "gw.db", START, 60)
    state = view.prepayment()
    assert state is not None and view.last is not None
    assert state["balance_eur"] == float(number(view.last.values, "0-0:19.10.0"))
    assert state["supply_state"] == "connected" and state["debt_eur"] == 42.0
    names = view.states()
    assert names["energy_import_day"]["code"] == "1-0:1.8.1"
    assert names["gas_volume"]["unit"] == "m3"
    assert fed_view(tmp_path / "other.db", START, 60, prepayment=False).prepayment() is None


async def test_breaker_opens_when_credit_runs_out_and_top_up_reconnects(tmp_path: Path) -> None:
    config = AccountConfig(start_credit_eur=Decimal("0.10"), emergency_credit_eur=Decimal("0"))
    view = fed_view(tmp_path / "gw.db", START, 1800, step_s=60, config=config)
    state = view.prepayment()
    assert state is not None and state["supply_state"] == "disconnected"
    assert view.last is not None and view.last.get("0-0:96.3.10") == 0
    assert view.events(5)[0]["type"] == "supply_disconnected"
    await view.control("top_up", {"id": "t1", "amount_eur": Decimal("60.00"), "energy": "electricity"})
    view.feed(view.meter.step(1) if view.meter else b"")
    assert view.last.get("0-0:96.3.10") == 2
    await view.control("press_button", {"energy": "electricity"})
    view.feed(view.meter.step(1) if view.meter else b"")
    assert view.last.get("0-0:96.3.10") == 1
