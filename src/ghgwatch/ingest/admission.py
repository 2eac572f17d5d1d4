"""Admission control for ingest: refuse new readings (503 + ``Retry-After``) while storage is behind.

The backlog is the number of bus records accepted but not yet committed by the pipeline's consumer group. On
the embedded log it is read directly (high watermark minus committed offset, per partition: exact and free),
so ``ghgwatch up`` slows senders down before its log grows without bound, and the accept-to-stored latency
stays bounded by ``max_backlog`` over the storage rate. On Kafka the bus reports no backlog here (a Kafka
cluster absorbs bursts on disk; its consumer lag is alerted on, see docs/operations.md); the API still answers
503 whenever the bus cannot make a batch durable.

Kept apart from per-device rate limits (which answer 429 for one sender): this protects the whole store.
"""

from __future__ import annotations

import time
from typing import Any

from ghgwatch.bus import topics
from ghgwatch.kit.problems import Problem
from ghgwatch.observability import metrics
from ghgwatch.settings import AdmissionSettings

GROUP = "pipeline"


class Admission:
    def __init__(self, bus: Any, settings: AdmissionSettings, *, check_interval_s: float = 0.05) -> None:
        self._bus = bus
        self._settings = settings
        self._interval = check_interval_s
        self._checked = float("-inf")
        self._backlog: int | None = None
        self._admitted_since_probe = 0

    def backlog(self) -> int | None:
        """Records not yet stored; None: not known for this bus. The bus is probed at most every
        ``check_interval_s``; between probes every request admitted since counts as one more record waiting, so a
        fast sender cannot slip a burst past the limit between two probes."""
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            self._admitted_since_probe = 0
            probe = getattr(self._bus, "backlog", None)
            self._backlog = probe(GROUP, topics.READINGS_RAW) if probe is not None else None
            if self._backlog is not None:
                metrics.INGEST_BACKLOG.set(self._backlog)
        return None if self._backlog is None else self._backlog + self._admitted_since_probe

    def check(self, transport: str) -> None:
        """Raise a 503 problem with ``Retry-After`` when the backlog is over the limit."""
        backlog = self.backlog()
        if backlog is not None and backlog > self._settings.max_backlog:
            metrics.observe_admission_refused(transport, "backlog")
            raise Problem(503, "Storage is behind", "{backlog} records are waiting to be stored (limit {limit}); "
                          "retry later", values={"backlog": backlog, "limit": self._settings.max_backlog},
                          type_="unavailable",
                          headers={"Retry-After": str(self._settings.retry_after_s)})
        self._admitted_since_probe += 1
