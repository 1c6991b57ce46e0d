"""`BodyLimit`: the ASGI middleware that refuses a POST body over `MAX_CONTROL_BODY` bytes, unread (413).

Strategy: a body declared too long by Content-Length (or without a usable one) is refused before a byte
of it is read; otherwise it is read here, counted as it arrives (refused the moment it passes the limit),
and handed on whole to the app. GETs and other traffic pass untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.jsonenc import dumps

MAX_CONTROL_BODY = 4096  # bytes: a control body is a few fields; anything bigger is refused unread (413)


class BodyLimit:
    """ASGI middleware: a POST body over `max_bytes` gets 413 before the app reads any of it (declared by
    Content-Length or counted as it arrives); a smaller one is read here and handed on whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = dumps({"detail": f"request body over {self.max_bytes} bytes: refused unread"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send(
            {"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]}
        )
        await send({"type": "http.response.body", "body": body})
