"""A simulation run: a meter, its scenario and faults, yielding (sim_time, telegram bytes). No I/O, no clock.

Strategy: step the meter to the next telegram instant (every `every` simulated seconds; the model itself
steps at 1 s), stopping exactly at scenario events to apply them; build the telegram; pass it through the
fault injector. Pacing against the wall clock and transports are the CLI's business (`meter_sim.cli`), so
the gateway can run the same iterator in-process and tests can run years in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from .faults import FaultInjector, FaultSpec
from .grid import get_grid
from .meter import Meter
from .meter_prepayment import PrepaymentOptions
from .registers import MeterRegisters, QuarterHourTruth
from .scenario import Scenario, ScenarioEvent


class Simulation:
    """Iterate to get `(sim_time, bytes)`; `meter` is the live model (control API, truth).

    Args:
        kind, seed, start: the meter (see `Meter`).
        every: simulated seconds between telegrams (default: the meter's own interval, 1 s or 10 s).
        count: stop after this many telegrams; duration_s: stop after this much simulated time.
        prepayment: prepayment options (a scenario's [prepayment] table is used when this is None).
        scenario: events to apply; faults: byte-level faults.
        calendar, contract: tariff calendar and DSO contract (see `Meter`).
        grid: voltage model, `normal` or `weak` (see `meter_sim.grid`).
        resume: registers of a previous run to continue from (see `Meter`).
    """

    def __init__(
        self,
        kind: str = "be-3ph",
        seed: int = 0,
        start: datetime | int = 0,
        *,
        every: int | None = None,
        count: int | None = None,
        duration_s: int | None = None,
        prepayment: PrepaymentOptions | None = None,
        scenario: Scenario | None = None,
        faults: FaultSpec | None = None,
        calendar: str | None = None,
        contract: str | None = None,
        grid: str = "normal",
        resume: MeterRegisters | None = None,
    ) -> None:
        if scenario is not None and prepayment is None:
            prepayment = scenario.prepayment
        self.meter = Meter(
            kind,
            seed,
            start,
            calendar=calendar,
            contract=contract,
            prepayment=prepayment,
            grid=get_grid(grid),
            resume=resume,
        )
        self.every = every if every is not None else self.meter.kind.interval_s
        if self.every < 1:
            raise ValueError("--every must be at least 1 second")
        self.count = count
        self.duration_s = duration_s
        self.events: list[ScenarioEvent] = list(scenario.events) if scenario else []
        self.injector = FaultInjector(faults, seed) if faults is not None else None
        self._jumps = sorted(faults.clock_jumps) if faults is not None else []
        self.emitted = 0
        self.log: list[str] = []

    @property
    def offset_s(self) -> int:
        return self.meter.ts - self.meter.start_ts

    def _apply(self, event: ScenarioEvent) -> None:
        m, p = self.meter, event.params
        energy = str(p.get("energy", "electricity"))
        if event.action == "top_up":
            new = m.top_up(str(p["id"]), Decimal(str(p["eur"])), energy)
            self.log.append(f"{m.time.isoformat()} top-up {p['id']} {p['eur']} EUR {'' if new else 'dup'}")
        elif event.action == "press_button":
            m.press_button(energy)
        elif event.action == "leak_test":
            m.start_leak_test(int(p.get("leak_ml_s", 0)))
        elif event.action == "load":
            m.set_extra_load(float(p["kw"]), int(p["duration_s"]))
        elif event.action == "fault":
            if p["kind"] == "clock_jump":
                m.clock_offset_s += int(p["seconds"])
            else:
                if self.injector is None:
                    self.injector = FaultInjector(FaultSpec(), self.meter.seed)
                self.injector.spec.silences.append((self.offset_s, int(p["duration_s"])))

    def advance_to(self, target_offset: int) -> None:
        """Step the meter to `target_offset` seconds from the start, applying due events on the way."""
        m = self.meter
        while self.offset_s < target_offset:
            nxt = target_offset
            if self.events and self.events[0].offset_s < nxt:
                nxt = max(self.events[0].offset_s, self.offset_s)
            if self._jumps and self._jumps[0][0] < nxt:
                nxt = max(self._jumps[0][0], self.offset_s)
            if nxt > self.offset_s:
                m.step(nxt - self.offset_s)
            self._due()
        self._due()

    def _due(self) -> None:
        while self.events and self.events[0].offset_s <= self.offset_s:
            self._apply(self.events.pop(0))
        while self._jumps and self._jumps[0][0] <= self.offset_s:
            self.meter.clock_offset_s += self._jumps.pop(0)[1]

    def __iter__(self) -> Iterator[tuple[datetime, bytes]]:
        while True:
            if self.count is not None and self.emitted >= self.count:
                return
            target = self.offset_s + self.every
            if self.duration_s is not None and target > self.duration_s:
                return
            self.advance_to(target)
            frame = self.meter.telegram()
            self.emitted += 1
            if self.injector is not None:
                frame = self.injector.apply(self.offset_s, frame)
            yield self.meter.time, frame

    def drain_quarter_hours(self) -> list[QuarterHourTruth]:
        return self.meter.drain_quarter_hours()


def stream(
    kind: str = "be-3ph", seed: int = 0, start: datetime | int = 0, **options: object
) -> Iterator[tuple[datetime, bytes]]:
    """`(sim_time, telegram bytes)` of a simulated meter (keywords as for `Simulation`)."""
    return iter(Simulation(kind, seed, start, **options))  # type: ignore[arg-type]
