"""The statement as files: member-month CSV rows, community totals, one HTML page per member.

Strategy: rows are produced from the `Statement` values already rounded to the cent (kWh from integer
Wh with three decimals), so the CSV sums to the totals it prints; each member page is self-contained
HTML (no scripts, no external assets) a representative can mail as is, in the member's language (a
`Lang`, default English); the CSV files stay language-neutral.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from decimal import Decimal

from tariffs.money import kwh, to_decimal
from tariffs.statement import CommunityMonth, Difference, MemberMonth, Statement, StatementMember
from tariffs.text import ENGLISH, MESSAGES, N_, Lang, word

MEMBER_HEADER = (
    "month",
    "ean",
    "name",
    "role",
    "consumption_kwh",
    "received_kwh",
    "shared_cost_eur",
    "fee_eur",
    "injection_kwh",
    "shared_injection_kwh",
    "producer_revenue_eur",
    "surplus_kwh",
    "surplus_value_eur",
    "balance_eur",
)
COMMUNITY_HEADER = (
    "month",
    "received_kwh",
    "shared_injection_kwh",
    "surplus_kwh",
    "collected_eur",
    "fees_eur",
    "paid_to_producers_eur",
    "margin_eur",
    "surplus_value_eur",
)
RECONCILIATION_HEADER = ("start", "ean", "field", "dso_kwh", "ours_kwh", "difference_wh")


def _kwh(wh: int) -> str:
    return str(to_decimal(kwh(wh)))


def member_rows(statement: Statement) -> Iterator[tuple[str, ...]]:
    for r in statement.rows:
        yield (
            r.month,
            r.member.ean,
            r.member.name,
            r.member.role,
            _kwh(r.consumption_wh),
            _kwh(r.received_wh),
            str(r.shared_cost_eur),
            str(r.fee_eur),
            _kwh(r.injection_wh),
            _kwh(r.shared_injection_wh),
            str(r.producer_revenue_eur),
            _kwh(r.surplus_wh),
            str(r.surplus_value_eur),
            str(r.balance_eur),
        )


def community_rows(statement: Statement) -> Iterator[tuple[str, ...]]:
    for m in (*statement.months, statement.total()):
        yield (
            m.month,
            _kwh(m.received_wh),
            _kwh(m.shared_injection_wh),
            _kwh(m.surplus_wh),
            str(m.collected_eur),
            str(m.fees_eur),
            str(m.paid_to_producers_eur),
            str(m.margin_eur),
            str(m.surplus_value_eur),
        )


def reconciliation_rows(diffs: list[Difference], iso: dict[int, str]) -> Iterator[tuple[str, ...]]:
    for d in diffs:
        yield (
            iso.get(d.start_ts, str(d.start_ts)),
            d.ean,
            d.field,
            "" if d.dso_wh is None else _kwh(d.dso_wh),
            "" if d.ours_wh is None else _kwh(d.ours_wh),
            "" if d.diff_wh is None else str(d.diff_wh),
        )


CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:48em;color:#222;padding:0 1em}
h1{font-size:1.4em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.2em .6em;
border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:2px solid #2a7}
"""


DEFAULT_COMMUNITY = N_("Energy community")  # `p1gw statement --title`'s default, shown translated


def member_page(
    member: StatementMember, rows: list[MemberMonth], community: str, *, lang: Lang = ENGLISH
) -> str:
    """One member's statement, every month, in `lang`."""
    e, t = html.escape, lang.t
    community = t(community)  # the default name is in the catalogs; the community's own name is kept

    def energy(wh: int) -> str:
        return f"{lang.number(to_decimal(kwh(wh)), 3)} kWh"

    out = [
        f"<!doctype html><html lang={e(lang.code)}><meta charset=utf-8><title>{e(community)} — "
        f"{e(member.name)}</title><style>{CSS}</style><h1>{e(community)}</h1><p>{e(member.name)} — EAN "
        f"{e(member.ean)} ({e(word(member.role, lang))})</p>"
    ]
    for r in rows:
        out.append(f"<h2>{e(t(MESSAGES['statement.title'], member=member.name, month=r.month))}</h2><table>")
        lines = [
            (MESSAGES["statement.shared"], r.received_wh, r.shared_cost_eur),
            (MESSAGES["statement.fee"], r.received_wh, r.fee_eur),
            (MESSAGES["statement.producer"], r.shared_injection_wh, -r.producer_revenue_eur),
        ]
        for label, wh, amount in lines:
            if amount or to_decimal(kwh(wh)):
                out.append(
                    f"<tr><td>{e(t(label))}</td><td class=n>{e(energy(wh))}</td>"
                    f"<td class=n>{e(lang.money(amount))}</td></tr>"
                )
        total_label = MESSAGES["statement.to_pay" if r.balance_eur >= 0 else "statement.to_receive"]
        out.append(
            f'<tr class="total"><td>{e(t(total_label))}</td><td></td>'
            f"<td class=n>{e(lang.money(abs(r.balance_eur)))}</td></tr></table>"
        )
        if r.surplus_wh:
            out.append(
                f"<p>{e(t(MESSAGES['statement.surplus']))}: {e(energy(r.surplus_wh))}, "
                f"{e(lang.money(r.surplus_value_eur))}</p>"
            )
    out.append("</html>\n")
    return "".join(out)


def check_balance(statement: Statement) -> list[str]:
    """Every way the statement could fail to balance (empty when it balances to the cent)."""
    problems: list[str] = []
    for month in statement.months:
        rows = [r for r in statement.rows if r.month == month.month]
        owed = sum((r.balance_eur for r in rows), Decimal("0.00"))
        if owed != month.collected_eur - month.paid_to_producers_eur:
            problems.append(f"{month.month}: members' balances {owed} != collected - paid")
        if month.collected_eur != month.fees_eur + month.paid_to_producers_eur + month.margin_eur:
            problems.append(f"{month.month}: collected != fees + paid + margin")
        if month.received_wh != month.shared_injection_wh:
            problems.append(
                f"{month.month}: {month.received_wh} Wh received but {month.shared_injection_wh} "
                "Wh shared by producers"
            )
    return problems


__all__ = ["CommunityMonth", "check_balance", "community_rows", "member_page", "member_rows"]
