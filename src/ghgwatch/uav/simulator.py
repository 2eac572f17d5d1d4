"""A flight simulator for validating the quantification, deliberately not the estimators' model.

The estimators assume a steady plume (mass balance: a steady flux; inversion: a Gaussian plume with Briggs's
dispersion curves). The simulator instead releases **puffs** every ``release_step_s`` seconds and moves them with
a **time-varying wind**: the speed has gusts and the direction swings, each a first-order autoregressive
(Ornstein-Uhlenbeck) process, so the plume snakes (meanders) across the curtain while the drone flies. Each puff
grows by Taylor's statistical theory of diffusion, ``σ(τ) = σ_v τ / sqrt(1 + τ / (2 T_L))``, from the turbulence
intensity of the run, with a random walk of its centre for the eddies larger than the puff; it is reflected at
the ground. The concentration at the drone is the sum over puffs at the sample's time and place.

The drone flies a lawn-mower curtain downwind of the source, roughly across the mean wind (with an aiming
error), pass after pass at rising heights. Its sensor has a first-order lag and white noise, the background
drifts linearly with a random walk on top, and the reported wind carries the small-scale turbulence (σ_v, along
and across) besides the gusts and swings, plus noise and a bias (a drone's wind estimate is not an
anemometer's). Wind is uniform with height (a limitation; see docs/uav.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from ghgwatch.uav.flight import Array, Flight
from ghgwatch.uav.geometry import Frame
from ghgwatch.uav.prepare import ch4_kg_m3_per_ppm


@dataclass(frozen=True)
class Scenario:
    """One simulated flight's truth and conditions."""

    rate_kg_h: float
    wind_speed_ms: float = 4.0
    wind_from_deg: float = 270.0
    turbulence: float = 0.2  # horizontal turbulence intensity σ_v / U
    vertical_turbulence: float = 0.1  # σ_w / U
    direction_swing_deg: float = 10.0  # standard deviation of the direction process
    gust: float = 0.2  # relative standard deviation of the speed process
    distance_m: float = 60.0  # curtain's distance downwind of the source
    half_width_m: float = 60.0
    aim_error_deg: float = 0.0  # curtain's deviation from across the mean wind
    lateral_offset_m: float = 0.0  # curtain centre's crosswind offset from the plume axis
    lowest_m: float = 2.0
    top_m: float = 30.0
    spacing_m: float = 3.0
    drone_speed_ms: float = 3.0
    sample_hz: float = 2.0
    release_height_m: float = 1.0
    noise_ppm: float = 0.03
    lag_s: float = 1.0
    background_ppm: float = 1.95
    drift_ppm: float = 0.03  # linear background change over the flight
    wind_noise_ms: float = 0.4
    wind_dir_noise_deg: float = 6.0
    wind_bias: float = 0.05  # relative standard deviation of the reported speed's bias
    temperature_c: float = 15.0
    pressure_hpa: float = 1000.0
    site: tuple[float, float] = (54.0, 86.7)


def _ou(rng: np.random.Generator, n: int, dt: float, tau: float, sigma: float) -> Array:
    """Ornstein-Uhlenbeck process sampled every ``dt``: stationary deviation ``sigma``, correlation time ``tau``."""
    a = math.exp(-dt / tau)
    b = sigma * math.sqrt(1 - a * a)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sigma)
    shocks = rng.normal(0.0, b, size=n)
    for i in range(1, n):
        out[i] = a * out[i - 1] + shocks[i]
    return out


def _taylor(sigma_v: float, tau: Array, t_l: float) -> Array:
    return np.asarray(sigma_v * tau / np.sqrt(1.0 + tau / (2.0 * t_l)))


