"""The dashboard's files: `GET /` (index.html with a strict Content-Security-Policy) and `/static/*`.

The dashboard is static files (gateway/http/static/: no build step, no CDN) that read the same API as
everyone else; its own API routes are in `gateway.http.dashboard`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def dashboard_files_router() -> APIRouter:
    """`/` and the `/static` mount (neither is in the OpenAPI schema)."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": DASHBOARD_CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return router
