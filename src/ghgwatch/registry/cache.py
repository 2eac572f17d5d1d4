"""An in-memory view of the sensors for the hot paths (ingest, pipeline), refreshed from the database."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ghgwatch.registry.models import EmissionSource, Sensor
from ghgwatch.store import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SensorMeta:
    id: int
    organization_id: int
    facility_id: int
    source_id: int
    source_type: str
    kind: str
    unit: str
    range_min: float | None
    range_max: float | None
    warning_level: float | None
    alarm_level: float | None
    expected_interval_s: float
    location: str | None
    active: bool


class SensorCache:
    """Sensors by id. Reloads everything every ``max_age_s``, and when asked for an id it has not seen
    missing in the last second (so a sensor created a moment ago is seen at once, while a stream of unknown
    ids costs at most one reload per new id per second, and never more than one per ``min_reload_s``)."""

    def __init__(self, db: Database, *, max_age_s: float = 5.0, min_reload_s: float = 0.05) -> None:
        self._db = db
        self._max_age_s = max_age_s
        self._min_reload_s = min_reload_s
        self._sensors: dict[int, SensorMeta] = {}
        self._loaded_at = float("-inf")
        self._missing: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self._generation = 0
        """Bumped by :meth:`invalidate`: a reload that began before it may have missed the change."""

    async def refresh(self) -> None:
        generation = self._generation
        async with self._lock, self._db.reads() as session:
            rows = (await session.execute(
                select(Sensor, EmissionSource.type).join(EmissionSource, Sensor.source_id == EmissionSource.id)
            )).all()
            self._sensors = {
                s.id: SensorMeta(s.id, s.organization_id, s.facility_id, s.source_id, src_type.value, s.kind.value,
                                 s.unit, s.range_min, s.range_max, s.warning_level, s.alarm_level,
                                 s.expected_interval_s, s.location, s.active)
                for s, src_type in rows
            }
            # A reload that started before an invalidation may have read the registry before the change (a sensor
            # created a moment ago): keep its rows but let the next lookup load again.
            self._loaded_at = time.monotonic() if generation == self._generation else float("-inf")

    async def current(self) -> dict[int, SensorMeta]:
        if time.monotonic() - self._loaded_at > self._max_age_s:
            await self._refresh_or_keep()
        return self._sensors

    async def _refresh_or_keep(self) -> None:
        """Reload; if the database is unreachable, keep serving what was loaded (ingest goes on during a
        database outage) and try again in a second. With nothing loaded yet, the error propagates."""
        try:
            await self.refresh()
        except (SQLAlchemyError, OSError) as exc:
            if self._loaded_at == float("-inf"):
                raise
            log.warning("reloading sensors failed (%s); using the %d loaded before", exc, len(self._sensors))
            self._loaded_at = time.monotonic() - self._max_age_s + 1.0

    async def lookup(self, ids: set[int]) -> dict[int, SensorMeta]:
        """Sensors by id; reloads when an id is unknown and was not already missing a moment ago."""
        sensors = await self.current()
        unknown = ids - sensors.keys()
        if not unknown:
            return sensors
        now = time.monotonic()
        fresh = [i for i in unknown if now - self._missing.get(i, float("-inf")) > 1.0]
        if fresh and now - self._loaded_at > self._min_reload_s:
            await self._refresh_or_keep()
            sensors = self._sensors
        if len(self._missing) > 10_000:
            self._missing.clear()
        for i in ids - sensors.keys():
            self._missing[i] = now
        return sensors

    def invalidate(self) -> None:
        self._generation += 1
        self._loaded_at = float("-inf")
        self._missing.clear()
