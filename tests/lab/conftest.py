from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ghgwatch.readings.writer import SensorRows, write_batch
from ghgwatch.security.principal import SYSTEM
from ghgwatch.store import Database
from tests.conftest import World

# Two days ago on the hour: inside any retention window, never in the future.
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


@dataclass
class Station:
    """A drainage line of facility A with a 0-5 % methane sensor (default tolerance 0.125 % by its span)."""

    source_id: int
    source_name: str
    sensor_id: int


async def write_readings(db: Database, sensor_id: int, points: list[tuple[datetime, float]]) -> None:
    ts = np.array([round(t.timestamp() * 1e6) for t, _ in points], dtype=np.int64)
    values = np.array([v for _, v in points], dtype=np.float64)
    await write_batch(db, [SensorRows(sensor_id, ts, values, np.zeros(len(points), dtype=np.int16))], [])


@pytest.fixture
async def station(world: World) -> Station:
    from ghgwatch.registry import service
    from ghgwatch.registry.schemas import SensorIn, SourceIn
    from ghgwatch.registry.specs import SENSORS, SOURCES

    async with world.db.transaction() as s:
        src = await service.create(s, SYSTEM, SOURCES, SourceIn(
            facility_id=world.facility_a, name="Drainage line 2", type="drainage_station"))  # type: ignore[arg-type]
        sen = await service.create(s, SYSTEM, SENSORS, SensorIn(
            source_id=src.id, name="CH4 line 2", kind="methane", unit="%",  # type: ignore[attr-defined, arg-type]
            range_min=0, range_max=5))
    return Station(src.id, "Drainage line 2", sen.id)  # type: ignore[attr-defined]
