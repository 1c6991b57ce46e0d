"""Values -> telegram bytes with a correct CRC: the inverse of the parser, used by the simulator.

Numbers are printed zero-padded with the registry's digits and decimals (more decimals when the value has
them, so nothing is rounded away); timestamps in the meter's local time with their S/W flag; texts
hex-encoded where the meter encodes them. `parse_telegram(build_telegram(h, v)).values == v` for values at
the registry's precision (property-tested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from .crc import crc_text
from .registry import REGISTRY, ObisObject
from .timestamps import DEFAULT_TZ, MeterClock, meter_clock
from .values import MonthlyPeak, PowerFailure, Scalar, Value


def format_number(value: Decimal | int, digits: int, decimals: int) -> str:
    """Zero-padded fixed-point text: `format_number(Decimal("1.5"), 6, 3) == "000001.500"`."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > decimals:
            decimals = -exponent
    width = digits + (decimals + 1 if decimals else 0) + (1 if value < 0 else 0)
    return f"{value:0{width}.{decimals}f}"


def _with_unit(text: str, unit: str | None) -> str:
    return f"({text}*{unit})" if unit else f"({text})"


def format_line(code: str, value: Value, clock: MeterClock, obj: ObisObject | None = None) -> str:
    """One data line (without line break); the line of an unknown code is its raw text."""
    obj = obj if obj is not None else REGISTRY.get(code)
    raw = value.value
    if obj is None:
        return f"{code}{raw}"
    kind = obj.kind
    if kind == "decimal" or kind == "int":
        assert isinstance(raw, Decimal | int)
        return code + _with_unit(format_number(raw, obj.digits, obj.decimals), value.unit)
    if kind == "str":
        return f"{code}({raw})"
    if kind == "hex":
        assert isinstance(raw, str)
        return f"{code}({raw.encode('ascii').hex().upper()})"
    if kind == "timestamp":
        assert raw is None or isinstance(raw, datetime)
        return f"{code}({clock.format(raw)})"
    if kind == "timestamped":
        assert isinstance(raw, Decimal | int)
        number = format_number(raw, obj.digits, obj.decimals)
        return f"{code}({clock.format(value.timestamp)}){_with_unit(number, value.unit)}"
    if kind == "peaks":
        assert isinstance(raw, tuple)
        parts = [f"{code}({len(raw)})(1-0:1.6.0)(1-0:1.6.0)"]
        for peak in raw:
            assert isinstance(peak, MonthlyPeak)
            number = format_number(peak.value, obj.digits, obj.decimals)
            parts.append(
                f"({clock.format(peak.month_start)})({clock.format(peak.peak_time)})"
                + _with_unit(number, peak.unit)
            )
        return "".join(parts)
    if kind == "failures":
        assert isinstance(raw, tuple)
        parts = [f"{code}({len(raw)})(0-0:96.7.19)"]
        for failure in raw:
            assert isinstance(failure, PowerFailure)
            seconds = format_number(failure.duration_s, obj.digits, 0)
            parts.append(f"({clock.format(failure.end)})({seconds}*s)")
        return "".join(parts)
    if kind == "legacy_gas":
        assert isinstance(raw, Decimal | int)
        channel = code.split(":")[0]
        stamp = clock.format(value.timestamp, flag=False)
        number = format_number(raw, obj.digits, obj.decimals)
        return f"{code}({stamp})(00)(60)(1)({channel}:24.2.1)({value.unit or ''})\r\n({number})"
    raise ValueError(f"cannot build {code} of kind {kind}")


def build_telegram(
    header: str,
    values: Mapping[str, Value | Scalar] | Iterable[tuple[str, Value | Scalar]],
    *,
    crc: bool = True,
    tz: str = DEFAULT_TZ,
    newline: str = "\r\n",
) -> bytes:
    """Build a telegram: `/header`, blank line, one line per value, `!` and its CRC-16/ARC.

    Args:
        header: the identification line without `/` (e.g. `FLU5\\253769484_A`).
        values: OBIS code -> `Value` (or a bare number/text/datetime, given the registry's unit).
        crc: append the CRC (DSMR 2.2/3 telegrams have none).
        tz: the zone whose summer/winter offsets decide each timestamp's S/W flag.
        newline: line ending (meters send CR LF).
    """
    clock = meter_clock(tz)
    items = values.items() if isinstance(values, Mapping) else values
    lines = [f"/{header}", ""]
    for code, value in items:
        obj = REGISTRY.get(code)
        if not isinstance(value, Value):
            value = Value(value, obj.unit if obj is not None else None)
        lines.append(format_line(code, value, clock, obj))
    body = (newline.join(lines) + newline + "!").replace("\r\n", newline)
    frame = body.encode("ascii")
    if not crc:
        return frame + newline.encode()
    return frame + f"{crc_text(frame)}{newline}".encode()
