"""`GET /api/v1/advice` over a real store: the same document as `p1gw advise --db`, HTML, clear errors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from gateway.cli import main
from gateway.http import create_app
from gateway.store import open_store
from sharing.kwh import format_kwh
from tariffs.bands import ZONE
from tests.gateway.test_http_view import LiveView
from tests.tariffs.helpers import local_ts
from tests.tariffs.households import household_year
from tests.tariffs.test_cli import iso

NOW = datetime(2026, 6, 3, 12, tzinfo=ZONE)


def stored(path: Path) -> None:
    usage = household_year("prosumer").between(local_ts(2026, 4, 1), local_ts(2026, 6, 1))
    with open_store(path) as store:
        store.add_quarter_hours(
            {
                "meter_id": "1SAG1",
                "start": iso(ts),
                "end": iso(ts + 900),
                "import_day": format_kwh(imp),
                "import_night": "0",
                "export_day": format_kwh(exp),
                "export_night": "0",
            }
            for ts, imp, exp in zip(
                usage.start_ts.tolist(), usage.import_wh.tolist(), usage.export_wh.tolist(), strict=True
            )
        )


def test_advice_endpoint_matches_the_cli(tmp_path: Path) -> None:
    stored(tmp_path / "gw.db")
    client = TestClient(create_app(LiveView(None, open_store(tmp_path / "gw.db")), clock=lambda: NOW))
    response = client.get(
        "/api/v1/advice",
        params={"region": "wallonia", "dso": "ores", "pv_before_2024": "true", "inverter_kva": "5"},
    )
    assert response.status_code == 200, response.text
    api = response.json()
    assert (
        main(
            [
                "advise",
                "--db",
                str(tmp_path / "gw.db"),
                "--region",
                "wallonia",
                "--dso",
                "ores",
                "--pv-before-2024",
                "--inverter-kva",
                "5",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    cli = json.loads((tmp_path / "out" / "advice.json").read_text(encoding="utf-8"))
    api.pop("source"), cli.pop("source")
    assert api == cli
    # docs/tariffs.md: the gateway's CSV export, given to `p1gw advise --data`, gives the same advice
    export = client.get(
        "/api/v1/quarter-hours", params={"from": "2026-04-01", "to": "2026-06-01", "format": "csv"}
    )
    (tmp_path / "qh.csv").write_text(export.text, encoding="utf-8")
    assert main(["advise", "--data", str(tmp_path / "qh.csv"), "--region", "wallonia", "--pv-before-2024",
                 "--inverter-kva", "5", "--out", str(tmp_path / "csv")]) == 0  # fmt: skip
    from_csv = json.loads((tmp_path / "csv" / "advice.json").read_text(encoding="utf-8"))
    from_csv.pop("source")
    assert from_csv == cli
    assert api["cheapest"]["regime"] == "compensation"
    page = client.get("/api/v1/advice", params={"format": "html", "pv_before_2024": "true"})
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "Your options, cheapest first" in page.text


def test_advice_endpoint_errors_are_sentences(tmp_path: Path) -> None:
    empty = TestClient(create_app(LiveView(None, open_store(tmp_path / "e.db")), clock=lambda: NOW))
    response = empty.get("/api/v1/advice")
    assert response.status_code == 404 and "no stored quarter-hours" in response.json()["detail"]
    stored(tmp_path / "gw.db")
    client = TestClient(create_app(LiveView(None, open_store(tmp_path / "gw.db")), clock=lambda: NOW))
    response = client.get("/api/v1/advice", params={"region": "flanders", "dso": "acme"})
    assert response.status_code == 422 and "fluvius-antwerpen" in response.json()["detail"]
    assert client.get("/api/v1/advice", params={"community_share": "150"}).status_code == 422
