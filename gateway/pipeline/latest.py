"""The latest accepted telegram (or S1 second) and the views of it: its JSON, its named states, its
history point.

Strategy: everything is computed lazily from the telegram and cached for it: the telegram JSON only when
someone asks for it, the named states (`dsmr_parser.state_values`) once per telegram for screening,
history and `/api/v1/states` alike.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from dsmr_parser import Telegram, state_values, telegram_json
from dsmr_parser.registry import StateValue
from gateway.answers import StateJson

HISTORY_EXACT = frozenset(
    {
        "energy_import_day",
        "energy_import_night",
        "energy_export_day",
        "energy_export_night",
        "gas_volume",
        "water_volume",
        "current_average_demand",
    }
)
HISTORY_PREFIXES = ("power_", "voltage_l", "current_l", "s1_")


def json_number(value: object) -> float | int | None:
    """A number as JSON gives it (a whole Decimal without decimals as an int); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, int | float):
        return value
    return None


class LatestTelegram:
    """The latest accepted telegram of a meter in `country` (BE / NL: tariff 1 = day / night)."""

    def __init__(self, country: str) -> None:
        self.country = country
        self.telegram: Telegram | None = None
        self.s1_values: dict[str, float] = {}
        self._json: dict[str, Any] | None = None
        self._states: dict[str, StateValue] = {}
        self._states_of: Telegram | None = None

    def accept(self, telegram: Telegram) -> None:
        self.telegram, self._json = telegram, None

    def json(self) -> dict[str, Any] | None:
        """The telegram JSON (ARCHITECTURE §3), built once; numbers are Decimals with the meter's digits
        (`gateway.jsonenc` writes them as printed: `/api/v1/now` and the live stream say `5.980`)."""
        if self.telegram is None:
            return None
        if self._json is None:
            self._json = json.loads(telegram_json(self.telegram), parse_float=Decimal)
        return self._json

    def state_values(self, telegram: Telegram) -> dict[str, StateValue]:
        """The named states of `telegram` (the latest or one being screened), computed once per telegram."""
        if self._states_of is not telegram:
            self._states = state_values(telegram, self.country)
            self._states_of = telegram
        return self._states

    def history_values(self, telegram: Telegram) -> dict[str, float | int]:
        """The values of `telegram` kept in the downsampled history."""
        out: dict[str, float | int] = {}
        for name, state in self.state_values(telegram).items():
            if name in HISTORY_EXACT or name.startswith(HISTORY_PREFIXES):
                number = json_number(state.value.value)
                if number is not None:
                    out[name] = number
        return out

    def states(self) -> dict[str, StateJson]:
        """Latest value per state name with unit and code (S1 values first, when an S1 port runs)."""
        out: dict[str, StateJson] = {}
        if self.s1_values:
            from gateway.sources.s1 import s1_unit

            out.update({k: {"value": v, "unit": s1_unit(k), "code": "S1"} for k, v in self.s1_values.items()})
        if self.telegram is None:
            return out
        for name, state in self.state_values(self.telegram).items():
            raw = state.value.value
            number = json_number(raw)
            value: object = number if number is not None else raw
            if isinstance(raw, datetime):
                value = raw.isoformat()
            elif isinstance(raw, tuple):
                continue  # profile buffers are in /peaks
            out[name] = {"value": value, "unit": state.unit, "code": state.code}
        return out
