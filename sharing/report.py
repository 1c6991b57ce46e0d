"""The members' report: one self-contained HTML page, one section per month, inline SVG charts.

Strategy: plain string building with ``html.escape`` for every name (no template engine, no
external assets, no scripts), so the file can be mailed to members and opened offline. Each month
shows volumes, the KPIs, the real key against the contractual key (bar chart) and the month's
largest quarter-hour peaks before and after sharing (line chart); a first section does the same for
the whole period, with the top-N peak analysis.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from sharing.community import Community
from sharing.keys import PPM
from sharing.kpis import Rates, percent, real_key, to_kw
from sharing.kwh import format_kwh
from sharing.summary import Summary

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #2a7;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}.kpi{display:inline-block;margin:0 1em 1em 0;
padding:.5em 1em;background:#eef8f2;border-radius:.4em}.kpi b{font-size:1.4em;display:block}
section{page-break-before:always}svg{max-width:100%}.legend span{margin-right:1em}
"""


def _pct(x: Fraction | None) -> str:
    p = percent(x, 1)
    return "–" if p is None else f"{p} %"


def _kpis(rates: Rates) -> str:
    items = (
        ("Self-consumption", _pct(rates.self_consumption)),
        ("Coverage", _pct(rates.coverage)),
        ("Surplus", _pct(rates.surplus_rate)),
        ("Shared", f"{format_kwh(rates.shared_wh)} kWh"),
        ("Production", f"{format_kwh(rates.production_wh)} kWh"),
        ("Consumption", f"{format_kwh(rates.consumption_wh)} kWh"),
    )
    return "".join(f'<div class="kpi">{k}<b>{v}</b></div>' for k, v in items)


def bar_chart(labels: Sequence[str], real: Sequence[float], contract: Sequence[float]) -> str:
    """Horizontal bars: real key (green) vs contractual key (grey), in %."""
    row_h, left, width = 22, 170, 420
    top = max([*real, *contract, 1.0])
    height = row_h * len(labels) + 30
    parts = [f'<svg viewBox="0 0 {left + width + 120} {height}" role="img">']  # room for "100.0 % / 100.0 %"
    for i, label in enumerate(labels):
        y = 20 + i * row_h
        w_real = width * real[i] / top
        w_contract = width * contract[i] / top
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
            f"{html.escape(label[:26])}</text>"
            f'<rect x="{left}" y="{y}" width="{w_contract:.1f}" height="8" fill="#bbb"/>'
            f'<rect x="{left}" y="{y + 9}" width="{w_real:.1f}" height="8" fill="#2a7"/>'
            f'<text x="{left + max(w_real, w_contract) + 4}" y="{y + 14}" font-size="11">'
            f"{real[i]:.1f} % / {contract[i]:.1f} %</text>"
        )
    parts.append(
        '<text x="0" y="12" font-size="11" fill="#2a7">■ real key</text>'
        '<text x="90" y="12" font-size="11" fill="#888">■ contractual key</text></svg>'
    )
    return "".join(parts)


