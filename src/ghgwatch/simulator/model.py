"""``SiteModel``: the value every sensor of a site reads at any time. Pure, seeded and deterministic.

A value is a function of (seed, sensor, time) only, so the live run, a backfill and the tests agree
whatever order they ask in. ``NaN`` means "no reading" (a dropout or a silent sensor).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ghgwatch.simulator import _noise
from ghgwatch.simulator._noise import FloatArray
from ghgwatch.simulator._physics import DECIMALS, FALLBACK, LOCATION_ROLES, ROLES, Context, Source
from ghgwatch.simulator.events import Event, EventKind
from ghgwatch.simulator.patterns import ShiftSchedule, Weather
from ghgwatch.simulator.sensors import SensorSpec

_NOISE_STREAM = 1
_DROPOUT_STREAM = 2

KUZBASS_UTC_OFFSET_H = 7.0
"""Kemerovo Oblast keeps UTC+7 all year; the shift schedule runs on local time."""


def _role(members: Sequence[SensorSpec]) -> str | None:
    for sensor in members:
        if sensor.location in LOCATION_ROLES:
            return LOCATION_ROLES[sensor.location]
    kinds = {s.kind for s in members}
    if "co2" in kinds:
        return "boiler"
    if "differential_pressure" in kinds:
        return "drainage"
    if "air_velocity" in kinds:
        return "longwall"
    if kinds & {"air_flow", "pressure"}:
        return "shaft"
    return None


class SiteModel:
    """Readings of a site's sensors over time.

    ``start`` (Unix seconds) anchors the event offsets; ``dropout`` is the probability that a reading
    is lost; ``noise`` scales every sensor's Gaussian noise (0 gives the smooth signals).
    """

    def __init__(
        self,
        sensors: Sequence[SensorSpec],
        *,
        seed: int = 1,
        start: float = 0.0,
        events: Sequence[Event] = (),
        dropout: float = 0.01,
        noise: float = 1.0,
        utc_offset_h: float = KUZBASS_UTC_OFFSET_H,
        schedule: ShiftSchedule | None = None,
    ) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        self.sensors = {s.id: s for s in sensors}
        self.seed = seed
        self.start = start
        self.events = list(events)
        self.dropout = dropout
        self.noise = noise
        unknown = [e.sensor for e in self.events if e.sensor not in self.sensors]
        if unknown:
            raise ValueError(f"events refer to unknown sensors {unknown}")
        self.context = Context(schedule or ShiftSchedule(), Weather.seeded(seed, utc_offset_h), utc_offset_h)
        by_source: dict[str, list[SensorSpec]] = {}
        for sensor in sensors:
            by_source.setdefault(sensor.source or f"sensor-{sensor.id}", []).append(sensor)
        self._sources: dict[int, Source] = {}
        for name, members in by_source.items():
            role = _role(members)
            if role is None:
                continue
            source = ROLES[role](self.context, (seed, zlib.crc32(name.encode())))
            for sensor in members:
                self._sources[sensor.id] = source

    def _base(self, sensor: SensorSpec, t: FloatArray) -> FloatArray:
        source = self._sources.get(sensor.id)
        signal = source.signal(sensor.kind, t) if source is not None else None
        if signal is None:
            level, sigma = FALLBACK.get(sensor.kind, (1.0, 0.01))
            mean, low, high = np.full_like(t, level), -np.inf, np.inf
        else:
            mean, sigma, low, high = signal.mean, signal.sigma, signal.low, signal.high
        times_ms = np.round(t * 1000.0).astype(np.int64)
        noisy = mean + self.noise * sigma * _noise.normal(self.seed, sensor.id, _NOISE_STREAM, times_ms)
        return np.asarray(np.clip(noisy, low, high), dtype=np.float64)

    def values(self, sensor_id: int, times: npt.ArrayLike) -> FloatArray:
        """Readings of one sensor at Unix times ``times`` (seconds), rounded as the instrument would; NaN = none."""
        sensor = self.sensors[sensor_id]
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        out = self._base(sensor, t)
        offsets = t - self.start
        mine = [e for e in self.events if e.sensor == sensor_id]
        for event in mine:
            if event.kind is EventKind.METHANE_BUILDUP:
                shape = event.buildup_shape(offsets)
                out = out + (event.peak - out) * shape
        out = np.round(out, DECIMALS.get(sensor.kind, 3))
        for event in mine:
            window = event.window(offsets)
            if event.kind is EventKind.STUCK and window.any():
                frozen = self.values_unfaulted(sensor_id, self.start + event.start_s)
                out = np.where(window, frozen, out)
            elif event.kind is EventKind.SILENT:
                out = np.where(window, np.nan, out)
        if self.dropout > 0:
            times_ms = np.round(t * 1000.0).astype(np.int64)
            lost = _noise.uniform(self.seed, sensor_id, _DROPOUT_STREAM, times_ms) < self.dropout
            out = np.where(lost, np.nan, out)
        return out

    def values_unfaulted(self, sensor_id: int, t: float) -> float:
        """The value a sensor would read at ``t`` with build-ups but no stuck/silent faults or dropouts."""
        sensor = self.sensors[sensor_id]
        arr = np.array([t], dtype=np.float64)
        value = self._base(sensor, arr)
        for event in self.events:
            if event.sensor == sensor_id and event.kind is EventKind.METHANE_BUILDUP:
                value = value + (event.peak - value) * event.buildup_shape(arr - self.start)
        return float(np.round(value[0], DECIMALS.get(sensor.kind, 3)))

    def value(self, sensor_id: int, t: float) -> float | None:
        """One reading, or ``None`` when the sensor sends nothing at ``t``."""
        v = float(self.values(sensor_id, [t])[0])
        return None if np.isnan(v) else v
