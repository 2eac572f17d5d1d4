"""Restoration of the mine × year panel and its evaluation (numpy, scikit-learn).

A panel is a matrix ``values[mine, year]`` with NaN for unknown cells. Every method returns the filled
matrix; the caller marks each filled cell with the method's name. Methods:

- ``mean``: the mine's mean over its known years (the year's cross-mine mean for a mine with none);
- ``interpolation``: linear between the mine's known years, nearest known value before the first and
  after the last;
- ``regression`` (adaptive global regression): one model over every known cell of the panel with the
  features year, mine level (mean of its known cells), mine trend and the year's cross-mine level; the
  polynomial degree (1–3) and the ridge penalty are chosen by cross-validation on the known cells;
- ``knn`` (KNN-based local-global): the local estimate scales the values of the k most similar mines
  (similarity of their level-normalised series on common years) by their ratio to the mine on the common
  years near the gap; it is blended with the global ``regression`` and the mine's own interpolation, and k
  and the blend weights are learned by hiding known cells of the panel (training).

``evaluate`` hides known cells at random and reports the mean absolute error in % per method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
METHODS = ("mean", "interpolation", "regression", "knn")
MIN_SERIES_YEARS = 3
"""Only cells of mines with at least this many known years are hidden (a series, not a snapshot)."""
MIN_EVALUATION_CELLS = 30


def _row_means(values: Array) -> Array:
    known = ~np.isnan(values)
    counts = known.sum(axis=1)
    sums = np.where(known, values, 0.0).sum(axis=1)
    col = _col_means(values)
    fallback = float(np.nanmean(values)) if known.any() else 0.0
    out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # a mine without a single known value takes the mean of the year means (or the panel mean)
    return np.where(np.isnan(out), float(np.nanmean(col)) if not np.all(np.isnan(col)) else fallback, out)


def _col_means(values: Array) -> Array:
    known = ~np.isnan(values)
    counts = known.sum(axis=0)
    sums = np.where(known, values, 0.0).sum(axis=0)
    out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    if np.all(np.isnan(out)):
        return np.zeros_like(out)
    idx = np.arange(out.size)
    good = ~np.isnan(out)
    return np.interp(idx, idx[good], out[good])


def fill_mean(values: Array) -> Array:
    rows = _row_means(values)
    return np.where(np.isnan(values), rows[:, None], values)


def fill_interpolation(values: Array) -> Array:
    out = values.copy()
    idx = np.arange(values.shape[1], dtype=float)
    cols = _col_means(values)
    for i, row in enumerate(values):
        good = ~np.isnan(row)
        if good.any():
            out[i] = np.interp(idx, idx[good], row[good])  # np.interp holds the end values: nearest
        else:
            out[i] = cols
    return out


def _features(values: Array) -> Array:
    """Per cell: year (centred), mine level, mine trend, the year's cross-mine level."""
    n, m = values.shape
    years = np.arange(m, dtype=float) - (m - 1) / 2.0
    level = _row_means(values)
    trend = np.zeros(n)
    for i, row in enumerate(values):
        good = ~np.isnan(row)
        if good.sum() >= 2:
            trend[i] = np.polyfit(years[good], row[good], 1)[0]
    cols = _col_means(values)
    return np.column_stack([
        np.tile(years, n), np.repeat(level, m), np.repeat(trend, m) * np.tile(years, n), np.tile(cols, n)])


