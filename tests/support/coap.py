"""A real CoAP client (aiocoap over UDP) for tests: POST readings, get the code and the JSON answer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiocoap import Code, Context, Message


@dataclass
class Answer:
    code: Code
    body: Any
    max_age: int | None = None


def signature(secret: str, ts: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()


class CoapClient:
    def __init__(self, context: Context, host: str, port: int) -> None:
        self.context, self.host, self.port = context, host, port

    async def request(self, payload: bytes, *, path: str = "readings", code: Code = Code.POST,
                      token: str | None = None, query: dict[str, str] | None = None,
                      content_format: int | None = 50, within_s: float = 30.0) -> Answer:
        params = dict(query or {})
        if token is not None:
            params = {"token": token, **params}
        uri = f"coap://{self.host}:{self.port}/{path}"
        if params:
            uri += "?" + "&".join(f"{k}={quote(v, safe='=')}" for k, v in params.items())
        message = Message(code=code, uri=uri, payload=payload)
        if content_format is not None:
            message.opt.content_format = content_format
        answer = await asyncio.wait_for(self.context.request(message).response, within_s)
        text = bytes(answer.payload)
        body = json.loads(text) if answer.opt.content_format == 50 else text.decode()
        return Answer(answer.code, body, answer.opt.max_age)

    async def post_readings(self, readings: list[dict[str, Any]], token: str, *, secret: str | None = None,
                            ts: float | None = None, within_s: float = 30.0) -> Answer:
        body = json.dumps({"readings": readings}).encode()
        query: dict[str, str] = {}
        if secret is not None:
            stamp = str(int(ts if ts is not None else time.time()))
            query = {"ts": stamp, "sig": signature(secret, stamp, body)}
        return await self.request(body, token=token, query=query, within_s=within_s)


@asynccontextmanager
async def coap_client(host: str, port: int) -> AsyncIterator[CoapClient]:
    context = await Context.create_client_context(transports=["udp6"])
    try:
        yield CoapClient(context, host, port)
    finally:  # bounded: a hung shutdown (exchanges still in flight on a loaded machine) must not hang the test
        with suppress(TimeoutError):
            await asyncio.wait_for(context.shutdown(), 5.0)
