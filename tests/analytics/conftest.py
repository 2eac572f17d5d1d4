from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "analytics"


def seasonal_series(
    n: int, *, freq: str = "h", period: int = 24, slope: float = 0.01, noise: float = 0.5, seed: int = 0
) -> pd.Series:
    """Level 10, a linear trend, a sine season and Gaussian noise: known structure."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 10 + slope * t + 3 * np.sin(2 * np.pi * t / period) + rng.normal(0, noise, n)
    return pd.Series(y, index=pd.date_range("2024-01-01", periods=n, freq=freq), name="value")


def longwall_table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Methane in outgoing air driven by gas release and drainage that lead it by 4 steps, diluted by air."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    air = 1500 + 100 * np.sin(2 * np.pi * t / 144) + rng.normal(0, 5, n)
    release = 20 + 4 * np.sin(2 * np.pi * t / 97) + np.cumsum(rng.normal(0, 0.2, n))
    drainage = 8 + 2 * np.sin(2 * np.pi * t / 61) + rng.normal(0, 0.1, n)
    free = np.roll(release - drainage, 4)
    free[:4] = free[4]
    ch4 = 100 * free / air + rng.normal(0, 0.003, n)
    idx = pd.date_range("2024-01-01", periods=n, freq="10min", name="timestamp")
    return pd.DataFrame(
        {
            "ch4_outgoing": ch4,
            "air_flow": air,
            "gas_release": release,
            "drainage": drainage,
            "noise": rng.normal(size=n),
        },
        index=idx,
    )


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
