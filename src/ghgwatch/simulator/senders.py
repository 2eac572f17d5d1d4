"""Transports: one ``send(readings)`` per batch, over HTTP (``POST /api/v1/readings``) or MQTT (QoS 1).

A sender raises ``RetryableError`` when the batch may succeed later (HTTP 429/5xx, connection errors,
a lost MQTT session) and ``FatalError`` when it will not (401, 403, 400, ...); the runner decides what to
do with the batch. Signing follows the ingest contract: HMAC-SHA256 of ``"<unix timestamp>.<body>"`` keyed
with the device secret, sent as ``sha256=<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx

Reading = dict[str, Any]


class RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(Exception):
    pass


@dataclass
class SendResult:
    accepted: int
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


class Sender(Protocol):
    """The narrowest transport interface: deliver one batch, then close."""

    async def send(self, readings: Sequence[Reading]) -> SendResult: ...

    async def aclose(self) -> None: ...


def encode(readings: Sequence[Reading]) -> bytes:
    return json.dumps({"readings": list(readings)}, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed with the device secret."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Signer:
    """Signs bodies with the device secret, never producing the same signature twice.

    The server refuses a replayed signature (409), and a retry of the same batch within the same second
    would repeat one, so such a retry is stamped one second later (the server allows 5 minutes of skew).
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._last: tuple[int, bytes] | None = None

    def sign(self, body: bytes) -> tuple[int, str]:
        now = int(time.time())
        digest = hashlib.sha256(body).digest()
        if self._last is not None and self._last[1] == digest and now <= self._last[0]:
            now = self._last[0] + 1
        self._last = (now, digest)
        return now, signature(self.secret, now, body)


def device_id(token: str) -> int:
    """The device id inside a token ``gwd_<id>_<secret>``."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "gwd" or not (parts[1].isascii() and parts[1].isdigit()):
        raise ValueError("device token is not of the form gwd_<id>_<secret>")
    return int(parts[1])


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


class HttpSender:
    """``POST {api}/api/v1/readings`` with the device token; signed when ``secret`` is given."""

    def __init__(self, api: str, token: str, *, secret: str | None = None, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.signer = Signer(secret) if secret is not None else None
        self._client = httpx.AsyncClient(base_url=api.rstrip("/"), timeout=timeout, transport=transport,
                                         headers={"Authorization": f"Bearer {token}"})

    async def send(self, readings: Sequence[Reading]) -> SendResult:
        body = encode(readings)
        headers = {"Content-Type": "application/json"}
        if self.signer is not None:
            now, signed = self.signer.sign(body)
            headers["X-Timestamp"] = str(now)
            headers["X-Signature"] = signed
        try:
            response = await self._client.post("/api/v1/readings", content=body, headers=headers)
        except httpx.TransportError as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(f"HTTP {response.status_code}", _retry_after(response))
        if response.status_code not in (200, 202):
            raise FatalError(f"HTTP {response.status_code}: {response.text[:300]}")
        answer = response.json()
        rejected = answer.get("rejected") or []
        return SendResult(int(answer.get("accepted", 0)), len(rejected),
                          [f"#{r.get('index')}: {r.get('error')}" for r in rejected[:5]])

    async def aclose(self) -> None:
        await self._client.aclose()


class MqttSender:
    """Publish each batch with QoS 1 to ``ghgwatch/<organisation>/<device>/readings``.

    ``url`` is ``mqtt://[user:pass@]host[:port]`` (or ``mqtts://`` for TLS). The connection is opened on
    the first send and re-opened after a failure.
    """

    def __init__(self, url: str, organization_id: int, device: int, *, secret: str | None = None,
                 timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"not an MQTT URL: {url!r} (expected mqtt://[user:pass@]host[:port])")
        self.hostname = parts.hostname
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.tls = parts.scheme == "mqtts"
        self.topic = f"ghgwatch/{organization_id}/{device}/readings"
        self.signer = Signer(secret) if secret is not None else None
        self.timeout = timeout
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def _connect(self) -> Any:
        import aiomqtt

        stack = AsyncExitStack()
        client = aiomqtt.Client(self.hostname, self.port, username=self.username, password=self.password,
                                timeout=self.timeout, tls_context=ssl.create_default_context() if self.tls else None)
        await stack.enter_async_context(client)
        self._stack, self._client = stack, client
        return client

    def payload(self, readings: Sequence[Reading]) -> bytes:
        body = encode(readings)
        if self.signer is None:
            return body
        now, signed = self.signer.sign(body)
        envelope = {"timestamp": now, "signature": signed, "payload": body.decode()}
        return json.dumps(envelope, separators=(",", ":")).encode()

    async def send(self, readings: Sequence[Reading]) -> SendResult:
        import aiomqtt

        try:
            client = self._client or await self._connect()
            await client.publish(self.topic, self.payload(readings), qos=1, timeout=self.timeout)
        except (aiomqtt.MqttError, OSError) as exc:
            await self.aclose()
            raise RetryableError(f"MQTT: {exc}") from exc
        return SendResult(len(readings))

    async def aclose(self) -> None:
        import aiomqtt

        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            try:
                await stack.aclose()
            except (aiomqtt.MqttError, OSError):
                return  # a broken connection may fail to close cleanly; it is gone either way
