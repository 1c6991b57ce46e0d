"""The members' report: one self-contained HTML page, one section per month, inline SVG charts.

Strategy: plain string building with ``html.escape`` for every name (no template engine, no
external assets, no scripts), so the file can be mailed to members and opened offline. Each month
shows volumes, the KPIs, the real key against the contractual key (bar chart) and the month's
largest quarter-hour peaks before and after sharing (line chart); a first section does the same for
the whole period, with the top-N peak analysis. Every heading, KPI name, legend and table header is
marked for the catalogs and shown in the report's `Lang` (default English), numbers in its form.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import numpy as np

from sharing.community import Community
from sharing.keys import PPM
from sharing.kpis import Rates, percent, real_key, to_kw
from sharing.kwh import format_kwh
from sharing.summary import Summary
from tariffs.text import ENGLISH, N_, Lang, word

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #2a7;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}.kpi{display:inline-block;margin:0 1em 1em 0;
padding:.5em 1em;background:#eef8f2;border-radius:.4em}.kpi b{font-size:1.4em;display:block}
section{page-break-before:always}svg{max-width:100%}.legend span{margin-right:1em}
"""


def _pct(x: Fraction | None, lang: Lang) -> str:
    p = percent(x, 1)
    return "–" if p is None else f"{lang.number(p, 1)} %"


def _kwh(wh: int, lang: Lang) -> str:
    """Integer Wh as kWh with 3 decimals, in `lang`'s form."""
    return lang.number(Decimal(format_kwh(wh)), 3)


def _kpis(rates: Rates, lang: Lang) -> str:
    items = (
        (N_("Self-consumption"), _pct(rates.self_consumption, lang)),
        (N_("Coverage"), _pct(rates.coverage, lang)),
        (N_("Surplus"), _pct(rates.surplus_rate, lang)),
        (N_("Shared"), f"{_kwh(rates.shared_wh, lang)} kWh"),
        (N_("Production"), f"{_kwh(rates.production_wh, lang)} kWh"),
        (N_("Consumption"), f"{_kwh(rates.consumption_wh, lang)} kWh"),
    )
    return "".join(f'<div class="kpi">{html.escape(lang.t(k))}<b>{v}</b></div>' for k, v in items)


def bar_chart(
    labels: Sequence[str], real: Sequence[float], contract: Sequence[float], lang: Lang = ENGLISH
) -> str:
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
            f"{lang.number(real[i], 1)} % / {lang.number(contract[i], 1)} %</text>"
        )
    real_key_text = lang.t(N_("real key"))
    second = max(90, 14 + 6 * len(real_key_text))  # the second legend starts after the first
    parts.append(
        f'<text x="0" y="12" font-size="11" fill="#2a7">■ {html.escape(real_key_text)}</text>'
        f'<text x="{second}" y="12" font-size="11" fill="#888">■ {html.escape(lang.t(N_("contractual key")))}'
        "</text></svg>"
    )
    return "".join(parts)


def line_chart(
    series: Sequence[Sequence[float]], colours: Sequence[str], y_label: str, lang: Lang = ENGLISH
) -> str:
    """Lines over a shared x index (e.g. peaks ranked largest first)."""
    width, height, pad = 600, 220, 40
    n = max((len(s) for s in series), default=0)
    top = max((max(s) for s in series if len(s)), default=1.0) or 1.0
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img">']
    parts.append(
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 5}" y2="{height - pad}" stroke="#999"/>'
        f'<line x1="{pad}" y1="5" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="2" y="14" font-size="11">{lang.number(top, 0)}</text>'
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
                  injection: np.ndarray, shared_injection: np.ndarray, lang: Lang) -> str:  # fmt: skip
    keys = real_key(received)
    rows = []
    for m, member in enumerate(community.members):
        cons, got = int(consumption[m]), int(received[m])
        cov = Fraction(got, cons) if cons and member.role.receives else None
        rows.append(
            f"<tr><td>{html.escape(member.name)}</td><td>{member.ean}</td>"
            f"<td>{html.escape(word(member.role.value, lang))}</td><td class=n>{_kwh(cons, lang)}</td>"
            f"<td class=n>{_kwh(got, lang)}</td><td class=n>{_kwh(cons - got, lang)}</td>"
            f"<td class=n>{_kwh(int(injection[m]), lang)}</td>"
            f"<td class=n>{_kwh(int(shared_injection[m]), lang)}</td>"
            f"<td class=n>{_pct(cov, lang)}</td><td class=n>{_pct(keys[m], lang)}</td></tr>"
        )
    headers = (
        N_("Member"), N_("EAN"), N_("Role"), N_("Consumption kWh"), N_("Received kWh"), N_("Grid kWh"),
        N_("Injection kWh"), N_("Shared inj. kWh"), N_("Coverage"), N_("Real key"),
    )  # fmt: skip
    head = "".join(f"<th>{html.escape(lang.t(h))}</th>" for h in headers)
    return f"<table><tr>{head}</tr>" + "".join(rows) + "</table>"


