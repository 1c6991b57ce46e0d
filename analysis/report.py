"""The printable reports: `voltage.json` + `voltage.html` (a DSO complaint's evidence), `appliances.html`.

Strategy: the JSON is built from the pure results (`weekly_compliance`, `appliance_report`); the HTML is one
self-contained page (inline CSS, inline SVG plots, no script, no network) rendered from that JSON and the
10-minute windows, with every sentence from `analysis.texts` in the chosen language. The same page becomes
`voltage.pdf` through WeasyPrint (`gateway.pdf`), or from a browser's print (A4 print rules included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from .texts import tr
from .voltage import LOWER_DV, LOWEST_DV, UPPER_DV, WINDOW_S, VoltageEpisode, VoltageWindow, Week

_COLOURS = {1: "#1f77b4", 2: "#2ca02c", 3: "#9467bd"}
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:60em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}
.pass{color:#176e22;font-weight:bold}.fail{color:#b00;font-weight:bold}.undetermined{color:#a60;font-weight:bold}
.note{color:#555;font-size:.9em}svg{max-width:100%;height:auto}
@media print{body{margin:1cm}h2{page-break-before:auto}section{page-break-inside:avoid}}
"""


def voltage_json(
    weeks: Sequence[Week],
    identity: Mapping[str, str | None],
    start: datetime,
    end: datetime,
    source: str,
    tz: str = "Europe/Brussels",
) -> dict[str, Any]:
    """What `voltage.json` holds: the meter, the period, the criteria and each week's verdict per phase."""
    zone = ZoneInfo(tz)
    return {
        "meter_id": identity.get("meter_id"),
        "ean": identity.get("ean"),
        "from": start.astimezone(zone).isoformat(),
        "to": end.astimezone(zone).isoformat(),
        "source": source,
        "limits_v": {
            "nominal": 230,
            "upper": UPPER_DV / 10,
            "lower_95": LOWER_DV / 10,
            "lowest": LOWEST_DV / 10,
        },
        "weeks": [w.to_json(zone) for w in weeks],
    }


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _local(text: str) -> str:
    return text[:16].replace("T", " ")


