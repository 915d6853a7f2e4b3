"""Benchmark forecasters of the M4 competition (its R benchmark code, Makridakis et al. 2020).

For history ``x_1..x_n`` and horizon ``h`` (``k = 1..h``):

    naive:           f_{n+k} = x_n
    seasonal naive:  f_{n+k} = x_{n - m + ((k - 1) mod m) + 1}
    drift:           f_{n+k} = x_n + k (x_n - x_1) / (n - 1)
    Naive2:          f_{n+k} = (x_n / s_n) * s_{n - m + ((k - 1) mod m) + 1}

where ``s_t`` are classical multiplicative seasonal indices (:func:`seasonal_indices`), used
only when :func:`seasonality_test` finds the series seasonal (else ``s_t = 1``: plain naive).

Seasonality test (90%, one-sided): with sample autocorrelations ``r_k``,
``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k=1}^{m-1} r_k^2) / n)``; series shorter than ``3 m``
(or with ``m = 1``) are not seasonal.

Example:
    >>> naive([1.0, 2.0, 3.0], 2).tolist()
    [3.0, 3.0]
    >>> seasonal_naive([1.0, 2.0, 3.0, 4.0], 3, m=2).tolist()
    [3.0, 4.0, 3.0]
    >>> drift([1.0, 2.0, 3.0], 2).tolist()
    [4.0, 5.0]
"""

from __future__ import annotations

import numpy as np

from seqlab.errors import DataError
from seqlab.forecast._checks import as_series, check_horizon, check_period

__all__ = ["naive", "seasonal_naive", "drift", "naive2", "seasonality_test", "seasonal_indices",
           "acf", "deseasonalise"]


def naive(y, h: int) -> np.ndarray:
    """Repeat the last value ``h`` times."""
    x, h = as_series(y), check_horizon(h)
    return np.full(h, x[-1])


def seasonal_naive(y, h: int, m: int) -> np.ndarray:
    """Repeat the last full season (``m`` values) over the horizon."""
    h, m = check_horizon(h), check_period(m)
    x = as_series(y, min_length=m)
    return np.resize(x[-m:], h)


def drift(y, h: int) -> np.ndarray:
    """Naive plus the average historical change per step."""
    x, h = as_series(y, min_length=2), check_horizon(h)
    return x[-1] + np.arange(1, h + 1) * (x[-1] - x[0]) / (x.size - 1)


def acf(y, max_lag: int) -> np.ndarray:
    """Sample autocorrelations ``r_1..r_max_lag`` (R's ``acf``: mean-centred, divided by the
    lag-0 sum of squares)."""
    x = as_series(y)
    d = x - x.mean()
    denom = float(d @ d)
    if denom == 0:
        raise DataError("autocorrelation of a constant series is undefined")
    return np.array([float(d[k:] @ d[:-k]) / denom for k in range(1, max_lag + 1)])


def seasonality_test(y, m: int) -> bool:
    """The M4 benchmarks' 90% test of seasonality at lag ``m`` (see the module docstring)."""
    m = check_period(m)
    x = as_series(y)
    if m == 1 or x.size < 3 * m or np.ptp(x) == 0:
        return False
    r = acf(x, m)
    limit = 1.645 * np.sqrt((1.0 + 2.0 * np.sum(r[:-1] ** 2)) / x.size)
    return bool(abs(r[-1]) > limit)


def seasonal_indices(y, m: int) -> np.ndarray:
    """Classical multiplicative decomposition indices ``s_1..s_n`` (R's ``decompose``).

    Trend: centred moving average of order ``m`` (for even ``m`` the ``2 x m`` average, end
    weights ``1/(2m)``); detrended ratios ``x_t / trend_t`` averaged by position ``t mod m``;
    the ``m`` averages rescaled to mean 1 and repeated.
    """
    m = check_period(m)
    x = as_series(y, min_length=2 * m)
    n = x.size
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    half = (w.size - 1) // 2
    trend = np.full(n, np.nan)
    trend[half:n - half] = np.convolve(x, w, mode="valid")
    ratio = x / trend
    figure = np.array([np.nanmean(ratio[i::m]) for i in range(m)])
    figure /= figure.mean()
    return np.resize(figure, n)


def deseasonalise(y, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x / s, s_out)``: the seasonally adjusted series and the indices of the next ``m``
    steps (``s_out`` repeats the last season), or ``(x, ones)`` when the test says non-seasonal."""
    m = check_period(m)
    x = as_series(y)
    if not seasonality_test(x, m):
        return x, np.ones(m)
    s = seasonal_indices(x, m)
    return x / s, s[-m:]


def naive2(y, h: int, m: int) -> np.ndarray:
    """M4's Naive2: naive on the seasonally adjusted series, re-seasonalised."""
    h = check_horizon(h)
    adjusted, s_out = deseasonalise(y, m)
    return np.full(h, adjusted[-1]) * np.resize(s_out, h)
