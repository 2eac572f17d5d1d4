"""Checks and quantities both methods share: wind, curtain, background, enhancement, noise.

A flight is refused (:class:`CannotQuantify`) rather than given a made-up number when the wind is too low or
too variable, the track is not a curtain across the wind, or no plume stands out of the noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ghgwatch.uav.flight import Array, Flight, Index
from ghgwatch.uav.geometry import (
    Curtain,
    Frame,
    circular_std_deg,
    fit_curtain,
    frame_of,
    mean_direction_deg,
    wind_vectors,
)
from ghgwatch.uav.result import CannotQuantify, Refusal

# Molar mass of CH4, 16.043 g/mol (IUPAC standard atomic weights: C 12.011, H 1.008) and the molar gas
# constant 8.314462618 J/(mol K) (CODATA 2018): the ideal-gas CH4 mass per m3 of air per ppm (mol/mol).
M_CH4_KG_MOL = 0.016043
R_J_MOL_K = 8.314462618


def ch4_kg_m3_per_ppm(temperature_c: Array | float, pressure_hpa: Array | float) -> Array:
    """Mass of CH4 in one m3 of air per ppm of mole fraction: 1e-6 * p M / (R T)."""
    t_k = np.asarray(temperature_c, dtype=float) + 273.15
    return np.asarray(1e-6 * np.asarray(pressure_hpa, dtype=float) * 100.0 * M_CH4_KG_MOL / (R_J_MOL_K * t_k))


@dataclass(frozen=True)
class Limits:
    """Where quantification stops: below or beyond these the flight is refused."""

    min_wind_ms: float = 1.0
    max_direction_std_deg: float = 35.0
    max_curtain_angle_deg: float = 60.0
    min_transects: int = 2
    min_samples: int = 30
    plume_sigma: float = 4.0  # an enhancement counts as plume when it is this many noise deviations up
    min_plume_samples: int = 3


@dataclass
class Prepared:
    flight: Flight
    frame: Frame
    x: Array
    y: Array
    z: Array
    wind_u: Array
    wind_v: Array
    mean_speed: float
    mean_direction_deg: float
    direction_std_deg: float
    curtain: Curtain
    background: Array  # per sample, ppm
    background_se: Array  # per transect, ppm
    enhancement: Array  # ppm above background, per sample
    noise_ppm: float
    plume: Array  # bool per sample
    kg_m3_per_ppm: Array
    warnings: list[str] = field(default_factory=list)

    @property
    def in_transects(self) -> Index:
        return np.concatenate(self.curtain.transects)


def _plume_runs(excess: Array, core: float, edge: float, pad: int) -> NDArray[np.bool_]:
    """Hysteresis mask: runs of ``excess > edge`` that contain a sample above ``core``, padded by ``pad`` samples.

    Only runs with a confident core are plume, so noise excursions are not masked (masking them would leave a
    clear set short of its high samples and the level too low); a plume's run extends down its wings to ``edge``.
    """
    out = np.zeros(excess.size, dtype=bool)
    above = excess > edge
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    for begin, stop in zip(edges[::2], edges[1::2], strict=True):
        if float(np.max(excess[begin:stop])) > core:
            out[max(int(begin) - pad, 0):min(int(stop) + pad, excess.size)] = True
    return out


def _background(c: Array, t: Array, transects: list[Index]) -> tuple[Array, Array, Array, float]:
    """Background per sample, its standard error per transect, a plume mask and the noise deviation.

    The noise deviation is the MAD of the first differences of the transects' samples (1.4826 MAD / sqrt 2),
    which neither a slow background drift nor a smooth plume inflates. Per transect the background is the median
    of the samples outside the plume, found by iterating from the 20th percentile. The plume is found with
    hysteresis on a 5-sample running mean: a run where it stands above the level by more than 0.5 of its
    deviation, and somewhere by more than 4, padded by 5 samples. The deviation is the running mean's scatter
    outside the plume (MAD), which includes the background's slow wander, and at least the white noise's share.
    The low edge takes in the plume's faint wings, which a single threshold misses and which would lift the level
    (a level lifted by ``d`` lowers the flux by ``d`` times the whole transect's length); the high core keeps
    noise excursions out of the mask (masking them would push the level down). The median, not the mean, keeps
    what wings remain from pulling it up. Each transect keeps its own level (a drifting or wandering background
    is followed pass by pass); between passes it is interpolated in time.
    """
    idx_all = np.concatenate(transects)
    diffs = np.diff(c[idx_all])
    noise = max(1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / math.sqrt(2.0), 1e-4)
    window = 5
    noise_smooth = noise / math.sqrt(window)
    mask = np.zeros(c.size, dtype=bool)
    levels, times, ses = [], [], []
    for idx in transects:
        values = c[idx]
        smooth = np.convolve(values, np.ones(window) / window, mode="same") if values.size >= window else values
        level = float(np.percentile(values, 20))
        plume = np.zeros(idx.size, dtype=bool)
        spread = noise_smooth
        for _ in range(4):
            plume = _plume_runs(smooth - level, 4.0 * spread, 0.5 * spread, window)
            clear = values[~plume]
            if clear.size < 5:
                break
            level = float(np.median(clear))
            # the background's own slow wander counts as noise here, not only the sensor's white noise
            spread = max(noise_smooth, 1.4826 * float(np.median(np.abs(smooth[~plume] - level))))
        clear = values[~plume]
        # standard error of a median: 1.2533 sigma / sqrt(n); at least the noise over the whole transect
        se = 1.2533 * float(np.std(clear)) / math.sqrt(clear.size) if clear.size >= 5 else noise
        levels.append(level)
        times.append(float(np.mean(t[idx])))
        ses.append(se)
        mask[idx] = plume
    lv, tm = np.array(levels), np.array(times)
    order = np.argsort(tm)
    background = np.interp(t, tm[order], lv[order])
    for idx, level in zip(transects, levels, strict=True):
        background[idx] = level
    return background, np.array(ses), mask, noise


def prepare(flight: Flight, limits: Limits | None = None,
            source: tuple[float, float] | None = None) -> Prepared:
    """Run the checks and derive what both methods need. ``source`` is a known (latitude, longitude), if any."""
    lim = limits or Limits()
    if len(flight) < lim.min_samples:
        raise CannotQuantify(Refusal.TOO_FEW_SAMPLES,
                             f"{len(flight)} samples; at least {lim.min_samples} are needed")
    frame = frame_of(flight)
    x, y = frame.to_xy(flight.latitude, flight.longitude)
    z = flight.altitude_m
    u, v = wind_vectors(flight.wind_speed_ms, flight.wind_dir_deg)
    mean_speed = float(np.mean(flight.wind_speed_ms))
    if mean_speed < lim.min_wind_ms:
        raise CannotQuantify(Refusal.WIND_TOO_LOW,
                             f"mean wind {mean_speed:.2f} m/s is below {lim.min_wind_ms:g} m/s")
    direction_std = circular_std_deg(flight.wind_dir_deg, flight.wind_speed_ms)
    if direction_std > lim.max_direction_std_deg:
        raise CannotQuantify(Refusal.WIND_TOO_VARIABLE,
                             f"wind direction varies by {direction_std:.0f}° (circular standard deviation); "
                             f"at most {lim.max_direction_std_deg:g}° is usable")
    mean_u, mean_v = float(np.mean(u)), float(np.mean(v))
    curtain = fit_curtain(x, y, z, mean_u, mean_v)
    if len(curtain.transects) < lim.min_transects:
        raise CannotQuantify(Refusal.NO_CURTAIN,
                             f"{len(curtain.transects)} transect(s) found; a curtain needs at least "
                             f"{lim.min_transects} passes across the plume")
    speed_vec = math.hypot(mean_u, mean_v)
    cos_angle = (curtain.normal[0] * mean_u + curtain.normal[1] * mean_v) / max(speed_vec, 1e-9)
    angle = math.degrees(math.acos(max(-1.0, min(1.0, cos_angle))))
    if angle > lim.max_curtain_angle_deg:
        raise CannotQuantify(Refusal.NOT_DOWNWIND,
                             f"the wind crosses the curtain {angle:.0f}° from its normal (at most "
                             f"{lim.max_curtain_angle_deg:g}°): the curtain lies along the wind")
    warnings: list[str] = []
    if source is not None:
        sx, sy = frame.to_xy(np.array([source[0]]), np.array([source[1]]))
        upwind = (curtain.origin[0] - float(sx[0])) * mean_u + (curtain.origin[1] - float(sy[0])) * mean_v
        if upwind <= 0:
            raise CannotQuantify(Refusal.NOT_DOWNWIND,
                                 "the curtain is upwind of the given source: the plume cannot cross it")
    if angle > 30.0:
        warnings.append(f"the wind crosses the curtain {angle:.0f}° from its normal")
    c = flight.ch4_ppm
    background, background_se, plume, noise = _background(c, flight.t_s, curtain.transects)
    enhancement = c - background
    in_t = np.concatenate(curtain.transects)
    strong = int(np.sum(enhancement[in_t] > lim.plume_sigma * noise))
    if strong < lim.min_plume_samples:
        peak = float(np.max(enhancement[in_t]))
        raise CannotQuantify(Refusal.NO_PLUME,
                             f"no plume seen: the largest enhancement is {peak:.3g} ppm against a noise of "
                             f"{noise:.2g} ppm ({strong} sample(s) above {lim.plume_sigma:g} deviations)")
    return Prepared(
        flight=flight, frame=frame, x=x, y=y, z=z, wind_u=u, wind_v=v, mean_speed=mean_speed,
        mean_direction_deg=mean_direction_deg(flight.wind_speed_ms, flight.wind_dir_deg),
        direction_std_deg=direction_std, curtain=curtain, background=background,
        background_se=background_se, enhancement=enhancement, noise_ppm=noise, plume=plume,
        kg_m3_per_ppm=ch4_kg_m3_per_ppm(flight.temperature_c, flight.pressure_hpa), warnings=warnings,
    )
