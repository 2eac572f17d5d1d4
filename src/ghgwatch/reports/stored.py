"""Report inputs from the database: methane-safety exceedances of a facility's stored readings.

Each methane sensor of the facility is checked against its own ``alarm_level`` (sensors without one are
skipped and listed); the raw readings of the month are used, not rollups, so that start, end and peak
are those of the readings. The inputs' SHA-256 covers the facility, the month, every sensor's alarm level
and every reading (sensor id, timestamp in µs, value), in canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.readings import history
from ghgwatch.readings.query import from_us, to_us
from ghgwatch.registry.models import Facility, Sensor, SensorKind
from ghgwatch.reports.methane_safety import Exceedance, Reading, find_exceedances, month_bounds


@dataclass
class FacilitySafety:
    exceedances: list[Exceedance]
    thresholds: dict[str, float]
    skipped: list[str]
    inputs_sha256: str
    readings: int


def sensor_label(sensor: Sensor) -> str:
    return f"{sensor.name} (#{sensor.id})"


async def facility_exceedances(session: AsyncSession, facility: Facility, month: str,
                               tz: str = "UTC") -> FacilitySafety:
    """Exceedances of every methane sensor of ``facility`` above its alarm level during ``month`` (in ``tz``)."""
    start, end = month_bounds(month, tz)
    lo, hi = to_us(start), to_us(end)
    sensors = list((await session.execute(
        select(Sensor).where(Sensor.facility_id == facility.id, Sensor.kind == SensorKind.METHANE)
        .order_by(Sensor.id))).scalars())
    digest = hashlib.sha256()
    key: dict[str, object] = {"facility_id": facility.id, "month": month}
    if tz.upper() != "UTC":  # the month is another span of time; UTC keeps the earlier hashes
        key["tz"] = tz
    digest.update(json.dumps(key, sort_keys=True).encode())
    found: list[Exceedance] = []
    thresholds: dict[str, float] = {}
    skipped: list[str] = []
    count = 0
    for sensor in sensors:
        label = sensor_label(sensor)
        if sensor.alarm_level is None:
            skipped.append(label)
            continue
        stored = await history.raw(session, sensor.id, lo, hi)  # database, or the data lake for old days
        rows = list(zip(stored.ts.tolist(), stored.value.tolist(), strict=True))
        count += len(rows)
        thresholds[label] = sensor.alarm_level
        digest.update(json.dumps({"sensor": sensor.id, "alarm_level": sensor.alarm_level,
                                  "readings": [[int(ts), float(v)] for ts, v in rows]},
                                 separators=(",", ":")).encode())
        found.extend(find_exceedances((Reading(from_us(ts), label, v) for ts, v in rows), sensor.alarm_level, month,
                                        tz))
    return FacilitySafety(found, thresholds, skipped, digest.hexdigest(), count)
