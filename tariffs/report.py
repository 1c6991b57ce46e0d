"""The advice as data (``advice.json``, the API) and as one self-contained page (``advice.html``).

Strategy: `advice_document` turns an `Advice` into plain JSON (money as strings with two decimals,
energies as kWh strings with three, every sentence with its message id and parameters); the page is
built from that same document with ``html.escape`` everywhere and inline SVG charts (no scripts, no
external assets), so what the page shows is exactly what the JSON says. Both take a `Lang` (default
English): the document's reasons and option labels, and every text, number and date of the page, are in
that language; the ids, parameters and figures of the JSON stay language-neutral.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from tariffs.advisor import Advice
from tariffs.money import kwh, to_decimal
from tariffs.options import Priced
from tariffs.text import ENGLISH, N_, Lang, localise_label, word

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:62em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{border-bottom:2px solid #2a7;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.best{background:#eef8f2;font-weight:bold}
.warn{background:#fff4e0;padding:.5em 1em;border-left:4px solid #e90}svg{max-width:100%}
.unverified{color:#b50}
"""


def _option_json(rank: int, p: Priced, best_total: Any, lang: Lang) -> dict[str, Any]:
    bill = p.bill
    return {
        "rank": rank,
        "option": p.option,
        "regime": p.regime.value,
        "label": localise_label(p.label, lang),
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


def advice_document(advice: Advice, *, source: str = "", lang: Lang = ENGLISH) -> dict[str, Any]:
    """The JSON document of ``advice.json`` and ``GET /api/v1/advice``; reasons and labels in `lang`."""
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
            "label": localise_label(best.label, lang),
            "total_eur": str(best.total_eur),
        },
        "options": [_option_json(i + 1, p, best.total_eur, lang) for i, p in enumerate(advice.ranked)],
        "reasons": [m.to_json(lang) for m in advice.reasons],
        "shifting": list(advice.shifting),
        "capacity": advice.capacity,
    }


def _bars(labels: Sequence[str], values: Sequence[float], unit: str, lang: Lang) -> str:
    """Horizontal bars with their values."""
    row_h, width = 24, 360
    left = max(420, 20 + 6 * max((len(label) for label in labels), default=0))  # room for long labels
    top = max([*values, 1.0])
    parts = [f'<svg viewBox="0 0 {left + width + 110} {row_h * len(labels) + 10}" role="img">']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * row_h
        w = max(0.0, width * value / top)
        colour = "#2a7" if i == 0 else "#9bc"
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12">'
            f"{html.escape(lang.number(value, 2))} {html.escape(unit)}</text>"
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


TITLE = N_("Which electricity tariff costs you least?")


def _line_label(label: str, lang: Lang) -> str:
    """A bill line's label (``Distribution (ORES), peak``) in `lang`: the component's label and its band."""
    base, sep, band = label.rpartition(", ")
    if sep and band in ("peak", "offpeak", "medium", "cheap"):
        return f"{lang.t(base)}, {word(band, lang)}"
    return lang.t(label)


def _options_html(options: list[dict[str, Any]], lang: Lang) -> list[str]:
    e, t = html.escape, lang.t

    def n(value: str) -> str:
        return e(lang.number(Decimal(value), 2))

    out = [
        _bars([o["label"] for o in options], [float(o["total_eur"]) for o in options], "€", lang),
        f"<table><tr><th>#</th><th>{e(t(N_('option')))}</th><th class=n>{e(t(N_('excl. VAT €')))}</th>"
        f"<th class=n>{e(t(N_('VAT €')))}</th><th class=n>{e(t(N_('total € / year')))}</th>"
        f"<th class=n>{e(t(N_('more than cheapest €')))}</th></tr>",
    ]
    for o in options:
        cls = ' class="best"' if o["rank"] == 1 else ""
        out.append(
            f"<tr{cls}><td>{o['rank']}</td><td>{e(o['label'])}</td><td class=n>{n(o['excl_vat_eur'])}</td>"
            f"<td class=n>{n(o['vat_eur'])}</td><td class=n>{n(o['total_eur'])}</td>"
            f"<td class=n>{n(o['more_than_cheapest_eur'])}</td></tr>"
        )
    out.append("</table>")
    return out


def _shifting_html(shifting: list[dict[str, Any]], lang: Lang) -> list[str]:
    e, t = html.escape, lang.t
    out = []
    for shift in shifting:
        out.append(
            f"<h2>{e(t(N_('What to shift on the {option} tariff'), option=word(shift['option'], lang)))}</h2>"
        )
        out.append(
            "<p>"
            + e(
                t(
                    N_("{kwh} kWh a year in {band} hours, per hour of the day:"),
                    kwh=lang.number(Decimal(shift["peak_kwh"]), 3),
                    band=word(shift["from_band"], lang),
                )
            )
            + "</p>"
        )
        out.append(_hour_chart([float(v) for v in shift["peak_kwh_by_hour"]]))
        text = t(
            N_(
                "Moving {pct} % ({kwh} kWh) to {band} hours saves {saving} € a year "
                "({per_kwh} € per kWh moved)."
            ),
            pct=shift["moved_pct"],
            kwh=lang.number(Decimal(shift["moved_kwh"]), 3),
            band=word(shift["to_band"], lang),
            saving=lang.number(Decimal(shift["saving_eur"]), 2),
            per_kwh=lang.number(Decimal(shift["saving_per_kwh_eur"]), 2),
        )
        out.append(f"<p>{e(text)}</p>")
    return out


