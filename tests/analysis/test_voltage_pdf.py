"""`p1gw voltage` writes `voltage.pdf` (WeasyPrint) from the page of `voltage.html`, in the user's language.

A small store holds one week of 10-minute means on three phases: L1 inside the limits (compliant), L2 above
253 V for a day (not compliant), L3 with half the week missing (undetermined). The PDF's text must carry the
EAN and the three verdicts in French, and the plot must be drawn in it (vector lines in the phases' colours).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from analysis.texts import tr
from analysis.voltage import VoltageWindow
from gateway.cli import main
from gateway.pdf import INSTALL_HINT
from gateway.store import open_store
from gateway.store.analysis import add_analysis

ZONE = ZoneInfo("Europe/Brussels")
MONDAY = datetime(2026, 11, 16, tzinfo=ZONE)
EAN = "541448800000054321"


def small_store(db: Path) -> None:
    t0 = int(MONDAY.timestamp())
    windows = []
    for i in range(1008):
        start = t0 + 600 * i
        wave = 2300 + (i % 144) * 2 - 144  # a daily swing of ±14 V around 230 V, visible in the plot
        windows.append(VoltageWindow(start, 1, 600, wave * 600, wave - 5, wave + 5))
        high = 2560 if 144 <= i < 288 else wave  # Tuesday above 253 V: more than 5 % of the week outside
        windows.append(VoltageWindow(start, 2, 600, high * 600, high - 5, high + 5))
        if i < 504:  # L3 stops on Thursday: half the week is missing
            windows.append(VoltageWindow(start, 3, 600, wave * 600, wave - 5, wave + 5))
    with open_store(db) as store:
        add_analysis(store, "1SAG1100000001", windows=windows)
        record = {
            "meter_id": "1SAG1100000001", "ean": EAN, "start": MONDAY.isoformat(),
            "end": MONDAY.replace(minute=15).isoformat(), "import_day": 0.1, "import_night": 0,
            "export_day": 0, "export_night": 0,
        }  # fmt: skip
        store.add_quarter_hours([record])


def run_voltage(db: Path, out: Path) -> int:
    span = ["--from", "2026-11-16", "--to", "2026-11-22"]
    return main(["voltage", "--db", str(db), "--out", str(out), "--lang", "fr", "--min-samples", "30", *span])


def test_the_pdf_carries_the_ean_the_french_verdicts_and_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, out = tmp_path / "p1gw.db", tmp_path / "report"
    small_store(db)
    assert run_voltage(db, out) == 3  # a week is not compliant
    [week] = json.loads((out / "voltage.json").read_text(encoding="utf-8"))["weeks"]
    assert [p["verdict"] for p in week["phases"]] == ["pass", "fail", "undetermined"]
    assert "voltage.pdf" in capsys.readouterr().err

    pdf = PdfReader(out / "voltage.pdf")
    assert len(pdf.pages) >= 1
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert EAN in text and tr("fr", "voltage_title") in text
    # the verdict row of the week's table, in French and in phase order
    verdicts = " ".join(tr("fr", v) for v in ("pass", "fail", "undetermined"))
    assert f"{tr('fr', 'verdict')} {verdicts}" in text, text
    # the plot: its axis labels are text in the PDF, and its polylines vector paths stroked in the phases'
    # colours (#1f77b4 L1, #2ca02c L2), thousands of segments for 3 x 1008 means plus a few for the limits
    assert "L1 L2 L3" in text and "260" in text
    pages = [page.get_contents() for page in pdf.pages]
    drawn = [c.get_data() for c in pages if c is not None]
    assert any(
        b"0.121569 0.466667 0.705882 RG" in d
        and b"0.172549 0.627451 0.172549 RG" in d
        and d.count(b" l\n") > 2000
        for d in drawn
    )


def test_without_weasyprint_json_and_html_are_written_and_one_line_says_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = tmp_path / "p1gw.db", tmp_path / "report"
    small_store(db)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # what `import weasyprint` meets when not installed
    assert run_voltage(db, out) == 3
    assert (out / "voltage.json").is_file() and EAN in (out / "voltage.html").read_text(encoding="utf-8")
    assert not (out / "voltage.pdf").exists()
    err = capsys.readouterr().err
    assert f"p1gw voltage: {INSTALL_HINT}\n" in err and "p1-gateway[pdf]" in INSTALL_HINT
