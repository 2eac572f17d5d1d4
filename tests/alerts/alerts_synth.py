"""Generated methane-like series with injected spikes, level shifts and drifts, and the scoring of
flags against them (used by the tests and for the figures in docs/detection.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

START = 1_704_067_200.0  # 2024-01-01T00:00:00Z
SIGMA = 0.02  # noise, % CH4


@dataclass(frozen=True)
class Injected:
    kind: str
    t: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    onsets: list[int]
    detect_within: int  # points after onset in which a flag counts as detection
    affected: int  # points after onset excluded from the false-alarm count


def make_series(kind: str, seed: int, n: int = 5760, daily: bool = False) -> Injected:
    """``kind`` in spike | shift | drift; 1-minute readings around 0.5 % CH4."""
    rng = np.random.default_rng(seed)
    t = START + 60.0 * np.arange(n)
    x = 0.5 + rng.normal(0.0, SIGMA, n)
    if daily:
        x += 0.15 * np.sin(2 * np.pi * (t % 86400) / 86400)
    onsets = list(range(400 + int(rng.integers(0, 100)), n - 400, 700 if kind == "spike" else 1400))
    for k, o in enumerate(onsets):
        sgn = 1.0 if k % 2 == 0 else -1.0
        if kind == "spike":
            x[o] += sgn * 10 * SIGMA
        elif kind == "shift":
            x[o:] += sgn * 8 * SIGMA
        else:  # drift: a ramp of 20 sigma over 60 minutes (a build-up) to a new level
            x[o : o + 60] += sgn * 20 * SIGMA * np.arange(1, 61) / 60
            x[o + 60 :] += sgn * 20 * SIGMA
    within, affected = {"spike": (1, 1), "shift": (30, 200), "drift": (90, 260)}[kind]
    return Injected(kind, t, x, onsets, within, affected)


def evaluate(s: Injected, flags: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """(detection rate of injected events, false-alarm rate over unaffected points)."""
    found = sum(bool(flags[o : o + s.detect_within].any()) for o in s.onsets)
    clean = np.ones(flags.shape[0], dtype=np.bool_)
    for o in s.onsets:
        clean[o : o + s.affected] = False
    return found / len(s.onsets), float(flags[clean].mean())
