"""Forecast accuracy as the M4 competition defines it (Makridakis et al., IJF 36(1), 2020).

For one series with in-sample history ``x_1..x_n``, actuals ``y_1..y_h`` and forecasts
``f_1..f_h``:

    sMAPE = (1/h) * sum_t 200 * |y_t - f_t| / (|y_t| + |f_t|)            (percent)
    MASE  = (1/h) * sum_t |y_t - f_t|  /  ((1/(n-m)) * sum_{t=m+1..n} |x_t - x_{t-m}|)

(the MASE scale is the in-sample mean absolute error of the seasonal naive forecast with the
series' period ``m``: 24 for hourly). Figures over many series are the means of the per-series
values, and

    OWA = (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2

of those means. ``mse``/``mae`` are the plain means (ETT reports them on z-normalised data).

Example:
    >>> round(smape([100.0, 200.0], [110.0, 180.0]), 4)
    10.0251
    >>> mase([3.0, 5.0], [4.0, 4.0], insample=[1.0, 2.0, 4.0, 5.0], m=2)
    0.3333333333333333
"""

from __future__ import annotations

import numpy as np

from seqlab.errors import DataError
from seqlab.forecast._checks import as_series, check_period

__all__ = ["smape", "mase", "owa", "mse", "mae", "mase_scale"]


def _pair(y, f) -> tuple[np.ndarray, np.ndarray]:
    y, f = as_series(y, "actuals"), as_series(f, "forecasts")
    if y.shape != f.shape:
        raise DataError(f"actuals and forecasts differ in length: {y.size} vs {f.size}")
    return y, f


def smape(y, f) -> float:
    """Symmetric MAPE in percent, ``mean(200 |y - f| / (|y| + |f|))``."""
    y, f = _pair(y, f)
    denom = np.abs(y) + np.abs(f)
    if np.any(denom == 0):
        raise DataError("sMAPE is undefined where actual and forecast are both 0 "
                        f"(position {int(np.flatnonzero(denom == 0)[0])})")
    return float(np.mean(200.0 * np.abs(y - f) / denom))


def mase_scale(insample, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast, ``mean |x_t - x_{t-m}|``."""
    m = check_period(m)
    x = as_series(insample, "insample", min_length=m + 1)
    scale = float(np.mean(np.abs(x[m:] - x[:-m])))
    if scale == 0:
        raise DataError(f"MASE scale is 0: the in-sample series repeats with period {m} exactly")
    return scale


def mase(y, f, insample, m: int) -> float:
    """Mean absolute scaled error with seasonal period ``m`` (M4: 24 hourly, 12 monthly, ...)."""
    y, f = _pair(y, f)
    return float(np.mean(np.abs(y - f)) / mase_scale(insample, m))


def owa(smape_value: float, mase_value: float, smape_naive2: float, mase_naive2: float) -> float:
    """Overall weighted average relative to Naive2 (from the means over all series)."""
    return 0.5 * (smape_value / smape_naive2 + mase_value / mase_naive2)


def mse(y, f) -> float:
    y, f = np.asarray(y, dtype=np.float64), np.asarray(f, dtype=np.float64)
    if y.shape != f.shape:
        raise DataError(f"actuals and forecasts differ in shape: {y.shape} vs {f.shape}")
    return float(np.mean((y - f) ** 2))


def mae(y, f) -> float:
    y, f = np.asarray(y, dtype=np.float64), np.asarray(f, dtype=np.float64)
    if y.shape != f.shape:
        raise DataError(f"actuals and forecasts differ in shape: {y.shape} vs {f.shape}")
    return float(np.mean(np.abs(y - f)))
