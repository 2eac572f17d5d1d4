"""The ingest benchmark's load generator: bodies of 1,000 readings posted from ``concurrency`` connections."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from raw_http import Answer, RawClient

BATCH = 1000


def make_body(b: int, sensors: int, base_s: int) -> bytes:
    """Batch ``b``: readings n = b*1000 .. b*1000+999, reading n to sensor n % sensors at base + n ms (unique
    (sensor, ts)). Built from strings on demand (about 0.3 µs a reading), so a 60 s run holds no bodies in memory."""
    prefix = datetime.fromtimestamp(base_s + b, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    first = b * BATCH
    parts = [f'{{"sensor":{(first + k) % sensors + 1},"ts":"{prefix}.{k:03d}000+00:00","value":'
             f'{0.3 + ((first + k) % 97) / 1000:.3f}}}' for k in range(BATCH)]
    return ('{"readings":[' + ",".join(parts) + "]}").encode()


async def load(url: str, token: str, sensors: int, base_s: int, seconds: float, concurrency: int,
               rate: float | None = None, client: str = "raw") -> tuple[int, float, int]:
    """Post bodies until ``seconds`` pass; returns (acknowledged readings, elapsed s, 503 answers).

    With ``rate`` (readings/s) the load is paced: batch i is sent at start + i * 1000 / rate (open loop), so
    latencies are measured below saturation; without it, as fast as the server answers. A 503 (admission
    control: storage behind) is honoured: the batch is sent again after its Retry-After. ``client``: ``raw``
    (``raw_http``, one connection per worker; the default since issue 16's fourth session) or ``httpx`` (the
    earlier sections' generator, about twice the CPU a request).
    """
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    acked = 0
    next_batch = 0
    refused = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(post: Callable[[bytes], Awaitable[Answer]]) -> None:
        nonlocal acked, next_batch, refused
        while time.perf_counter() < deadline:
            b = next_batch
            next_batch += 1
            if rate is not None:
                due = started + b * BATCH / rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
            body = make_body(b, sensors, base_s)
            while True:
                answer = await post(body)
                if answer.status != 503:
                    break
                refused += 1
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
            if answer.status != 202:
                raise RuntimeError(f"ingest answered {answer.status}: {answer.body[:200]!r}")
            acked += int(json.loads(answer.body)["accepted"])

    if client == "raw":
        connections = [RawClient(url) for _ in range(concurrency)]
        try:
            await asyncio.gather(*(worker(functools.partial(c.post, "/api/v1/readings", headers=headers))
                                   for c in connections))
        finally:
            for c in connections:
                await c.close()
    else:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(timeout=60, limits=limits) as pool:

            async def post(body: bytes) -> Answer:
                r = await pool.post(f"{url}/api/v1/readings", content=body, headers=headers)
                return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

            await asyncio.gather(*(worker(post) for _ in range(concurrency)))
    return acked, time.perf_counter() - started, refused
