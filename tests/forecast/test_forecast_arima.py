"""ARIMA against statsmodels' ARIMA (the oracle): estimates, log-likelihood, forecasts, bands."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from seqlab.errors import ConfigError, DataError, NotFittedError
from seqlab.forecast.arima import ARIMA, constrain_stationary, unconstrain_stationary

sm_arima = pytest.importorskip("statsmodels.tsa.arima.model")


def _sim(phi, theta, n=300, d=0, seed=0, mean=5.0):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 200)
    x = np.zeros(n + 200)
    for t in range(20, n + 200):
        x[t] = (sum(p * x[t - 1 - i] for i, p in enumerate(phi)) + e[t]
                + sum(q * e[t - 1 - j] for j, q in enumerate(theta)))
    x = x[200:] + mean
    for _ in range(d):
        x = np.cumsum(x)
    return x


def _oracle(y, order, seasonal_order=(0, 0, 0, 0)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm_arima.ARIMA(y, order=order, seasonal_order=seasonal_order)
        return model, model.fit(method_kwargs={"pgtol": 1e-10, "factr": 10.0, "maxiter": 5000})


CASES = [
    ("AR(2)", _sim([0.5, -0.3], []), (2, 0, 0), (0, 0, 0, 0)),
    ("MA(1)", _sim([], [0.4], seed=1), (0, 0, 1), (0, 0, 0, 0)),
    ("ARMA(2,1)", _sim([0.5, -0.3], [0.4], seed=2), (2, 0, 1), (0, 0, 0, 0)),
    ("ARIMA(1,1,1)", _sim([0.5], [0.3], d=1, seed=3), (1, 1, 1), (0, 0, 0, 0)),
    ("seasonal", _sim([0.4, 0, 0, 0.5, -0.2], [], n=240, seed=4, mean=0.0).cumsum(),
     (1, 1, 0), (1, 0, 0, 4)),
]


@pytest.mark.parametrize("label, y, order, seasonal", CASES, ids=[c[0] for c in CASES])
def test_equals_statsmodels(label, y, order, seasonal):
    model, ref = _oracle(y, order, seasonal)
    ours = ARIMA(order, seasonal_order=seasonal).fit(y)
    assert list(ours.params_) == list(model.param_names)
    mine = np.array(list(ours.params_.values()))
    # the likelihood function itself: statsmodels evaluated at our estimates
    assert ours.llf_ == pytest.approx(model.loglike(mine), rel=1e-6)
    assert ours.llf_ >= ref.llf - 1e-7 * abs(ref.llf)  # we reach (at least) its optimum
    np.testing.assert_allclose(mine, ref.params, rtol=1e-4, atol=1e-5)
    assert ours.llf_ == pytest.approx(ref.llf, rel=1e-4)
    assert ours.aic_ == pytest.approx(ref.aic, rel=1e-4)
    assert ours.bic_ == pytest.approx(ref.bic, rel=1e-4)
    mean, lo, hi = ours.forecast(12, alpha=0.1)
    fc = ref.get_forecast(12)
    band = fc.conf_int(alpha=0.1)
    np.testing.assert_allclose(mean, fc.predicted_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(lo, band[:, 0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(hi, band[:, 1], rtol=1e-4, atol=1e-4)


def test_transform_round_trip_and_stationarity():
    u = np.array([0.3, -1.2, 2.0])
    c = constrain_stationary(u)
    np.testing.assert_allclose(unconstrain_stationary(c), u)
    roots = np.roots(np.r_[1.0, -c][::-1])
    assert np.all(np.abs(roots) > 1)


def test_css_pure_ar_is_least_squares():
    y = _sim([0.6, -0.2], [], seed=5)
    m = ARIMA((2, 0, 0), method="css").fit(y)
    # OLS of y_t - mu on its two lags, mu profiled: regression with intercept c = mu(1 - sum phi)
    X = np.c_[np.ones(y.size - 2), y[1:-1], y[:-2]]
    beta = np.linalg.lstsq(X, y[2:], rcond=None)[0]
    np.testing.assert_allclose([m.params_["ar.L1"], m.params_["ar.L2"]], beta[1:], rtol=1e-4)
    np.testing.assert_allclose(m.params_["const"], beta[0] / (1 - beta[1:].sum()), rtol=1e-4)


@pytest.mark.parametrize("call, err, match", [
    (lambda: ARIMA((1, 0, 0)).fit([1.0, 2.0, np.nan, 1.0, 3.0]), DataError, "position 2"),
    (lambda: ARIMA((2, 1, 1)).fit([1.0, 2.0, 3.0]), DataError, "at least 6"),
    (lambda: ARIMA((1, 0, 0)).fit(np.ones(50)), DataError, "constant"),
    (lambda: ARIMA((1, 0, 0)).fit(_sim([0.5], [])).forecast(0), ConfigError, "positive"),
    (lambda: ARIMA((1, 0, 0)).forecast(3), NotFittedError, "not fitted"),
    (lambda: ARIMA((1, 1, 0), trend="c"), ConfigError, "not identified"),
])
def test_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_compiled_filter_equals_dense():
    y = _sim([0.5, -0.3], [0.4, 0.2], seed=7)
    m = ARIMA((2, 0, 2)).fit(y)
    fast, dense = m._filter(m._c, m._w), m._filter_dense(m._c, m._w)
    assert fast[0] == pytest.approx(dense[0], rel=1e-12)
    np.testing.assert_allclose(fast[1], dense[1], atol=1e-10)
    np.testing.assert_allclose(fast[2], dense[2], atol=1e-10)


TREND_CASES = [
    ("ct ARMA(1,1)", _sim([0.5], [0.3], seed=11) + 0.02 * np.arange(300), (1, 0, 1), "ct"),
    ("t AR(1)", _sim([0.6], [], seed=12, mean=0.0) + 0.05 * np.arange(300), (1, 0, 0), "t"),
    ("t ARIMA(1,1,1) (drift)", _sim([0.5], [0.3], d=1, seed=13) + 0.1 * np.arange(300),
     (1, 1, 1), "t"),
    ("t ARIMA(0,1,1)", _sim([], [0.4], d=1, seed=14), (0, 1, 1), "t"),
]


@pytest.mark.parametrize("label, y, order, trend", TREND_CASES, ids=[c[0] for c in TREND_CASES])
def test_trends_equal_statsmodels(label, y, order, trend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm_arima.ARIMA(y, order=order, trend=trend)
        ref = model.fit(method_kwargs={"pgtol": 1e-10, "factr": 10.0, "maxiter": 5000})
    ours = ARIMA(order, trend=trend).fit(y)
    assert list(ours.params_) == list(model.param_names)
    mine = np.array(list(ours.params_.values()))
    assert ours.llf_ == pytest.approx(model.loglike(mine), rel=1e-7)
    # statsmodels' own optimiser stops short on trend regressors (t up to n is badly
    # scaled): our llf is at least its, and its optimiser started at our estimates stays there
    assert ours.llf_ >= ref.llf - 1e-7 * abs(ref.llf)
    assert ours.llf_ == pytest.approx(ref.llf, rel=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.fit(start_params=mine,
                        method_kwargs={"pgtol": 1e-10, "factr": 10.0, "maxiter": 5000})
    np.testing.assert_allclose(mine, ref.params, rtol=1e-4, atol=1e-5)
    assert ours.aic_ == pytest.approx(ref.aic, rel=1e-6)
    mean, lo, hi = ours.forecast(10)
    fc = ref.get_forecast(10)
    np.testing.assert_allclose(mean, fc.predicted_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(hi, fc.conf_int(alpha=0.05)[:, 1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("order, trend", [((1, 1, 0), "ct"), ((0, 2, 1), "t"),
                                          ((1, 1, 0), "c"), ((1, 0, 0), "x")])
def test_unidentified_trend_is_refused(order, trend):
    with pytest.raises(ConfigError, match="trend"):
        ARIMA(order, trend=trend)


def test_concentrated_sigma2_is_the_full_maximum():
    """The profile optimum is a stationary point of the full likelihood (dllf/dsigma2 = 0)."""
    y = _sim([0.5, -0.3], [0.4], seed=2)
    m = ARIMA((2, 0, 1)).fit(y)
    c = m._c.copy()
    base = m._filter(c, m._w)[0]
    for f in (0.99, 1.01):
        c2 = c.copy()
        c2[-1] *= f
        assert m._filter(c2, m._w)[0] < base
