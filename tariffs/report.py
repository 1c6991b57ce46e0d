"""The advice as data (``advice.json``, the API) and as one self-contained page (``advice.html``).

Strategy: `advice_document` turns an `Advice` into plain JSON (money as strings with two decimals,
energies as kWh strings with three, every sentence with its message id and parameters); the page is
built from that same document with ``html.escape`` everywhere and inline SVG charts (no scripts, no
external assets), so what the page shows is exactly what the JSON says.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from tariffs.advisor import Advice, Priced
from tariffs.money import kwh, to_decimal

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:62em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{border-bottom:2px solid #2a7;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.best{background:#eef8f2;font-weight:bold}
.warn{background:#fff4e0;padding:.5em 1em;border-left:4px solid #e90}svg{max-width:100%}
.unverified{color:#b50}
"""


def _option_json(rank: int, p: Priced, best_total: Any) -> dict[str, Any]:
    bill = p.bill
    return {
        "rank": rank,
        "option": p.option,
        "regime": p.regime.value,
        "label": p.label,
        "calendar": bill.calendar.name,
        "total_eur": str(bill.total_eur),
        "excl_vat_eur": str(bill.excl_vat_eur),
        "vat_eur": str(bill.vat_eur),
        "more_than_cheapest_eur": str(bill.total_eur - best_total),
        "bands": [
            {
                "band": b.band,
                "register": b.register,
                "hours": bill.calendar.describe_band(b.band),
                "import_kwh": str(to_decimal(kwh(b.import_wh))),
                "export_kwh": str(to_decimal(kwh(b.export_wh))),
                "billed_import_kwh": str(to_decimal(kwh(b.billed_import_wh))),
            }
            for b in bill.bands
        ],
        "lines": [
            {
                "id": line.id,
                "label": line.label,
                "quantity": str(to_decimal(line.quantity)),
                "unit": line.unit,
                "amount_eur": str(line.amount_eur),
                "vat": line.vat,
                "verified": line.source.verified,
            }
            for line in bill.lines
            if line.quantity or line.unit != "kWh"
        ],
    }


def advice_document(advice: Advice, *, source: str = "") -> dict[str, Any]:
    """The JSON document of ``advice.json`` and ``GET /api/v1/advice``."""
    tariff, usage = advice.tariff, advice.usage
    best = advice.cheapest
    return {
        "source": source,
        "region": tariff.region,
        "dso": tariff.dso,
        "tariff": {
            "id": tariff.id,
            "name": tariff.name,
            "valid_from": tariff.valid_from.isoformat(),
            "valid_until": tariff.valid_until.isoformat(),
            "vat_pct": str(tariff.vat_pct),
            "offer": tariff.offer,
            "offer_is_example": tariff.offer_is_example,
            "files": list(tariff.files),
            "components": [
                {"id": c.id, "label": c.label, "kind": c.kind.value, **c.source.to_json()}
                for c in tariff.components
            ],
        },
        "period": advice.completion.to_json(),
        "usage": {
            "import_kwh": str(to_decimal(kwh(int(usage.import_wh.sum())))),
            "export_kwh": str(to_decimal(kwh(int(usage.export_wh.sum())))),
            "quarter_hours": int(usage.start_ts.size),
        },
        "cheapest": {
            "option": best.option,
            "regime": best.regime.value,
            "label": best.label,
            "total_eur": str(best.total_eur),
        },
        "options": [_option_json(i + 1, p, best.total_eur) for i, p in enumerate(advice.ranked)],
        "reasons": [m.to_json() for m in advice.reasons],
        "shifting": list(advice.shifting),
        "capacity": advice.capacity,
    }


