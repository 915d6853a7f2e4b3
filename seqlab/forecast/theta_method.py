"""The M4 benchmark's classical Theta method (Assimakopoulos & Nikolopoulos 2000; the M4 R code).

On the (M4-test) seasonally adjusted series ``x_1..x_n`` (see
:func:`seqlab.forecast.baselines.deseasonalise`):

    L0_t = a + b t                               (least-squares line, theta = 0)
    L2_t = 2 x_t - L0_t                          (theta = 2 line)
    f_{n+k} = 0.5 * (a + b (n + k)) + 0.5 * SES(L2)_{n+1}

SES: ``l_t = l_{t-1} + alpha (z_t - l_{t-1})``, with ``alpha`` in [1e-4, 0.9999] and ``l_0``
fitted by minimising the one-step squared errors (the Gaussian likelihood of ETS(A,N,N), as
R's ``forecast::ses``). Negative forecasts are set to 0, then the seasonal indices are put back.

Example:
    >>> import numpy as np
    >>> t = np.arange(1.0, 21.0)
    >>> np.round(theta(10 + 2 * t, 3, m=1), 2).tolist()
    [51.0, 52.0, 53.0]
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from seqlab.forecast._checks import as_series, check_horizon, check_period
from seqlab.forecast.baselines import deseasonalise

__all__ = ["theta", "ses_fit"]


def _ses_sse(params: np.ndarray, z: np.ndarray) -> float:
    alpha, level = params
    sse = 0.0
    for value in z:
        e = value - level
        sse += e * e
        level += alpha * e
    return sse


def ses_fit(z) -> tuple[float, float, float]:
    """``(alpha, l0, forecast)`` of simple exponential smoothing fitted by least squares."""
    z = as_series(z, "z", min_length=2)
    best = None
    for a0 in (0.1, 0.5, 0.9):
        res = minimize(_ses_sse, np.array([a0, z[0]]), args=(z,), method="L-BFGS-B",
                       bounds=[(1e-4, 0.9999), (None, None)])
        if best is None or res.fun < best.fun:
            best = res
    alpha, level = best.x
    for value in z:
        level += alpha * (value - level)
    return float(alpha), float(best.x[1]), float(level)


def theta(y, h: int, m: int) -> np.ndarray:
    """Classical Theta (theta = 2, equal weights) on the deseasonalised series."""
    h, m = check_horizon(h), check_period(m)
    adjusted, s_out = deseasonalise(as_series(y, min_length=3), m)
    n = adjusted.size
    t = np.arange(1.0, n + 1)
    b, a = np.polyfit(t, adjusted, 1)
    line0_in = a + b * t
    line0_out = a + b * np.arange(n + 1.0, n + h + 1)
    _, _, ses_next = ses_fit(2.0 * adjusted - line0_in)
    f = np.maximum(0.5 * line0_out + 0.5 * ses_next, 0.0)
    return f * np.resize(s_out, h)
