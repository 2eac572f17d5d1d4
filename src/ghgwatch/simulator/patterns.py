"""Time patterns of a working coal mine: the day, the shift schedule, the weather. Pure functions of time.

The shapes are illustrative, chosen to look like mine telemetry, not fitted to measurements: methane
liberated at a longwall follows coal cutting (shearer passes during production shifts, none in the repair
shift), the surface climate follows the day, and barometric pressure drifts with passing weather systems.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghgwatch.simulator._noise import FloatArray

DAY_S = 86_400.0
HOUR_S = 3_600.0


def local_hours(t: FloatArray, utc_offset_h: float) -> FloatArray:
    """Hour of the local day in [0, 24) for Unix times ``t``."""
    return np.mod(t / HOUR_S + utc_offset_h, 24.0)


def diurnal(t: FloatArray, utc_offset_h: float, peak_hour: float) -> FloatArray:
    """A daily cosine in [-1, 1] that peaks at ``peak_hour`` local time."""
    return np.cos(2.0 * np.pi * (local_hours(t, utc_offset_h) - peak_hour) / 24.0)


@dataclass(frozen=True)
class ShiftSchedule:
    """Shifts of ``shift_hours`` from ``first_shift_start`` local time; shifts in ``repair_shifts`` cut no coal.

    Within a production shift the shearer cuts in passes of ``cycle_min`` minutes, ``cutting_share`` of
    each pass cutting and the rest turning round and advancing the supports; the first
    ``changeover_min`` minutes of every shift are the hand-over, with no cutting.
    """

    shift_hours: float = 8.0
    first_shift_start: float = 0.0
    repair_shifts: tuple[int, ...] = (1,)
    cycle_min: float = 90.0
    cutting_share: float = 2.0 / 3.0
    changeover_min: float = 30.0

    @property
    def shifts_per_day(self) -> int:
        return round(24.0 / self.shift_hours)

    def shift_index(self, t: FloatArray, utc_offset_h: float) -> np.ndarray:
        """Index of the shift (0 = the one starting at ``first_shift_start``) for each time."""
        since = np.mod(local_hours(t, utc_offset_h) - self.first_shift_start, 24.0)
        return np.floor(since / self.shift_hours).astype(np.int64)

    def is_repair(self, t: FloatArray, utc_offset_h: float) -> np.ndarray:
        repair = np.zeros(self.shifts_per_day + 1, dtype=bool)
        repair[[i for i in self.repair_shifts if 0 <= i < repair.size]] = True
        return np.asarray(repair[np.minimum(self.shift_index(t, utc_offset_h), self.shifts_per_day)], dtype=bool)

    def cutting(self, t: FloatArray, utc_offset_h: float) -> FloatArray:
        """Coal-cutting intensity in [0, 1]: a smooth hump per shearer pass, zero in repair shifts."""
        since = np.mod(local_hours(t, utc_offset_h) - self.first_shift_start, 24.0)
        minutes_in_shift = np.mod(since, self.shift_hours) * 60.0
        working = minutes_in_shift - self.changeover_min
        phase = np.mod(working, self.cycle_min) / self.cycle_min
        hump = np.where(phase < self.cutting_share, np.sin(np.pi * phase / self.cutting_share) ** 2, 0.0)
        active = (working >= 0) & ~self.is_repair(t, utc_offset_h)
        return np.where(active, hump, 0.0)

    def production(self, t: FloatArray, utc_offset_h: float) -> FloatArray:
        """Activity level of the whole mine: 1 in production shifts, 0.6 in repair shifts."""
        return np.where(self.is_repair(t, utc_offset_h), 0.6, 1.0)


@dataclass(frozen=True)
class Weather:
    """Barometric pressure and surface temperature as sums of slow sinusoids with seeded phases."""

    pressure_mean_kpa: float
    pressure_amplitudes: tuple[float, ...]
    pressure_periods_s: tuple[float, ...]
    pressure_phases: tuple[float, ...]
    temperature_mean_c: float
    temperature_diurnal_c: float
    temperature_drift_c: float
    temperature_drift_period_s: float
    temperature_drift_phase: float
    utc_offset_h: float

    @classmethod
    def seeded(cls, seed: int, utc_offset_h: float) -> Weather:
        rng = np.random.default_rng([seed, 0x57EA])
        periods = tuple(float(p) * DAY_S for p in rng.uniform([1.5, 3.0, 6.0], [2.5, 5.0, 9.0]))
        return cls(
            # About 600 m above sea level in the Tom river valley: ~94-97 kPa at the surface.
            pressure_mean_kpa=96.0,
            pressure_amplitudes=(0.5, 0.7, 0.6),
            pressure_periods_s=periods,
            pressure_phases=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 3)),
            temperature_mean_c=2.0,
            temperature_diurnal_c=5.0,
            temperature_drift_c=6.0,
            temperature_drift_period_s=float(rng.uniform(4.0, 8.0)) * DAY_S,
            temperature_drift_phase=float(rng.uniform(0, 2 * np.pi)),
            utc_offset_h=utc_offset_h,
        )

    def pressure_anomaly(self, t: FloatArray) -> FloatArray:
        """Deviation from the mean barometric pressure, kPa (weather systems plus the semidiurnal tide)."""
        total = 0.08 * np.cos(4.0 * np.pi * local_hours(t, self.utc_offset_h) / 24.0)
        for amp, period, phase in zip(
            self.pressure_amplitudes, self.pressure_periods_s, self.pressure_phases, strict=True
        ):
            total = total + amp * np.sin(2.0 * np.pi * t / period + phase)
        return np.asarray(total, dtype=np.float64)

    def surface_temperature(self, t: FloatArray) -> FloatArray:
        """Outside air temperature, °C: warmest mid-afternoon, with a multi-day drift."""
        drift = np.sin(2.0 * np.pi * t / self.temperature_drift_period_s + self.temperature_drift_phase)
        return (self.temperature_mean_c + self.temperature_diurnal_c * diurnal(t, self.utc_offset_h, 15.0)
                + self.temperature_drift_c * drift)