def _plot(windows: Iterable[VoltageWindow], lo: int, hi: int, lang: str, zone: ZoneInfo) -> str:
    """An SVG of the week's 10-minute means per phase against the limits."""
    width, height, left, top = 900, 260, 40, 10
    v_min, v_max = 190.0, 265.0
    span = max(hi - lo, 1)

    def x(ts: int) -> float:
        return left + (ts - lo) / span * (width - left - 10)

    def y(volts: float) -> float:
        clipped = min(max(volts, v_min), v_max)
        return top + (v_max - clipped) / (v_max - v_min) * (height - top - 25)

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(tr(lang, "plot"))}">']
    for volts in (200, 210, 220, 230, 240, 250, 260):
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(volts):.1f}" y2="{y(volts):.1f}" stroke="#eee"/>'
            f'<text x="2" y="{y(volts) + 4:.1f}" font-size="11">{volts}</text>'
        )
    for day in range(8):  # day lines at 24 h steps: a DST week's last line falls an hour off midnight
        xd = x(lo + day * 86400)
        if xd <= width - 10:
            parts.append(f'<line x1="{xd:.1f}" x2="{xd:.1f}" y1="{top}" y2="{height - 25}" stroke="#ddd"/>')
        if day < 7 and lo + day * 86400 < hi:
            label = datetime.fromtimestamp(lo + day * 86400 + 43200, zone).strftime("%d/%m")
            parts.append(f'<text x="{xd + 40:.1f}" y="{height - 12}" font-size="11">{label}</text>')
    for limit in (UPPER_DV, LOWER_DV, LOWEST_DV):
        yl = y(limit / 10)
        dash = ' stroke-dasharray="6 4"' if limit == LOWEST_DV else ""
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{yl:.1f}" y2="{yl:.1f}" stroke="#d00"{dash}/>')
    by_phase: dict[int, list[VoltageWindow]] = {}
    for w in windows:
        by_phase.setdefault(w.phase, []).append(w)
    for phase, items in sorted(by_phase.items()):
        segments: list[list[str]] = [[]]
        previous = None
        for w in sorted(items, key=lambda w: w.start_ts):
            if previous is not None and w.start_ts - previous > WINDOW_S:
                segments.append([])  # missing data: the line stops, nothing is drawn in between
            segments[-1].append(f"{x(w.start_ts + WINDOW_S // 2):.1f},{y(w.sum_dv / w.samples / 10):.1f}")
            previous = w.start_ts
        for points in segments:
            if points:
                parts.append(
                    f'<polyline fill="none" stroke="{_COLOURS.get(phase, "#333")}" stroke-width="1" '
                    f'points="{" ".join(points)}"/>'
                )
        parts.append(
            f'<text x="{left + 60 * phase}" y="{height - 0}" font-size="12" '
            f'fill="{_COLOURS.get(phase, "#333")}">L{phase}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def voltage_html(
    report: Mapping[str, Any], windows: Sequence[VoltageWindow], lang: str = "fr", tz: str = "Europe/Brussels"
) -> str:
    """The printable page of `voltage_json`'s report (`windows` for the plots; `tz` for the day labels)."""
    unknown = tr(lang, "unknown")
    zone = ZoneInfo(tz)
    out = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(tr(lang, 'voltage_title'))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(tr(lang, 'voltage_title'))}</h1>",
        "<table>",
        f"<tr><th>{tr(lang, 'ean')}</th><td>{escape(report.get('ean') or unknown)}</td></tr>",
        f"<tr><th>{tr(lang, 'meter')}</th><td>{escape(report.get('meter_id') or unknown)}</td></tr>",
        f"<tr><th>{tr(lang, 'period')}</th><td>{_local(report['from'])} – {_local(report['to'])}</td></tr>",
        f"<tr><th>{tr(lang, 'source')}</th><td>{tr(lang, 'source_' + report['source'])}</td></tr>",
        "</table>",
        f"<p>{escape(tr(lang, 'criteria'))}</p>",
        f'<p class="note">{escape(tr(lang, "missing_note"))}</p>',
    ]
    if not windows:
        out.append(f"<p><strong>{escape(tr(lang, 'no_data'))}</strong></p>")
    for week in report["weeks"]:
        lo = int(datetime.fromisoformat(week["start"]).timestamp())
        hi = int(datetime.fromisoformat(week["end"]).timestamp())
        title = tr(lang, "week", start=week["start"][:10], end=week["end"][:10])
        verdict = week["verdict"]
        out.append(f'<section><h2>{escape(title)} — <span class="{verdict}">{tr(lang, verdict)}</span></h2>')
        heads = "".join(f"<th>L{p['phase']}</th>" for p in week["phases"])
        out.append(f"<table><tr><th></th>{heads}</tr>")

        def row(label: str, cells: Iterable[str]) -> None:
            out.append(f"<tr><th>{escape(label)}</th>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")

        phases = week["phases"]
        row(
            tr(lang, "verdict"),
            (f'<span class="{p["verdict"]}">{tr(lang, p["verdict"])}</span>' for p in phases),
        )
        row(
            tr(lang, "share_inside"),
            (
                "–" if p["share_inside_percent"] is None else f"{p['share_inside_percent']:.2f} %"
                for p in phases
            ),
        )
        row(tr(lang, "windows"), (f"{p['windows_valid']} / {p['windows_expected']}" for p in phases))
        row(
            tr(lang, "range"),
            (
                "–" if p["min_mean_v"] is None else f"{p['min_mean_v']:.1f} – {p['max_mean_v']:.1f} V"
                for p in phases
            ),
        )
        row(
            tr(lang, "over_voltages"),
            (f"{p['over_voltages']}, {_duration(p['over_voltage_s'])}" for p in phases),
        )
        row(tr(lang, "with_export"), (str(p["over_voltages_with_export"]) for p in phases))
        row(tr(lang, "dips"), (f"{p['dips']}, {_duration(p['dip_s'])}" for p in phases))
        row(
            tr(lang, "meter_counters"),
            (
                tr(lang, "not_reported")
                if p["meter_sags"] is None
                else f"{p['meter_sags']} / {p['meter_swells']}"
                for p in phases
            ),
        )
        out.append("</table>")
        worst = [e for p in phases for e in p["worst"]]
        out.append(f"<h3>{tr(lang, 'worst')}</h3>")
        if worst:
            out.append(
                f"<table><tr><th>{tr(lang, 'phase')}</th><th>{tr(lang, 'start')}</th>"
                f"<th>{tr(lang, 'duration')}</th><th>{tr(lang, 'extreme')}</th>"
                f"<th>{tr(lang, 'exporting')}</th></tr>"
            )
            for e in sorted(worst, key=lambda e: e["start"]):
                out.append(
                    f"<tr><td>L{e['phase']} {tr(lang, 'kind_' + e['kind'])}</td><td>{_local(e['start'])}</td>"
                    f"<td>{_duration(e['duration_s'])}</td><td>{e['extreme_v']:.1f} V</td>"
                    f"<td>{tr(lang, 'yes' if e['with_export'] else 'no')}</td></tr>"
                )
            out.append("</table>")
        else:
            out.append(f"<p>{tr(lang, 'none')}</p>")
        week_windows = [w for w in windows if lo <= w.start_ts < hi]
        plot = _plot(week_windows, lo, hi, lang, zone)
        out.append(f"<p class='note'>{escape(tr(lang, 'plot'))}</p>{plot}</section>")
    out.append("</body></html>")
    return "\n".join(out)


