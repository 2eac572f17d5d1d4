"""A bounded buffer between the model and a sender, delivering batches with retries and back-off.

Readings are never lost to a transient failure (429, 5xx, connection refused, a dropped MQTT session):
the batch is retried with exponential back-off while new readings wait in the buffer. Only when the
buffer is full is the oldest reading dropped, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from ghgwatch.simulator.senders import FatalError, Reading, RetryableError, Sender


@dataclass
class SimulationStats:
    """Counters of one run. ``skipped`` readings were never produced (dropouts, silent sensors);
    ``dropped`` ones were produced but lost (buffer overflow, or still unsent when the run stopped);
    ``failed`` ones got a non-retryable answer (401, 403, 400, ...)."""

    generated: int = 0
    backfilled: int = 0
    skipped: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    retries: int = 0
    dropped: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(message)


@dataclass
class Backoff:
    first_s: float = 0.5
    max_s: float = 15.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.max_s, self.first_s * 2.0 ** min(attempt, 16))
        if retry_after is not None:
            base = min(self.max_s, max(base, retry_after))
        return base * random.uniform(0.8, 1.2)  # jitter, so many simulators do not retry in step


class Delivery:
    """Holds readings and sends them in batches of at most ``batch_size`` from a background task."""

    def __init__(self, sender: Sender, stats: SimulationStats, *, batch_size: int = 1000,
                 capacity: int = 100_000, flush_interval_s: float = 1.0, backoff: Backoff | None = None) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError("batch_size must be between 1 and 10,000 (the ingest limit)")
        self.sender = sender
        self.stats = stats
        self.batch_size = batch_size
        self.capacity = max(capacity, batch_size)
        self.flush_interval_s = flush_interval_s
        self.backoff = backoff or Backoff()
        self._buffer: deque[Reading] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._deadline: float | None = None

    def __len__(self) -> int:
        return len(self._buffer)

    def put(self, readings: Sequence[Reading]) -> None:
        for reading in readings:
            if len(self._buffer) >= self.capacity:
                self._buffer.popleft()
                self.stats.dropped += 1
            self._buffer.append(reading)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    async def deliver(self, batch: Sequence[Reading]) -> bool:
        """Send one batch, retrying transient failures; ``False`` if it was given up at the drain deadline."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                result = await self.sender.send(batch)
            except RetryableError as exc:
                delay = self.backoff.delay(attempt, exc.retry_after)
                if self._deadline is not None and loop.time() + delay > self._deadline:
                    self.stats.note(f"gave up at shutdown: {exc}")
                    return False
                self.stats.retries += 1
                attempt += 1
                if attempt == 1 or attempt % 10 == 0:
                    self.stats.note(f"retrying: {exc}")
                await asyncio.sleep(delay)
                continue
            except FatalError as exc:
                self.stats.requests += 1
                self.stats.failed += len(batch)
                self.stats.note(str(exc))
                return True
            self.stats.requests += 1
            self.stats.sent += len(batch)
            self.stats.accepted += result.accepted
            self.stats.rejected += result.rejected
            for error in result.errors:
                self.stats.note(f"rejected {error}")
            return True

    async def _nap(self) -> None:
        """Wait for a full batch, ``close``, or the flush interval, whichever comes first."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)

    async def run(self) -> None:
        """Send until ``close`` is called and the buffer is empty (or the drain deadline passes)."""
        while True:
            if len(self._buffer) < self.batch_size and not self._closing:
                await self._nap()
            if not self._buffer:
                if self._closing:
                    return
                continue
            batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
            if not await self.deliver(batch):
                self.stats.dropped += len(batch) + len(self._buffer)
                self._buffer.clear()
                return

    def close(self, drain_s: float) -> None:
        """Stop accepting time for new readings: flush what is left within ``drain_s`` seconds."""
        self._closing = True
        self._deadline = asyncio.get_running_loop().time() + drain_s
        self._wake.set()
