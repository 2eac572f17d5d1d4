"""Admission control for ingest: refuse new readings (503 + ``Retry-After``) while storage is behind.

The backlog is counted in readings, so that the bound on the accept-to-stored latency does not depend on how senders
batch: a bus record holds the readings of one sensor from one request, one or ten thousand. On the embedded log the
records not yet committed by the pipeline's consumer group are read directly (high watermark minus committed offset,
per partition: exact and free) and turned into readings with the mean readings per record of recent requests; so
``ghgwatch up`` slows senders down before its log grows without bound, and the accept-to-stored latency stays bounded
by ``max_backlog`` over the storage rate. On Kafka the bus reports no backlog here: a Kafka cluster keeps bursts on
disk, its consumer lag is alerted on (docs/operations.md), and a refused request would delay any methane alarm it
carries, which the accept lane judges the moment it is accepted. The API still answers 503 whenever the bus cannot
make a batch durable.

Kept apart from per-device rate limits (which answer 429 for one sender): this protects the whole store.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ghgwatch.bus import topics
from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.kit.problems import Problem
from ghgwatch.observability import metrics
from ghgwatch.settings import AdmissionSettings

GROUP = "pipeline"
DECAY = 0.99
"""ghgwatch choice: weight of the past in the running means of readings per record and per request, per accepted
request (about the last hundred requests count)."""


class Admission:
    def __init__(self, bus: Any, settings: AdmissionSettings, *, check_interval_s: float = 0.05) -> None:
        self._probe = getattr(bus, "backlog", None)
        """The bus's backlog probe, ``(group, topic) -> records``; None: the bus has none (Kafka)."""
        self._settings = settings
        self._interval = check_interval_s
        self._checked = float("-inf")
        self._records: int | None = None
        self._admitted_since_probe = 0.0
        # Decayed sums over accepted requests: readings, records, requests (the running means' parts).
        self._sum_readings = self._sum_records = self._sum_requests = 0.0

    @property
    def probes(self) -> bool:
        """Whether the bus reports a backlog (the embedded log does; Kafka does not)."""
        return self._probe is not None

    def on_accepted(self, batches: Sequence[SensorBatch]) -> None:
        """An accepted-readings hook (``ingest.service.accepted_hooks``): learns the size of records and requests."""
        if not batches:
            return
        self._sum_readings = self._sum_readings * DECAY + sum(len(b.ts) for b in batches)
        self._sum_records = self._sum_records * DECAY + len(batches)
        self._sum_requests = self._sum_requests * DECAY + 1

    @property
    def readings_per_record(self) -> float:
        return self._sum_readings / self._sum_records if self._sum_records else 1.0

    @property
    def readings_per_request(self) -> float:
        return self._sum_readings / self._sum_requests if self._sum_requests else 1.0

    def backlog(self) -> int | None:
        """Readings not yet stored, estimated; None: not known for this bus. The bus is probed at most every
        ``check_interval_s``; between probes every request admitted since counts as a request of the mean size more
        waiting, so a fast sender cannot slip a burst past the limit between two probes."""
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            self._admitted_since_probe = 0.0
            self._records = self._probe(GROUP, topics.READINGS_RAW) if self._probe is not None else None
            if self._records is not None:
                metrics.INGEST_BACKLOG.set(self._records)
                metrics.INGEST_BACKLOG_READINGS.set(round(self._records * self.readings_per_record))
        if self._records is None:
            return None
        return round(self._records * self.readings_per_record + self._admitted_since_probe)

    def check(self, transport: str) -> None:
        """Raise a 503 problem with ``Retry-After`` when the backlog is over the limit."""
        backlog = self.backlog()
        if backlog is not None and backlog > self._settings.max_backlog:
            metrics.observe_admission_refused(transport, "backlog")
            raise Problem(503, "Storage is behind", "about {backlog} readings are waiting to be stored (limit "
                          "{limit}); retry later", values={"backlog": backlog, "limit": self._settings.max_backlog},
                          type_="unavailable",
                          headers={"Retry-After": str(self._settings.retry_after_s)})
        self._admitted_since_probe += self.readings_per_request
