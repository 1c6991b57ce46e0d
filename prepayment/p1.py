"""The account as P1 extension lines (README.md "Prepayment on P1").

Strategy: a pure mapping OBIS code -> (value, unit) that the simulator wraps into `dsmr_parser.Value`
and the builder prints; money is quantized to the cent, codes use channel B (0 electricity account,
n = the gas meter's M-Bus channel). Electricity also gets the breaker state and the limiter threshold
(999.9 kW when no limit, as real e-MUCS meters print); gas gets the valve state.
"""

from __future__ import annotations

from decimal import Decimal

from .account import PrepaymentAccount
from .view import credit_status_bits

_CENT = Decimal("0.01")
NO_LIMIT_KW = Decimal("999.9")

P1Values = dict[str, tuple[Decimal | int, str | None]]


def p1_values(account: PrepaymentAccount, channel: int | None = None) -> P1Values:
    """OBIS code -> (value, unit) for the account; `channel` defaults to 0 (electricity) or 1 (gas)."""
    gas = account.config.energy == "gas"
    b = (1 if gas else 0) if channel is None else channel
    if not 0 <= b <= 4 or (gas and b == 0):
        raise ValueError(
            f"channel {b} does not fit a {account.config.energy} account (0 electricity, 1-4 gas)"
        )
    values: P1Values = {
        f"0-{b}:19.0.0": (credit_status_bits(account), None),
        f"0-{b}:19.10.0": (account.balance_eur.quantize(_CENT), "EUR"),
        f"0-{b}:19.10.1": (account.emergency_remaining_eur.quantize(_CENT), "EUR"),
        f"0-{b}:19.10.2": (account.debt_eur.quantize(_CENT), "EUR"),
        f"0-{b}:19.11.1": (int(account.emergency_state), None),
        f"0-{b}:19.20.0": (account.start_credit_due_eur.quantize(_CENT), "EUR"),
    }
    if gas:
        values[f"0-{b}:24.4.0"] = (account.supply_state.breaker, None)
    else:
        values["0-0:96.3.10"] = (account.supply_state.breaker, None)
        limit = account.power_limit_kw
        values["0-0:17.0.0"] = (NO_LIMIT_KW if limit is None else limit, "kW")
    return values
