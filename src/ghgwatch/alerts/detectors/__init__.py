"""Streaming anomaly detectors (river-style ``learn_one`` / ``score_one``) and Isolation Forest."""

from __future__ import annotations

from ghgwatch.alerts.detectors.adaptive import WindowedGaussian, WindowedRobust
from ghgwatch.alerts.detectors.base import AnomalyFilter, BlockDetector, StreamingDetector
from ghgwatch.alerts.detectors.ewma import EWMA
from ghgwatch.alerts.detectors.iforest import IsolationForestDetector
from ghgwatch.alerts.detectors.methods import (
    DEFAULT_METHOD,
    DEFAULT_THRESHOLDS,
    METHODS,
    choose_method,
    make_detector,
)
from ghgwatch.alerts.detectors.robust_z import RobustZScore
from ghgwatch.alerts.detectors.seasonal import SeasonalBaseline

__all__ = [
    "DEFAULT_METHOD",
    "DEFAULT_THRESHOLDS",
    "EWMA",
    "METHODS",
    "AnomalyFilter",
    "BlockDetector",
    "IsolationForestDetector",
    "RobustZScore",
    "SeasonalBaseline",
    "StreamingDetector",
    "WindowedGaussian",
    "WindowedRobust",
    "choose_method",
    "make_detector",
]
