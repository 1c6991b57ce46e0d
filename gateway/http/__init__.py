"""The HTTP API and the dashboard (FastAPI), served over any `GatewayView`.

Every route is a thin read of the view (`gateway/view.py`). The package, one module per job:
    app.py              `create_app`: composes the routers below, the middleware and the error handler
    live.py             GET /api/v1/now, /states, /stream (Server-Sent Events)
    quarter_hours.py    GET /api/v1/quarter-hours (JSON or CSV), /current-quarter-hour, /peaks
    history.py          GET /api/v1/history
    events.py           GET /api/v1/events
    prepayment.py       GET /api/v1/prepayment
    health.py           GET /api/v1/health, /metrics (text from metrics.py)
    control.py          POST /api/v1/control/{action} (bearer token)
    dashboard.py, advice.py, analysis.py   the dashboard's, the tariff advisor's and the analyses' routes
    dashboard_files.py  GET / and /static/* (the dashboard's files in static/)
    query.py            `from`/`to` query parameters to a checked range
    models.py           response models and control bodies (the OpenAPI schema)
    responses.py        `JsonText` (bodies through `gateway.jsonenc`) and the shared error answers
    limits.py           `BodyLimit`: a POST body over `MAX_CONTROL_BODY` bytes is refused unread
    server.py           the uvicorn server of `p1gw run` (socket, connection limits)

Example:
    app = create_app(gateway, token=os.environ.get("P1GW_TOKEN"))
    uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from gateway.http.app import create_app
from gateway.http.limits import MAX_CONTROL_BODY
from gateway.http.metrics import prometheus_text
from gateway.http.query import FROM_QUERY, TO_QUERY, parse_range

__all__ = [
    "FROM_QUERY",
    "MAX_CONTROL_BODY",
    "TO_QUERY",
    "create_app",
    "parse_range",
    "prometheus_text",
]
