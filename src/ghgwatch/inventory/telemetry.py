"""Measured methane of a facility from its stored telemetry (Tier 3 activity data).

Ventilation methane of a ventilation shaft = air flow (sensor kind ``air_flow``) × CH4 concentration
(kind ``methane``, % vol) integrated over time; drainage methane of a drainage station or gas suction
unit = gas flow (kind ``gas_flow``) × CH4 % the same way (METHODOLOGY §1.3 [V: S2]). Drained gas recovered
through a flare, a gas engine or a boiler is measured the same way (``gas_flow`` × CH4 % on that source)
and subtracted from the emitted methane: flared gas as the flare's CO2 and slip (1.B.1.a), utilised gas as
a ``methane_utilisation`` activity, the CO2 of its combustion under 1.A (issue 13 item 6). The series are the
1-minute rollups: each minute's mean value, placed at the middle of the minute, both sensors joined on
the minute; :func:`ghgwatch.inventory.measured.integrate_ch4` integrates them with a nominal interval of
60 s and reports coverage and gap treatment. When a source has several flow or methane sensors, the
active one with the lowest id is used (the choice is reported).

Volumes are at the reference conditions of the flow meters, taken as 20 °C and 101.325 kPa (Russian
commercial gas accounting, GOST 2939-63 [M]; docs/inventory.md), so the activity says ``"20C"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.inventory.measured import GapPolicy, integrate_ch4
from ghgwatch.kit import units
from ghgwatch.readings import history
from ghgwatch.readings.models import Rollup1m
from ghgwatch.readings.query import to_us
from ghgwatch.registry.models import EmissionSource, Facility, Sensor, SensorKind, SourceType

MINUTE_US = Rollup1m.BUCKET_US
GAS_REFERENCE = "20C"
_FLOW_KIND = {
    SourceType.VENTILATION_SHAFT: (SensorKind.AIR_FLOW, "ventilation"),
    SourceType.DRAINAGE_STATION: (SensorKind.GAS_FLOW, "drainage"),
    SourceType.GAS_SUCTION_UNIT: (SensorKind.GAS_FLOW, "drainage"),
    # Drained gas recovered (issue 13 item 6): burned in a flare, or used in a gas engine or a boiler.
    SourceType.FLARE: (SensorKind.GAS_FLOW, "flared"),
    SourceType.GAS_ENGINE: (SensorKind.GAS_FLOW, "utilized"),
    SourceType.BOILER: (SensorKind.GAS_FLOW, "utilized"),
}
_LIBERATED = ("ventilation", "drainage")


@dataclass
class SourceMeasurement:
    source_id: int
    source: str
    stream: str  # "ventilation" | "drainage" | "flared" | "utilized"
    flow_sensor: int | None
    ch4_sensor: int | None
    integration: dict[str, Any] | None
    note: str = ""

    @property
    def ch4_m3(self) -> float:
        return float(self.integration["ch4_m3"]) if self.integration else 0.0


@dataclass
class FacilityMeasurement:
    facility_id: int
    facility: str
    start: datetime
    end: datetime
    gap_policy: GapPolicy
    sources: list[SourceMeasurement] = field(default_factory=list)

    def total(self, stream: str) -> float:
        return sum(s.ch4_m3 for s in self.sources if s.stream == stream)

    @property
    def measured(self) -> bool:
        """Liberated methane (ventilation or drainage) was measured; recovered gas alone is not a measurement
        of the mine's emission."""
        return any(s.stream in _LIBERATED and s.integration is not None and s.integration["samples"] > 0
                   for s in self.sources)

    @property
    def coverage(self) -> float:
        """Coverage of the whole facility: the lowest of its integrated sources (0 when none)."""
        values = [float(s.integration["coverage"]) for s in self.sources if s.integration is not None]
        return min(values) if values else 0.0

    def activity(self) -> dict[str, Any]:
        """The ``coal_mine_measured`` activity of the calc input."""
        return {
            "id": f"measured-facility-{self.facility_id}",
            "type": "coal_mine_measured",
            "facility": self.facility,
            "ventilation_ch4_m3": self.total("ventilation"),
            "drainage_ch4_m3": self.total("drainage"),
            "utilized_ch4_m3": self.total("utilized"),
            "flared_ch4_m3": self.total("flared"),
            "gas_reference": GAS_REFERENCE,
            "note": f"telemetry {self.start.isoformat()} to {self.end.isoformat()}, coverage {self.coverage:.4f}, "
                    f"gaps: {self.gap_policy}",
        }

    def activities(self) -> list[dict[str, Any]]:
        """The measured mine, and the combustion of the utilised methane (1.A) when there is any."""
        out = [self.activity()]
        utilised = self.total("utilized")
        if utilised > 0:
            out.append({
                "id": f"utilised-facility-{self.facility_id}",
                "type": "methane_utilisation",
                "facility": self.facility,
                "ch4_m3": utilised,
                "gas_reference": GAS_REFERENCE,
                "note": f"gas engines and boilers, telemetry {self.start.isoformat()} to {self.end.isoformat()}",
            })
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "facility_id": self.facility_id,
            "facility": self.facility,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "gap_policy": self.gap_policy,
            "ventilation_ch4_m3": self.total("ventilation"),
            "drainage_ch4_m3": self.total("drainage"),
            "utilized_ch4_m3": self.total("utilized"),
            "flared_ch4_m3": self.total("flared"),
            "gas_reference": GAS_REFERENCE,
            "coverage": self.coverage,
            "sources": [
                {"source_id": s.source_id, "source": s.source, "stream": s.stream, "flow_sensor": s.flow_sensor,
                 "ch4_sensor": s.ch4_sensor, "ch4_m3": s.ch4_m3, "note": s.note, "integration": s.integration}
                for s in self.sources
            ],
        }


