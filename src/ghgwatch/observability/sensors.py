"""Per-sensor and per-source gauges, admitted only up to a configured number of label sets.

A Prometheus series per sensor is cheap for a mine with a few hundred sensors and ruinous for an
unbounded fleet, so the limit comes from configuration (passed in by whoever builds the app) and,
once reached, no new label set is created: the update is counted in
``ghgwatch_sensor_series_dropped_total`` instead. Label sets already admitted keep updating.
"""

from __future__ import annotations

import contextlib
import math
import threading

from ghgwatch.observability import metrics

#: Sensor kinds exported as ``ghgwatch_sensor_value``: gases only (not air flow, temperature, ...).
GAS_KINDS = frozenset({"methane", "co2", "co", "o2", "h2s", "no2", "so2", "n2o"})
#: Gases of ``ghgwatch_emission_rate_kg_per_hour``.
EMISSION_GASES = frozenset({"methane", "co2", "n2o"})


class SensorSeries:
    """Guarded setters for ``ghgwatch_sensor_value``, ``_sensor_forecast`` and ``_emission_rate``.

    Build one per process at startup (``SensorSeries(settings.<...>.max_sensor_series)``) and pass it
    to the pipeline and analytics code. ``max_series`` counts sensors plus emission sources.
    """

    def __init__(self, max_series: int) -> None:
        if max_series < 0:
            raise ValueError("max_series must be >= 0")
        self.max_series = max_series
        self._sensors: dict[str, tuple[str, str]] = {}
        self._sources: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        metrics.SENSOR_SERIES_LIMIT.set(max_series)

    @property
    def series(self) -> int:
        return len(self._sensors) + len(self._sources)

    def _admit_sensor(self, sensor: str, kind: str, facility: str) -> bool:
        known = self._sensors.get(sensor)
        if known is not None:
            return known == (kind, facility)
        if kind not in GAS_KINDS or self.series >= self.max_series:
            return False
        self._sensors[sensor] = (kind, facility)
        self._publish_count()
        return True

    def set_value(self, sensor: str, kind: str, facility: str, value: float) -> bool:
        """Export the latest value of a gas sensor; ``False`` (and counted as dropped) if not admitted.

        A sensor keeps the kind and facility it was admitted with; an update claiming other ones is
        dropped (call :meth:`forget_sensor` first when a sensor is moved).
        """
        with self._lock:
            if not math.isfinite(value) or not self._admit_sensor(sensor, kind, facility):
                metrics.SENSOR_SERIES_DROPPED.inc()
                return False
            metrics.SENSOR_VALUE.labels(sensor=sensor, kind=kind, facility=facility).set(value)
            return True

    def set_forecast(self, sensor: str, kind: str, facility: str, value: float) -> bool:
        """Export a one-step-ahead forecast; admitted under the same rule and limit as the value."""
        with self._lock:
            if not math.isfinite(value) or not self._admit_sensor(sensor, kind, facility):
                metrics.SENSOR_SERIES_DROPPED.inc()
                return False
            metrics.SENSOR_FORECAST.labels(sensor=sensor, kind=kind, facility=facility).set(value)
            return True

    def set_emission_rate(self, gas: str, facility: str, source: str, kg_per_hour: float) -> bool:
        key = (gas, facility, source)
        with self._lock:
            admitted = key in self._sources or (gas in EMISSION_GASES and self.series < self.max_series)
            if not admitted or not math.isfinite(kg_per_hour):
                metrics.SENSOR_SERIES_DROPPED.inc()
                return False
            if key not in self._sources:
                self._sources.add(key)
                self._publish_count()
            metrics.EMISSION_RATE.labels(gas=gas, facility=facility, source=source).set(kg_per_hour)
            return True

    def forget_sensor(self, sensor: str) -> None:
        """Remove a sensor's series (deleted or moved sensor), freeing its place under the limit."""
        with self._lock:
            known = self._sensors.pop(sensor, None)
            if known is None:
                return
            kind, facility = known
            for gauge in (metrics.SENSOR_VALUE, metrics.SENSOR_FORECAST):
                with contextlib.suppress(KeyError):  # the forecast may never have been set
                    gauge.remove(sensor, kind, facility)
            self._publish_count()

    def forget_source(self, gas: str, facility: str, source: str) -> None:
        with self._lock:
            key = (gas, facility, source)
            if key not in self._sources:
                return
            self._sources.discard(key)
            metrics.EMISSION_RATE.remove(gas, facility, source)
            self._publish_count()

    def _publish_count(self) -> None:
        metrics.SENSOR_SERIES.set(self.series)
