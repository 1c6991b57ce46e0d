"""`GET /api/v1/prepayment`: the meter's prepayment credit state, 404 when it has no prepayment function.

The dashboard's outlook (days left, start credit paid back) is `GET /api/v1/dashboard/prepayment` in
`gateway.http.dashboard`; the simulator's top-up is `POST /api/v1/control/top_up` in `gateway.http.control`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from gateway.answers import PrepaymentState
from gateway.http.models import Error
from gateway.http.responses import JsonObject
from gateway.view import GatewayView


def prepayment_router(view: GatewayView) -> APIRouter:
    """`/api/v1/prepayment` over `view`."""
    router = APIRouter()

    @router.get(
        "/api/v1/prepayment",
        response_model=JsonObject,
        responses={404: {"model": Error, "description": "no prepayment function"}},
    )
    async def prepayment() -> PrepaymentState:
        """Prepayment credit state (balance, emergency credit, debt, supply state, ...)."""
        state = view.prepayment()
        if state is None:
            raise HTTPException(404, "this meter has no prepayment function (no 0-n:19.x lines seen)")
        return state

    return router
