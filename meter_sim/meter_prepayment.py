"""The simulated meter's prepayment function: the DSO presets, `PrepaymentOptions`, and the meter side of
the accounts (`MeterPrepayment`, a part of `Meter`): billing the registers' exact kWh and the gas used,
top-ups, the button, the gas leak test, and the breaker, valve and power limit the accounts decide.

The accounting itself is `prepayment.PrepaymentAccount`'s; this only feeds it and applies its supply state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prepayment import (
    AccountConfig,
    Notification,
    PrepaymentAccount,
    fluvius_electricity,
    ores_electricity,
    ores_gas,
)

from .kinds import MeterKind
from .registers import local_time, scaled_decimal

GAS_KWH_PER_M3 = Decimal("10.5")  # calorific value used to bill gas in kWh

PREPAYMENT_PRESETS: dict[str, tuple[Callable[..., AccountConfig], Callable[..., AccountConfig] | None]] = {
    "ores": (ores_electricity, ores_gas),
    "fluvius": (fluvius_electricity, None),  # Fluvius gas prepayment (1000 kWh emergency) is not modelled
}
"""Per DSO: the electricity preset and the gas preset (None: no gas account is opened)."""


@dataclass(frozen=True, slots=True)
class PrepaymentOptions:
    """`--prepayment`: the DSO preset, the start credit, and overrides for tests and scenarios.

    `preset` is the DSO whose rules (and contract: default calendar) the meter runs; None: the meter's
    DSO (`MeterKind.dso`). `accounting` None: the preset's own (ORES central, Fluvius immediate).
    A preset never opens another DSO's account (Fluvius: no gas account).
    """

    credit_eur: Decimal = Decimal("20.00")
    preset: str | None = "ores"  # ores | fluvius | None
    accounting: str | None = None  # immediate | central
    emergency_credit_eur: Decimal | None = None
    protected_customer: bool = False
    gas: bool = True
    overrides: dict[str, Any] = field(default_factory=dict)


class MeterPrepayment:
    """The prepayment part of `Meter`: its accounts, billing and the customer's controls."""

    # the meter's state this part reads and writes (set by `Meter.__init__`)
    kind: MeterKind
    contract: str
    ts: int
    import_j: list[int]
    breaker: int
    valve: int
    notifications: list[Notification]
    account: PrepaymentAccount | None
    gas_account: PrepaymentAccount | None
    _tariff_of: dict[str, int]
    _limit_w: int | None
    _version: int
    _billed_wh: list[int]
    _gas_unbilled_ml: int
    _leak_ml_s: int
    _leak_unreported_ml: int
    _regs_wh: Callable[[], list[int]]

    def _open_accounts(self, opts: PrepaymentOptions) -> None:
        at = local_time(self.ts)
        presets = PREPAYMENT_PRESETS.get(self.contract)
        if presets is None:
            known = ", ".join(PREPAYMENT_PRESETS)
            raise ValueError(
                f"no prepayment rules for the {self.contract!r} contract; choose a preset: {known}"
            )
        elec, gas = presets
        common: dict[str, Any] = {
            "start_credit_eur": opts.credit_eur,
            "protected_customer": opts.protected_customer,
        }
        if opts.accounting is not None:
            common["accounting"] = opts.accounting
        if opts.emergency_credit_eur is not None:
            common["emergency_credit_eur"] = opts.emergency_credit_eur
        cfg = elec(**common, **opts.overrides)
        self.account = PrepaymentAccount(cfg, at)
        self._billed_wh = self._regs_wh()[:2]
        if opts.gas and self.kind.gas and gas is not None:
            self.gas_account = PrepaymentAccount(gas(**common), at)
        self._refresh_supply()

    def _refresh_supply(self) -> None:
        acc = self.account
        if acc is not None:
            self.breaker = acc.supply_state.breaker
            limit = acc.power_limit_kw
            self._limit_w = None if limit is None else int(limit * 1000)
        if self.gas_account is not None:
            self.valve = self.gas_account.supply_state.breaker
        self._version += 1

    def _bill(self) -> None:
        """Charge the Wh the registers gained (exact kWh) and the gas used, on the active period."""
        acc = self.account
        assert acc is not None
        at = local_time(self.ts)
        regs = (self.import_j[0] // 3600, self.import_j[1] // 3600)
        for t in (0, 1):
            delta = regs[t] - self._billed_wh[t]
            if delta:
                period = "day" if self._tariff_of["day"] == t + 1 else "night"
                self.notifications += acc.consume(scaled_decimal(delta, 3), period, at)
                self._billed_wh[t] = regs[t]
        self.notifications += acc.advance(at)
        gas = self.gas_account
        if gas is not None:
            ml, self._gas_unbilled_ml = self._gas_unbilled_ml, 0
            if ml:
                self.notifications += gas.consume(Decimal(ml) * GAS_KWH_PER_M3 / 1_000_000, "single", at)
            leaked, self._leak_unreported_ml = self._leak_unreported_ml, 0
            if leaked:
                self.notifications += gas.report_flow(Decimal(leaked) * GAS_KWH_PER_M3 / 1_000_000, at)
            self.notifications += gas.advance(at)
            if gas.leak_test_until is None:
                self._leak_ml_s = 0  # the test is over (passed or failed)
        self._refresh_supply()

    def top_up(self, top_up_id: str, amount_eur: Decimal | str | float, energy: str = "electricity") -> bool:
        """Credit a top-up (idempotent per id); True when it was new, False for a duplicate."""
        acc = self._acc(energy)
        self._bill()
        result = acc.top_up(top_up_id, Decimal(str(amount_eur)), local_time(self.ts))
        self.notifications += result.notifications
        self._refresh_supply()
        return not result.duplicate

    def press_button(self, energy: str = "electricity") -> None:
        """The customer holds the meter's button (reconnects a ready breaker / starts the gas leak test)."""
        acc = self._acc(energy)
        self._bill()
        self.notifications += acc.press_button(local_time(self.ts))  # held as long as the meter asks
        self._refresh_supply()

    def start_leak_test(self, leak_ml_s: int = 0) -> None:
        """Gas: start the leak test (the valve must be ready, state 2). `leak_ml_s` is gas that flows
        while the test runs (an appliance left open, a real leak): the meter sees it and the test fails."""
        acc = self._acc("gas")
        self._bill()
        self.notifications += acc.start_leak_test(local_time(self.ts))
        self._leak_ml_s = max(0, int(leak_ml_s))
        self._refresh_supply()

    def _acc(self, energy: str) -> PrepaymentAccount:
        acc = self.gas_account if energy == "gas" else self.account
        if acc is None:
            raise ValueError(f"this meter runs no {energy} prepayment account (use --prepayment)")
        return acc