async def _minutes(session: AsyncSession, sensor_id: int, lo: int, hi: int) -> dict[int, float]:
    # Through the hot+cold layer: minutes of days retention moved to the data lake are read from Parquet.
    rows = await history.buckets(session, sensor_id, lo, hi, Rollup1m)
    return {int(b): s / c for b, s, c in zip(rows.bucket.tolist(), rows.sum.tolist(), rows.count.tolist(),
                                             strict=True) if c}


def _pick(sensors: list[Sensor], kind: SensorKind) -> Sensor | None:
    found = sorted((s for s in sensors if s.kind is kind and s.active), key=lambda s: s.id)
    return found[0] if found else None


async def _source(session: AsyncSession, source: EmissionSource, sensors: list[Sensor], start: datetime,
                  end: datetime, gap_policy: GapPolicy) -> SourceMeasurement:
    kind, stream = _FLOW_KIND[source.type]
    flow, ch4 = _pick(sensors, kind), _pick(sensors, SensorKind.METHANE)
    out = SourceMeasurement(source.id, source.name, stream, None if flow is None else flow.id,
                            None if ch4 is None else ch4.id, None)
    if flow is None or ch4 is None:
        out.note = f"no {kind.value} sensor" if flow is None else "no methane sensor"
        return out
    try:
        f_scale, f_off = units.affine(flow.unit, "m3/min")
        c_scale, c_off = units.affine(ch4.unit, "%", "methane")
    except units.UnitError as exc:
        out.note = str(exc)
        return out
    lo, hi = to_us(start), to_us(end)
    q, c = await _minutes(session, flow.id, lo, hi), await _minutes(session, ch4.id, lo, hi)
    buckets = sorted(q.keys() & c.keys())
    ts = (np.array(buckets, dtype=np.float64) + MINUTE_US / 2) / 1e6
    q_arr = np.array([q[b] for b in buckets], dtype=np.float64) * f_scale + f_off
    c_arr = np.array([c[b] for b in buckets], dtype=np.float64) * c_scale + c_off
    result = integrate_ch4(ts, q_arr, c_arr, start=start, end=end, interval_s=MINUTE_US / 1e6,
                           gap_policy=gap_policy)
    out.integration = result.as_dict()
    return out


async def measure_facility(session: AsyncSession, facility: Facility, start: datetime, end: datetime,
                           gap_policy: GapPolicy = "mean") -> FacilityMeasurement:
    """Integrate every ventilation shaft and drainage source of ``facility`` over ``[start, end)``."""
    sources = list((await session.execute(
        select(EmissionSource).where(EmissionSource.facility_id == facility.id,
                                     EmissionSource.type.in_(list(_FLOW_KIND))).order_by(EmissionSource.id)
    )).scalars())
    sensors = list((await session.execute(
        select(Sensor).where(Sensor.source_id.in_([s.id for s in sources]))
    )).scalars()) if sources else []
    out = FacilityMeasurement(facility.id, facility.name, start, end, gap_policy)
    for source in sources:
        mine = [s for s in sensors if s.source_id == source.id]
        out.sources.append(await _source(session, source, mine, start, end, gap_policy))
    return out
