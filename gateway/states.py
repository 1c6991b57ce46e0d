"""Labels of the meter's coded states, in one place: the breaker or valve, emergency credit, the DLMS credit
status bits and the tariff, and what "no value" is on MQTT (pure, no I/O).

The pipeline uses them in its prepayment JSON; Home Assistant discovery turns the coded sensors into enum
sensors with these labels as options (mapped by a value template: the `state/<name>` topics keep the
meter's codes). Labels are identifiers (snake_case), for translation by whoever shows them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

SUPPLY_STATES = {0: "disconnected", 1: "connected", 2: "ready"}
EMERGENCY_STATES = {0: "enabled", 1: "selectable", 2: "invoked", 3: "in_use", 4: "exhausted"}
# DLMS Account credit status, the most telling bit first (prepayment.view.credit_status_bits sets them)
CREDIT_STATUS_BITS = (
    (64, "out_of_credit"),
    (32, "emergency_credit_in_use"),
    (2, "low_credit"),
    (1, "in_credit"),
)
NO_CREDIT = "no_credit"

NO_VALUE = "None"  # the state payload of "no value": Home Assistant shows the sensor as unknown
NO_LIMIT = Decimal(999)  # the limiter's 999.9 kW and the fuse supervision's 999 A mean "no limit set"


def is_threshold(name: str) -> bool:
    """A limit the meter enforces (a setting, not a measurement)."""
    return name == "limiter_threshold" or name.startswith("fuse_threshold_")


def published_value(name: str, value: Any) -> Any:
    """The value to publish on `state/<name>`: None (no value) for "no limit" thresholds and empty texts."""
    if is_threshold(name) and isinstance(value, Decimal | int) and value >= NO_LIMIT:
        return None
    if value == "":
        return None
    return value
