"""Typed results of parsing: `Value`, the profile entries, and `Telegram`.

A `Value` is a small immutable tuple (cheap to build on the hot path). Cumulative registers are `Decimal`
(exact, never floats), counters and states `int`, decoded texts `str`, timestamps aware `datetime`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
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

    `value` is a tuple of `MonthlyPeak` / `PowerFailure` for profile buffers, and the raw text (including
    brackets) for OBIS codes the registry does not know.
    """

    value: Scalar | tuple[MonthlyPeak, ...] | tuple[PowerFailure, ...]
    unit: str | None = None
    timestamp: datetime | None = None


def _json_number(value: Decimal) -> int | float:
    return (
        int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)
    )


def _json_scalar(value: object) -> Any:
    if isinstance(value, Decimal):
        return _json_number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, MonthlyPeak):
        return {
            "month_start": _json_scalar(value.month_start),
            "peak_time": _json_scalar(value.peak_time),
            "value": _json_number(value.value),
            "unit": value.unit,
        }
    if isinstance(value, PowerFailure):
        return {"end": _json_scalar(value.end), "duration_s": value.duration_s}
    if isinstance(value, tuple):
        return [_json_scalar(item) for item in value]
    return value


def value_to_json(value: Value) -> dict[str, Any]:
    """The contract's JSON form of one value: `{"value": ..., "unit": ..., "timestamp": ...}`."""
    out: dict[str, Any] = {"value": _json_scalar(value.value)}
    if value.unit is not None:
        out["unit"] = value.unit
    if value.timestamp is not None:
        out["timestamp"] = value.timestamp.isoformat()
    return out


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
        """The electricity meter's equipment id (decoded), else the header."""
        for code in ("0-0:96.1.1", "0-0:96.1.0", "1-0:0.0.0", "0-0:42.0.0"):
            found = self.values.get(code)
            if found is not None and isinstance(found.value, str) and found.value.strip("0 "):
                return found.value
        return self.header

    @property
    def version(self) -> str | None:
        """e-MUCS version (0-0:96.1.4, e.g. 50217) or DSMR version (1-3:0.2.8, e.g. 50)."""
        for code in ("0-0:96.1.4", "1-3:0.2.8"):
            found = self.values.get(code)
            if found is not None:
                return str(found.value)
        return None

    def to_json(self) -> dict[str, Any]:
        """The telegram JSON of ARCHITECTURE.md §3 (a dict ready for `json.dumps`)."""
        ts = self.timestamp
        out: dict[str, Any] = {
            "meter_id": self.meter_id,
            "header": self.header,
            "crc": self.crc,
            "timestamp": ts.isoformat() if ts is not None else None,
            "values": {code: value_to_json(value) for code, value in self.values.items()},
        }
        if self.unparsed:
            out["unparsed"] = list(self.unparsed)
        return out
