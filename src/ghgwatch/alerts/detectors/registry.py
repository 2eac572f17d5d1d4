"""The default detector and alarm policy chosen on the NAB development series (benchmarks/nab.py).

Measured in docs/detection.md ("Calibration on labelled real series"): a windowed Gaussian over the
last 300 points, every point learned, spread floored at 5 % of the range seen, alarms at
``DEFAULT_ALARM_THRESHOLD`` with a hold-off of ``HOLDOFF_POINTS`` points (one alarm per incident).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ghgwatch.alerts.detectors.adaptive import WindowedGaussian, WindowedRobust
from ghgwatch.alerts.detectors.base import FloatArray

# Our calibration on nab-dev (benchmarks/nab.py, standard-profile optimum; docs/detection.md).
DEFAULT_WINDOW: Final = 300
DEFAULT_FLOOR_REL: Final = 0.05
DEFAULT_STEP: Final = 5
HOLDOFF_POINTS: Final = 100
DEFAULT_ALARM_THRESHOLD: Final = 5.2  # plateau 5.0-5.4 on nab-dev, see docs/detection.md

Scorer = Callable[[FloatArray, FloatArray], FloatArray]


def default_detector() -> WindowedGaussian:
    return WindowedGaussian(window=DEFAULT_WINDOW, step=DEFAULT_STEP, floor_rel=DEFAULT_FLOOR_REL)


def _old(method: str) -> Scorer:
    def run(t: FloatArray, x: FloatArray) -> FloatArray:
        from ghgwatch.alerts.detectors.methods import make_detector, median_interval

        return make_detector(method, interval_s=median_interval(t)).score_many(x, t)

    return run


def _auto(t: FloatArray, x: FloatArray) -> FloatArray:
    from ghgwatch.alerts.detectors.methods import choose_method, make_detector, median_interval

    return make_detector(choose_method(t, x), interval_s=median_interval(t)).score_many(x, t)


def benchmark_scorers() -> dict[str, Scorer]:
    """Candidates scored by benchmarks/nab.py (the first is the default)."""
    return {
        "windowed_gaussian_300": lambda t, x: default_detector().score_many(x, t),
        "windowed_gaussian_500": lambda t, x: WindowedGaussian(window=500, step=5).score_many(x, t),
        "windowed_gaussian_1000": lambda t, x: WindowedGaussian(window=1000, step=5).score_many(x, t),
        "windowed_robust_500": lambda t, x: WindowedRobust(window=500, step=10).score_many(x, t),
        "auto_choice": _auto,  # what `ghgwatch detect` runs by default (seasonal for daily series)
        "robust_z_filtered_old": _old("robust_z"),
        "ewma_filtered_old": _old("ewma"),
    }