def _bars(labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    """Horizontal bars with their values."""
    row_h, left, width = 24, 420, 360
    top = max([*values, 1.0])
    parts = [f'<svg viewBox="0 0 {left + width + 110} {row_h * len(labels) + 10}" role="img">']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * row_h
        w = max(0.0, width * value / top)
        colour = "#2a7" if i == 0 else "#9bc"
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12">{value:.2f} {html.escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _hour_chart(values: Sequence[float]) -> str:
    """24 vertical bars: peak-band kWh per hour of the day."""
    width, height, bar = 24 * 22, 120, 18
    top = max([*values, 0.001])
    parts = [f'<svg viewBox="0 0 {width + 10} {height + 20}" role="img">']
    for h, v in enumerate(values):
        bh = (height - 10) * v / top
        parts.append(
            f'<rect x="{5 + h * 22}" y="{height - bh:.1f}" width="{bar}" height="{bh:.1f}" fill="#c63"/>'
            f'<text x="{5 + h * 22 + bar / 2}" y="{height + 14}" font-size="9" '
            f'text-anchor="middle">{h:02d}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def advice_html(doc: dict[str, Any], title: str = "Which electricity tariff costs you least?") -> str:
    """The readable page for ``advice.json``'s document."""
    e = html.escape
    tariff = doc["tariff"]
    out = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{e(title)}</title><style>{CSS}</style>"]
    out.append(f"<h1>{e(title)}</h1>")
    period = doc["period"]
    out.append(
        f"<p>{e(tariff['name'])} ({e(doc['region'])}), 12 months {e(period['window_start'])} to "
        f"{e(period['window_end'])} (end exclusive); imported {e(doc['usage']['import_kwh'])} kWh, exported "
        f"{e(doc['usage']['export_kwh'])} kWh. Supplier: {e(tariff['offer'])}.</p>"
    )
    out.append("<h2>Why</h2><ul>")
    out.extend(f'<li data-id="{e(r["id"])}">{e(r["text"])}</li>' for r in doc["reasons"])
    out.append("</ul><h2>Your options, cheapest first</h2>")
    options = doc["options"]
    out.append(_bars([o["label"] for o in options], [float(o["total_eur"]) for o in options], "€"))
    out.append(
        "<table><tr><th>#</th><th>option</th><th class=n>excl. VAT €</th><th class=n>VAT €</th>"
        "<th class=n>total € / year</th><th class=n>more than cheapest €</th></tr>"
    )
    for o in options:
        cls = ' class="best"' if o["rank"] == 1 else ""
        out.append(
            f"<tr{cls}><td>{o['rank']}</td><td>{e(o['label'])}</td><td class=n>{o['excl_vat_eur']}</td>"
            f"<td class=n>{o['vat_eur']}</td><td class=n>{o['total_eur']}</td>"
            f"<td class=n>{o['more_than_cheapest_eur']}</td></tr>"
        )
    out.append("</table>")
    for shift in doc["shifting"]:
        out.append(f"<h2>What to shift on the {e(shift['option'])} tariff</h2>")
        out.append(
            f"<p>{e(shift['peak_kwh'])} kWh a year in {e(shift['from_band'])} hours, per hour of the day:</p>"
        )
        out.append(_hour_chart([float(v) for v in shift["peak_kwh_by_hour"]]))
        out.append(
            f"<p>Moving {shift['moved_pct']} % ({e(shift['moved_kwh'])} kWh) to {e(shift['to_band'])} hours "
            f"saves {e(shift['saving_eur'])} € a year ({e(shift['saving_per_kwh_eur'])} € per kWh moved).</p>"
        )
    if doc["capacity"]:
        cap = doc["capacity"]
        out.append("<h2>Capacity term (monthly peaks)</h2>")
        out.append(
            _bars(
                [p["month"] for p in cap["monthly_peaks"]],
                [float(p["peak_kw"]) for p in cap["monthly_peaks"]],
                "kW",
            )
        )
    out.append("<h2>Bill details</h2>")
    for o in options:
        out.append(f"<h3>{o['rank']}. {e(o['label'])}: {o['total_eur']} €</h3><table>")
        out.append("<tr><th>line</th><th class=n>quantity</th><th>unit</th><th class=n>€ excl. VAT</th></tr>")
        for line in o["lines"]:
            mark = "" if line["verified"] else ' class="unverified" title="figure not verified"'
            out.append(
                f"<tr{mark}><td>{e(line['label'])}</td><td class=n>{e(line['quantity'])}</td>"
                f"<td>{e(line['unit'])}</td><td class=n>{line['amount_eur']}</td></tr>"
            )
        out.append(f"<tr><td>VAT</td><td></td><td></td><td class=n>{o['vat_eur']}</td></tr></table>")
    out.append(
        "<h2>Sources of the figures</h2><table><tr><th>component</th><th>source</th>"
        "<th>document</th><th>date</th><th>verified</th></tr>"
    )
    for c in tariff["components"]:
        flag = "yes" if c["verified"] else '<span class="unverified">no — placeholder</span>'
        out.append(
            f"<tr><td>{e(c['label'])}</td><td>{e(c['publisher'])}</td><td>{e(c['document'])}</td>"
            f"<td>{e(c['date'])}</td><td>{flag}</td></tr>"
        )
    out.append("</table></html>\n")
    return "".join(out)