def line_chart(series: Sequence[Sequence[float]], colours: Sequence[str], y_label: str) -> str:
    """Lines over a shared x index (e.g. peaks ranked largest first)."""
    width, height, pad = 600, 220, 40
    n = max((len(s) for s in series), default=0)
    top = max((max(s) for s in series if len(s)), default=1.0) or 1.0
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img">']
    parts.append(
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 5}" y2="{height - pad}" stroke="#999"/>'
        f'<line x1="{pad}" y1="5" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="2" y="14" font-size="11">{top:.0f}</text>'
        f'<text x="2" y="{height - pad}" font-size="11">0</text>'
        f'<text x="{pad + 4}" y="{height - 10}" font-size="11">{html.escape(y_label)}</text>'
    )
    for values, colour in zip(series, colours, strict=True):
        if not len(values):
            continue
        step = (width - pad - 10) / max(1, n - 1)
        points = " ".join(
            f"{pad + i * step:.1f},{height - pad - (height - pad - 10) * v / top:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{points}"/>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _member_table(community: Community, received: np.ndarray, consumption: np.ndarray,
                  injection: np.ndarray, shared_injection: np.ndarray) -> str:  # fmt: skip
    keys = real_key(received)
    rows = []
    for m, member in enumerate(community.members):
        cons, got = int(consumption[m]), int(received[m])
        cov = Fraction(got, cons) if cons and member.role.receives else None
        rows.append(
            f"<tr><td>{html.escape(member.name)}</td><td>{member.ean}</td>"
            f"<td>{member.role.value}</td><td class=n>{format_kwh(cons)}</td>"
            f"<td class=n>{format_kwh(got)}</td><td class=n>{format_kwh(cons - got)}</td>"
            f"<td class=n>{format_kwh(int(injection[m]))}</td>"
            f"<td class=n>{format_kwh(int(shared_injection[m]))}</td>"
            f"<td class=n>{_pct(cov)}</td><td class=n>{_pct(keys[m])}</td></tr>"
        )
    return (
        "<table><tr><th>Member</th><th>EAN</th><th>Role</th><th>Consumption kWh</th>"
        "<th>Received kWh</th><th>Grid kWh</th><th>Injection kWh</th><th>Shared inj. kWh</th>"
        "<th>Coverage</th><th>Real key</th></tr>" + "".join(rows) + "</table>"
    )


def _key_chart(community: Community, received: np.ndarray) -> str:
    idx = [m for m, member in enumerate(community.members) if member.role.receives]
    keys = real_key(received)
    real = [float(keys[m] or 0) * 100 for m in idx]
    contract = [community.members[m].weight_ppm * 100 / PPM for m in idx]
    labels = [community.members[m].name or community.members[m].ean for m in idx]
    return bar_chart(labels, real, contract)


def render(community: Community, summary: Summary, key_name: str, title: str,
           month_rows: Sequence[np.ndarray], top_n: int) -> str:  # fmt: skip
    """The report HTML; ``month_rows[g]`` are the grid rows of month g."""
    pa = summary.peak_analysis
    total = summary.total_rates()
    sections = [
        f"<h1>{html.escape(title)}</h1><p>Allocation key: <b>{html.escape(key_name)}</b>. "
        f"Months: {summary.months[0]} to {summary.months[-1]}.</p>",
        "<h2>Whole period</h2>" + _kpis(total),
        _member_table(community, summary.received.sum(axis=0), summary.consumption.sum(axis=0),
                      summary.injection.sum(axis=0), summary.shared_injection.sum(axis=0)),
        "<h3>Real key vs contractual key</h3>" + _key_chart(community, summary.received.sum(0)),
        f"<h3>The {pa.rows.size} largest quarter-hour peaks</h3>"
        f"<p>Mean attenuation {100 * pa.mean_attenuation:.1f} %; largest peak "
        f"{pa.before_kw[0] if pa.rows.size else 0:.1f} kW before, largest remaining peak "
        f"{pa.after_top_kw[0] if pa.rows.size else 0:.1f} kW after sharing.</p>"
        + line_chart([pa.before_kw.tolist(), pa.after_same_kw.tolist(), pa.after_top_kw.tolist()],
                     ["#c33", "#2a7", "#36c"], "peaks ranked, kW")
        + '<p class="legend"><span style="color:#c33">■ before</span><span style="color:#2a7">'
        "■ residual at the same quarter-hour</span><span style=\"color:#36c\">■ largest residual"
        " peaks</span></p>",
    ]  # fmt: skip
    for g, month in enumerate(summary.months):
        rows = month_rows[g]
        before = summary.community_before_wh[rows]
        order = np.argsort(-before, kind="stable")[: min(100, before.size)]
        sections.append(
            f"<section><h2>{month}</h2>" + _kpis(summary.month_rates(g))
            + _member_table(community, summary.received[g], summary.consumption[g],
                            summary.injection[g], summary.shared_injection[g])
            + "<h3>Real key vs contractual key</h3>" + _key_chart(community, summary.received[g])
            + f"<h3>Peaks</h3><p>Largest quarter-hour {summary.max_before_kw[g]:.1f} kW before, "
            f"{summary.max_after_kw[g]:.1f} kW after; {summary.k}th peak "
            f"{summary.kth_before_kw[g]:.1f} kW before, {summary.kth_after_kw[g]:.1f} kW after.</p>"
            + line_chart([to_kw(before[order]).tolist(),
                          to_kw(summary.community_after_wh[rows][order]).tolist()],
                         ["#c33", "#2a7"], "100 largest peaks of the month, kW")
            + "</section>"
        )  # fmt: skip
    body = "\n".join(sections)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
