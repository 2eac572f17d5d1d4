"""Isolation Forest (Liu, Ting & Zhou 2008) for batch analysis of several sensors together.

Batch model in scikit-learn style: ``fit`` on a window of a multi-column table (rows = timestamps,
columns = sensors), ``score`` the rows. Scores are the paper's anomaly score ``s(x, n)`` in (0, 1]
(``-score_samples`` in scikit-learn): about 0.5 or less is ordinary, close to 1 is isolated quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ghgwatch.alerts.detectors.base import FloatArray


class IsolationForestDetector:
    """Wraps ``sklearn.ensemble.IsolationForest``; rows with NaN must be dropped or filled first."""

    def __init__(self, n_estimators: int = 100, max_samples: int = 256, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state
        self.model_: Any = None

    def fit(self, table: FloatArray) -> IsolationForestDetector:
        from sklearn.ensemble import IsolationForest

        x = _as_2d(table)
        if x.shape[0] < 2 or not np.isfinite(x).all():
            raise ValueError("need at least 2 rows of finite values to fit")
        self.model_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, x.shape[0]),
            random_state=self.random_state,
        ).fit(x)
        return self

    def score(self, table: FloatArray) -> FloatArray:
        if self.model_ is None:
            raise RuntimeError("fit the detector first")
        return np.asarray(-self.model_.score_samples(_as_2d(table)), dtype=np.float64)

    def score_past_only(
        self,
        table: FloatArray,
        window: int = 2000,
        refit_every: int = 500,
        min_rows: int = 200,
        progress: Callable[[int], None] | None = None,
    ) -> FloatArray:
        """Score each row with a model fitted on up to ``window`` rows before it (refitted every
        ``refit_every`` rows): the streaming-like use in ``ghgwatch detect``. Warm-up rows score 0.
        ``progress`` is called with the number of rows scored after each refit."""
        x = _as_2d(table)
        out = np.zeros(x.shape[0], dtype=np.float64)
        for start in range(min_rows, x.shape[0], refit_every):
            self.fit(x[max(0, start - window) : start])
            out[start : start + refit_every] = self.score(x[start : start + refit_every])
            if progress is not None:
                progress(min(refit_every, x.shape[0] - start))
        return out


def _as_2d(table: FloatArray) -> FloatArray:
    x = np.asarray(table, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x