def _bill_details_html(options: list[dict[str, Any]], lang: Lang) -> list[str]:
    e, t = html.escape, lang.t

    def n(value: str, digits: int = 2) -> str:
        return e(lang.number(Decimal(value), digits))

    out = [f"<h2>{e(t(N_('Bill details')))}</h2>"]
    for o in options:
        out.append(f"<h3>{o['rank']}. {e(o['label'])}: {e(lang.money(Decimal(o['total_eur'])))}</h3><table>")
        out.append(
            f"<tr><th>{e(t(N_('line')))}</th><th class=n>{e(t(N_('quantity')))}</th>"
            f"<th>{e(t(N_('unit')))}</th><th class=n>{e(t(N_('€ excl. VAT')))}</th></tr>"
        )
        for line in o["lines"]:
            mark = (
                "" if line["verified"] else f' class="unverified" title="{e(t(N_("figure not verified")))}"'
            )
            out.append(
                f"<tr{mark}><td>{e(_line_label(line['label'], lang))}</td>"
                f"<td class=n>{n(line['quantity'], 3)}</td><td>{e(word(line['unit'], lang))}</td>"
                f"<td class=n>{n(line['amount_eur'])}</td></tr>"
            )
        out.append(
            f"<tr><td>{e(t(N_('VAT')))}</td><td></td><td></td><td class=n>{n(o['vat_eur'])}</td></tr></table>"
        )
    return out


def _sources_html(components: list[dict[str, Any]], lang: Lang) -> list[str]:
    e, t = html.escape, lang.t
    out = [
        f"<h2>{e(t(N_('Sources of the figures')))}</h2><table><tr><th>{e(t(N_('component')))}</th>"
        f"<th>{e(t(N_('source')))}</th><th>{e(t(N_('document')))}</th><th>{e(t(N_('date')))}</th>"
        f"<th>{e(t(N_('verified')))}</th></tr>"
    ]
    for c in components:
        flag = (
            e(t(N_("yes")))
            if c["verified"]
            else f'<span class="unverified">{e(t(N_("no — placeholder")))}</span>'
        )
        out.append(
            f"<tr><td>{e(lang.t(c['label']))}</td><td>{e(c['publisher'])}</td><td>{e(c['document'])}</td>"
            f"<td>{e(c['date'])}</td><td>{flag}</td></tr>"
        )
    out.append("</table>")
    return out


def advice_html(doc: dict[str, Any], title: str | None = None, *, lang: Lang = ENGLISH) -> str:
    """The readable page for ``advice.json``'s document, in `lang` (build the document in `lang` too)."""
    e, t = html.escape, lang.t
    title = t(TITLE) if title is None else title
    tariff = doc["tariff"]
    out = [
        f"<!doctype html><html lang={e(lang.code)}><meta charset=utf-8><title>{e(title)}</title>"
        f"<style>{CSS}</style>"
    ]
    out.append(f"<h1>{e(title)}</h1>")
    period = doc["period"]
    intro = t(
        N_(
            "{tariff} ({region}), 12 months {start} to {end} (end exclusive); imported {imported} kWh, "
            "exported {exported} kWh. Supplier: {offer}."
        ),
        tariff=tariff["name"],
        region=word(doc["region"], lang),
        start=_date(period["window_start"], lang),
        end=_date(period["window_end"], lang),
        imported=lang.number(Decimal(doc["usage"]["import_kwh"]), 3),
        exported=lang.number(Decimal(doc["usage"]["export_kwh"]), 3),
        offer=lang.t(tariff["offer"]),
    )
    out.append(f"<p>{e(intro)}</p>")
    out.append(f"<h2>{e(t(N_('Why')))}</h2><ul>")
    out.extend(f'<li data-id="{e(r["id"])}">{e(r["text"])}</li>' for r in doc["reasons"])
    out.append(f"</ul><h2>{e(t(N_('Your options, cheapest first')))}</h2>")
    options = doc["options"]
    out.extend(_options_html(options, lang))
    out.extend(_shifting_html(doc["shifting"], lang))
    if doc["capacity"]:
        cap = doc["capacity"]
        out.append(f"<h2>{e(t(N_('Capacity term (monthly peaks)')))}</h2>")
        out.append(
            _bars(
                [p["month"] for p in cap["monthly_peaks"]],
                [float(p["peak_kw"]) for p in cap["monthly_peaks"]],
                "kW",
                lang,
            )
        )
    out.extend(_bill_details_html(options, lang))
    out.extend(_sources_html(tariff["components"], lang))
    out.append("</html>\n")
    return "".join(out)


def _date(iso: str, lang: Lang) -> str:
    return lang.date(date.fromisoformat(iso))
