from __future__ import annotations

import asyncio

from ghgwatch.bus import Consumer, Message, Record


def records(n: int, *, keys: int = 5, prefix: str = "v") -> list[Record]:
    """``n`` records over ``keys`` sensor keys; values ``<prefix><i>`` in publish order."""
    return [Record(key=f"sensor-{i % keys}".encode(), value=f"{prefix}{i}".encode()) for i in range(n)]


async def drain(consumer: Consumer, expected: int, *, deadline_s: float = 20.0, batch: int = 500) -> list[Message]:
    """Poll until ``expected`` messages arrived (or the deadline passed), then make sure no more come."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    got: list[Message] = []
    while len(got) < expected and loop.time() < deadline:
        got += await consumer.poll(batch, timeout_s=0.5)
    got += await consumer.poll(batch, timeout_s=0.3)
    return got


def values(messages: list[Message]) -> list[bytes]:
    return [m.value for m in messages]


def by_key(messages: list[Message]) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    for m in messages:
        out.setdefault(m.key, []).append(m.value)
    return out
