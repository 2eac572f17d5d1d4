"""A quantified UAV leak into the platform: a measured fugitive emission of its source, and a leak alert.

``ch4_kg = rate_kg_h × hours`` over ``[start, start + hours)``, with the 95 % interval carried the same way (the
rate is taken as constant over the stated duration: the person who states it owns that assumption, docs/uav.md).
The inventory reads these rows with :func:`measured_emissions`, pro-rated to its period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.lab.alerting import NO_SENSOR, open_alert, uav_leak_rule
from ghgwatch.lab.settings import LeakSettings
from ghgwatch.registry.models import EmissionSource, Facility
from ghgwatch.uav.leak_models import MeasuredEmission
from ghgwatch.uav.models import UavFlight


def emission_dict(e: MeasuredEmission) -> dict[str, Any]:
    return {
        "id": e.id, "organization_id": e.organization_id, "facility_id": e.facility_id, "source_id": e.source_id,
        "gas": e.gas, "start": ensure_utc(e.start).isoformat(), "end": ensure_utc(e.end).isoformat(),
        "hours": e.hours, "rate_kg_h": e.rate_kg_h, "lower_kg_h": e.lower_kg_h, "upper_kg_h": e.upper_kg_h,
        "ch4_kg": e.ch4_kg, "lower_kg": e.lower_kg, "upper_kg": e.upper_kg, "alert_id": e.alert_id,
        "provenance": {"basis": e.basis, "flight_id": e.flight_id, "method": e.method, "created_by": e.created_by,
                       "created_at": ensure_utc(e.created_at).isoformat()},
    }


def emission_from_flight(flight: UavFlight, source_id: int, hours: float, start: datetime | None,
                         actor: str) -> MeasuredEmission:
    """The emission of a quantified flight (``rate_kg_h`` set) over ``hours`` from ``start`` (default: the flight)."""
    assert flight.rate_kg_h is not None and flight.lower_kg_h is not None and flight.upper_kg_h is not None
    begin = ensure_utc(start or flight.started_at)
    return MeasuredEmission(
        organization_id=flight.organization_id, facility_id=flight.facility_id, source_id=source_id,
        flight_id=flight.id, basis="uav_flight", gas="ch4", method=flight.method, start=begin,
        end=begin + timedelta(hours=hours), hours=hours, rate_kg_h=flight.rate_kg_h, lower_kg_h=flight.lower_kg_h,
        upper_kg_h=flight.upper_kg_h, ch4_kg=flight.rate_kg_h * hours, lower_kg=flight.lower_kg_h * hours,
        upper_kg=flight.upper_kg_h * hours, created_by=actor)


@dataclass(frozen=True)
class MeasuredLeak:
    """A measured emission's share of a period: ``ch4_kg`` (and bounds) for the overlap of the two."""

    emission_id: int
    facility_id: int
    source_id: int
    ch4_kg: float
    lower_kg: float
    upper_kg: float
    hours: float
    provenance: dict[str, Any]


async def measured_emissions(session: AsyncSession, organization_id: int, start: datetime, end: datetime,
                             facility_id: int | None = None) -> list[MeasuredLeak]:
    """The measured fugitive CH4 of the organisation's sources within ``[start, end)`` (what the inventory reads)."""
    start, end = ensure_utc(start), ensure_utc(end)
    stmt = select(MeasuredEmission).where(MeasuredEmission.organization_id == organization_id,
                                          MeasuredEmission.start < end, MeasuredEmission.end > start)
    if facility_id is not None:
        stmt = stmt.where(MeasuredEmission.facility_id == facility_id)
    out: list[MeasuredLeak] = []
    for e in (await session.execute(stmt.order_by(MeasuredEmission.start, MeasuredEmission.id))).scalars():
        overlap = (min(ensure_utc(e.end), end) - max(ensure_utc(e.start), start)).total_seconds() / 3600.0
        if overlap <= 0:
            continue
        out.append(MeasuredLeak(e.id, e.facility_id, e.source_id, e.rate_kg_h * overlap, e.lower_kg_h * overlap,
                                e.upper_kg_h * overlap, overlap, emission_dict(e)["provenance"]))
    return out


async def leak_alert(session: AsyncSession, flight: UavFlight, settings: LeakSettings,
                     actor: str) -> tuple[int, dict[str, Any]] | None:
    """Open (or update) the facility's leak alert when the flight's rate is at or above the configured limit:
    ``warning`` when the estimate is, ``alarm`` when even the lower bound of its 95 % interval is. The rule id
    names the facility and the source (``ext:uav_leak:<facility>:<source>``, :func:`uav_leak_rule`): leak alerts
    have no sensor, and the database keeps one unresolved alert per (sensor, rule). The reason names the source
    (else the facility) by its registry name."""
    limit = settings.alert_rate_kg_h
    if limit is None or flight.rate_kg_h is None or flight.rate_kg_h < limit:
        return None
    lower = flight.lower_kg_h if flight.lower_kg_h is not None else flight.rate_kg_h
    severity = "alarm" if lower >= limit else "warning"
    if flight.source_id is not None:
        source = await session.get(EmissionSource, flight.source_id)
        where = f"source {source.name if source else flight.source_id}"
    else:
        facility = await session.get(Facility, flight.facility_id)
        where = f"facility {facility.name if facility else flight.facility_id}"
    reason = (f"UAV flight {flight.id} ({flight.method}) measured a CH4 leak of {flight.rate_kg_h:.3g} kg/h "
              f"(95 % {lower:.3g}-{flight.upper_kg_h:.3g}) at {where}; limit {limit:g} kg/h")
    alert, event = await open_alert(
        session, actor=actor, organization_id=flight.organization_id, facility_id=flight.facility_id,
        sensor_id=NO_SENSOR, rule_id=uav_leak_rule(flight.facility_id, flight.source_id), condition="uav_leak",
        severity=severity, reason=reason,
        value=flight.rate_kg_h, threshold=limit, unit="kg/h", at=ensure_utc(flight.started_at),
        details={"flight_id": flight.id, "source_id": flight.source_id, "lower_kg_h": flight.lower_kg_h,
                 "upper_kg_h": flight.upper_kg_h})
    if severity == "alarm" and alert.severity != "alarm":
        alert.severity = "alarm"
    return alert.id, event
