"""Labels of the meter's coded states, in one place: the breaker or valve, emergency credit, the DLMS credit
status bits and the tariff, and what "no value" is on MQTT (pure, no I/O).

The prepayment labels are the names of the domain's enums (`prepayment.SupplyState`, `EmergencyState`,
`CreditStatus`), so they cannot drift from the codec of the P1 lines (`prepayment.p1`). The pipeline uses
them in its prepayment JSON; Home Assistant discovery turns the coded sensors into enum
sensors with these labels as options (mapped by a value template: the `state/<name>` topics keep the
meter's codes). Labels are identifiers (snake_case), for translation by whoever shows them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prepayment import CreditStatus, EmergencyState, SupplyState

# breaker / valve code -> label (a limited supply has the closed breaker's code 1: "connected")
SUPPLY_STATES = {
    state.breaker: state.value
    for state in (SupplyState.DISCONNECTED, SupplyState.CONNECTED, SupplyState.READY)
}
EMERGENCY_STATES = {int(state): state.name.lower() for state in EmergencyState}
# DLMS Account credit status, the most telling bit first (prepayment.p1.credit_status sets them)
CREDIT_STATUS_BITS = tuple(
    (int(bit), str(bit.name).lower())
    for bit in (
        CreditStatus.OUT_OF_CREDIT,
        CreditStatus.EMERGENCY_CREDIT_IN_USE,
        CreditStatus.LOW_CREDIT,
        CreditStatus.IN_CREDIT,
    )
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
