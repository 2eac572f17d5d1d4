"""Sampling step inference and the choice of seasonal periods for a regular time series."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Natural cycles of monitoring data, in seconds: minute, hour, day, week, (Julian) year.
_CYCLES_S = (60.0, 3600.0, 86400.0, 7 * 86400.0, 365.25 * 86400.0)
_DAY_S = 86400.0


@dataclass(frozen=True)
class Frequency:
    """The sampling step of a series: a pandas alias when one can be inferred, and the median step."""

    step: pd.Timedelta
    alias: str | None

    def future(self, last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
        """The ``horizon`` timestamps that follow ``last``."""
        if self.alias is not None:
            return pd.date_range(last, periods=horizon + 1, freq=self.alias)[1:]
        return pd.DatetimeIndex([last + self.step * k for k in range(1, horizon + 1)])


def _infer_alias(index: pd.DatetimeIndex) -> str | None:
    """``pd.infer_freq`` as a string; pandas 3 warns unless the offset-returning behaviour is chosen."""
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            found: object = pd.infer_freq(index)
    except (pd.errors.OptionError, KeyError):  # pandas < 3 has no such option and returns a string
        found = pd.infer_freq(index)
    except (TypeError, ValueError):
        return None
    if found is None:
        return None
    return str(getattr(found, "freqstr", found))


def infer_frequency(index: pd.DatetimeIndex) -> Frequency:
    """Infer the step with :func:`pandas.infer_freq`, falling back to the median difference.

    The median makes the result robust to a few missing or duplicated rows; ``alias`` is ``None``
    then and future timestamps are spaced by the median step.
    """
    if len(index) < 2:
        raise ValueError("at least two timestamps are needed to infer the sampling step")
    alias: str | None = None
    if len(index) >= 3:
        alias = _infer_alias(index)
    diffs = np.diff(index.as_unit("ns").asi8)
    step = pd.Timedelta(int(np.median(diffs)), unit="ns")
    if step <= pd.Timedelta(0):
        raise ValueError("timestamps must be strictly increasing")
    return Frequency(step=step, alias=alias)


def candidate_periods(step: pd.Timedelta, n: int | None = None, max_periods: int = 2) -> list[float]:
    """Seasonal periods (in steps) that suit a sampling step, shortest first.

    1-minute data gives 60 and 1440, hourly 24 and 168, daily 7 and 365.25, weekly 52.18, monthly 12,
    quarterly 4, yearly none. With ``n`` given, only periods seen at least twice are kept.
    """
    seconds = step.total_seconds()
    days = seconds / _DAY_S
    periods: list[float]
    if 27 <= days <= 32:
        periods = [12.0]
    elif 88 <= days <= 93:
        periods = [4.0]
    elif days >= 360:
        periods = []
    else:
        periods = []
        for cycle in _CYCLES_S:
            p = cycle / seconds
            if p >= 2 - 1e-9:
                periods.append(float(round(p)) if abs(p - round(p)) < 1e-6 else p)
    periods = periods[:max_periods]
    if n is not None:
        periods = [p for p in periods if n >= 2 * p]
    return periods


def primary_period(values: np.ndarray, periods: list[float]) -> int:
    """The candidate period with the strongest autocorrelation of the linearly detrended series.

    Used for the seasonal-naive baseline and the MASE scale; 1 (plain naive) when there is none.
    """
    if not periods:
        return 1
    y = np.asarray(values, dtype=float)
    t = np.arange(len(y), dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return round(periods[0])
    coef = np.polyfit(t[ok], y[ok], 1)
    r = np.where(ok, y - np.polyval(coef, t), 0.0)
    denom = float(np.dot(r, r)) or 1.0
    best, best_acf = round(periods[0]), -np.inf
    for p in periods:
        lag = round(p)
        if lag >= len(r):
            continue
        acf = float(np.dot(r[lag:], r[:-lag])) / denom
        if acf > best_acf:
            best, best_acf = lag, acf
    return best


def regular_grid(index: pd.DatetimeIndex, max_factor: float = 10.0) -> pd.DatetimeIndex | None:
    """The regular grid from the first to the last time that holds every time of ``index``: the pandas
    frequency when one is inferred, else the median step or, for monthly, quarterly and yearly data, the
    calendar period. ``None`` when the times are on no such grid, or when the grid would be more than
    ``max_factor`` times longer than the series (most of it would be invented)."""
    if len(index) < 3:
        return None
    step_ns = float(np.median(np.diff(index.as_unit("ns").asi8)))
    if step_ns <= 0:
        return None
    candidates: list[str | pd.Timedelta] = []
    alias = _infer_alias(index)
    if alias is not None:
        candidates.append(alias)
    candidates.append(pd.Timedelta(int(step_ns), unit="ns"))
    days = step_ns / 1e9 / _DAY_S
    for low, high, calendar in ((27, 32, ("MS", "ME")), (88, 93, ("QS", "QE")), (360, 367, ("YS", "YE"))):
        if low <= days <= high:
            candidates.extend(calendar)
    for freq in candidates:
        try:
            grid = pd.date_range(index[0], index[-1], freq=freq, name=index.name).as_unit(index.unit)
        except (ValueError, TypeError):
            continue
        if len(grid) <= max_factor * len(index) and bool(index.isin(grid).all()):
            return grid
    return None
