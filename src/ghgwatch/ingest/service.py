"""Accept parsed readings from a device: check the sensors, group per sensor, publish durably."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghgwatch.bus import Bus, Record, topics
from ghgwatch.ingest.parse import Parsed
from ghgwatch.ingest.wire import SensorBatch, decode, encode
from ghgwatch.kit.ids import short_ref
from ghgwatch.observability import metrics, tracing
from ghgwatch.registry.cache import SensorCache

log = logging.getLogger(__name__)
AcceptedHook = Callable[[Sequence[SensorBatch]], None]
"""Told of every published batch once it is durable (synchronous, must not block: it queues work)."""


def accepted_hooks(extras: dict[str, Any]) -> list[AcceptedHook]:
    """The process's accepted-readings hooks (``ctx.extras["accepted_hooks"]``: the alert service's live lane or the
    accept lane, whichever runs in the process), one list shared by every ingestor of the process (HTTP, MQTT, CoAP),
    so that a hook registered after an ingestor was built still hears its readings."""
    hooks: list[AcceptedHook] = extras.setdefault("accepted_hooks", [])
    return hooks


def ingestor_of(extras: dict[str, Any]) -> Ingestor:
    """The HTTP ingest's ingestor where it runs in the process (role ``all``), else a new one on the shared hooks:
    readings accepted over MQTT or CoAP reach the alert lanes exactly like HTTP ones."""
    found: Ingestor | None = extras.get("ingestor")
    return found if found is not None else Ingestor(extras["bus"], extras["sensors"], accepted_hooks(extras))


@dataclass
class IngestResult:
    accepted: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ref: str = ""

    def body(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


class Ingestor:
    """Shared by the HTTP endpoint and the MQTT bridge."""

    def __init__(self, bus: Bus, sensors: SensorCache, hooks: list[AcceptedHook] | None = None) -> None:
        self.bus = bus
        self.sensors = sensors
        self.hooks = hooks if hooks is not None else []

    async def accept(self, parsed: Parsed, *, organization_id: int, device_id: int, transport: str,
                     flags: int = 0) -> IngestResult:
        """Check, group and publish; returns once the accepted readings are durable on the bus."""
        with tracing.span("ingest.accept", transport=transport, organization=organization_id, device=device_id):
            batches, records, result = await self._prepare(parsed, organization_id=organization_id,
                                                           device_id=device_id, transport=transport, flags=flags)
            with tracing.span("bus.publish", topic=topics.READINGS_RAW, records=len(records)):
                await self.publish(records, batches)
        return result

    async def publish(self, records: list[Record], batches: Sequence[SensorBatch] | None = None) -> None:
        """Publish durably, then tell the hooks; ``batches`` (the records' contents, in order) spares decoding
        the records again for them."""
        if not records:
            return
        started = time.perf_counter()
        await self.bus.publish(topics.READINGS_RAW, records)
        metrics.observe_publish(topics.READINGS_RAW, time.perf_counter() - started)
        if self.hooks:
            if batches is None:
                batches = [decode(r.value) for r in records]
            for hook in self.hooks:
                try:
                    hook(batches)
                except Exception:  # the readings are durable; the pipeline still sees them
                    log.exception("accepted-readings hook %s failed", hook)

    async def prepare(self, parsed: Parsed, *, organization_id: int, device_id: int, transport: str,
                      flags: int = 0) -> tuple[list[Record], IngestResult]:
        """The bus records of the accepted readings, and the answer for the sender (nothing published)."""
        _, records, result = await self._prepare(parsed, organization_id=organization_id, device_id=device_id,
                                                 transport=transport, flags=flags)
        return records, result

    async def _prepare(self, parsed: Parsed, *, organization_id: int, device_id: int, transport: str,
                       flags: int = 0) -> tuple[list[SensorBatch], list[Record], IngestResult]:
        ref = short_ref()
        rejected: list[tuple[int, str]] = [(i, msg) for i, _, msg in parsed.rejected]
        reasons: dict[str, int] = {}
        for _, reason, _ in parsed.rejected:
            reasons[reason] = reasons.get(reason, 0) + 1
        known = await self.sensors.lookup(set(parsed.sensors))
        groups: dict[tuple[int, str | None], tuple[list[int], list[float]]] = {}
        accepted = 0
        for sensor, ts, value, unit, index in zip(parsed.sensors, parsed.ts_us, parsed.values, parsed.units,
                                                  parsed.indexes, strict=True):
            meta = known.get(sensor)
            if meta is None or meta.organization_id != organization_id:
                rejected.append((index, f"unknown sensor {sensor}"))
                reasons["unknown_sensor"] = reasons.get("unknown_sensor", 0) + 1
                continue
            bucket = groups.get((sensor, unit))
            if bucket is None:
                groups[(sensor, unit)] = bucket = ([], [])
            bucket[0].append(ts)
            bucket[1].append(value)
            accepted += 1
        now_us = time.time_ns() // 1000
        batches = [SensorBatch(sensor, unit, ts, values, organization_id, device_id, transport, now_us, ref, flags)
                   for (sensor, unit), (ts, values) in groups.items()]
        records = [encode(b) for b in batches]
        if tracing.tracing_enabled() and records:  # the trace context travels in the record headers
            with (contextlib.nullcontext() if tracing.has_current_span()
                  else tracing.span("ingest.accept", transport=transport, organization=organization_id)):
                headers = tracing.bus_headers()
            records = [Record(r.key, r.value, headers) for r in records]
        metrics.observe_accepted(transport, accepted)
        for reason, n in reasons.items():
            metrics.observe_rejected(reason, transport, n)
        rejected.sort()
        return batches, records, IngestResult(accepted, [{"index": i, "error": e} for i, e in rejected], ref)
