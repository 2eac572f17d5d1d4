"""Counter-based random numbers: a pure function of (seed, sensor, stream, time).

A value at a given time must not depend on which readings were generated before it (live pacing,
backfill and tests ask for times in different orders), so instead of a stateful generator every draw
is a hash of its coordinates. The mixer is SplitMix64 (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014), which passes BigCrush when fed a counter.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + _GAMMA
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _key(seed: int, sensor: int, stream: int) -> np.uint64:
    base = np.array([(seed * 0x632BE59BD9B4E019 + sensor * 0x8CB92BA72F3D8DD7 + stream) & _MASK], dtype=np.uint64)
    return np.uint64(_mix(base)[0])


def uniform(seed: int, sensor: int, stream: int, times_ms: npt.NDArray[np.int64]) -> FloatArray:
    """Uniform numbers in [0, 1), one per timestamp (milliseconds)."""
    counters = np.asarray(times_ms, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed = _mix(counters ^ _key(seed, sensor, stream))
    # The top 53 bits give an exactly representable double in [0, 1).
    return (hashed >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(seed: int, sensor: int, stream: int, times_ms: npt.NDArray[np.int64]) -> FloatArray:
    """Standard normal numbers by the Box-Muller transform of two independent uniform streams."""
    u1 = uniform(seed, sensor, 2 * stream, times_ms)
    u2 = uniform(seed, sensor, 2 * stream + 1, times_ms)
    radius = np.sqrt(-2.0 * np.log1p(-u1))  # log1p(-u) avoids log(0) since u < 1
    return radius * np.cos(2.0 * np.pi * u2)
