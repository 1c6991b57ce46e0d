"""Byte sources for the pipeline: serial port, `socket://`, file replay, in-process simulator.

Every source has the same shape — `async with open_source(spec) as source: async for chunk in source` —
and the same fault behaviour: a pulled cable, a closed socket or a silent meter closes the connection and
reopens it after a backoff; the iteration never ends for a live source and never raises for an I/O fault.
A file replay ends at the end of the file (or loops with `?loop=1`); a bad spec is a `SourceError` before
anything runs.

Specs (`parse_spec`):
  /dev/ttyUSB0, /dev/p1, rfc2217://host:port    serial port (pyserial-asyncio-fast), 115200 8N1 by default
  socket://host:port                            TCP (ser2net, `p1gw sim --tcp`)
  file:capture.txt[?interval=1&loop=1]          replay; interval = seconds between telegrams (0: at once)
  ./capture.txt                                 a plain path to a regular file is a replay too
  sim:be-3ph[?seed=3&speed=10&prepayment=20]    the simulator in this process (`state=PATH`: continue from
                                                and save its clock and registers there)
  s1:/dev/ttyUSB1, s1+socket://h:p, s1+sim:be-3ph   S1 port (gateway.sources.s1), 2 Mbps

Modules: `spec` (parsing), `connections` (serial, TCP, file), `simulator` (the `sim:` source),
`reconnect` (`Source`, the reconnect loop), `factory` (`make_source`, `open_source`), `s1` (S1 values).
"""

from gateway.sources.connections import Connection, SerialSettings
from gateway.sources.factory import make_source, open_source
from gateway.sources.reconnect import Source
from gateway.sources.spec import SourceError, SourceSpec, parse_spec

__all__ = [
    "Connection",
    "SerialSettings",
    "Source",
    "SourceError",
    "SourceSpec",
    "make_source",
    "open_source",
    "parse_spec",
]
