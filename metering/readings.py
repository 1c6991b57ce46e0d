"""A telegram's energy registers as a reading: the four registers in integer Wh at the meter's time, screened.

A telegram is used only when its timestamp moves forward and each register is a finite number in range
that neither goes backwards nor grows faster than `MAX_POWER_W` allows since the last accepted reading;
otherwise it is a `Rejection` (kind and reason), returned, never raised. The quarter-hour aggregator
(`metering.quarter_hours`) reads every telegram through `read`.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from dsmr_parser import Telegram

MAX_REGISTER_WH = 10**12  # a billion kWh: no meter register holds more (DSMR/e-MUCS show 6 digits of kWh)
MAX_POWER_W = 10**7  # 10 MW: a register growing faster than this between two readings is not a meter's
RejectionKind = Literal[
    "no_timestamp",
    "no_registers",
    "bad_register",
    "clock_backwards",
    "register_backwards",
    "register_jump",
    # given by the gateway's screening and pipeline, never by the aggregator:
    "bad_value",
    "unparsable",
    "internal_error",
]
Registers = tuple[int, int, int, int]  # Wh: import day, import night, export day, export night


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a telegram was not used: `kind` (machine-readable) and a sentence for logs."""

    kind: RejectionKind
    reason: str


@dataclass(slots=True)
class Reading:
    """An accepted telegram's registers at its meter time."""

    ts: int  # UTC seconds
    wh: Registers


def register_codes(tariff_labels: Mapping[int, str]) -> tuple[str, str, str, str]:
    """OBIS codes feeding (import_day, import_night, export_day, export_night) for a tariff labelling.

    Belgium: `{1: "day", 2: "night"}` (1.8.1 is day); the Netherlands: `{1: "night", 2: "day"}`.
    """
    day = next((n for n, label in tariff_labels.items() if label == "day"), 1)
    night = next((n for n, label in tariff_labels.items() if label == "night"), 2)
    if {day, night} != {1, 2}:
        raise ValueError(f"tariff labels must map 1 and 2 to day and night, got {dict(tariff_labels)}")
    return (f"1-0:1.8.{day}", f"1-0:1.8.{night}", f"1-0:2.8.{day}", f"1-0:2.8.{night}")


def registers(
    telegram: Telegram, codes: tuple[str, str, str, str], last: Reading | None
) -> Registers | Rejection:
    """The telegram's registers in Wh (a register it lacks keeps its `last` value, else 0)."""
    values: list[int] = []
    present = 0
    for index, code in enumerate(codes):
        found = telegram.values.get(code)
        if found is None:
            values.append(last.wh[index] if last is not None else 0)
            continue
        raw = found.value
        if not isinstance(raw, Decimal | int) or isinstance(raw, bool):
            return Rejection("bad_register", f"{code} is not a number: {raw!r}")
        if isinstance(raw, Decimal) and not raw.is_finite():
            return Rejection("bad_register", f"{code} is not a finite number: {raw}")
        unit = (found.unit or "kWh").lower()
        if unit == "kwh":
            wh = Decimal(raw) * 1000
        elif unit == "wh":
            wh = Decimal(raw)
        else:
            return Rejection("bad_register", f"{code} has unit {found.unit!r}, expected kWh or Wh")
        if wh < 0:
            return Rejection("bad_register", f"{code} is negative: {raw}")
        if wh > MAX_REGISTER_WH:
            return Rejection("bad_register", f"{code} is out of range: {raw}")
        values.append(int(wh.to_integral_value(rounding=ROUND_FLOOR)))
        present += 1
    if present == 0:
        return Rejection("no_registers", f"none of {', '.join(codes)} in the telegram")
    return (values[0], values[1], values[2], values[3])


def read(
    telegram: Telegram,
    codes: tuple[str, str, str, str],
    last: Reading | None,
    local: Callable[[int], datetime],
) -> Reading | Rejection:
    """The telegram as the reading after `last` (the last accepted one), or why it cannot be; `local` turns
    UTC seconds into the local time the messages show."""
    moment = telegram.timestamp
    if moment is None or moment.tzinfo is None:
        return Rejection("no_timestamp", "telegram has no meter timestamp (0-0:1.0.0)")
    ts = int(moment.timestamp())
    regs = registers(telegram, codes, last)
    if isinstance(regs, Rejection):
        return regs
    if last is not None:
        if ts <= last.ts:
            what = "repeats" if ts == last.ts else "goes backwards"
            previous = local(last.ts).isoformat()
            return Rejection(
                "clock_backwards", f"meter time {moment.isoformat()} {what} (last accepted {previous})"
            )
        most = MAX_POWER_W * (ts - last.ts) // 3600 + 1
        for code, old, new in zip(codes, last.wh, regs, strict=True):
            if new < old:
                return Rejection("register_backwards", f"{code} went backwards from {old} Wh to {new} Wh")
            if new - old > most:
                return Rejection(
                    "register_jump",
                    f"{code} grew {new - old} Wh in {ts - last.ts} s (faster than {MAX_POWER_W // 1000} kW)",
                )
    return Reading(ts, regs)
