"""A request body limit applied before anything else, authentication included (issue 12, hole 11).

A pure ASGI middleware: a declared ``Content-Length`` over the limit is answered 413 at once, without reading;
a body sent in chunks is counted as it is read and cut off with 413 when it passes the limit. Paths with a
limit of their own (the ingest endpoints, file imports) are given theirs in ``overrides``; the default covers
every other route.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghgwatch.kit.problems import MEDIA_TYPE

DEFAULT_LIMIT = 2 * 1024 * 1024
"""Bytes: far above any JSON body of the API (imports and ingest have their own, larger limits)."""

OVERRIDES = {
    # The ingest endpoints keep their own limit (8 MB, checked in the handler after the device token): here
    # twice it here, so that their own, more specific answer is the one a device sees.
    "/api/v1/readings": 16 * 1024 * 1024,
    "/api/v1/edge/": 16 * 1024 * 1024,
    # File imports (``*`` + suffix): the 20 MB file limit of the handlers plus room for the multipart framing.
    "*/import": 21 * 1024 * 1024,
}


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int = DEFAULT_LIMIT, overrides: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.overrides = dict(overrides or {})

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix) or (prefix.startswith("*") and path.endswith(prefix[1:])):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit, scope.get("path", ""))
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            # Past the limit the 413 is sent from here and the app is told the client went away: an exception
            # would be caught by the framework's body parsing and turned into a 400.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await _too_large(send, limit, scope.get("path", ""))
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; whatever the app says after the disconnect is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted, tracked)


async def _too_large(send: Send, limit: int, path: str) -> None:
    body = json.dumps({"type": "https://ghgwatch.dev/problems/too-large", "title": "Content Too Large",
                       "status": 413, "detail": f"the request body is larger than {limit} bytes, the limit of "
                                                f"this route", "instance": path}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
