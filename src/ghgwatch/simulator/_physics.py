"""What each kind of source measures, as smooth functions of time plus a noise level and a plausible band.

Scales follow METHODOLOGY.md §6.2 (a shaft moving about 5,000 m3/min of air at about 0.6 % CH4) and the
limits of §2.3 (longwall outgoing air 1.0 %, mine outgoing air 0.75 %): in normal operation the simulated
concentrations stay below the limits, and only the scripted build-up crosses them. Other magnitudes
(drainage 25-45 % CH4 at 20-60 m3/min, flue gas 10-14 % CO2 for a coal-fired boiler) are typical values,
not measurements of a particular mine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghgwatch.simulator._noise import FloatArray
from ghgwatch.simulator.patterns import HOUR_S, ShiftSchedule, Weather, diurnal


@dataclass(frozen=True)
class Context:
    schedule: ShiftSchedule
    weather: Weather
    utc_offset_h: float

    def activity(self, t: FloatArray) -> FloatArray:
        """Mine-wide activity lagged over an hour, since methane reaches a shaft long after it is released."""
        lagged = t[np.newaxis, :] - np.arange(0.0, 61.0, 10.0)[:, np.newaxis] * 60.0
        level = (self.schedule.production(lagged, self.utc_offset_h)
                 + 0.1 * self.schedule.cutting(lagged, self.utc_offset_h))
        return np.asarray(level.mean(axis=0), dtype=np.float64)

    def face_cutting(self, t: FloatArray) -> FloatArray:
        """Cutting intensity seen at the longwall outlet: gas builds and clears within about 15 minutes."""
        lagged = t[np.newaxis, :] - np.array([0.0, 4.0, 8.0, 12.0])[:, np.newaxis] * 60.0
        return np.asarray(self.schedule.cutting(lagged, self.utc_offset_h).mean(axis=0), dtype=np.float64)

    def desorption(self, t: FloatArray) -> FloatArray:
        """Relative extra release when the barometer is low: about 2 % per kPa below the mean (illustrative)."""
        return 1.0 - 0.02 * self.weather.pressure_anomaly(t)


@dataclass(frozen=True)
class Signal:
    mean: FloatArray
    sigma: float
    low: float
    high: float


def _slow(rng: np.random.Generator, t: FloatArray, hours: tuple[float, float]) -> FloatArray:
    """A seeded sinusoid in [-1, 1] with a period in ``hours``: fans, regulators, pumps wander slowly."""
    period = float(rng.uniform(*hours)) * HOUR_S
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    return np.sin(2.0 * np.pi * t / period + phase)


class Source:
    """Base class: a source's parameters are drawn once from its own seeded generator."""

    def __init__(self, ctx: Context, seed: tuple[int, ...]) -> None:
        self.ctx = ctx
        self.seed = seed

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([*self.seed, stream])

    def signal(self, kind: str, t: FloatArray) -> Signal | None:
        raise NotImplementedError


class Shaft(Source):
    """Return-air shaft: air flow, CH4, temperature, barometric pressure."""

    def air_flow(self, t: FloatArray) -> FloatArray:
        base = float(self.rng(1).uniform(4_500.0, 6_000.0))
        # Natural draught adds to the fan when the surface is cold, i.e. at night.
        return base * (1.0 + 0.02 * diurnal(t, self.ctx.utc_offset_h, 4.0) + 0.02 * _slow(self.rng(2), t, (3, 7)))

    def signal(self, kind: str, t: FloatArray) -> Signal | None:
        ctx = self.ctx
        if kind == "air_flow":
            return Signal(self.air_flow(t), 25.0, 0.0, 50_000.0)
        if kind == "methane":
            flow = self.air_flow(t)
            nominal = float(self.rng(1).uniform(4_500.0, 6_000.0))
            share = float(self.rng(3).uniform(0.50, 0.56))  # % CH4 at nominal flow in production
            released = share / 100.0 * nominal * ctx.activity(t) * ctx.desorption(t)  # m3/min CH4
            return Signal(100.0 * released / flow, 0.008, 0.25, 0.70)
        if kind == "temperature":
            base = float(self.rng(4).uniform(14.0, 18.0))
            return Signal(base + 0.15 * ctx.weather.surface_temperature(t), 0.05, -50.0, 60.0)
        if kind == "pressure":
            offset = float(self.rng(5).uniform(-0.5, 0.5))
            return Signal(ctx.weather.pressure_mean_kpa + offset + ctx.weather.pressure_anomaly(t), 0.01, 80.0, 120.0)
        return None


