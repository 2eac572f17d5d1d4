"""Gaussian plume inversion: the source position and rate fitted to the curtain's concentrations.

Model (steady Gaussian plume with reflection at the ground; e.g. Seinfeld & Pandis, *Atmospheric Chemistry and
Physics*, 3rd ed., eq. 18.62):

    C(x, y, z) = Q / (2π u σy σz) · exp(-y² / 2σy²) · [exp(-(z-H)² / 2σz²) + exp(-(z+H)² / 2σz²)]

in the frame of the mean wind (``x`` downwind of the source, ``y`` across) and ``u`` the transport speed, the
magnitude of the vector-mean wind. ``σz(x)`` is Briggs's open-country curve for the Pasquill class times a fitted
factor ``f_z`` (the curtain's passes at several heights measure the vertical spread; a weak log-normal prior keeps
``f_z`` near 1 where they do not). ``σy(x)``: when the class is given, Briggs's curve for it; when it is estimated
from the data (the class from the standard deviation of the wind direction, the σ_A method), Briggs's curve with
the measured σθ in place of the class's coefficient, so the plume's meander during the flight is the data's.
``x0, y0`` (source east, north), ``ln Q`` and ``ln f_z`` are fitted by ``scipy.optimize.least_squares``
(ordinary least squares: a robust loss down-weights the plume's peaks and biased the rate low on the validation
flights); the release height ``H`` is given (default 0 m, a ground-level leak).

With one curtain the distance to the source is known only through the plume's width, so the source's position
along the wind is much less certain than across it (docs/uav.md gives the validation's figures).

Uncertainty (95 %): a bootstrap over transects (the fit repeated with each pass replaced by itself or a neighbour
in height), over the wind (speed, direction and σθ from a block resample of the wind samples) and, when the class
was estimated, over the class (a neighbouring class with probability 1/2), with a systematic relative uncertainty
calibrated on simulated flights; see docs/uav.md.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from ghgwatch.uav.flight import Array, Index
from ghgwatch.uav.geometry import circular_std_deg
from ghgwatch.uav.prepare import Prepared
from ghgwatch.uav.result import CannotQuantify, Method, Quantification, Refusal

# Briggs (1973) open-country dispersion parameters, σ in m for x in m (100 m < x < 10 km), as tabulated in
# Hanna, Briggs & Hosker (1982), *Handbook on Atmospheric Diffusion*, DOE/TIC-11223, Table 4.5 [M: recalled,
# check against the table]. Each row: (a_y, a_z, b_z, p_z) with σy = a_y x (1 + 1e-4 x)^-1/2 and
# σz = a_z x (1 + b_z x)^p_z. Below 100 m they are used as they are (a documented extrapolation).
BRIGGS_RURAL: dict[str, tuple[float, float, float, float]] = {
    "A": (0.22, 0.20, 0.0, 0.0),
    "B": (0.16, 0.12, 0.0, 0.0),
    "C": (0.11, 0.08, 0.0002, -0.5),
    "D": (0.08, 0.06, 0.0015, -0.5),
    "E": (0.06, 0.03, 0.0003, -1.0),
    "F": (0.04, 0.016, 0.0003, -1.0),
}
CLASSES = tuple(BRIGGS_RURAL)

# σ_A (standard deviation of the horizontal wind direction, degrees) lower bounds of the Pasquill classes A-E;
# below the last one: F. US EPA (2000), *Meteorological Monitoring Guidance for Regulatory Modeling
# Applications*, EPA-454/R-99-005, Table 6-7 [M: recalled, check against the table]. The drone's direction
# samples include its own estimation noise, so σ_A is taken after removing ``DIRECTION_NOISE_DEG`` in quadrature.
SIGMA_A_BOUNDS_DEG = (22.5, 17.5, 12.5, 7.5, 3.8)
DIRECTION_NOISE_DEG = 5.0
MIN_SIGMA_THETA_DEG = 2.0  # σθ is not taken below this (a direction noise larger than assumed would zero it)

# Systematic relative uncertainty (1 sigma of a log-normal factor) added to the bootstrap, calibrated as the mass
# balance's (`benchmarks/uav.py --calibrate --seed 1`: 0.13 needed, so 0.15); see docs/uav.md.
SYSTEMATIC_REL = 0.15
# Standard deviation of ln f_z, the fitted factor on Briggs's σz (a weak prior; the curtain's passes at several
# heights measure the vertical spread, which the simulated and real plumes do not take from Briggs's curves).
SIGMA_Z_PRIOR = 0.7
LOSS = "linear"


def stability_from_direction_std(sigma_deg: float) -> str:
    sigma = math.sqrt(max(sigma_deg**2 - DIRECTION_NOISE_DEG**2, 0.0))
    for cls, bound in zip(CLASSES, SIGMA_A_BOUNDS_DEG, strict=False):
        if sigma >= bound:
            return cls
    return "F"


def sigma_theta_rad(direction_std_deg: float) -> float:
    """The wind direction's own standard deviation (radians): the measured one less the direction noise."""
    return math.radians(math.sqrt(max(direction_std_deg**2 - DIRECTION_NOISE_DEG**2, MIN_SIGMA_THETA_DEG**2)))