@dataclass
class GlobalRegression:
    """Adaptive global regression (polynomial ridge; degree and penalty chosen by cross-validation)."""

    degrees: tuple[int, ...] = (1, 2, 3)
    seed: int = 0
    degree_: int = field(default=1, init=False)

    def fill(self, values: Array) -> Array:
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        x = _features(values)
        y = values.ravel()
        known = ~np.isnan(y)
        if known.sum() < 10:
            return fill_mean(values)
        alphas = np.logspace(-3, 3, 13)

        def model(d: int) -> object:
            return make_pipeline(PolynomialFeatures(d, include_bias=False), StandardScaler(), RidgeCV(alphas=alphas))

        folds = min(5, int(known.sum()) // 2)
        scores = {d: float(np.mean(cross_val_score(model(d), x[known], y[known], cv=folds,
                                                   scoring="neg_mean_absolute_error"))) for d in self.degrees}
        self.degree_ = max(scores, key=lambda d: scores[d])
        fitted = model(self.degree_)
        fitted.fit(x[known], y[known])  # type: ignore[attr-defined]
        pred = np.asarray(fitted.predict(x), dtype=np.float64)  # type: ignore[attr-defined]
        return np.where(known, y, pred).reshape(values.shape)


def _similarity(values: Array, level: Array) -> Array:
    """Distance between mines: RMS difference of their level-normalised series on common years."""
    norm = values / np.where(level == 0, 1.0, level)[:, None]
    n = values.shape[0]
    dist = np.full((n, n), np.inf)
    known = ~np.isnan(norm)
    for i in range(n):
        both = known[i] & known
        counts = both.sum(axis=1)
        diff = np.where(both, norm - norm[i], 0.0)
        rms = np.sqrt((diff ** 2).sum(axis=1) / np.maximum(counts, 1))
        dist[i] = np.where(counts >= 2, rms, np.inf)
        dist[i, i] = np.inf
    return dist


def _local(values: Array, k: int, bandwidth: float = 3.0) -> Array:
    """KNN local estimate of every cell (NaN where no neighbour knows the year).

    For mine ``i``, year ``t`` and each of its nearest mines ``j`` that knows ``t``: ``v[j, t]`` scaled by the
    ratio of the two mines' values on their common known years, the years near ``t`` weighted more
    (weight 1 / (1 + |s − t| / bandwidth)); the ``k`` nearest such estimates averaged with weights 1 / distance.
    """
    level = _row_means(values)
    dist = _similarity(values, level)
    n, m = values.shape
    known = ~np.isnan(values)
    years = np.arange(m, dtype=float)
    near = 1.0 / (1.0 + np.abs(years[:, None] - years[None, :]) / bandwidth)
    out = np.full(values.shape, np.nan)
    for i in range(n):
        order = np.argsort(dist[i])
        order = order[np.isfinite(dist[i][order])][: max(3 * k, 10)]
        if order.size == 0:
            continue
        estimates = np.full((order.size, m), np.nan)
        for a, j in enumerate(order):
            common = known[i] & known[j]
            num = near @ np.where(common, values[i], 0.0)
            den = near @ np.where(common, values[j], 0.0)
            estimates[a] = values[j] * np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        w = 1.0 / (dist[i, order] + 1e-3)
        for t in range(m):
            ok = np.flatnonzero(~np.isnan(estimates[:, t]))[:k]
            if ok.size:
                out[i, t] = float(np.sum(w[ok] * estimates[ok, t]) / np.sum(w[ok]))
    return out


def _simplex(step: float = 0.25) -> list[tuple[float, float, float]]:
    n = round(1 / step)
    return [(a * step, b * step, (n - a - b) * step) for a in range(n + 1) for b in range(n + 1 - a)]


@dataclass
class KnnLocalGlobal:
    """KNN-based local-global restoration, trained on hidden known cells.

    A filled cell is ``w_local × local + w_global × regression + w_own × interpolation of the mine's own
    series`` (where no neighbour knows the year, the local share goes to the regression). Training hides
    ``holdout`` of the known cells, and chooses ``k`` and the three weights (a grid on the simplex, step 0.25)
    with the lowest mean error in % on them.
    """

    ks: tuple[int, ...] = (3, 5, 8)
    weights: tuple[tuple[float, float, float], ...] = field(default_factory=lambda: tuple(_simplex()))
    holdout: float = 0.15
    seed: int = 0
    k_: int = field(default=5, init=False)
    weight_: tuple[float, float, float] = field(default=(0.5, 0.25, 0.25), init=False)

    @staticmethod
    def _mix(local: Array, glob: Array, own: Array, w: tuple[float, float, float]) -> Array:
        local = np.where(np.isnan(local), glob, local)
        return w[0] * local + w[1] * glob + w[2] * own

    def fit(self, values: Array) -> KnnLocalGlobal:
        rng = np.random.default_rng(self.seed)
        cells = np.argwhere(~np.isnan(values) & (values != 0))
        if len(cells) < 20:
            return self
        hide = cells[rng.choice(len(cells), max(1, int(len(cells) * self.holdout)), replace=False)]
        train = values.copy()
        train[hide[:, 0], hide[:, 1]] = np.nan
        truth = values[hide[:, 0], hide[:, 1]]
        glob = GlobalRegression(seed=self.seed).fill(train)[hide[:, 0], hide[:, 1]]
        own = fill_interpolation(train)[hide[:, 0], hide[:, 1]]
        best = (np.inf, self.k_, self.weight_)
        for k in self.ks:
            local = _local(train, k)[hide[:, 0], hide[:, 1]]
            for w in self.weights:
                err = float(np.mean(np.abs(self._mix(local, glob, own, w) - truth) / np.abs(truth)))
                if err < best[0]:
                    best = (err, k, w)
        _, self.k_, self.weight_ = best
        return self

    def fill(self, values: Array, glob: Array | None = None) -> Array:
        """``glob``: the global regression's fill of the same ``values`` when the caller has it already."""
        self.fit(values)
        if glob is None:
            glob = GlobalRegression(seed=self.seed).fill(values)
        mixed = self._mix(_local(values, self.k_), glob, fill_interpolation(values), self.weight_)
        return np.where(np.isnan(values), mixed, values)


def filler(method: str, seed: int = 0) -> Callable[[Array], Array]:
    if method == "mean":
        return fill_mean
    if method == "interpolation":
        return fill_interpolation
    if method == "regression":
        return GlobalRegression(seed=seed).fill
    if method == "knn":
        return KnnLocalGlobal(seed=seed).fill
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def restore(values: Array, method: str, seed: int = 0) -> tuple[Array, list[list[str]]]:
    """The filled panel and, per cell, the method that filled it ('' for a known cell)."""
    filled = filler(method, seed)(values)
    marks = [[method if np.isnan(values[i, t]) else "" for t in range(values.shape[1])]
             for i in range(values.shape[0])]
    return filled, marks


@dataclass(frozen=True)
class Evaluation:
    method: str
    mean_error_pct: float
    std_error_pct: float
    cells: int
    repeats: int


def evaluate(values: Array, methods: tuple[str, ...] = METHODS, *, fraction: float = 0.1, repeats: int = 5,
             seed: int = 0) -> list[Evaluation]:
    """Hide ``fraction`` of the known non-zero cells (of mines with a series) at random, restore, and report the
    mean |error| / true in % per method. A ValueError names what is missing when the panel is too thin."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    series = (~np.isnan(values)).sum(axis=1) >= MIN_SERIES_YEARS
    cells = np.argwhere(~np.isnan(values) & (values != 0) & series[:, None])
    if values.shape[1] < 2 or len(cells) < MIN_EVALUATION_CELLS:
        raise ValueError(
            f"the panel ({values.shape[0]} mines × {values.shape[1]} years) has {len(cells)} known non-zero cells "
            f"in {int(series.sum())} mines with at least {MIN_SERIES_YEARS} known years; an evaluation needs "
            f"at least {MIN_EVALUATION_CELLS} such cells")
    count = max(1, int(len(cells) * fraction))
    errors: dict[str, list[float]] = {m: [] for m in methods}
    for r in range(repeats):
        hide = cells[rng.choice(len(cells), count, replace=False)]
        masked = values.copy()
        masked[hide[:, 0], hide[:, 1]] = np.nan
        truth = values[hide[:, 0], hide[:, 1]]
        glob: Array | None = None  # the regression's fill, shared by the KNN method (same panel, same seed)
        for m in methods:
            if m in ("regression", "knn") and glob is None:
                glob = GlobalRegression(seed=seed + r).fill(masked)
            if m == "regression":
                filled = glob
            elif m == "knn":
                filled = KnnLocalGlobal(seed=seed + r).fill(masked, glob)
            else:
                filled = filler(m, seed + r)(masked)
            assert filled is not None
            est = filled[hide[:, 0], hide[:, 1]]
            errors[m].append(float(np.mean(np.abs(est - truth) / np.abs(truth)) * 100.0))
    return [Evaluation(m, float(np.mean(e)), float(np.std(e)), count, repeats) for m, e in errors.items()]


def synthetic_panel(mines: int = 60, first_year: int = 1990, last_year: int = 2023, seed: int = 7,
                    missing: float = 0.3) -> tuple[Array, list[int]]:
    """A SYNTHETIC relative-methane panel (m3/t) for testing the methods; no real mine is described.

    Mines lie in a unit square; a smooth spatial field sets each mine's level around 12.4 m3/t (the order of
    the Russian average, METHODOLOGY §1.6 [V: S15]); each mine drifts with its own trend (deeper workings),
    shares year shocks with the others, and has 5 % noise. Cells before a random start year and a share
    ``missing`` of the rest are unknown.
    """
    rng = np.random.default_rng(seed)
    years = list(range(first_year, last_year + 1))
    m = len(years)
    xy = rng.uniform(0, 1, size=(mines, 2))
    level = 12.4 * (1.0 + 0.5 * np.sin(3 * xy[:, 0]) * np.cos(2 * xy[:, 1])) * rng.lognormal(0, 0.1, mines)
    slope = rng.normal(0.012, 0.01, mines) + 0.01 * xy[:, 0]
    shocks = np.cumsum(rng.normal(0, 0.02, m))
    t = np.arange(m, dtype=float)
    values = level[:, None] * (1.0 + slope[:, None] * t[None, :] + shocks[None, :])
    values *= rng.lognormal(0, 0.05, size=values.shape)
    start = rng.integers(0, m // 2, mines)
    mask = (t[None, :] < start[:, None]) | (rng.uniform(size=values.shape) < missing)
    values[mask] = np.nan
    return values, years
