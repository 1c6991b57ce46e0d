"""`POST /api/v1/control/{action}`: the few state changes (a simulator's top-up, button, leak test, load).

Strategy: every action needs `Authorization: Bearer <token>`, compared in constant time; with no token
configured every action is refused (403), so a gateway started without one changes nothing. A body is
checked by its model (`gateway.http.models`), its money and power handed on as Decimal, and the view's own
refusals become 409 with a sentence: not allowed here (not a simulator), or not now (the meter's state).
"""

from __future__ import annotations

import hmac
from decimal import Decimal
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from gateway.http.limits import MAX_CONTROL_BODY
from gateway.http.models import (
    CONTROL_MODELS,
    DECIMAL_FIELDS,
    Error,
    PressButton,
    SetLoad,
    StartLeakTest,
    TopUp,
)
from gateway.http.responses import JsonObject, Responses
from gateway.view import ControlDenied, ControlResult, GatewayView

_bearer = HTTPBearer(auto_error=False, description="the gateway's control token")
DENIED: Responses = {
    400: {"model": Error, "description": "a body that is not UTF-8 JSON"},
    401: {"model": Error, "description": "missing or wrong token"},
    403: {"model": Error, "description": "no token configured: state changes disabled"},
    409: {"model": Error, "description": "not allowed here (not a simulator) or not now (meter state)"},
    413: {"model": Error, "description": f"body over {MAX_CONTROL_BODY} bytes"},
}


def control_router(view: GatewayView, token: str | None) -> APIRouter:
    """The control routes over `view`; `token` None (or blank) disables them all (403)."""
    if token is not None and not token.strip():
        token = None  # an empty P1GW_TOKEN means "no token": controls stay disabled

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            raise HTTPException(
                403, "state changes are disabled: the gateway has no control token configured"
            )
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()) or credentials is None:
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": 'Bearer realm="p1gw"'}
            )

    async def run_control(action: str, params: BaseModel | None) -> ControlResult:
        values = params.model_dump() if params is not None else {}
        values = {k: Decimal(v) if k in DECIMAL_FIELDS else v for k, v in values.items()}
        try:
            return await view.control(action, values)
        except ControlDenied as exc:
            raise HTTPException(409, f"{action} is not allowed here: {exc}") from exc
        except ValueError as exc:  # a well-formed request the meter's state refuses (no gas account, ...)
            raise HTTPException(409, f"{action} does not apply now: {exc}") from exc

    router = APIRouter(dependencies=[Depends(require_token)], responses=DENIED, tags=["control"])

    @router.post("/api/v1/control/top_up", response_model=JsonObject)
    async def top_up(body: TopUp) -> ControlResult:
        """Simulator: credit `amount_eur` (idempotent per `id`)."""
        return await run_control("top_up", body)

    @router.post("/api/v1/control/press_button", response_model=JsonObject)
    async def press_button(body: PressButton | None = None) -> ControlResult:
        """Simulator: press the meter's button (reconnects a breaker in state 'ready')."""
        return await run_control("press_button", body)

    @router.post("/api/v1/control/start_leak_test", response_model=JsonObject)
    async def start_leak_test(body: StartLeakTest | None = None) -> ControlResult:
        """Simulator: start the gas leak test (the valve reopens when it passes)."""
        return await run_control("start_leak_test", body)

    @router.post("/api/v1/control/set_load", response_model=JsonObject)
    async def set_load(body: SetLoad) -> ControlResult:
        """Simulator: add `kw` of load for `duration_s` seconds."""
        return await run_control("set_load", body)

    @router.post("/api/v1/control/{action}", status_code=404, response_model=JsonObject)
    async def unknown_control(action: str) -> NoReturn:
        """Any other action: 404."""
        raise HTTPException(404, f"unknown action {action!r}; known: {', '.join(CONTROL_MODELS)}")

    return router