def _track(sc: Scenario, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    """Lawn-mower curtain in the wind frame (x downwind, y crosswind): time, x, y, z per sample."""
    heights = np.arange(sc.lowest_m, sc.top_m + 1e-9, sc.spacing_m)
    dt = 1.0 / sc.sample_hz
    step = sc.drone_speed_ms * dt
    ys: list[Array] = []
    zs: list[Array] = []
    for k, h in enumerate(heights):
        along = np.arange(-sc.half_width_m, sc.half_width_m + 1e-9, step)
        if k % 2:
            along = along[::-1]
        ys.append(along)
        zs.append(np.full(along.size, h))
        if k + 1 < heights.size:  # climb to the next level at 1.5 m/s, hovering at the end
            n_climb = max(int(sc.spacing_m / 1.5 * sc.sample_hz), 2)
            ys.append(np.full(n_climb, along[-1]))
            zs.append(np.linspace(h, heights[k + 1], n_climb + 2)[1:-1])
    y = np.concatenate(ys) + sc.lateral_offset_m
    z = np.concatenate(zs) + rng.normal(0.0, 0.2, size=sum(a.size for a in zs))
    aim = math.radians(sc.aim_error_deg)
    # rotate the pass line by the aiming error about the curtain centre
    x = sc.distance_m + (y - sc.lateral_offset_m) * math.sin(aim)
    y = sc.lateral_offset_m + (y - sc.lateral_offset_m) * math.cos(aim)
    return x + rng.normal(0.0, 0.3, size=y.size), y + rng.normal(0.0, 0.3, size=y.size), z


def simulate(sc: Scenario, seed: int = 0, started_at: datetime | None = None) -> Flight:
    """One flight through a puff plume of the scenario's true rate."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / sc.sample_hz
    sx, sy, sz = _track(sc, rng)
    n = sx.size
    spin_up = 3.0 * (sc.distance_m + sc.half_width_m) / max(sc.wind_speed_ms, 0.5) + 60.0
    n_pre = int(spin_up / dt)
    total = n_pre + n
    t = (np.arange(total) - n_pre) * dt  # flight starts at t = 0
    speed = np.maximum(sc.wind_speed_ms * (1.0 + _ou(rng, total, dt, 20.0, sc.gust)), 0.2)
    swing = np.radians(_ou(rng, total, dt, 60.0, sc.direction_swing_deg))
    # wind frame: mean wind along +x; the swing turns the air motion away from it
    vx, vy = speed * np.cos(swing), speed * np.sin(swing)
    cum_x = np.concatenate([[0.0], np.cumsum(vx[:-1] * dt)])
    cum_y = np.concatenate([[0.0], np.cumsum(vy[:-1] * dt)])

    release_step = 1.0
    every = max(round(release_step / dt), 1)
    rel = np.arange(0, total, every)
    mass = sc.rate_kg_h / 3600.0 * release_step  # kg per puff
    t_l, t_lz = 50.0, 20.0  # Lagrangian time scales, s
    sigma_v = sc.turbulence * sc.wind_speed_ms
    sigma_w = sc.vertical_turbulence * sc.wind_speed_ms
    # eddies larger than a puff move its centre: a random drift velocity per puff, acting over T_L
    drift_x = rng.normal(0.0, 0.3 * sigma_v, size=rel.size)
    drift_y = rng.normal(0.0, 0.5 * sigma_v, size=rel.size)

    conc = np.zeros(n)  # kg/m3 at the sample points
    for j in range(n):
        i = n_pre + j
        alive = rel[rel < i]
        age: Array = (i - alive).astype(float) * dt
        cx = cum_x[i] - cum_x[alive]
        cy = cum_y[i] - cum_y[alive]
        sh = 0.5 + _taylor(sigma_v, age, t_l)
        sv = 0.3 + _taylor(sigma_w, age, t_lz)
        k = np.arange(alive.size)
        reach = age / (1.0 + age / t_l)
        dx = sx[j] - cx - drift_x[k] * reach
        dy = sy[j] - cy - drift_y[k] * reach
        horiz = np.exp(-(dx * dx + dy * dy) / (2.0 * sh * sh)) / (2.0 * math.pi * sh * sh)
        vert = (np.exp(-((sz[j] - sc.release_height_m) ** 2) / (2.0 * sv * sv))
                + np.exp(-((sz[j] + sc.release_height_m) ** 2) / (2.0 * sv * sv))) / (math.sqrt(2 * math.pi) * sv)
        conc[j] = mass * float(np.sum(horiz * vert))

    temperature = sc.temperature_c + rng.normal(0.0, 0.1, size=n)
    pressure = sc.pressure_hpa - sz * 0.12 + rng.normal(0.0, 0.05, size=n)
    ppm_true = conc / ch4_kg_m3_per_ppm(temperature, pressure)
    tt = t[n_pre:]
    drift = sc.drift_ppm * tt / max(float(tt[-1]), 1.0) + np.cumsum(rng.normal(0.0, 0.002, size=n))
    signal = sc.background_ppm + drift + ppm_true
    # first-order sensor lag, then white noise
    alpha = dt / (sc.lag_s + dt)
    lagged = np.empty(n)
    lagged[0] = signal[0]
    for j in range(1, n):
        lagged[j] = lagged[j - 1] + alpha * (signal[j] - lagged[j - 1])
    ch4 = np.maximum(lagged + rng.normal(0.0, sc.noise_ppm, size=n), 0.0)

    # the wind the drone senses also carries the small-scale turbulence that spreads the puffs (σ_v along and
    # across, correlated over the few seconds the drone takes to fly through an eddy), then its own bias and noise
    along = speed[n_pre:] + _ou(rng, n, dt, 5.0, sigma_v)
    across = _ou(rng, n, dt, 5.0, sigma_v)
    turn = np.degrees(np.arctan2(across, along))
    bias = 1.0 + rng.normal(0.0, sc.wind_bias)
    rep_speed = np.maximum(np.hypot(along, across) * bias + rng.normal(0.0, sc.wind_noise_ms, size=n), 0.0)
    # meteorological direction of the air motion in the wind frame, then turned to the scenario's direction
    air_to = sc.wind_from_deg + 180.0
    motion_deg = air_to - np.degrees(swing[n_pre:]) - turn  # +y (left of downwind) is anticlockwise
    rep_dir = (motion_deg + 180.0 + rng.normal(0.0, sc.wind_dir_noise_deg, size=n)) % 360.0

    # wind frame → east/north: downwind unit vector d, left-hand crosswind l
    to = math.radians(air_to)
    d_e, d_n = math.sin(to), math.cos(to)
    l_e, l_n = -d_n, d_e
    east = sx * d_e + sy * l_e
    north = sx * d_n + sy * l_n
    frame = Frame(*sc.site)
    lat, lon = frame.to_latlon(0.0, 0.0)
    metres_per_deg = math.pi / 180.0 * 6_371_008.8
    lat_arr = lat + north / metres_per_deg
    lon_arr = lon + east / (metres_per_deg * math.cos(math.radians(lat)))
    return Flight(
        started_at=started_at or datetime(2026, 6, 1, 9, 0, tzinfo=UTC), t_s=tt - tt[0],
        latitude=lat_arr, longitude=lon_arr, altitude_m=sz, wind_speed_ms=rep_speed, wind_dir_deg=rep_dir,
        temperature_c=temperature, pressure_hpa=pressure, ch4_ppm=ch4,
    )


def random_scenario(rng: np.random.Generator, rate_kg_h: float | None = None) -> Scenario:
    """A plausible flight: conditions drawn from ranges an operator would fly in (docs/uav.md)."""
    rate = rate_kg_h if rate_kg_h is not None else float(np.exp(rng.uniform(math.log(0.5), math.log(500.0))))
    wind = float(rng.uniform(1.5, 8.0))
    distance = float(rng.uniform(25.0, 120.0))
    turbulence = float(rng.uniform(0.1, 0.3))
    vertical = turbulence * float(rng.uniform(0.4, 0.7))
    # the operator sizes the curtain to the plume: wide and high enough for the distance
    spread = 3.0 + 0.5 * turbulence * distance * 2.5
    half_width = float(max(40.0, 3.0 * spread + 20.0))
    top = float(max(15.0, 3.0 * (1.0 + vertical * distance) + 8.0))
    return Scenario(
        rate_kg_h=rate, wind_speed_ms=wind, wind_from_deg=float(rng.uniform(0, 360)), turbulence=turbulence,
        vertical_turbulence=vertical, direction_swing_deg=float(rng.uniform(3.0, 15.0)),
        gust=float(rng.uniform(0.1, 0.3)), distance_m=distance, half_width_m=half_width,
        aim_error_deg=float(rng.normal(0.0, 8.0)), lateral_offset_m=float(rng.normal(0.0, 8.0)),
        lowest_m=float(rng.uniform(1.5, 4.0)), top_m=top, spacing_m=float(rng.uniform(2.5, 4.0)),
        drone_speed_ms=float(rng.uniform(2.5, 4.0)), sample_hz=2.0, release_height_m=float(rng.uniform(0.0, 3.0)),
        noise_ppm=float(rng.uniform(0.01, 0.05)), lag_s=float(rng.uniform(0.3, 2.0)),
        background_ppm=float(rng.uniform(1.9, 2.1)), drift_ppm=float(rng.normal(0.0, 0.03)),
        temperature_c=float(rng.uniform(-10.0, 30.0)), pressure_hpa=float(rng.uniform(960.0, 1030.0)),
    )
