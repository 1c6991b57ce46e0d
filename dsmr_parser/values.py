"""Typed results of parsing: `Value`, the profile entries, and `Telegram`.

A `Value` is a small immutable tuple (cheap to build on the hot path). Cumulative registers are `Decimal`
(exact, never floats, always finite), counters and states `int`, decoded texts `str`, timestamps aware
`datetime`, empty brackets None; what has no recognisable shape is `Raw` text.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, NamedTuple

Scalar = Decimal | int | str | datetime | None
CrcStatus = Literal["ok", "absent"]


class MonthlyPeak(NamedTuple):
    """One month of the e-MUCS 0-0:98.1.0 buffer: the month's start, when its peak happened, the peak."""

    month_start: datetime | None
    peak_time: datetime | None
    value: Decimal
    unit: str | None = "kW"


class PowerFailure(NamedTuple):
    """One entry of the 1-0:99.97.0 power-failure event log: when it ended and how long it lasted."""

    end: datetime | None
    duration_s: int


class Value(NamedTuple):
    """One COSEM object's value, its unit as sent by the meter, and its own capture time if any.

    `value` is a tuple of `MonthlyPeak` / `PowerFailure` for profile buffers, and `Raw` text (brackets
    included) for a line with no recognisable shape (`NaN`, `1E+1000000`, a broken buffer).
    """

    value: Scalar | tuple[MonthlyPeak, ...] | tuple[PowerFailure, ...]
    unit: str | None = None
    timestamp: datetime | None = None


class Raw(str):
    """Text the parser could not read as a value (brackets included): kept, never guessed at.
    JSON shows it as `{"value": null, "raw": "(NaN*kWh)"}`."""

    __slots__ = ()


_ID_CODES = ("0-0:96.1.1", "0-0:96.1.0", "1-0:0.0.0", "0-0:42.0.0")
_MBUS_ID_CODES = tuple(f"0-{n}:96.1.{e}" for n in "1234" for e in "01")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_id(text: str) -> str:
    """An id as MQTT topics and file names can carry it: runs of other characters become `_`."""
    return _UNSAFE.sub("_", text.strip()).strip("._")


@lru_cache(maxsize=64)
def derived_meter_id(header: str, mbus_id: str) -> str:
    """`p1-` and 10 hex digits of a hash of the header and the first M-Bus device's id (stable per
    installation while its gas/water meter stays; meters with neither share one id)."""
    import hashlib  # here: `p1gw parse` starts faster without it

    seed = f"{header}\n{mbus_id}".encode("utf-8", "backslashreplace")
    return "p1-" + hashlib.blake2s(seed, digest_size=5).hexdigest()


def meter_identity(values: dict[str, Value], header: str) -> tuple[str, bool]:
    """The meter's id and whether it was derived (the rule of `Telegram.meter_id`)."""
    for code in _ID_CODES:
        found = values.get(code)
        if found is not None and type(found.value) is str and found.value.strip("0 "):
            safe = _safe_id(found.value)
            if safe:
                return safe, False
    mbus = ""
    for code in _MBUS_ID_CODES:
        found = values.get(code)
        if found is not None and type(found.value) is str and found.value.strip("0 "):
            mbus = found.value
            break
    return derived_meter_id(header, mbus), True


class Telegram:
    """A parsed, CRC-checked telegram: header, values keyed by OBIS code, lines we could not read."""

    __slots__ = ("crc", "header", "unparsed", "values")

    def __init__(
        self,
        header: str,
        values: dict[str, Value],
        crc: CrcStatus = "ok",
        unparsed: list[str] | None = None,
    ) -> None:
        self.header = header
        self.values = values
        self.crc: CrcStatus = crc
        self.unparsed: list[str] = unparsed if unparsed is not None else []

    def __repr__(self) -> str:
        return f"Telegram({self.header!r}, {len(self.values)} values, crc={self.crc})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Telegram):
            return NotImplemented
        return (self.header, self.values, self.crc, self.unparsed) == (
            other.header,
            other.values,
            other.crc,
            other.unparsed,
        )

    __hash__ = None  # type: ignore[assignment]

    def get(self, code: str) -> Scalar | tuple[Any, ...]:
        """The value of `code`, or None when the telegram does not carry it."""
        found = self.values.get(code)
        return None if found is None else found.value

    @property
    def timestamp(self) -> datetime | None:
        """The meter's own clock (0-0:1.0.0), the truth for quarter-hours."""
        found = self.values.get("0-0:1.0.0")
        return found.value if found is not None and isinstance(found.value, datetime) else None

    @property
    def meter_id(self) -> str:
        """The meter's id, safe in MQTT topics and file names: the first of the equipment ids (0-0:96.1.1,
        0-0:96.1.0, 1-0:0.0.0, 0-0:42.0.0) that is text and not all zeros, hex-decoded when it is hex
        text and used as printed when not, characters other than `A-Z a-z 0-9 . _ -` replaced by `_`.
        A meter with none gets `p1-` + 10 hex digits derived from its header and its M-Bus device's id
        (`meter_id_derived` is then True): never the header itself, which every meter of a model shares."""
        return meter_identity(self.values, self.header)[0]

    @property
    def meter_id_derived(self) -> bool:
        """True when no equipment id identifies the meter and `meter_id` was derived."""
        return meter_identity(self.values, self.header)[1]

    @property
    def raw_codes(self) -> list[str]:
        """The codes whose line had no recognisable shape (their value is `Raw` text)."""
        return [code for code, value in self.values.items() if isinstance(value.value, Raw)]

    @property
    def version(self) -> str | None:
        """e-MUCS version (0-0:96.1.4, e.g. 50217) or DSMR version (1-3:0.2.8, e.g. 50)."""
        for code in ("0-0:96.1.4", "1-3:0.2.8"):
            found = self.values.get(code)
            if found is not None:
                return str(found.value)
        return None