def sigmas(cls: str, x: Array, theta: float | None = None) -> tuple[Array, Array]:
    """σy, σz (m) at downwind distances ``x``; with ``theta`` (σθ, radians) σy = θ x (1 + 1e-4 x)^-1/2.

    The second form is Briggs's own σy curve with the measured direction spread in place of the class's
    coefficient (Briggs's a_y are the σθ of the classes, 0.22-0.04 rad); it takes the plume's meander during the
    flight from the data rather than from a class (the σθ method, e.g. Hanna, Briggs & Hosker 1982, sec. 4.3 [M]).
    """
    a_y, a_z, b_z, p_z = BRIGGS_RURAL[cls]
    x = np.maximum(x, 1.0)
    sy = (a_y if theta is None else theta) * x / np.sqrt(1.0 + 1e-4 * x)
    sz = a_z * x * (1.0 + b_z * x) ** p_z if b_z else a_z * x
    return np.asarray(sy), np.asarray(sz)


def plume_ppm(params: Array, cls: str, px: Array, py: Array, pz: Array, wind: tuple[float, float, float],
              height: float, k: Array, theta: float | None = None) -> Array:
    """Modelled enhancement (ppm) at points ``px, py, pz``.

    ``params``: source east and north (m), ``ln Q`` (Q in kg/s) and ``ln f_z``, the factor on Briggs's σz.
    """
    ux, uy, speed = wind
    dx, dy = px - params[0], py - params[1]
    down = dx * ux + dy * uy
    cross = -dx * uy + dy * ux
    sy, sz = sigmas(cls, down, theta)
    sz = sz * math.exp(params[3])
    q = math.exp(params[2])
    c = q / (2 * math.pi * speed * sy * sz) * np.exp(-(cross**2) / (2 * sy**2)) * (
        np.exp(-((pz - height) ** 2) / (2 * sz**2)) + np.exp(-((pz + height) ** 2) / (2 * sz**2)))
    return np.where(down > 1.0, c, 0.0) / k


def _transport(prep: Prepared, idx: Index | None = None) -> tuple[float, float, float]:
    """Unit vector of the mean air motion and the transport speed: the vector mean's magnitude.

    A meandering wind carries the plume along its mean direction at the vector mean speed, which is below the
    mean of the scalar speeds by the direction swings' share.
    """
    u = prep.wind_u if idx is None else prep.wind_u[idx]
    v = prep.wind_v if idx is None else prep.wind_v[idx]
    mu, mv = float(np.mean(u)), float(np.mean(v))
    speed = max(math.hypot(mu, mv), 0.1)
    return mu / speed, mv / speed, speed


def _fit(prep: Prepared, idx: Index, cls: str, wind: tuple[float, float, float], height: float,
         start: Array, theta: float | None = None) -> Array:
    px, py, pz = prep.x[idx], prep.y[idx], prep.z[idx]
    obs = prep.enhancement[idx]
    k = prep.kg_m3_per_ppm[idx]
    scale = max(prep.noise_ppm, 1e-3)

    def residual(p: Array) -> Array:
        model = (plume_ppm(p, cls, px, py, pz, wind, height, k, theta) - obs) / scale
        # a weak prior keeps σz near the class's curve where the curtain does not resolve the vertical profile
        return np.concatenate([model, [p[3] / SIGMA_Z_PRIOR]])

    f_scale = max(3.0, 0.1 * float(np.max(obs)) / scale)
    result = least_squares(residual, start, loss=LOSS, f_scale=f_scale, method="trf", max_nfev=200,
                           x_scale=np.array([10.0, 10.0, 1.0, 0.5]),
                           bounds=([-np.inf, -np.inf, -np.inf, -2.0], [np.inf, np.inf, np.inf, 2.0]))
    return np.asarray(result.x)


