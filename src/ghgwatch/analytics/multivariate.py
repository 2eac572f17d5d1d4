"""Multivariate direct forecasting of a target column (e.g. methane in the outgoing air of a longwall).

Features at time ``t``: every numeric column, the target included, at lags ``0..lags`` (air flow,
degasification flows and concentrations, pressure drop, ...). One direct model per step ahead
``h = 1..horizon`` predicts ``target[t + h]``, so no future inputs are needed. Linear regression fits all
steps at once (multi-output least squares); gradient-boosted trees fit one model per step.

``fit`` scores every kind and persistence out of sample by blocked cross-validation (``cv_folds`` contiguous
blocks, each predicted by a model fitted without it and without ``horizon + lags`` rows around it; Bergmeir and
Benitez 2012, "On the use of cross-validation for time series predictor evaluation"), so that a one-day window is
scored over the whole day, not only its last hours. Intervals are conformal (Vovk et al. 2005; Lei et al. 2018,
"Distribution-free predictive inference for regression", JASA 113): the quantiles of those out-of-sample residuals
of each step, with the finite-sample correction ``ceil((n + 1) q) / n``; ``interval_metrics_`` reports the coverage
and interval (Winkler) score of each block calibrated on the other blocks (cross-conformal, Vovk 2015). Forecasts
and bounds are clipped to ``bounds`` (a concentration is never below 0 or above 100 %).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from ghgwatch import __version__
from ghgwatch.analytics import metrics
from ghgwatch.analytics._frequency import infer_frequency
from ghgwatch.analytics._threads import openmp_threads

MODEL_FORMAT = "ghgwatch.analytics.multivariate/1"
KINDS = ("linear", "gbdt")


class MultivariateForecaster:
    """Direct multi-step forecaster of ``target`` from lagged columns of a time-indexed table.

    ``fit`` holds out the last ``test_fraction`` of rows, scores each kind there (``metrics_``), picks the
    kind (``auto``: smallest MAE at the last step), computes permutation importance on the held-out rows
    (``feature_importance_``) and refits the chosen kind on all rows.
    """

    def __init__(
        self,
        target: str,
        *,
        kind: str = "auto",
        horizon: int = 6,
        lags: int = 3,
        test_fraction: float = 0.2,
        max_train_rows: int = 50_000,
        max_iter: int = 200,
        n_repeats: int = 5,
        random_state: int = 0,
        interval: float = 0.9,
        bounds: tuple[float | None, float | None] = (None, None),
        cv_folds: int = 3,
    ) -> None:
        self.target = target
        self.kind = kind
        self.horizon = horizon
        self.lags = lags
        self.test_fraction = test_fraction
        self.max_train_rows = max_train_rows
        self.max_iter = max_iter
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.interval = interval
        self.bounds = bounds
        self.cv_folds = cv_folds

    # -- features ----------------------------------------------------------------------------
    def _features(self, table: pd.DataFrame) -> pd.DataFrame:
        cols = {f"{c}_lag{lag}": table[c].shift(lag) for c in self.columns_ for lag in range(self.lags + 1)}
        return pd.DataFrame(cols, index=table.index)

    def _targets(self, table: pd.DataFrame, horizon: int) -> np.ndarray:
        y = table[self.target]
        return np.column_stack([y.shift(-h).to_numpy(dtype=float) for h in range(1, horizon + 1)])

    def _fit_kind(self, kind: str, X: np.ndarray, Y: np.ndarray) -> Any:
        if kind == "linear":
            from sklearn.linear_model import LinearRegression

            return LinearRegression().fit(X, Y)
        if kind != "gbdt":
            raise ValueError(f"unknown model kind {kind!r}; expected linear, gbdt or auto")
        from sklearn.ensemble import HistGradientBoostingRegressor

        rows = np.arange(len(X))
        if len(rows) > self.max_train_rows:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(rows, self.max_train_rows, replace=False))
        with openmp_threads(len(rows)):  # one OpenMP thread for small fits (analytics/_threads.py)
            return [
                HistGradientBoostingRegressor(
                    max_iter=self.max_iter, early_stopping=False, random_state=self.random_state
                ).fit(X[rows], Y[rows, h])
                for h in range(Y.shape[1])
            ]

    @staticmethod
    def _apply(est: Any, X: np.ndarray) -> np.ndarray:
        if isinstance(est, list):
            with openmp_threads():
                return np.column_stack([e.predict(X) for e in est])
        out = np.asarray(est.predict(X), dtype=float)
        return out.reshape(len(X), -1)

    def _clip(self, values: np.ndarray) -> np.ndarray:
        low, high = getattr(self, "bounds", (None, None))
        return np.asarray(np.clip(values, -np.inf if low is None else low, np.inf if high is None else high))

    def _quantiles(self, residuals: np.ndarray) -> np.ndarray:
        """Rows: lower and upper residual quantile of each step (split-conformal, finite-sample corrected)."""
        n = len(residuals)
        alpha = 1.0 - self.interval
        levels = [min(1.0, np.ceil((n + 1) * q) / n) for q in (alpha / 2, 1 - alpha / 2)]
        lo = np.quantile(residuals, max(0.0, 1.0 - levels[1]), axis=0, method="lower")
        hi = np.quantile(residuals, levels[1], axis=0, method="higher")
        return np.vstack([lo, hi])

    def _folds(self, n: int, n_features: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Blocked cross-validation: ``cv_folds`` contiguous test blocks; each is scored by a model fitted on the
        rows outside it and ``horizon + lags`` rows on either side (no overlapping targets or lags leak). With
        ``cv_folds`` 1, the last ``test_fraction`` of the rows after the earlier ones (a plain hold-out)."""
        gap = self.horizon + self.lags
        need = max(20, 2 * n_features)
        if self.cv_folds <= 1:
            n_test = int(n * self.test_fraction)
            if n - n_test < need or n_test < 5:
                raise ValueError(f"too few complete rows ({n}) for {n_features} features and a test period")
            return [(np.arange(n - n_test), np.arange(n - n_test, n))]
        folds = []
        for block in np.array_split(np.arange(n), self.cv_folds):
            lo, hi = int(block[0]), int(block[-1])
            train = np.concatenate([np.arange(0, max(lo - gap, 0)), np.arange(min(hi + 1 + gap, n), n)])
            if len(train) < need or len(block) < 5:
                raise ValueError(f"too few complete rows ({n}) for {n_features} features and {self.cv_folds} "
                                 "test blocks")
            folds.append((train, block))
        return folds

    def _interval_metrics(self, Yt: np.ndarray, pred: np.ndarray, fold_of: np.ndarray) -> dict[str, Any]:
        """Coverage, width and Winkler score of each block's interval calibrated on the other blocks' residuals
        (cross-conformal), or, with one block, on the second half calibrated on the first."""
        residuals = Yt - pred
        if fold_of.max() == 0:
            half = len(Yt) // 2
            fold_of = (np.arange(len(Yt)) >= half).astype(int)
            calibrate = {1: np.arange(half)}
        else:
            calibrate = {int(f): np.flatnonzero(fold_of != f) for f in np.unique(fold_of)}
        lower, upper = np.full_like(Yt, np.nan), np.full_like(Yt, np.nan)
        for f, rows in calibrate.items():
            q = self._quantiles(residuals[rows])
            mine = fold_of == f
            lower[mine], upper[mine] = self._clip(pred[mine] + q[0]), self._clip(pred[mine] + q[1])
        scored = np.isfinite(lower).all(axis=1)
        truth, lower, upper = Yt[scored], lower[scored], upper[scored]
        return {
            "level": self.interval,
            "coverage": metrics.coverage(truth, lower, upper),
            "coverage_last_step": metrics.coverage(truth[:, -1], lower[:, -1], upper[:, -1]),
            "mean_width": float(np.mean(upper - lower)),
            "winkler": metrics.winkler(truth, lower, upper, self.interval),
            "n_evaluated": len(truth),
        }

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, table: pd.DataFrame) -> Self:
        """Fit on a table indexed by time; ``target`` and the inputs are its numeric columns."""
        from sklearn.inspection import permutation_importance

        if self.target not in table.columns:
            raise ValueError(f"target column {self.target!r} is not in the table")
        numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        self.columns_ = [self.target, *[c for c in numeric if c != self.target]]
        F = self._features(table)
        Y = self._targets(table, self.horizon)
        ok = np.isfinite(F.to_numpy()).all(axis=1) & np.isfinite(Y).all(axis=1)
        X, Y = F.to_numpy()[ok], Y[ok]
        folds = self._folds(len(X), X.shape[1])
        kinds = KINDS if self.kind == "auto" else (self.kind,)
        self.metrics_: dict[str, dict[str, float]] = {}
        scored = np.concatenate([test for _, test in folds])
        Yt = Y[scored]
        preds: dict[str, np.ndarray] = {"persistence": np.repeat(X[scored, [0]][:, None], self.horizon, axis=1)}
        last_fold: dict[str, Any] = {}
        for kind in kinds:
            oof = np.full_like(Y, np.nan)
            for train, test in folds:
                est = self._fit_kind(kind, X[train], Y[train])
                oof[test] = self._clip(self._apply(est, X[test]))
            last_fold[kind] = est
            preds[kind] = oof[scored]
        for kind, pred in preds.items():
            self.metrics_[kind] = {
                "mae": metrics.mae(Yt[:, -1], pred[:, -1]),
                "rmse": metrics.rmse(Yt[:, -1], pred[:, -1]),
                "mape": metrics.mape(Yt[:, -1], pred[:, -1]),
                "mae_all_steps": metrics.mae(Yt, pred),
            }
        self.kind_ = min(kinds, key=lambda k: self.metrics_[k]["mae"])
        fold_of = np.concatenate([np.full(len(test), i) for i, (_, test) in enumerate(folds)])
        self.interval_metrics_ = self._interval_metrics(Yt, preds[self.kind_], fold_of)
        self.residual_quantiles_ = self._quantiles(Yt - preds[self.kind_])
        chosen, naive_m = self.metrics_[self.kind_], self.metrics_["persistence"]
        # Worse than persistence at the last step or over all steps: never to be promoted (issue 14).
        self.beats_naive_ = bool(chosen["mae"] < naive_m["mae"] and chosen["mae_all_steps"] < naive_m["mae_all_steps"])
        train, test = folds[-1]
        last = last_fold[self.kind_]
        # OLS is separable by output, so a single-output refit equals the last column of the joint fit.
        last_step = last[-1] if isinstance(last, list) else self._fit_kind("linear", X[train], Y[train, -1])
        imp = permutation_importance(
            last_step,
            X[test],
            Y[test, -1],
            scoring="neg_mean_absolute_error",
            n_repeats=self.n_repeats,
            random_state=self.random_state,
        )
        feat = pd.DataFrame({"feature": F.columns, "importance": imp.importances_mean, "std": imp.importances_std})
        feat["column"] = [name.rsplit("_lag", 1)[0] for name in feat["feature"]]
        self.feature_importance_ = feat.sort_values("importance", ascending=False, ignore_index=True)
        self.column_importance_ = feat.groupby("column", sort=False)["importance"].sum().sort_values(ascending=False)
        split = int(min(t[0] for _, t in folds))
        self.estimator_ = self._fit_kind(self.kind_, X, Y)
        index = table.index
        self.frequency_ = infer_frequency(index) if isinstance(index, pd.DatetimeIndex) else None
        self.data_window_ = {"start": str(index[0]), "end": str(index[-1]), "rows": len(table)}
        self.test_window_start_ = str(F.index[ok][split])  # the first row scored out of sample
        return self

    # -- use ---------------------------------------------------------------------------------
    def _check_table(self, table: pd.DataFrame, horizon: int | None) -> int:
        missing = [c for c in self.columns_ if c not in table.columns]
        if missing:
            raise ValueError(f"the table lacks the model's columns: {', '.join(missing)}")
        h = self.horizon if horizon is None else horizon
        if not 1 <= h <= self.horizon:
            raise ValueError(f"horizon must be between 1 and {self.horizon} (the horizon the model was fitted for)")
        return h

    def predict(self, table: pd.DataFrame, horizon: int | None = None) -> pd.DataFrame:
        """Forecast steps ``1..horizon`` after the last row of ``table`` (its last rows must be complete)."""
        h = self._check_table(table, horizon)
        F = self._features(table).to_numpy()[-1:]
        if not np.isfinite(F).all():
            raise ValueError(f"the last {self.lags + 1} rows must have every model column filled")
        point = self._apply(self.estimator_, F)[0, :h]
        q = getattr(self, "residual_quantiles_", None)
        lower = point + q[0, :h] if q is not None else np.full(h, np.nan)
        upper = point + q[1, :h] if q is not None else np.full(h, np.nan)
        last = table.index[-1]
        if self.frequency_ is not None and isinstance(last, pd.Timestamp):
            index: pd.Index = self.frequency_.future(last, h)
            index.name = "timestamp"
        else:
            index = pd.RangeIndex(1, h + 1, name="step")
        return pd.DataFrame({"forecast": self._clip(point), "lower": self._clip(lower), "upper": self._clip(upper)},
                            index=index)

    def evaluate(self, table: pd.DataFrame, horizon: int | None = None) -> pd.DataFrame:
        """``timestamp, target, forecast, error_pct``: each row's target against its ``h``-step forecast.

        ``error_pct = 100 (forecast - target) / target`` (NaN where the target is 0).
        """
        h = self._check_table(table, horizon)
        F = self._features(table).to_numpy()
        ok = np.isfinite(F).all(axis=1)
        fc = np.full(len(table), np.nan)
        if ok.any():
            fc[ok] = self._clip(self._apply(self.estimator_, F[ok])[:, h - 1])
        forecast = pd.Series(fc, index=table.index).shift(h)
        target = table[self.target]
        out = pd.DataFrame({"target": target, "forecast": forecast})
        out = out[out["forecast"].notna() & out["target"].notna()]
        t = out["target"].to_numpy()
        err = np.divide(100 * (out["forecast"].to_numpy() - t), t, out=np.full(len(t), np.nan), where=t != 0)
        out["error_pct"] = err
        out.index.name = "timestamp"
        return out

    def metadata(self) -> dict[str, Any]:
        """What a model registry stores with the model."""
        import sklearn

        from ghgwatch.kit.timeutil import utcnow

        return {
            "format": MODEL_FORMAT,
            "ghgwatch_version": __version__,
            "sklearn_version": sklearn.__version__,
            "created_at": utcnow().isoformat(),
            "target": self.target,
            "inputs": self.columns_[1:],
            "kind": self.kind_,
            "params": {
                k: getattr(self, k)
                for k in (
                    "kind",
                    "horizon",
                    "lags",
                    "test_fraction",
                    "max_train_rows",
                    "max_iter",
                    "n_repeats",
                    "random_state",
                    "interval",
                    "bounds",
                    "cv_folds",
                )
            },
            "data_window": self.data_window_,
            "test_window_start": self.test_window_start_,
            "frequency": str(self.frequency_.step) if self.frequency_ is not None else None,
            "metrics": self.metrics_,
            "interval_metrics": self.interval_metrics_,
            "beats_naive": self.beats_naive_,
            "column_importance": {str(k): float(v) for k, v in self.column_importance_.items()},
        }


def save_model(model: MultivariateForecaster, path: str | Path) -> dict[str, Any]:
    """Write ``{"metadata", "model"}`` with joblib; returns the metadata."""
    import joblib  # type: ignore[import-untyped]

    meta = model.metadata()
    joblib.dump({"metadata": meta, "model": model}, Path(path))
    return meta


def load_model(path: str | Path) -> tuple[MultivariateForecaster, dict[str, Any]]:
    """Load a model written by :func:`save_model`.

    Caveat: joblib files are pickles and can run code when loaded; load only files you trust.
    """
    import joblib

    obj = joblib.load(Path(path))
    if not isinstance(obj, dict) or obj.get("metadata", {}).get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a ghgwatch multivariate model file")
    model = obj["model"]
    if not isinstance(model, MultivariateForecaster):
        raise ValueError(f"{path}: not a ghgwatch multivariate model file")
    return model, dict(obj["metadata"])
