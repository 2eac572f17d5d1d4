"""The link to the platform: requests signed with the gateway's device credentials, retried until answered.

Every request carries ``Authorization: Bearer <gateway token>``, ``X-Timestamp`` (Unix seconds with
milliseconds) and ``X-Signature: sha256=HMAC(secret, "<X-Timestamp>.<body>")``, as the HTTP ingest defines;
a retry is signed afresh, so the platform's replay guard never refuses it. The gateway's clock must be within
``security.signature_max_age_s`` (300 s) of the platform's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec

from ghgwatch.ingest.auth import signature_for

log = logging.getLogger(__name__)


class Refused(Exception):
    """The platform answered that a payload can never be accepted (400, 413, 422): retrying cannot help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail = status, detail


@dataclass
class LinkStatus:
    up: bool | None = None
    """None until the first attempt."""
    since: float = 0.0
    last_error: str = ""
    requests: int = 0
    failures: int = 0


class Upstream:
    def __init__(self, base_url: str, token: str, hmac_secret: str, *, timeout_s: float = 10.0,
                 retry_max_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token, self._secret = token, hmac_secret
        self.retry_max_s = retry_max_s
        self.status = LinkStatus()
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def close(self) -> None:
        await self._client.aclose()

    def _mark(self, up: bool, error: str = "") -> None:
        if up != self.status.up:
            self.status.since = time.time()
            if up:
                log.warning("link to %s is up", self.base_url)
            else:
                log.warning("link to %s is down (%s); storing and retrying", self.base_url, error)
        self.status.up = up
        if error:
            self.status.last_error = error

    async def request(self, method: str, path: str, body: bytes = b"") -> httpx.Response:
        """One signed attempt. Transport errors are raised as :class:`httpx.TransportError`."""
        stamp = f"{time.time():.3f}"
        headers = {"Authorization": f"Bearer {self._token}", "X-Timestamp": stamp,
                   "X-Signature": signature_for(self._secret, stamp, body)}
        if body:
            headers["Content-Type"] = "application/json"
        self.status.requests += 1
        try:
            answer = await self._client.request(method, path, content=body, headers=headers)
        except httpx.TransportError as exc:
            self.status.failures += 1
            self._mark(False, f"{type(exc).__name__}: {exc}")
            raise
        self._mark(answer.status_code < 500, "" if answer.status_code < 500 else f"HTTP {answer.status_code}")
        return answer

    async def deliver(self, path: str, payload: Any, stop: asyncio.Event) -> dict[str, Any]:
        """POST until the platform takes it (2xx), waiting longer after each failure; raises :class:`Refused`
        for a payload the platform can never accept, and ``CancelledError`` when ``stop`` is set."""
        body = msgspec.json.encode(payload)
        delay = 0.2
        while True:
            try:
                answer = await self.request("POST", path, body)
            except httpx.TransportError:
                answer = None
            if answer is not None:
                if answer.is_success:
                    result: dict[str, Any] = answer.json()
                    return result
                if answer.status_code in (400, 413, 422):
                    raise Refused(answer.status_code, answer.text[:500])
                if answer.status_code == 409:
                    continue  # a replayed signature (same millisecond): signed afresh at once
                if answer.status_code in (401, 403):
                    log.error("the platform refuses the gateway's credentials (%s); check the gateway device",
                              answer.status_code)
                self.status.last_error = f"HTTP {answer.status_code}: {answer.text[:200]}"
            if stop.is_set():
                raise asyncio.CancelledError
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)


def keep_refused(path: Path, what: str, payload: Any, error: Refused) -> None:
    """Payloads the platform refused, one JSON line each, for an operator to look at (never silently lost)."""
    log.error("the platform refused %s (%s); kept in %s", what, error, path)
    with path.open("ab") as f:
        f.write(msgspec.json.encode({"at": time.time(), "what": what, "status": error.status, "detail": error.detail,
                                     "payload": payload}) + b"\n")
