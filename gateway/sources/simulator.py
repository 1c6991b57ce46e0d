"""The in-process simulator as a source (`sim:be-3ph?seed=3&speed=10`): the spec's `Simulation`, its
connection (telegrams paced at `speed` x real time) and the saved simulator state that a restart continues.

`make_simulation` turns the spec's parameters into a `meter_sim.simulation.Simulation` (SourceError on a
bad one); `SimConnection` reads its telegrams; `save_sim_state`/`load_sim_state` keep the meter's clock
and registers in a JSON file so a restarted simulated meter never goes backwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

from gateway.logs import get_logger, log
from gateway.sources.spec import SourceError, SourceSpec, float_param

logger = get_logger("source")

SIM_PARAMS = frozenset(
    {"seed", "speed", "prepayment", "start", "every", "gas", "faults", "count", "duration", "grid", "state"}
)
SIM_STATE_SAVE_S = 1.0


class SimConnection:
    """The in-process simulation (`meter_sim.simulation.Simulation`): its telegrams at `speed` x real time.

    Telegrams that fell due while the event loop was busy are sent together (no drift, none skipped); a
    telegram the fault injector swallowed (a silence) is just not sent.

    With `state_path`, the meter's clock and registers (`Meter.registers()`) are written there (atomically)
    after the telegrams they produced, at most every `SIM_STATE_SAVE_S` and at close, so a restarted
    simulation continues from them (`make_simulation`). After a kill, it may continue from up to one
    second before its last telegram: the gateway drops those few as going backwards.
    """

    def __init__(self, simulation: Any, speed: float = 1.0, state_path: str | None = None) -> None:
        self.simulation = simulation
        self.speed = speed
        self.interval_s = simulation.every
        self._frames = iter(simulation)
        self._t0 = time.monotonic()
        self._sent = 0
        self.state_path = state_path
        self._saved_at = 0.0

    async def read(self) -> bytes:
        period = self.interval_s / self.speed
        due = self._t0 + (self._sent + 1) * period
        await asyncio.sleep(max(0.0, due - time.monotonic()))  # always yield, even when behind
        count = max(1, min(1000, int((time.monotonic() - self._t0) / period) - self._sent))
        out = []
        for _ in range(count):
            try:
                out.append(next(self._frames)[1])
            except StopIteration:
                break
        self._sent += count
        if self.state_path is not None and time.monotonic() - self._saved_at >= SIM_STATE_SAVE_S:
            self._save()
        if not out:
            return b""  # the simulation reached its --count / duration
        return b"".join(out) or b"\n"  # all silenced: keep the source alive

    def _save(self) -> None:
        self._saved_at = time.monotonic()
        if self.state_path is None:
            return
        try:
            save_sim_state(self.state_path, self.simulation.meter.registers().to_json())
        except OSError as exc:
            log(logger, logging.WARNING, "simulator state not saved", path=self.state_path, error=str(exc))

    async def close(self) -> None:
        self._save()


def save_sim_state(path: str, state: dict[str, Any]) -> None:
    """Write the simulator's saved registers atomically (a temporary file renamed over the old one)."""
    target = os.path.expanduser(path)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    temporary = f"{target}.tmp"
    with open(temporary, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(temporary, target)


def load_sim_state(path: str) -> Any:
    """The `MeterRegisters` saved at `path` (None when the file does not exist yet)."""
    from meter_sim.registers import MeterRegisters

    target = os.path.expanduser(path)
    try:
        with open(target, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"simulator state {target}: cannot read it ({exc}); delete it to start afresh"
        ) from None
    try:
        return MeterRegisters.from_json(data)
    except ValueError as exc:
        raise SourceError(f"simulator state {target}: {exc}; delete it to start afresh") from None


def make_simulation(spec: SourceSpec, *, now: float | None = None, state_path: str | None = None) -> Any:
    """The simulation of `sim:KIND?seed=&speed=&prepayment=EUR&start=ISO&every=S&faults=...&count=N`.

    `grid=weak`: the weak-grid voltage model of `meter_sim.grid`. `state=PATH` in the spec (else
    `state_path`) continues from the registers saved there (`load_sim_state`).
    """
    from datetime import datetime
    from decimal import Decimal, InvalidOperation

    from meter_sim.faults import parse_duration, parse_faults
    from meter_sim.meter_prepayment import PrepaymentOptions
    from meter_sim.simulation import Simulation

    params = spec.params
    unknown = set(params) - SIM_PARAMS
    if unknown:
        raise SourceError(
            f"{spec.text!r}: unknown parameter(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(SIM_PARAMS))}"
        )
    options: dict[str, Any] = {}
    try:
        seed = int(params.get("seed", "0"))
        if "every" in params:
            options["every"] = int(params["every"])
        if "count" in params:
            options["count"] = int(params["count"])
        if "duration" in params:
            options["duration_s"] = parse_duration(params["duration"])
        if "faults" in params:
            options["faults"] = parse_faults(params["faults"])
        if "grid" in params:
            options["grid"] = params["grid"]
    except ValueError as exc:
        raise SourceError(f"{spec.text!r}: {exc}") from None
    float_param(spec, "speed", 1.0)
    start: datetime | int
    if "start" in params:
        try:
            start = datetime.fromisoformat(params["start"])
        except ValueError:
            raise SourceError(f"{spec.text!r}: start must be an ISO time with offset") from None
        if start.tzinfo is None:
            raise SourceError(f"{spec.text!r}: start needs a UTC offset (e.g. 2026-11-22T14:00:00+01:00)")
    else:
        start = int(time.time() if now is None else now)
    if "prepayment" in params:
        try:
            credit = Decimal(params["prepayment"] or "20")
        except InvalidOperation:
            raise SourceError(f"{spec.text!r}: prepayment must be a start credit in EUR") from None
        options["prepayment"] = PrepaymentOptions(  # in-meter accounting: the balance moves live
            credit_eur=credit, accounting="immediate", gas=params.get("gas", "1") not in ("0", "false")
        )
    path = spec.params.get("state") or state_path
    if path:
        options["resume"] = load_sim_state(path)
    try:
        return Simulation(spec.target, seed, start, **options)
    except ValueError as exc:
        raise SourceError(f"{spec.text!r}: {exc}") from None
