"""NAB scoring on hand-made cases (numbers worked out from the rules in ghgwatch.alerts.nab)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghgwatch.alerts.nab import (
    PROFILES,
    alarms,
    detection_score,
    label_points,
    normalise,
    null_and_perfect,
    probation_length,
    scaled_sigmoid,
    score_with_holdoff,
    sweep_scores,
)

STD = PROFILES["standard"]
T = np.arange(100, dtype=np.float64) * 60.0  # 100 points, one a minute
WIN = [(50 * 60.0, 59 * 60.0)]  # points 50..59, 10 points


def _det(*idx: int) -> np.ndarray:
    d = np.zeros(100, dtype=np.bool_)
    d[list(idx)] = True
    return d


def _sig(y: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def test_scaled_sigmoid_values() -> None:
    assert float(scaled_sigmoid(-1.0)) == pytest.approx(0.986614, abs=1e-6)
    assert float(scaled_sigmoid(0.0)) == 0.0
    assert float(scaled_sigmoid(3.5)) == -1.0
    assert float(scaled_sigmoid(3.0)) == pytest.approx(_sig(3.0))


def test_probation() -> None:
    assert probation_length(100) == 15
    assert probation_length(4000) == 600
    assert probation_length(22_000) == 750


def test_first_point_of_window_is_perfect() -> None:
    lab = label_points(T, WIN)
    assert lab.n_windows == 1
    raw = detection_score(lab, _det(50), STD)
    assert raw == pytest.approx(1.0)
    null, perfect = null_and_perfect([lab], STD)
    assert (null, perfect) == (-1.0, 1.0)
    assert normalise(raw, null, perfect) == pytest.approx(100.0)
    assert detection_score(lab, _det(), STD) == -1.0


def test_late_detection_worth_less_and_only_first_counts() -> None:
    lab = label_points(T, WIN)
    late = _sig(-0.1) / _sig(-1.0)
    assert detection_score(lab, _det(59), STD) == pytest.approx(late)
    # Two detections in the window: the earliest one counts, once.
    assert detection_score(lab, _det(55, 59), STD) == pytest.approx(_sig(-0.5) / _sig(-1.0))


def test_false_positives() -> None:
    lab = label_points(T, WIN)
    # Before any window: full cost A_FP.
    assert detection_score(lab, _det(20, 50), STD) == pytest.approx(1.0 - 0.11)
    # Just after the window: position 1/9, small cost.
    assert detection_score(lab, _det(50, 60), STD) == pytest.approx(1.0 + 0.11 * _sig(1 / 9))
    # Far after: position > 3, full cost.
    assert detection_score(lab, _det(50, 95), STD) == pytest.approx(1.0 - 0.11)
    # Probationary points are not scored.
    assert detection_score(lab, _det(3, 50), STD) == pytest.approx(1.0)
    low_fp = PROFILES["reward_low_fp"]
    assert detection_score(lab, _det(20, 50), low_fp) == pytest.approx(1.0 - 0.22)
    low_fn = PROFILES["reward_low_fn"]
    assert detection_score(lab, _det(20), low_fn) == pytest.approx(-2.0 - 0.11)


def test_window_in_probation_is_dropped() -> None:
    lab = label_points(T, [(2 * 60.0, 5 * 60.0)])
    assert lab.n_windows == 0


def test_sweep_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    labs = [label_points(T, WIN), label_points(T, [(30 * 60.0, 35 * 60.0), (70 * 60.0, 80 * 60.0)])]
    for _ in range(3):
        scores = [rng.integers(0, 12, 100).astype(np.float64) for _ in labs]
        for prof in PROFILES.values():
            fast = sweep_scores(labs, scores, prof)
            thr = np.unique(np.concatenate(scores))
            slow = score_with_holdoff(labs, scores, prof, 0, thr)
            assert fast.raw == pytest.approx(slow.raw)
            assert fast.normalised == pytest.approx(slow.normalised)


def test_sweep_never_fire_when_everything_is_noise() -> None:
    lab = label_points(T, WIN)
    scores = np.zeros(100)
    scores[::3] = 5.0  # fires everywhere, window included
    best = sweep_scores([lab], [scores], STD)
    # Firing costs ~28 false positives of -0.11 each: never firing (0) is better.
    assert best.threshold == math.inf and best.normalised == 0.0


def test_alarms_merge_an_incident() -> None:
    s = np.zeros(30)
    s[[5, 6, 7, 9, 20]] = 10.0
    a = alarms(s, 5.0, holdoff=3)
    assert np.nonzero(a)[0].tolist() == [5, 20]
    assert np.nonzero(alarms(s, 5.0, holdoff=0))[0].tolist() == [5, 6, 7, 9, 20]
    assert np.nonzero(alarms(s, 5.0, holdoff=1))[0].tolist() == [5, 9, 20]