def _start(prep: Prepared, cls: str, wind: tuple[float, float, float], theta: float | None = None) -> Array:
    """First guess: upwind of the enhancement's centre by the distance whose σy matches its spread."""
    idx = prep.in_transects
    e = np.clip(prep.enhancement[idx], 0.0, None)
    w = e / max(float(np.sum(e)), 1e-12)
    cx, cy = float(np.sum(w * prep.x[idx])), float(np.sum(w * prep.y[idx]))
    s = prep.curtain.s[idx]
    spread = math.sqrt(max(float(np.sum(w * (s - np.sum(w * s)) ** 2)), 1.0))
    distances = np.geomspace(5.0, 2000.0, 200)
    sy, _ = sigmas(cls, distances, theta)
    dist = float(distances[int(np.argmin(np.abs(sy - spread)))])
    ux, uy, speed = wind
    # the rate from a crude mass balance of the enhancement over the curtain's area
    area = prep.curtain.width_m * max(float(np.max(prep.curtain.heights)), 1.0)
    q0 = max(float(np.mean(e * prep.kg_m3_per_ppm[idx])) * area * speed, 1e-7)
    return np.array([cx - dist * ux, cy - dist * uy, math.log(q0), 0.0])


def plume_inversion(prep: Prepared, *, stability: str | None = None, release_height_m: float = 0.0,
                    n_boot: int = 40, seed: int = 0) -> Quantification:
    cls = stability.upper() if stability else stability_from_direction_std(prep.direction_std_deg)
    if cls not in BRIGGS_RURAL:
        raise ValueError(f"stability class must be one of {', '.join(CLASSES)}, not {stability!r}")
    wind = _transport(prep)
    idx = prep.in_transects
    # with the class estimated from the data, σy too comes from the measured direction spread
    theta = None if stability else sigma_theta_rad(prep.direction_std_deg)
    best = _fit(prep, idx, cls, wind, release_height_m, _start(prep, cls, wind, theta), theta)
    rate = math.exp(best[2]) * 3600.0
    if not math.isfinite(rate) or rate <= 0:
        raise CannotQuantify(Refusal.FIT_FAILED, "the plume fit did not converge to a positive rate")

    rng = np.random.default_rng(seed)
    transects = prep.curtain.transects
    n = len(transects)
    boots = np.empty(n_boot)
    pos = prep.curtain.origin
    samples = np.arange(len(prep.flight))
    by_height = np.argsort(prep.curtain.heights, kind="stable")
    for b in range(n_boot):
        # passes replaced by themselves or a neighbour in height, as in the mass balance's bootstrap
        step = np.clip(np.arange(n) + rng.choice([-1, 0, 0, 1], size=n), 0, n - 1)
        pick = np.empty(n, dtype=np.intp)
        pick[by_height] = by_height[step]
        sub = np.concatenate([transects[i] for i in pick])
        cls_b = cls
        if stability is None and rng.random() < 0.5:
            j = CLASSES.index(cls) + int(rng.choice([-1, 1]))
            cls_b = CLASSES[min(max(j, 0), len(CLASSES) - 1)]
        # the wind from a block resample of its samples (gusts are correlated over seconds)
        starts = rng.integers(0, max(samples.size - 10, 1), size=math.ceil(samples.size / 10))
        block = np.concatenate([samples[s:s + 10] for s in starts])
        wind_b = _transport(prep, block)
        theta_b = None if stability else sigma_theta_rad(
            circular_std_deg(prep.flight.wind_dir_deg[block], prep.flight.wind_speed_ms[block]))
        fit = _fit(prep, sub, cls_b, wind_b, release_height_m, best, theta_b)
        boots[b] = math.exp(fit[2]) * 3600.0
    boots = boots[np.isfinite(boots)] * np.exp(rng.normal(0.0, SYSTEMATIC_REL, size=int(np.sum(np.isfinite(boots)))))
    lower, upper = np.percentile(boots, [2.5, 97.5])
    lat, lon = prep.frame.to_latlon(float(best[0]), float(best[1]))
    distance = math.hypot(pos[0] - best[0], pos[1] - best[1])
    warnings = list(prep.warnings)
    warnings.append(f"stability class {cls} ({'given' if stability else 'estimated from the wind direction'})")
    warnings.append(f"source estimated {distance:.0f} m from the curtain")
    return Quantification(
        method=Method.PLUME, rate_kg_h=rate, lower_kg_h=float(lower), upper_kg_h=float(upper),
        background_ppm=float(np.mean(prep.background)), source=(lat, lon), transects=n, warnings=warnings,
        details={"stability": cls, "distance_m": distance, "noise_ppm": prep.noise_ppm,
                 "sigma_z_factor": math.exp(float(best[3])), "transport_speed_ms": wind[2],
                 "sigma_theta_deg": None if theta is None else math.degrees(theta)},
    )