def _key_chart(community: Community, received: np.ndarray, lang: Lang) -> str:
    idx = [m for m, member in enumerate(community.members) if member.role.receives]
    keys = real_key(received)
    real = [float(keys[m] or 0) * 100 for m in idx]
    contract = [community.members[m].weight_ppm * 100 / PPM for m in idx]
    labels = [community.members[m].name or community.members[m].ean for m in idx]
    return bar_chart(labels, real, contract, lang)


DEFAULT_TITLE = N_("Energy community report")  # `p1gw share --title`'s default, shown translated


def render(community: Community, summary: Summary, key_name: str, title: str,
           month_rows: Sequence[np.ndarray], top_n: int, lang: Lang = ENGLISH) -> str:  # fmt: skip
    """The report HTML in `lang`; ``month_rows[g]`` are the grid rows of month g."""
    e, t = html.escape, lang.t
    title = t(title)  # the default title is in the catalogs; a title of yours is shown as written
    pa = summary.peak_analysis
    total = summary.total_rates()
    vs_contract = f"<h3>{e(t(N_('Real key vs contractual key')))}</h3>"
    intro = t(N_("Allocation key: {key}. Months: {first} to {last}."), key="\0", first=summary.months[0],
              last=summary.months[-1])  # fmt: skip
    sections = [
        f"<h1>{e(title)}</h1><p>" + e(intro).replace("\0", f"<b>{e(key_name)}</b>") + "</p>",
        f"<h2>{e(t(N_('Whole period')))}</h2>" + _kpis(total, lang),
        _member_table(community, summary.received.sum(axis=0), summary.consumption.sum(axis=0),
                      summary.injection.sum(axis=0), summary.shared_injection.sum(axis=0), lang),
        vs_contract + _key_chart(community, summary.received.sum(0), lang),
        f"<h3>{e(t(N_('The {n} largest quarter-hour peaks'), n=pa.rows.size))}</h3>"
        + "<p>" + e(t(N_("Mean attenuation {attenuation} %; largest peak {before} kW before, largest "
                         "remaining peak {after} kW after sharing."),
                      attenuation=lang.number(100 * pa.mean_attenuation, 1),
                      before=lang.number(pa.before_kw[0] if pa.rows.size else 0, 1),
                      after=lang.number(pa.after_top_kw[0] if pa.rows.size else 0, 1))) + "</p>"
        + line_chart([pa.before_kw.tolist(), pa.after_same_kw.tolist(), pa.after_top_kw.tolist()],
                     ["#c33", "#2a7", "#36c"], t(N_("peaks ranked, kW")), lang)
        + f'<p class="legend"><span style="color:#c33">■ {e(t(N_("before")))}</span><span style="color:#2a7">'
        f"■ {e(t(N_('residual at the same quarter-hour')))}</span><span style=\"color:#36c\">■ "
        f"{e(t(N_('largest residual peaks')))}</span></p>",
    ]  # fmt: skip
    for g, month in enumerate(summary.months):
        rows = month_rows[g]
        before = summary.community_before_wh[rows]
        order = np.argsort(-before, kind="stable")[: min(100, before.size)]
        peaks = t(N_("Largest quarter-hour {max_before} kW before, {max_after} kW after; {k}th peak "
                     "{kth_before} kW before, {kth_after} kW after."),
                  max_before=lang.number(summary.max_before_kw[g], 1),
                  max_after=lang.number(summary.max_after_kw[g], 1), k=summary.k,
                  kth_before=lang.number(summary.kth_before_kw[g], 1),
                  kth_after=lang.number(summary.kth_after_kw[g], 1))  # fmt: skip
        sections.append(
            f"<section><h2>{month}</h2>" + _kpis(summary.month_rates(g), lang)
            + _member_table(community, summary.received[g], summary.consumption[g],
                            summary.injection[g], summary.shared_injection[g], lang)
            + vs_contract + _key_chart(community, summary.received[g], lang)
            + f"<h3>{e(t(N_('Peaks')))}</h3><p>{e(peaks)}</p>"
            + line_chart([to_kw(before[order]).tolist(),
                          to_kw(summary.community_after_wh[rows][order]).tolist()],
                         ["#c33", "#2a7"], t(N_("100 largest peaks of the month, kW")), lang)
            + "</section>"
        )  # fmt: skip
    body = "\n".join(sections)
    return (
        f'<!doctype html><html lang="{e(lang.code)}"><head><meta charset="utf-8"><title>{e(title)}'
        f"</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
