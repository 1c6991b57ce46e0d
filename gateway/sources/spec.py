"""Source specs: the text a user gives (`/dev/ttyUSB0`, `socket://h:p`, `file:x?interval=1`, `sim:be-3ph`,
an `s1` prefix) parsed into a `SourceSpec`, or a `SourceError` before anything runs.

A spec is sorted by its prefix (`s1+`/`s1:`, `socket://`, `sim:`, `file:`, another `scheme://` for
pyserial URL handlers); without one, a path to a regular file is a replay and anything else a serial device.
Query parameters (`?seed=3&speed=10`) stay text until the connection that uses them reads them
(`float_param`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from urllib.parse import parse_qsl


class SourceError(ValueError):
    """A source spec that can never work (unknown kind, missing file, bad parameter)."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source: kind (serial, socket, file, sim), target (device, host:port, path, meter kind)."""

    kind: str
    target: str
    params: dict[str, str] = field(default_factory=dict)
    s1: bool = False
    text: str = ""

    @property
    def live(self) -> bool:
        """A meter talking now (not a replay): its clock can be compared with ours."""
        return self.kind in ("serial", "socket")


def _split_query(text: str) -> tuple[str, dict[str, str]]:
    base, sep, query = text.partition("?")
    # a '+' stays a '+' (UTC offsets in start=...), it is not a space here
    return base, dict(parse_qsl(query.replace("+", "%2B"), keep_blank_values=True)) if sep else {}


def parse_spec(text: str) -> SourceSpec:
    """Text -> `SourceSpec`; raises SourceError on a spec that can never work."""
    original = text.strip()
    if not original:
        raise SourceError("empty source: give a serial device, socket://host:port, file:PATH or sim:be-3ph")
    s1 = False
    rest = original
    if rest.startswith("s1+") or rest.startswith("s1:"):
        s1, rest = True, rest[3:]
    if rest.startswith("socket://"):
        hostport, params = _split_query(rest[len("socket://") :])
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SourceError(f"{original!r}: expected socket://host:port")
        return SourceSpec("socket", f"{host.strip('[]')}:{port}", params, s1, original)
    if rest.startswith("sim:"):
        target, params = _split_query(rest[4:])
        if not target:
            raise SourceError(f"{original!r}: expected sim:METER, e.g. sim:be-3ph")
        return SourceSpec("sim", target, params, s1, original)
    if rest.startswith("file:"):
        path, params = _split_query(rest[5:])
        _check_file(path, original)
        return SourceSpec("file", path, params, s1, original)
    if "://" in rest:  # rfc2217://, loop:// and other pyserial URL handlers
        return SourceSpec("serial", rest, {}, s1, original)
    try:
        mode = os.stat(rest).st_mode
    except OSError:
        mode = 0
    if stat.S_ISREG(mode):
        return SourceSpec("file", rest, {}, s1, original)
    return SourceSpec("serial", rest, {}, s1, original)


def _check_file(path: str, original: str) -> None:
    if not path:
        raise SourceError(f"{original!r}: expected file:PATH")
    if not os.path.isfile(path):
        raise SourceError(f"{original!r}: {path} is not a readable file")


def float_param(spec: SourceSpec, name: str, default: float) -> float:
    """The spec's parameter `name` as a non-negative number (`default` when absent); SourceError if not."""
    raw = spec.params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(f"{spec.text!r}: {name}={raw!r} is not a number") from None
    if value < 0:
        raise SourceError(f"{spec.text!r}: {name} must not be negative")
    return value
