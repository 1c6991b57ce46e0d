"""The representative's monthly statement, and the reconciliation against the DSO's allocation.

Strategy: the allocation gives, per quarter-hour and member (integer Wh), the energy received from the
community, the shared part of each giver's injection and the unshared surplus. Per member and local
month we sum those once, then price them exactly: shared kWh x the community price and the management
fee (members who receive), shared injection x the producer remuneration (members who give), and the
surplus at a price series (per quarter-hour or hour, €/MWh) or a flat price. Each member-month line is
rounded to the cent; every community total is the sum of those rounded lines, so the statement
balances to the cent by construction: collected (energy + fees) = paid to producers + fees + margin.

Reconciliation compares the DSO's gross / shared / net consumption and injection per EAN and
quarter-hour with ours and lists every difference beyond a tolerance (1 Wh).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from tariffs.bands import IntArray
from tariffs.money import frac, kwh, to_cents

MWH_WH = 1_000_000


@dataclass(frozen=True)
class StatementMember:
    ean: str
    name: str
    role: str  # consumer | producer | prosumer


@dataclass(frozen=True)
class CommunityPrices:
    """The community's prices (excl. VAT)."""

    shared_eur_per_kwh: Decimal
    producer_eur_per_kwh: Decimal
    fee_eur_per_mwh: Decimal = Decimal(5)
    surplus_eur_per_mwh: Decimal | None = None  # flat price when no series is given


@dataclass(frozen=True)
class AllocationArrays:
    """Quarter-hour starts (T,), local month index (T,), month labels, and (T, M) Wh matrices."""

    start_ts: IntArray
    month_idx: IntArray
    months: Sequence[str]
    consumption_wh: npt.NDArray[np.integer]
    injection_wh: npt.NDArray[np.integer]
    received_wh: npt.NDArray[np.integer]
    shared_injection_wh: npt.NDArray[np.integer]

    def select(self, rows: npt.NDArray[np.bool_]) -> AllocationArrays:
        """The quarter-hours where ``rows`` is true (months kept as they are)."""
        return AllocationArrays(
            self.start_ts[rows],
            self.month_idx[rows],
            self.months,
            self.consumption_wh[rows],
            self.injection_wh[rows],
            self.received_wh[rows],
            self.shared_injection_wh[rows],
        )

    @property
    def surplus_wh(self) -> IntArray:
        out: IntArray = self.injection_wh.astype(np.int64) - self.shared_injection_wh
        return out


@dataclass(frozen=True)
class MemberMonth:
    """One member's month: energies in Wh, money in € (rounded to the cent)."""

    month: str
    member: StatementMember
    consumption_wh: int
    received_wh: int
    injection_wh: int
    shared_injection_wh: int
    surplus_wh: int
    shared_cost_eur: Decimal
    fee_eur: Decimal
    producer_revenue_eur: Decimal
    surplus_value_eur: Decimal

    @property
    def balance_eur(self) -> Decimal:
        """What the member pays the community (negative: what it receives)."""
        return self.shared_cost_eur + self.fee_eur - self.producer_revenue_eur


@dataclass(frozen=True)
class CommunityMonth:
    """Community totals of one month (sums of the members' rounded lines)."""

    month: str
    received_wh: int
    shared_injection_wh: int
    surplus_wh: int
    collected_eur: Decimal  # shared energy + fees paid by members
    fees_eur: Decimal
    paid_to_producers_eur: Decimal
    surplus_value_eur: Decimal

    @property
    def margin_eur(self) -> Decimal:
        """Shared energy sold minus producers paid: what the community keeps besides the fees."""
        return self.collected_eur - self.fees_eur - self.paid_to_producers_eur


@dataclass(frozen=True)
class Statement:
    rows: tuple[MemberMonth, ...]
    months: tuple[CommunityMonth, ...]
    surplus_priced: bool

    def total(self) -> CommunityMonth:
        """The whole period."""

        def s(attr: str) -> Decimal:
            return sum((getattr(m, attr) for m in self.months), Decimal("0.00"))

        return CommunityMonth(
            "total",
            sum(m.received_wh for m in self.months),
            sum(m.shared_injection_wh for m in self.months),
            sum(m.surplus_wh for m in self.months),
            s("collected_eur"),
            s("fees_eur"),
            s("paid_to_producers_eur"),
            s("surplus_value_eur"),
        )


def _price_units(prices: Mapping[int, Decimal], start_ts: IntArray) -> list[Fraction | None]:
    out: list[Fraction | None] = []
    for ts in start_ts.tolist():
        p = prices.get(ts, prices.get(ts - ts % 3600))
        out.append(None if p is None else frac(p))
    return out


