"""Webhook delivery: POST the event as JSON, signed like Stripe/GitHub webhooks.

``X-Ghgwatch-Timestamp: <unix seconds>`` and ``X-Ghgwatch-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>" with the route's secret>``; a receiver recomputes it and should reject stale
timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx

SIGNATURE_HEADER = "X-Ghgwatch-Signature"
TIMESTAMP_HEADER = "X-Ghgwatch-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, max_age_s: float = 300.0,
           now: float | None = None) -> bool:
    """What a receiver does: constant-time compare, and refuse timestamps older than ``max_age_s``."""
    try:
        age = (time.time() if now is None else now) - float(timestamp)
    except ValueError:
        return False
    return abs(age) <= max_age_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    retry: bool  # worth trying again (5xx, 408, 429, timeout, connection error)
    code: int | None = None
    error: str | None = None


async def post(client: httpx.AsyncClient, url: str, body: bytes, secret: str | None, timeout_s: float, *,
               extra_headers: dict[str, str] | None = None) -> Attempt:
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, **(extra_headers or {})}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    try:
        answer = await client.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException as exc:
        return Attempt(False, True, None, f"timeout: {exc}"[:500])
    except httpx.HTTPError as exc:
        return Attempt(False, True, None, f"{type(exc).__name__}: {exc}"[:500])
    code = answer.status_code
    if 200 <= code < 300:
        return Attempt(True, False, code)
    # Only the status: the receiver's answer is never echoed into the delivery log (a webhook to an internal
    # service would otherwise read that service's pages back to the organisation; issue 12, hole 2).
    return Attempt(False, code >= 500 or code in (408, 429), code, f"HTTP {code}")
