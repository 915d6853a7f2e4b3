"""auto_arima: its tests against statsmodels' (KPSS), its chosen models refitted by statsmodels
(same AIC), and the stepwise optimum checked against statsmodels fits of every neighbour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from seqlab.errors import ConfigError, DataError
from seqlab.forecast import auto_arima, kpss, ndiffs, nsdiffs

sm_arima = pytest.importorskip("statsmodels.tsa.arima.model")
stattools = pytest.importorskip("statsmodels.tsa.stattools")


def _arma(phi, theta, n=300, seed=0):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 100)
    x = np.zeros(n + 100)
    for t in range(5, n + 100):
        x[t] = (sum(p * x[t - 1 - i] for i, p in enumerate(phi)) + e[t]
                + sum(q * e[t - 1 - j] for j, q in enumerate(theta)))
    return x[100:]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kpss_equals_statsmodels(seed):
    y = _arma([0.5], [], seed=seed).cumsum() if seed == 2 else _arma([0.5], [], seed=seed)
    lags = int(4 * (y.size / 100) ** 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stattools.kpss(y, regression="c", nlags=lags)[0]
    assert kpss(y) == pytest.approx(ref, rel=1e-10)


def test_differencing_tests():
    stationary = _arma([0.5], [], seed=3)
    assert ndiffs(stationary) == 0
    assert ndiffs(stationary.cumsum()) == 1
    t = np.arange(240)
    seasonal = 10 + np.sin(2 * np.pi * t / 12) + 0.1 * _arma([], [], n=240, seed=4)
    assert nsdiffs(seasonal, 12) == 1 and nsdiffs(stationary, 12) == 0


def _sm_aicc(y, order, seasonal, trend, tight=True):
    kwargs = {"pgtol": 1e-10, "factr": 10.0, "maxiter": 5000} if tight else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm_arima.ARIMA(y, order=order, seasonal_order=seasonal, trend=trend).fit(
            method_kwargs=kwargs)
    return res.aicc, res


CASES = [("ARMA(1,1)", _arma([0.6], [0.4], n=200, seed=5), 1),
         pytest.param("ARIMA(0,1,1)", _arma([], [0.5], seed=6).cumsum() + 0.05 * np.arange(300),
                      1, marks=pytest.mark.slow),
         pytest.param("seasonal", (10 + 2 * np.sin(2 * np.pi * np.arange(200) / 4)
                                   + _arma([0.5], [], n=200, seed=7)), 4,
                      marks=pytest.mark.slow)]


@pytest.mark.parametrize("label, y, m", CASES, ids=["ARMA(1,1)", "ARIMA(0,1,1)", "seasonal"])
def test_chosen_model_is_a_stepwise_optimum_by_statsmodels(label, y, m):
    model = auto_arima(y, m=m)
    order, seasonal = model.order, model.seasonal_order
    ref_ic, ref = _sm_aicc(y, order, seasonal if m > 1 else (0, 0, 0, 0), model.trend)
    assert model.aic_ == pytest.approx(ref.aic, rel=1e-4)
    assert model.ic_ == pytest.approx(ref_ic, rel=1e-4)
    # no neighbour of the chosen model (by statsmodels' own fits) has a lower AICc
    p, d, q = order
    P, D, Q, _ = seasonal
    neighbours = [(p + s, q, P, Q) for s in (-1, 1)] + [(p, q + s, P, Q) for s in (-1, 1)]
    neighbours += [(p + s, q + s, P, Q) for s in (-1, 1)]
    if m > 1:
        neighbours += [(p, q, P + s, Q) for s in (-1, 1)] + [(p, q, P, Q + s) for s in (-1, 1)]
    for a, b, c, e in neighbours:
        if min(a, b, c, e) < 0 or a + b + c + e > 5 or c > 2 or e > 2:
            continue
        other, _ = _sm_aicc(y, (a, d, b), (c, D, e, m) if m > 1 else (0, 0, 0, 0), model.trend,
                            tight=False)
        assert other >= ref_ic - 1e-6 * abs(ref_ic), (a, b, c, e)
    assert len(model.search_) >= 5
    assert min(s[3] for s in model.search_) == pytest.approx(model.ic_)


def test_recovers_the_simulated_orders():
    assert auto_arima(_arma([0.7], [], seed=8)).order == (1, 0, 0)
    walk = _arma([], [], seed=9).cumsum() + 0.2 * np.arange(300)  # random walk with drift
    model = auto_arima(walk)
    assert model.order[1] == 1 and model.trend == "t"


def test_bad_input():
    with pytest.raises(DataError, match="constant"):
        auto_arima(np.ones(50))
    with pytest.raises(ConfigError, match="ic must be"):
        auto_arima(_arma([0.5], []), ic="hqic")
    with pytest.raises(DataError, match="at least 8"):
        auto_arima([1.0, 2.0, 3.0])