def monthly_statement(
    members: Sequence[StatementMember],
    data: AllocationArrays,
    prices: CommunityPrices,
    surplus_prices_eur_mwh: Mapping[int, Decimal] | None = None,
) -> Statement:
    """Per member and month: shared kWh and its cost, fees, producers' revenue, surplus value."""
    n_members = data.received_wh.shape[1]
    if len(members) != n_members:
        raise ValueError("one member per allocation column")
    surplus = data.surplus_wh
    if surplus.size and int(surplus.min()) < 0:
        raise ValueError("shared injection exceeds injection somewhere: the allocation is inconsistent")
    series = _price_units(surplus_prices_eur_mwh, data.start_ts) if surplus_prices_eur_mwh else None
    if series is not None:
        missing = [i for i, p in enumerate(series) if p is None and surplus[i].any()]
        if missing:
            raise ValueError(
                f"the surplus price series has no price for {len(missing)} quarter-hours with surplus "
                f"(first at Unix time {int(data.start_ts[missing[0]])})"
            )
    rows: list[MemberMonth] = []
    months: list[CommunityMonth] = []
    shared_rate, producer_rate = frac(prices.shared_eur_per_kwh), frac(prices.producer_eur_per_kwh)
    fee_rate = frac(prices.fee_eur_per_mwh) / 1000
    for g, label in enumerate(data.months):
        sel = np.flatnonzero(data.month_idx == g)
        month_rows: list[MemberMonth] = []
        for m, member in enumerate(members):
            received = int(data.received_wh[sel, m].sum())
            shared_inj = int(data.shared_injection_wh[sel, m].sum())
            member_surplus = surplus[sel, m]
            if series is not None:
                month_prices = [series[i] for i in sel.tolist()]
                pairs = zip(member_surplus.tolist(), month_prices, strict=True)
                value = (
                    sum((Fraction(wh) * p for wh, p in pairs if wh and p is not None), Fraction(0)) / MWH_WH
                )
            elif prices.surplus_eur_per_mwh is not None:
                value = Fraction(int(member_surplus.sum())) * frac(prices.surplus_eur_per_mwh) / MWH_WH
            else:
                value = Fraction(0)
            month_rows.append(
                MemberMonth(
                    month=label,
                    member=member,
                    consumption_wh=int(data.consumption_wh[sel, m].sum()),
                    received_wh=received,
                    injection_wh=int(data.injection_wh[sel, m].sum()),
                    shared_injection_wh=shared_inj,
                    surplus_wh=int(member_surplus.sum()),
                    shared_cost_eur=to_cents(kwh(received) * shared_rate),
                    fee_eur=to_cents(kwh(received) * fee_rate),
                    producer_revenue_eur=to_cents(kwh(shared_inj) * producer_rate),
                    surplus_value_eur=to_cents(value),
                )
            )
        rows.extend(month_rows)
        months.append(
            CommunityMonth(
                month=label,
                received_wh=sum(r.received_wh for r in month_rows),
                shared_injection_wh=sum(r.shared_injection_wh for r in month_rows),
                surplus_wh=sum(r.surplus_wh for r in month_rows),
                collected_eur=sum((r.shared_cost_eur + r.fee_eur for r in month_rows), Decimal("0.00")),
                fees_eur=sum((r.fee_eur for r in month_rows), Decimal("0.00")),
                paid_to_producers_eur=sum((r.producer_revenue_eur for r in month_rows), Decimal("0.00")),
                surplus_value_eur=sum((r.surplus_value_eur for r in month_rows), Decimal("0.00")),
            )
        )
    priced = series is not None or prices.surplus_eur_per_mwh is not None
    return Statement(tuple(rows), tuple(months), priced)


# -- reconciliation ---------------------------------------------------------------------------------------
FIELDS = (
    "gross_consumption",
    "shared_consumption",
    "net_consumption",
    "gross_injection",
    "shared_injection",
    "net_injection",
)


@dataclass(frozen=True)
class Difference:
    """A quarter-hour where the DSO's figure and ours differ by more than the tolerance."""

    start_ts: int
    ean: str
    field: str
    dso_wh: int | None  # None: the row is missing from the DSO file
    ours_wh: int | None  # None: the row is missing from ours

    @property
    def diff_wh(self) -> int | None:
        return None if self.dso_wh is None or self.ours_wh is None else self.dso_wh - self.ours_wh


def our_rows(eans: Sequence[str], data: AllocationArrays) -> dict[tuple[int, str], tuple[int, ...]]:
    """Our allocation as the DSO reports it: (start, ean) -> the six FIELDS in Wh."""
    surplus = data.surplus_wh
    out: dict[tuple[int, str], tuple[int, ...]] = {}
    for t, ts in enumerate(data.start_ts.tolist()):
        for m, ean in enumerate(eans):
            c, r = int(data.consumption_wh[t, m]), int(data.received_wh[t, m])
            i, s = int(data.injection_wh[t, m]), int(data.shared_injection_wh[t, m])
            out[(ts, ean)] = (c, r, c - r, i, s, int(surplus[t, m]))
    return out


def reconcile(
    dso: Mapping[tuple[int, str], tuple[int, ...]],
    ours: Mapping[tuple[int, str], tuple[int, ...]],
    tolerance_wh: int = 1,
) -> list[Difference]:
    """Every field differing by more than ``tolerance_wh``, and every row only one side has; sorted."""
    out: list[Difference] = []
    keys: Iterable[tuple[int, str]] = sorted(set(dso) | set(ours))
    for key in keys:
        a, b = dso.get(key), ours.get(key)
        if a is None or b is None:
            out.append(Difference(key[0], key[1], "row", None if a is None else 0, None if b is None else 0))
            continue
        for name, x, y in zip(FIELDS, a, b, strict=True):
            if abs(x - y) > tolerance_wh:
                out.append(Difference(key[0], key[1], name, x, y))
    return out
