"""Every endpoint of the HTTP API through FastAPI's TestClient, over a `LiveView` fed with real telegrams.

Strategy: one hour of telegrams (10 s apart, Monday 09:00 local) read through the real parser, aggregator,
capacity guard and SQLite store; each test asks the API and compares with what the view holds, so a
wrong window, a lost record or a mangled CSV fails. Also: 422 sentences for bad parameters, the token rules
(403 with no token configured, 401 without or with a wrong token, 200 with it), CORS off by default.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dsmr_parser import telegram_json
from gateway.http import create_app, prometheus_text
from metering.record import CSV_COLUMNS, csv_text
from tests.gateway.test_http_view import START, TZ, LiveView, fed_view

TOKEN = "correct-horse-battery-staple"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def view(tmp_path: Path) -> LiveView:
    return fed_view(tmp_path / "gw.db", START, 3600)


@pytest.fixture
def client(view: LiveView) -> TestClient:
    clock = START + timedelta(hours=1, minutes=5)
    return TestClient(create_app(view, token=TOKEN, clock=lambda: clock))


def test_now_is_the_latest_telegram_json(client: TestClient, view: LiveView) -> None:
    body = client.get("/api/v1/now").json(parse_float=Decimal)
    assert body == view.latest()
    assert body["timestamp"] == "2026-11-23T10:00:00+01:00"
    assert body["values"]["1-0:1.8.1"]["unit"] == "kWh"


def test_now_keeps_the_meters_digits(client: TestClient, view: LiveView) -> None:
    """The same numbers, digit for digit, as `dsmr_parser.telegram_json` (MQTT, `p1gw parse`) writes."""
    assert view.last is not None
    text = client.get("/api/v1/now").text
    assert '"1-0:2.8.1":{"value":1.200,"unit":"kWh"}' in text  # 001.200*kWh on the wire, not 1.2
    assert json.loads(text, parse_float=Decimal) == json.loads(telegram_json(view.last), parse_float=Decimal)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ValueOut"]["properties"]["value"]
    assert "number" in schema["description"]


def test_before_the_first_telegram_now_says_so(tmp_path: Path) -> None:
    from gateway.store import open_store

    empty = TestClient(create_app(LiveView(None, open_store(tmp_path / "e.db"))))
    for path in ("/api/v1/now", "/api/v1/current-quarter-hour"):
        response = empty.get(path)
        assert response.status_code == 503
        assert response.json() == {"detail": "no telegram received yet"}
    assert empty.get("/api/v1/prepayment").status_code == 404
    assert empty.get("/api/v1/states").json() == {}


def test_quarter_hours_default_to_today_local(client: TestClient, view: LiveView) -> None:
    records = client.get("/api/v1/quarter-hours").json()
    assert view.last_query == (datetime(2026, 11, 23, tzinfo=TZ), datetime(2026, 11, 24, tzinfo=TZ))
    assert [r["start"][11:16] for r in records] == ["09:00", "09:15", "09:30", "09:45"]
    assert records == view.store.quarter_hours(START, START + timedelta(hours=1))
    assert all(r["ean"] == "541449000000000001" and r["complete"] for r in records[1:])


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("from=2026-11-23&to=2026-11-23", 4),  # a date `to` is the whole day
        ("from=2026-11-23T09:15:00%2B01:00&to=2026-11-23T09:45:00%2B01:00", 2),
        ("from=2026-11-23T09:15:00+01:00&to=2026-11-23T09:45:00+01:00", 2),  # unencoded '+'
        ("from=2026-11-23T08:15:00Z&to=2026-11-23T09:45", 2),  # Z = 09:15 local; naive = local
        ("from=2026-11-22", 0),
        ("to=2026-11-23", 4),
    ],
)
def test_quarter_hours_windows(client: TestClient, query: str, count: int) -> None:
    response = client.get("/api/v1/quarter-hours?" + query)
    assert response.status_code == 200, response.text
    assert len(response.json()) == count


def test_csv_export(client: TestClient, view: LiveView) -> None:
    response = client.get("/api/v1/quarter-hours?from=2026-11-23&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="quarter-hours_')
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 5
    records = view.store.quarter_hours(START, START + timedelta(hours=1))
    # the one record contract: byte for byte what `p1gw db export` writes (tests/gateway/
    # test_quarter_hour_record.py shows the export is `csv_text` of the same records)
    assert response.content == csv_text(records).encode("utf-8")
    for row, record in zip(rows[1:], records, strict=True):
        cells = dict(zip(CSV_COLUMNS, row, strict=True))
        assert cells["start"] == record["start"] and cells["ean"] == record["ean"]
        assert cells["import_day"] == f"{record['import_day']:.3f}"
        assert cells["complete"] == ("true" if record["complete"] else "false")
    empty = client.get("/api/v1/quarter-hours?from=2026-01-01&to=2026-01-02&format=csv")
    assert empty.text == ",".join(CSV_COLUMNS) + "\r\n"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=yesterday", ["'from'", "'yesterday'", "ISO 8601"]),
        ("to=2026-13-01", ["'to'", "ISO 8601"]),
        ("from=2026-11-24&to=2026-11-23", ["after", "swap"]),
        ("from=2026-11-23T10:00:00%2B01:00&to=2026-11-23T09:00:00%2B01:00", ["after"]),
        ("from=2024-01-01&to=2026-01-01", ["longer than 400 days"]),
        ("format=xml", ["format"]),
    ],
)
def test_bad_parameters_get_422_with_a_sentence(client: TestClient, query: str, words: list[str]) -> None:
    for path in ("/api/v1/quarter-hours?", "/api/v1/history?"):
        if path.startswith("/api/v1/history") and "format" in query:
            continue
        response = client.get(path + query)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        for word in words:
            assert word in detail
    assert "limit" in client.get("/api/v1/events?limit=0").json()["detail"]


def test_history_states_peaks_current_events(client: TestClient, view: LiveView) -> None:
    history = client.get("/api/v1/history?from=2026-11-23T09:30&to=2026-11-23T09:40").json()
    assert len(history) == 10  # one point per minute
    assert {"import_kw", "export_kw", "at"} <= set(history[0])
    states = client.get("/api/v1/states").json()
    assert states["energy_import_day"]["code"] == "1-0:1.8.1"
    assert states["power_import"]["unit"] == "kW"
    peaks = client.get("/api/v1/peaks").json()
    assert peaks["month"]["peak_kw"] == 2.589
    assert peaks["quarter_hour"]["start"] == "2026-11-23T10:00:00+01:00"
    current = client.get("/api/v1/current-quarter-hour").json()
    assert current["start"] == "2026-11-23T10:00:00+01:00" and current["complete"] is False
    assert client.get("/api/v1/events").json() == view.events(50)


def test_prepayment_state(client: TestClient, view: LiveView) -> None:
    body = client.get("/api/v1/prepayment").json()
    assert body == view.prepayment()
    assert body["supply_state"] == "connected" and body["debt_eur"] == 42.0


def test_no_prepayment_is_a_clear_404(tmp_path: Path) -> None:
    plain = TestClient(create_app(fed_view(tmp_path / "p.db", START, 60, prepayment=False)))
    response = plain.get("/api/v1/prepayment")
    assert response.status_code == 404
    assert "no prepayment function" in response.json()["detail"]


def test_health_and_prometheus_metrics(client: TestClient, view: LiveView) -> None:
    assert client.get("/api/v1/health").json() == view.health()
    response = client.get("/api/v1/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert f"p1gw_frames_total {view.frames}\n" in text
    assert "# TYPE p1gw_frames_total counter" in text
    assert "# TYPE p1gw_crc_errors_total counter" in text
    assert "p1gw_last_telegram_age_s 0.4" in text
    assert "# TYPE p1gw_mqtt_queue_depth gauge" in text and "p1gw_mqtt_connected 0" in text
    assert 'p1gw_source_status_info{value="connected"} 1' in text
    assert "p1gw_http_stream_clients 0" in text
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names))
    for line in text.splitlines():
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_prometheus_text_escapes_labels_and_skips_what_it_cannot_show() -> None:
    text = prometheus_text({"note": 'a "b"\nc', "items": [1, 2], "missing": None, "ok": True})
    assert 'p1gw_note_info{value="a \\"b\\"\\nc"} 1' in text
    assert "items" not in text and "missing" not in text
    assert "p1gw_ok 1" in text


def test_dashboard_and_openapi(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>P1 gateway</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.split("<body>")[0].replace('content="width', "")  # no external assets
    for asset in (
        "static/app.js",
        "static/charts.js",
        "static/i18n.js",
        "static/style.css",
        "static/vendor/uPlot.iife.min.js",
        "static/vendor/uPlot.min.css",
    ):
        assert client.get("/" + asset).status_code == 200
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/v1/now",
        "/api/v1/quarter-hours",
        "/api/v1/peaks",
        "/api/v1/prepayment",
        "/api/v1/health",
        "/api/v1/metrics",
        "/api/v1/stream",
        "/api/v1/states",
        "/api/v1/current-quarter-hour",
        "/api/v1/history",
        "/api/v1/events",
        "/api/v1/control/top_up",
    ):
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 200


# ------------------------------------------------------------------------------------------ controls
@pytest.mark.parametrize("token", [None, "", "  "])
def test_controls_refused_when_no_token_is_configured(view: LiveView, token: str | None) -> None:
    open_app = TestClient(create_app(view, token=token))
    for headers in (AUTH, {"Authorization": "Bearer "}, {}):
        response = open_app.post(
            "/api/v1/control/top_up", json={"id": "a", "amount_eur": "5.00"}, headers=headers
        )
        assert response.status_code == 403
        assert "no control token" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
)
def test_controls_need_the_right_bearer_token(
    client: TestClient, view: LiveView, headers: dict[str, str]
) -> None:
    before = view.prepayment()
    response = client.post("/api/v1/control/top_up", json={"id": "a", "amount_eur": "5.00"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert view.prepayment() == before
    # bad body with no token: still 401 (nothing is revealed before authentication)
    assert client.post("/api/v1/control/top_up", json={"id": 1}, headers=headers).status_code == 401


def test_top_up_with_token_is_idempotent(client: TestClient, view: LiveView) -> None:
    before = view.prepayment()
    assert before is not None
    first = client.post("/api/v1/control/top_up", json={"id": "tx-1", "amount_eur": "10.00"}, headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json()["credited"] is True
    again = client.post("/api/v1/control/top_up", json={"id": "tx-1", "amount_eur": "10.00"}, headers=AUTH)
    assert again.json()["credited"] is False
    after = view.prepayment()
    assert after is not None and after["balance_eur"] > before["balance_eur"]


@pytest.mark.parametrize(
    ("path", "body", "status", "word"),
    [
        ("top_up", {"id": "x", "amount_eur": "-5"}, 422, "amount_eur"),
        ("top_up", {"id": "x", "amount_eur": "5.001"}, 422, "amount_eur"),
        ("top_up", {"id": "x y", "amount_eur": "5"}, 422, "id"),
        ("top_up", {"id": "x", "amount_eur": "5", "energy": "gas"}, 409, "no gas prepayment"),
        ("set_load", {"kw": "2.5"}, 422, "duration_s"),
        ("set_load", {"kw": "2.5", "duration_s": 60, "extra": 1}, 422, "extra"),
        ("start_leak_test", None, 409, "not simulated"),
        ("open_valve", None, 404, "unknown action"),
    ],
)
def test_control_errors(client: TestClient, path: str, body: object, status: int, word: str) -> None:
    response = client.post(f"/api/v1/control/{path}", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert word in response.json()["detail"]


def test_set_load_and_press_button(client: TestClient, view: LiveView) -> None:
    response = client.post("/api/v1/control/set_load", json={"kw": "3.5", "duration_s": 600}, headers=AUTH)
    assert response.status_code == 200 and response.json()["kw"] == 3.5
    assert view.meter is not None and view.meter.extra_w == 3500
    pressed = client.post("/api/v1/control/press_button", headers=AUTH).json()
    assert pressed["action"] == "press_button" and pressed["prepayment"]["supply_state"] == "connected"


def test_real_meter_refuses_controls(tmp_path: Path) -> None:
    plain = TestClient(create_app(fed_view(tmp_path / "p.db", START, 60, prepayment=False), token=TOKEN))
    response = plain.post("/api/v1/control/press_button", headers=AUTH)
    assert response.status_code == 409 and "not a simulator" in response.json()["detail"]


# ---------------------------------------------------------------------------------------------- CORS
def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/now", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/v1/control/top_up",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins(view: LiveView) -> None:
    app = TestClient(create_app(view, cors_origins=["http://ha.local:8123"]))
    allowed = app.get("/api/v1/now", headers={"Origin": "http://ha.local:8123"})
    assert allowed.headers["access-control-allow-origin"] == "http://ha.local:8123"
    other = app.get("/api/v1/now", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_bad_time_zone_is_refused(view: LiveView) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        create_app(view, tz="Mars/Olympus")
