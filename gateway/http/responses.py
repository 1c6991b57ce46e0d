"""How the API answers: JSON bodies through `gateway.jsonenc`, and the error answers routes share.

Strategy: `JsonText` is the app's response class, so every JSON body is written by the shell's one encoder
(a Decimal a route hands it directly keeps its digits). Errors are one sentence in `detail`; a request that
did not match the schema also lists its refused fields (`invalid_body`), never their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway.http.models import PATTERN_HINTS, Error, Invalid
from gateway.jsonenc import dumps

Responses = dict[int | str, dict[str, Any]]  # the `responses=` of a route: status -> OpenAPI description
JsonObject = dict[str, Any]  # the `response_model=` of a route answering a JSON object OpenAPI leaves open
NOT_YET: Responses = {503: {"model": Error, "description": "no telegram received yet"}}
BAD_QUERY: Responses = {
    422: {"model": Invalid, "description": "bad query parameter, or a range that names no instants"}
}


class JsonText(JSONResponse):
    """`application/json` written by `gateway.jsonenc.dumps` (compact, UTF-8, Decimal digits kept)."""

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def no_telegram() -> HTTPException:
    """503 before the first telegram (a client retries after 2 s)."""
    return HTTPException(503, "no telegram received yet", headers={"Retry-After": "2"})


def invalid_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 JSON of a request that did not match the schema: one sentence plus the fields (`Invalid`);
    never the input (a request is not echoed back), names cut to 64 characters."""
    problems = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p)[:64] for p in err.get("loc", ())]
        kind = str(err.get("type", ""))
        msg = str(err.get("msg", "invalid"))
        if kind == "string_pattern_mismatch" and loc and loc[-1] in PATTERN_HINTS:
            msg = PATTERN_HINTS[str(loc[-1])]  # a sentence, not the regular expression
        problems.append({"loc": loc, "msg": msg, "type": kind})
    parts = [
        f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'request body'}: {e['msg']}" for e in problems
    ]
    return {"detail": "; ".join(parts) or "invalid request", "errors": problems}


async def invalid_request(request: Request, exc: Exception) -> JsonText:
    """The app's handler of `RequestValidationError`: 422 with `invalid_body`."""
    assert isinstance(exc, RequestValidationError)
    return JsonText(invalid_body(exc.errors()), status_code=422)
