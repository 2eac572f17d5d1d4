"""In-process rate limits: a sliding window (sign-in) and a token bucket (ingest).

State is per process and kept in memory: with several API replicas each enforces its own limit, so the
effective limit is the configured one times the replicas (docs/security.md). Keys are bounded: when more
than ``max_keys`` are tracked the least recently used is dropped, so a flood of distinct keys (addresses,
usernames) cannot exhaust memory; a dropped key starts afresh, which only ever loosens the limit.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` events per ``window_s`` per key."""

    def __init__(self, limit: int, window_s: float, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.max_keys, self._clock = limit, window_s, max_keys, clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, or ``None`` when it may act now."""
        if self.limit <= 0:
            return None
        events = self._recent(key)
        if events is None or len(events) < self.limit:
            return None
        return max(0.0, events[0] + self.window_s - self._clock())

    def hit(self, key: str) -> None:
        if self.limit <= 0:
            return
        events = self._recent(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        events.append(self._clock())
        self._events.move_to_end(key)

    def reset(self, key: str) -> None:
        self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = self._clock() - self.window_s
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events


class TokenBucket:
    """``rate`` actions per second per key, sustained, with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self._clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Take one token; return ``None`` when granted, else the seconds until one is available."""
        if self.rate <= 0:
            return None
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return None


def retry_after_header(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds, at least 1 (RFC 9110 section 10.2.3)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
