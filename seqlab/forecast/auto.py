"""Automatic ARIMA order selection, stepwise by an information criterion, as the
Hyndman-Khandakar algorithm (``auto.arima``, J. Stat. Softw. 27(3), 2008).

1. ``d``: KPSS level-stationarity tests on successive differences (5% level; at most
   ``max_d``). The KPSS statistic with residuals ``e_t = x_t - mean(x)`` and partial sums
   ``S_t = e_1 + ... + e_t``::

       eta = sum_t S_t^2 / (n^2 lambda^2),
       lambda^2 = (1/n) (sum_t e_t^2 + 2 sum_{s=1..l} (1 - s/(l+1)) sum_t e_t e_{t-s})

   with ``l = floor(4 (n/100)^(1/4))`` lags; stationary unless ``eta > 0.463``.
2. ``D`` (seasonal differencing, period ``m > 1``): 1 when the 90% autocorrelation test at
   lag ``m`` (:func:`~seqlab.forecast.baselines.seasonality_test`, M4's) finds the series
   seasonal. (``auto.arima``'s default is a seasonal-strength test on an STL decomposition.)
3. Start from ARIMA(2,d,2)(1,D,1), (0,d,0)(0,D,0), (1,d,0)(1,D,0), (0,d,1)(0,D,1) (seasonal
   parts only with ``m > 1``), with a constant (``d + D = 0``) or drift (``d + D = 1``), and
   the null model without it; then move to the best neighbour while it lowers the criterion:
   ``p``, ``q``, ``P``, ``Q`` by +-1 one at a time, ``(p, q)`` and ``(P, Q)`` by +-1 together,
   and the constant toggled; ``p <= max_p``, ..., ``p + q + P + Q <= max_order``.

``aicc = aic + 2 k (k + 1) / (n - k - 1)``, ``k`` counting every parameter and ``n`` the
differenced series' length. Models whose fit fails or does not converge are skipped.
Candidates are screened with looser optimiser tolerances (``SCREEN``); the chosen model is
refitted with ARIMA's tight defaults.

Example:
    >>> rng = np.random.default_rng(0)
    >>> e = rng.normal(size=300)
    >>> y = np.zeros(300)
    >>> for t in range(1, 300): y[t] = 0.7 * y[t - 1] + e[t]
    >>> model = auto_arima(y)
    >>> model.order, model.trend
    ((1, 0, 0), 'n')
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from seqlab.errors import ConfigError, DataError
from seqlab.forecast._checks import as_series, check_period
from seqlab.forecast.arima import ARIMA
from seqlab.forecast.baselines import seasonality_test

__all__ = ["auto_arima", "kpss", "ndiffs", "nsdiffs", "information_criterion"]

KPSS_CRITICAL_5 = 0.463


def kpss(y, lags: int | None = None) -> float:
    """The KPSS level-stationarity statistic (see the module docstring)."""
    x = as_series(y, min_length=3)
    n = x.size
    lags = int(4 * (n / 100) ** 0.25) if lags is None else int(lags)
    e = x - x.mean()
    s = np.cumsum(e)
    lrv = e @ e
    for k in range(1, lags + 1):
        lrv += 2 * (1 - k / (lags + 1)) * (e[k:] @ e[:-k])
    lrv /= n
    if lrv <= 0:
        raise DataError("KPSS: the series has no variation")
    return float(s @ s / (n * n * lrv))


def ndiffs(y, max_d: int = 2) -> int:
    """Differences needed for KPSS stationarity at 5%."""
    x = as_series(y)
    d = 0
    while d < max_d and x.size > 3 and np.ptp(x) > 0 and kpss(x) > KPSS_CRITICAL_5:
        x = np.diff(x)
        d += 1
    return d


def nsdiffs(y, m: int) -> int:
    """Seasonal differences (0 or 1) by the 90% autocorrelation test at lag ``m``."""
    m = check_period(m)
    return int(m > 1 and seasonality_test(y, m))


def information_criterion(model: ARIMA, ic: str) -> float:
    k = len(model.params_)
    n = model._w.size
    if ic == "aic":
        return model.aic_
    if ic == "bic":
        return model.bic_
    return model.aic_ + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf)


SCREEN = {"maxiter": 500, "gtol": 1e-6, "ftol": 1e-10}


def _fit(y, order, seasonal, trend, method, options=None):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # not converged: skip the model
            model = ARIMA(order, seasonal_order=seasonal, trend=trend, method=method)
            if options:
                model._options = options
            return model.fit(y)
    except (DataError, ConfigError, RuntimeWarning, np.linalg.LinAlgError):
        return None


def auto_arima(y, m: int = 1, *, d: int | None = None, D: int | None = None,
               max_p: int = 5, max_q: int = 5, max_P: int = 2, max_Q: int = 2,
               max_order: int = 5, max_d: int = 2, ic: str = "aicc", max_models: int = 94,
               method: str = "mle") -> ARIMA:
    """The fitted ARIMA chosen by the stepwise search (module docstring).

    ``d``/``D`` fixed skip their tests. The returned model has ``ic_`` (its criterion) and
    ``search_``: every model tried, as ``(order, seasonal_order, trend, criterion)``.
    """
    if ic not in ("aic", "aicc", "bic"):
        raise ConfigError(f"ic must be aic, aicc or bic, got {ic!r}")
    m = check_period(m)
    x = as_series(y, min_length=8)
    if np.ptp(x) == 0:
        raise DataError("the series is constant: no ARIMA order to choose")
    seasonal = m > 1
    if not seasonal:
        max_P = max_Q = 0
    D = (nsdiffs(x, m) if seasonal else 0) if D is None else int(D)
    xs = x[m:] - x[:-m] if D else x
    d = ndiffs(xs, max_d) if d is None else int(d)
    lead = {0: "c", 1: "t"}.get(d + D)  # constant or drift; none past d + D = 1
    seen: dict[tuple, tuple[float, ARIMA | None]] = {}

    def ok(p, q, P, Q):
        return (0 <= p <= max_p and 0 <= q <= max_q and 0 <= P <= max_P and 0 <= Q <= max_Q
                and p + q + P + Q <= max_order)

    def score(p, q, P, Q, trend):
        key = (p, q, P, Q, trend)
        if key not in seen and len(seen) < max_models and ok(p, q, P, Q):
            model = _fit(x, (p, d, q), (P, D, Q, m) if seasonal else (0, 0, 0, 0), trend,
                         method, SCREEN)
            seen[key] = (information_criterion(model, ic) if model else math.inf, model)
        return seen.get(key, (math.inf, None))[0]

    trends = [lead, "n"] if lead else ["n"]
    starts = [(2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)]
    for p, q, P, Q in starts:
        score(min(p, max_p), min(q, max_q), min(P, max_P), min(Q, max_Q), trends[0])
    if lead:
        score(0, 0, 0, 0, "n")
    best = min(seen, key=lambda k: seen[k][0])
    while True:
        p, q, P, Q, trend = best
        moves = [(p, q, P + s, Q) for s in (-1, 1)] + [(p, q, P, Q + s) for s in (-1, 1)]
        moves += [(p, q, P + s, Q + s) for s in (-1, 1)]
        moves += [(p + s, q, P, Q) for s in (-1, 1)] + [(p, q + s, P, Q) for s in (-1, 1)]
        moves += [(p + s, q + s, P, Q) for s in (-1, 1)]
        cands = [(*mv, trend) for mv in moves]
        if lead:
            cands.append((p, q, P, Q, "n" if trend == lead else lead))
        current = seen[best][0]
        improved = None
        for cand in cands:
            if score(*cand) < current:
                current, improved = seen[cand][0], cand
        if improved is None or len(seen) >= max_models:
            break
        best = improved
    value, model = seen[best]
    if model is None:
        raise DataError("auto_arima: no candidate model could be fitted")
    refit = _fit(x, model.order, model.seasonal_order, model.trend, method)  # tight options
    if refit is not None:
        model = refit
        value = information_criterion(model, ic)
    model.ic_ = value
    model.search_ = [((k[0], d, k[1]), (k[2], D, k[3], m) if seasonal else (0, 0, 0, 0), k[4],
                      v[0]) for k, v in seen.items()]
    return model