def episodes_json(episodes: Iterable[VoltageEpisode], tz: str = "Europe/Brussels") -> list[dict[str, Any]]:
    from .voltage import episode_json

    zone = ZoneInfo(tz)
    return [episode_json(e, zone) for e in episodes]


def appliances_html(
    report: Mapping[str, Any], lang: str = "fr", identity: Mapping[str, Any] | None = None
) -> str:
    """A readable page of `appliance_report`'s result."""
    title = tr(lang, "appliances_title")
    out = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>',
        f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>",
        f"<p>{tr(lang, 'period')}: {_local(report['from'])} – {_local(report['to'])}</p>",
    ]
    if identity:
        out.append(
            f"<p>{tr(lang, 'meter')}: {escape(str(identity.get('meter_id') or tr(lang, 'unknown')))}</p>"
        )
    out.append(
        f"<table><tr><th>{tr(lang, 'appliance')}</th><th>{tr(lang, 'runs')}</th><th>{tr(lang, 'power')}</th>"
        f"<th>{tr(lang, 'duration')}</th><th>{tr(lang, 'energy')}</th><th>{tr(lang, 'cost')}</th></tr>"
    )
    for c in report["clusters"]:
        cost = "–" if c["eur"] is None else f"{c['eur']:.2f} €"
        out.append(
            f"<tr><td>{tr(lang, 'label_' + c['label'])} (L{','.join(map(str, c['phases']))})</td>"
            f"<td>{c['runs']}</td><td>{c['median_power_w']} W</td>"
            f"<td>{_duration(c['median_duration_s'])}</td>"
            f"<td>{c['kwh']:.1f} kWh</td><td>{cost}</td></tr>"
        )
    out.append("</table>")
    standby = report["standby"]
    out.append(f"<h2>{tr(lang, 'standby')}</h2>")
    if standby["median_w"] is None:
        out.append(f"<p>{tr(lang, 'no_data')}</p>")
    else:
        cost = "" if standby["eur_per_year"] is None else f" ({standby['eur_per_year']:.2f} €)"
        line = tr(
            lang, "standby_line", watts=standby["median_w"], kwh=f"{standby['kwh_per_year']:.0f}", cost=cost
        )
        out.append(f"<p>{escape(line)}</p>")
    out.append("</body></html>")
    return "\n".join(out)
