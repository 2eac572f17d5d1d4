"""A pipeline hook that exports the latest gas readings and measured emission rates as gauges.

After each stored batch it sets ``ghgwatch_sensor_value{sensor,kind,facility}`` for gas sensors and
``ghgwatch_emission_rate_kg_per_hour{gas,facility,source}`` for ventilation shafts and drainage stations
that have both a flow meter and a methane meter. Labels are registry ids (``sensor="12"``), which stay
stable when a facility or source is renamed; every label set goes through
:class:`~ghgwatch.observability.sensors.SensorSeries`, so the configured limit holds.

Measured methane flow (IPCC 2006 Vol. 2 Ch. 4 §4.1.3, Tier 3: ventilation air and drainage volumes times
concentration; METHODOLOGY.md §1.3)::

    CH4 [kg/h] = Q [m3/min] × c_CH4 [% vol] / 100 × 60 [min/h] × 0.67 [kg/m3]

with 0.67 kg/m3 the CH4 density IPCC uses, "taken at 20 °C and 1 atmosphere" (IPCC 2006 Eq. 4.1.7 text;
METHODOLOGY.md §0 [V: S2]).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ghgwatch.kit.units import UnitError, affine
from ghgwatch.observability.sensors import GAS_KINDS, SensorSeries

if TYPE_CHECKING:
    from ghgwatch.pipeline.runner import StoredBatch
    from ghgwatch.registry.cache import SensorMeta

log = logging.getLogger(__name__)

CH4_DENSITY_KG_PER_M3 = 0.67
"""IPCC 2006 Vol. 2 Ch. 4, Eq. 4.1.7 text: CH4 density at 20 °C and 1 atm (METHODOLOGY.md §0 [V: S2])."""
MINUTES_PER_HOUR = 60.0

#: Sources whose emission is measured as flow × concentration (ventilation air methane, drainage gas).
MEASURED_SOURCE_TYPES = frozenset({"ventilation_shaft", "drainage_station"})
#: Flow meters (air flow of a shaft fan, mixture flow of a drainage pipeline).
FLOW_KINDS = frozenset({"air_flow", "gas_flow"})
#: Units the gauges are exported in, per sensor kind (the reference units of pipeline validation).
CANONICAL_UNITS = {"methane": "%", "co2": "%", "n2o": "%", "air_flow": "m3/min", "gas_flow": "m3/min"}


class SensorLookup(Protocol):
    """What the hook needs of :class:`~ghgwatch.registry.cache.SensorCache`."""

    async def lookup(self, ids: set[int]) -> dict[int, SensorMeta]: ...


def methane_kg_per_hour(flow_m3_per_min: float, ch4_percent: float) -> float:
    """Methane mass flow of a gas stream from its volume flow and CH4 volume fraction (see module doc)."""
    return flow_m3_per_min * (ch4_percent / 100.0) * MINUTES_PER_HOUR * CH4_DENSITY_KG_PER_M3


@dataclass
class _Latest:
    ts: int
    value: float


@dataclass
class _SourceState:
    facility: str
    flow: _Latest | None = None
    methane: _Latest | None = None


class SensorGauges:
    """A :data:`~ghgwatch.pipeline.runner.StoredHook`: latest value per sensor and per source, in memory.

    Readings older than the latest one already seen for a sensor (a backfill arriving after live data)
    do not move its gauge.
    """

    def __init__(self, series: SensorSeries, sensors: SensorLookup) -> None:
        self.series = series
        self.sensors = sensors
        self._latest: dict[int, _Latest] = {}
        self._sources: dict[int, _SourceState] = {}

    async def __call__(self, batch: StoredBatch) -> None:
        newest: dict[int, _Latest] = {}
        for rows in batch.rows:
            if not len(rows.ts):
                continue
            i = int(np.argmax(rows.ts))
            candidate = _Latest(int(rows.ts[i]), float(rows.values[i]))
            known = newest.get(rows.sensor)
            if known is None or candidate.ts >= known.ts:
                newest[rows.sensor] = candidate
        if not newest:
            return
        metas = await self.sensors.lookup(set(newest))
        touched: set[int] = set()
        for sensor_id, latest in newest.items():
            meta = metas.get(sensor_id)
            if meta is not None and self._update(meta, latest):
                touched.add(meta.source_id)
        for source_id in touched:
            self._export_rate(source_id)

    def _update(self, meta: SensorMeta, latest: _Latest) -> bool:
        """Record a sensor's newest reading; export it if it is a gas. True if its source may have a new rate."""
        if meta.kind not in GAS_KINDS and meta.kind not in FLOW_KINDS:
            return False
        previous = self._latest.get(meta.id)
        if previous is not None and previous.ts > latest.ts:
            return False
        value = _canonical(meta, latest.value)
        if value is None:
            return False
        current = _Latest(latest.ts, value)
        self._latest[meta.id] = current
        if meta.kind in GAS_KINDS:
            self.series.set_value(str(meta.id), meta.kind, str(meta.facility_id), value)
        if meta.source_type not in MEASURED_SOURCE_TYPES or meta.kind not in FLOW_KINDS | {"methane"}:
            return False
        state = self._sources.setdefault(meta.source_id, _SourceState(str(meta.facility_id)))
        if meta.kind == "methane":
            state.methane = current
        else:
            state.flow = current
        return True

    def _export_rate(self, source_id: int) -> None:
        state = self._sources[source_id]
        if state.flow is None or state.methane is None:
            return
        rate = methane_kg_per_hour(state.flow.value, state.methane.value)
        self.series.set_emission_rate("methane", state.facility, str(source_id), rate)


def _canonical(meta: SensorMeta, value: float) -> float | None:
    target = CANONICAL_UNITS.get(meta.kind)
    if target is None:
        return value
    try:
        scale, offset = affine(meta.unit, target, meta.kind)
    except UnitError:
        log.warning("sensor %d: cannot convert %s to %s; not exported", meta.id, meta.unit, target)
        return None
    return scale * value + offset
