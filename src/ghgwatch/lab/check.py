"""Instrument check: a lab sample compared with the stored reading of each sensor of that gas at its source.

The reading nearest in time to ``sampled_at`` within ± ``check_window_s`` is taken from ``readings`` (readings
already moved to the lake are not looked at). The lab value is converted to the sensor's unit (``%``, ``ppm``,
``ppb``; a mass concentration cannot be compared without the gas's temperature and pressure). The sensor has no
tolerance field, so the tolerance is the larger of ``tolerance_relative`` × the lab value and
``tolerance_span_fraction`` × the sensor's span (``LabSettings``; project defaults, docs/lab.md). A difference
beyond it flags the sample ``sensor_drift`` and opens a calibration alert on the sensor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.lab.alerting import CALIBRATION_RULE, open_alert
from ghgwatch.lab.models import LabResult
from ghgwatch.lab.parse import normalise_unit, to_unit
from ghgwatch.lab.settings import LabSettings
from ghgwatch.readings.models import Reading
from ghgwatch.registry.models import Sensor, SensorKind

SENSOR_KIND = {"ch4": SensorKind.METHANE, "co2": SensorKind.CO2, "n2o": SensorKind.N2O}
_US = 1_000_000


def tolerance(sensor: Sensor, lab_value: float, settings: LabSettings) -> float:
    span = 0.0
    if sensor.range_min is not None and sensor.range_max is not None:
        span = abs(sensor.range_max - sensor.range_min)
    return max(settings.tolerance_relative * abs(lab_value), settings.tolerance_span_fraction * span)


async def nearest_reading(session: AsyncSession, sensor_id: int, at: datetime,
                          window_s: float) -> tuple[int, float] | None:
    """``(ts in µs, value)`` of the reading nearest to ``at`` within ± ``window_s``, or ``None``."""
    t = round(ensure_utc(at).timestamp() * _US)
    w = round(window_s * _US)
    base = select(Reading.ts, Reading.value).where(Reading.sensor_id == sensor_id)
    before = (await session.execute(base.where(Reading.ts <= t, Reading.ts >= t - w)
                                    .order_by(Reading.ts.desc()).limit(1))).first()
    after = (await session.execute(base.where(Reading.ts > t, Reading.ts <= t + w)
                                   .order_by(Reading.ts).limit(1))).first()
    found = [(int(r[0]), float(r[1])) for r in (before, after) if r is not None]
    return min(found, key=lambda r: abs(r[0] - t)) if found else None


async def check_result(session: AsyncSession, result: LabResult, settings: LabSettings,
                       actor: str) -> list[dict[str, Any]]:
    """Fill ``result.checks`` and its flags; returns the alert events to publish after the commit."""
    kind = SENSOR_KIND.get(result.gas)
    if kind is None or result.source_id is None:
        return []
    sensors = (await session.execute(select(Sensor).where(Sensor.source_id == result.source_id, Sensor.kind == kind,
                                                          Sensor.active.is_(True)).order_by(Sensor.id))).scalars()
    checks: list[dict[str, Any]] = []
    flags = set(result.flags)
    events: list[dict[str, Any]] = []
    for sensor in sensors:
        entry: dict[str, Any] = {"sensor_id": sensor.id, "sensor_unit": sensor.unit}
        checks.append(entry)
        unit = normalise_unit(sensor.unit)
        lab_value = None if unit is None else to_unit(result.concentration, result.unit, unit)
        if lab_value is None:
            entry["outcome"] = "unit_not_comparable"
            flags.add("unit_not_comparable")
            continue
        found = await nearest_reading(session, sensor.id, result.sampled_at, settings.check_window_s)
        if found is None:
            entry["outcome"] = "no_sensor_reading"
            flags.add("no_sensor_reading")
            continue
        ts_us, value = found
        reading_at = datetime.fromtimestamp(ts_us / _US, UTC)
        allowed = tolerance(sensor, lab_value, settings)
        difference = value - lab_value
        drift = abs(difference) > allowed
        entry |= {"reading_ts": reading_at.isoformat(), "reading_value": value, "lab_value": lab_value,
                  "difference": difference, "tolerance": allowed, "outcome": "drift" if drift else "agrees"}
        if drift:
            flags.add("sensor_drift")
            reason = (f"sensor {sensor.id} read {value:g} {sensor.unit} at {reading_at:%Y-%m-%d %H:%M:%S}Z; lab sample "
                      f"{result.sample_id} has {lab_value:g} {sensor.unit} (difference {difference:+g}, tolerance "
                      f"{allowed:g})")
            alert, event = await open_alert(
                session, actor=actor, organization_id=result.organization_id, facility_id=sensor.facility_id,
                sensor_id=sensor.id, rule_id=CALIBRATION_RULE, condition="calibration", severity="warning",
                reason=reason, value=difference, threshold=allowed, unit=sensor.unit, at=reading_at,
                details={"lab_result_id": result.id, "sample_id": result.sample_id, "lab_value": lab_value,
                         "reading_value": value})
            entry["alert_id"] = alert.id
            events.append(event)
        else:
            flags.add("sensor_agrees")
    result.checks = checks
    result.flags = sorted(flags)
    return events
