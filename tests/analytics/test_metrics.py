from __future__ import annotations

import numpy as np
import pytest

from ghgwatch.analytics import metrics


def test_point_metrics_on_known_values() -> None:
    y, f = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])
    assert metrics.mae(y, f) == pytest.approx(1.0)
    assert metrics.rmse(y, f) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.mape(y, f) == pytest.approx(100 * (1 + 0 + 0.5) / 3)
    assert metrics.smape(y, f) == pytest.approx(100 * (2 / 3 + 0 + 4 / 6) / 3)
    assert metrics.mape([0.0], [1.0]) != metrics.mape([0.0], [1.0])  # NaN when every actual is 0


def test_mase_of_the_in_sample_naive_error_is_one() -> None:
    train = np.array([1.0, 3.0, 2.0, 5.0])  # naive MAE = (2 + 1 + 3) / 3 = 2
    assert metrics.mase_scale(train) == pytest.approx(2.0)
    assert metrics.mase([10.0, 10.0], [12.0, 8.0], train) == pytest.approx(1.0)


def test_coverage_counts_bounds_inclusively() -> None:
    assert metrics.coverage([1, 2, 3, 4], [1, 0, 4, 0], [1, 5, 5, 3]) == pytest.approx(0.5)


def test_winkler_score_by_hand() -> None:
    # 80 % interval (alpha 0.2, penalty 2 / 0.2 = 10): width 2 each; misses by 0.5 below and 1 above.
    y, lo, hi = [1.0, -0.5, 4.0], [0.0, 0.0, 1.0], [2.0, 2.0, 3.0]
    assert metrics.winkler(y, lo, hi, 0.8) == pytest.approx((2 + (2 + 10 * 0.5) + (2 + 10 * 1.0)) / 3)
    with pytest.raises(ValueError, match="level"):
        metrics.winkler(y, lo, hi, 1.0)
