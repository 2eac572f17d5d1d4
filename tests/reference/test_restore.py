"""Restoration methods on small hand-made panels and on the synthetic panel."""

from __future__ import annotations

import numpy as np
import pytest

from ghgwatch.reference.minedb import restore

NAN = np.nan


def test_mean_and_interpolation_by_hand() -> None:
    values = np.array([[1.0, NAN, 3.0, NAN], [NAN, 2.0, 4.0, NAN]])
    mean = restore.fill_mean(values)
    assert mean[0].tolist() == [1.0, 2.0, 3.0, 2.0]
    assert mean[1].tolist() == [3.0, 2.0, 4.0, 3.0]
    interp = restore.fill_interpolation(values)
    assert interp[0].tolist() == [1.0, 2.0, 3.0, 3.0]  # linear inside, nearest after the last
    assert interp[1].tolist() == [2.0, 2.0, 4.0, 4.0]  # nearest before the first


def test_every_filled_cell_is_marked() -> None:
    values, _ = restore.synthetic_panel(mines=15, seed=3)
    for method in restore.METHODS:
        filled, marks = restore.restore(values, method)
        assert not np.isnan(filled).any()
        unknown = np.isnan(values)
        assert all((marks[i][t] == method) == unknown[i, t] for i in range(values.shape[0])
                   for t in range(values.shape[1]))
        assert np.array_equal(filled[~unknown], values[~unknown])


def test_evaluation_reports_every_method_and_trends_favour_interpolation() -> None:
    years = np.arange(20, dtype=float)
    values = np.array([5.0 + s * years for s in (0.5, 1.0, 1.5, 2.0, 0.8)])
    values[:, ::3] = NAN
    results = {r.method: r for r in restore.evaluate(values, ("mean", "interpolation"), fraction=0.2,
                                                     repeats=3)}
    assert results["interpolation"].mean_error_pct < results["mean"].mean_error_pct
    with pytest.raises(ValueError, match="fraction"):
        restore.evaluate(values, fraction=1.5)


def test_knn_learns_its_parameters() -> None:
    values, _ = restore.synthetic_panel(mines=20, seed=5)
    model = restore.KnnLocalGlobal().fit(values)
    assert model.k_ in model.ks and model.weight_ in model.weights and abs(sum(model.weight_) - 1) < 1e-12


def test_knn_local_estimate_by_hand() -> None:
    # b is exactly twice a on their common years; c has another shape. With k = 1, b's 2002 is a's 3 × 2 = 6.
    values = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, NAN, 8.0, 10.0], [10.0, 9.0, 10.0, 11.0, 10.0]])
    local = restore._local(values, 1)
    assert local[1, 2] == pytest.approx(6.0, rel=1e-12)


def test_a_snapshot_panel_is_refused_with_the_reason() -> None:
    snapshot = np.arange(1.0, 51.0).reshape(50, 1)  # one year per mine, like the GEM production figures
    with pytest.raises(ValueError, match="0 known non-zero cells in 0 mines with at least 3 known years"):
        restore.evaluate(snapshot)


def test_on_the_synthetic_panel_knn_and_interpolation_beat_the_mean() -> None:
    values, years = restore.synthetic_panel()
    assert (values.shape, years[0], years[-1]) == ((60, 34), 1990, 2023)
    results = {r.method: r.mean_error_pct for r in restore.evaluate(values, repeats=1)}
    assert results["knn"] < results["mean"] and results["interpolation"] < results["mean"]


def test_evaluation_shares_the_regression_without_changing_any_figure() -> None:
    """evaluate() fits the global regression once per repeat for both methods that use it; each method's
    figure must equal that of the method run on its own (filler), as a user of `restore` would run it."""
    values, _ = restore.synthetic_panel(mines=20, seed=5)
    fraction, repeats, seed = 0.1, 2, 3
    shared = {r.method: r.mean_error_pct for r in restore.evaluate(values, fraction=fraction, repeats=repeats,
                                                                  seed=seed)}
    rng = np.random.default_rng(seed)
    series = (~np.isnan(values)).sum(axis=1) >= restore.MIN_SERIES_YEARS
    cells = np.argwhere(~np.isnan(values) & (values != 0) & series[:, None])
    count = max(1, int(len(cells) * fraction))
    errors: dict[str, list[float]] = {m: [] for m in restore.METHODS}
    for r in range(repeats):
        hide = cells[rng.choice(len(cells), count, replace=False)]
        masked = values.copy()
        masked[hide[:, 0], hide[:, 1]] = NAN
        truth = values[hide[:, 0], hide[:, 1]]
        for m in restore.METHODS:
            est = restore.filler(m, seed + r)(masked)[hide[:, 0], hide[:, 1]]
            errors[m].append(float(np.mean(np.abs(est - truth) / np.abs(truth)) * 100.0))
    assert shared == pytest.approx({m: float(np.mean(e)) for m, e in errors.items()}, rel=1e-12)
