"""Opening a source: `make_source` picks the connection for a spec's kind and wraps it in a `Source`;
`open_source` is the same as an async context manager that closes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from gateway.sources.connections import Connection, SerialSettings, open_file, open_serial, open_socket
from gateway.sources.reconnect import Source
from gateway.sources.simulator import SimConnection, make_simulation
from gateway.sources.spec import SourceError, SourceSpec, float_param, parse_spec


def make_source(
    spec: SourceSpec | str,
    *,
    serial: SerialSettings | None = None,
    silence_timeout_s: float = 30.0,
    backoff_max_s: float = 30.0,
    backoff_initial_s: float = 0.5,
    sim_state: str | None = None,
) -> Source:
    """The `Source` for a spec (not yet connected). S1 specs get 2 Mbps unless `serial` says otherwise.

    `sim_state`: where a `sim:` source saves and continues its registers when its spec has no `state=`.
    """
    if isinstance(spec, str):
        spec = parse_spec(spec)
    settings = serial or (SerialSettings(baudrate=2_000_000) if spec.s1 else SerialSettings())
    common: dict[str, Any] = {
        "silence_timeout_s": silence_timeout_s,
        "backoff_max_s": backoff_max_s,
        "backoff_initial_s": backoff_initial_s,
    }
    kind = spec.kind
    if kind == "serial":
        return Source(spec, lambda: open_serial(spec.target, settings), **common)
    if kind == "socket":
        return Source(spec, lambda: open_socket(spec.target), **common)
    if kind == "file":
        interval = float_param(spec, "interval", 0.0)
        loop = spec.params.get("loop", "0") not in ("0", "", "false", "no")
        return Source(
            spec,
            lambda: open_file(spec.target, interval, loop),
            reconnect=False,
            silence_timeout_s=None,
        )
    if kind == "sim":
        simulation = make_simulation(spec, state_path=sim_state)
        speed = float_param(spec, "speed", 1.0) or 1.0
        state_path = spec.params.get("state") or sim_state

        async def open_sim() -> Connection:
            if spec.s1:
                from gateway.sources.s1 import S1SimConnection

                return S1SimConnection(simulation.meter, speed)
            return SimConnection(simulation, speed, state_path)

        source = Source(spec, open_sim, reconnect=False, silence_timeout_s=None)
        source.sim = simulation.meter
        source.simulation = simulation
        return source
    raise SourceError(f"{spec.text!r}: unknown source kind {kind!r}")


@contextlib.asynccontextmanager
async def open_source(spec: SourceSpec | str, **kwargs: Any) -> AsyncIterator[Source]:
    """`async with open_source("socket://pi:2001") as source: async for chunk in source: ...`"""
    source = make_source(spec, **kwargs)
    try:
        yield source
    finally:
        await source.aclose()