class Longwall(Source):
    """Outgoing air of a longwall panel: CH4 follows the shearer; more air dilutes it."""

    def velocity(self, t: FloatArray) -> FloatArray:
        base = float(self.rng(1).uniform(2.8, 3.4))
        return base * (1.0 + 0.04 * _slow(self.rng(2), t, (2, 5)))

    def signal(self, kind: str, t: FloatArray) -> Signal | None:
        if kind == "air_velocity":
            return Signal(self.velocity(t), 0.03, 0.0, 20.0)
        if kind == "methane":
            ctx = self.ctx
            nominal = float(self.rng(1).uniform(2.8, 3.4))
            base = float(self.rng(3).uniform(0.43, 0.47))
            dilution = nominal / self.velocity(t)
            mean = (base * ctx.desorption(t) + 0.27 * ctx.face_cutting(t)
                    + 0.02 * diurnal(t, ctx.utc_offset_h, 14.0)) * dilution
            return Signal(mean, 0.01, 0.38, 0.82)
        return None


class Drainage(Source):
    """Drainage (degasification) station: CH4 % in the pipeline, mixture flow, pump depression."""

    def signal(self, kind: str, t: FloatArray) -> Signal | None:
        pump = _slow(self.rng(1), t, (6, 14))  # the pump's suction wanders; more suction draws in air
        if kind == "differential_pressure":
            return Signal(float(self.rng(2).uniform(15.0, 25.0)) + 2.0 * pump, 0.1, 0.0, 100.0)
        if kind == "methane":
            base = float(self.rng(3).uniform(31.0, 39.0))
            mean = base - 3.0 * pump + 3.0 * _slow(self.rng(4), t, (10, 30))
            return Signal(mean, 0.3, 25.0, 45.0)
        if kind == "gas_flow":
            base = float(self.rng(5).uniform(32.0, 46.0))
            mean = base * (1.0 + 0.15 * pump) * (0.9 + 0.1 * self.ctx.activity(t))
            return Signal(mean, 0.5, 20.0, 60.0)
        return None


class Boiler(Source):
    """Coal-fired boiler: heat demand peaks in the cold early morning; CO2 in flue gas follows the load."""

    def load(self, t: FloatArray) -> FloatArray:
        outside = self.ctx.weather.surface_temperature(t) - self.ctx.weather.temperature_mean_c
        return 0.75 + 0.12 * diurnal(t, self.ctx.utc_offset_h, 6.0) - 0.01 * outside

    def signal(self, kind: str, t: FloatArray) -> Signal | None:
        if kind == "co2":
            return Signal(12.0 + 6.0 * (self.load(t) - 0.75), 0.12, 10.0, 14.0)
        if kind == "gas_flow":
            return Signal(80.0 * self.load(t), 0.8, 30.0, 120.0)
        return None


# A flat value for sensors whose source we cannot place: mid-scale readings of each kind.
FALLBACK = {"methane": (0.4, 0.01), "co2": (0.05, 0.002), "air_flow": (5_000.0, 25.0), "air_velocity": (3.0, 0.03),
            "temperature": (15.0, 0.05), "pressure": (96.0, 0.01), "differential_pressure": (20.0, 0.1),
            "gas_flow": (40.0, 0.5)}
ROLES: dict[str, type[Source]] = {"shaft": Shaft, "longwall": Longwall, "drainage": Drainage, "boiler": Boiler}
LOCATION_ROLES = {"mine_outgoing": "shaft", "longwall_outgoing": "longwall", "drainage_pipeline": "drainage"}
DECIMALS = {"methane": 3, "co2": 2, "air_flow": 0, "air_velocity": 2, "temperature": 2, "pressure": 3,
            "differential_pressure": 2, "gas_flow": 1}
