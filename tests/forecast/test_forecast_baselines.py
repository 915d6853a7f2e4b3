"""Baselines, metrics and the CSV reader against hand-computed values and brute force."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from seqlab.errors import ConfigError, DataError
from seqlab.forecast import (
    drift,
    mae,
    mase,
    mse,
    naive,
    naive2,
    owa,
    seasonal_indices,
    seasonal_naive,
    seasonality_test,
    smape,
    theta,
)
from seqlab.forecast.baselines import acf
from seqlab.forecast.theta_method import ses_fit


@pytest.mark.parametrize("module", ["seqlab.forecast.metrics", "seqlab.forecast.baselines",
                                    "seqlab.forecast.theta_method", "seqlab.forecast.arima",
                                    "seqlab.forecast.auto"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_metrics_by_hand():
    assert smape([1.0, 3.0], [3.0, 3.0]) == pytest.approx(50.0)   # 200*2/4 and 0, mean 50
    # scale: |3-1|, |4-2| -> 2; errors 1 and 3 -> 2; MASE 1
    assert mase([5.0, 1.0], [4.0, 4.0], [1.0, 2.0, 3.0, 4.0], m=2) == pytest.approx(1.0)
    assert owa(9.0, 1.0, 18.0, 2.0) == pytest.approx(0.5)
    assert mse([1.0, 2.0], [2.0, 4.0]) == 2.5 and mae([1.0, 2.0], [2.0, 4.0]) == 1.5


def test_acf_matches_brute_force():
    x = np.random.default_rng(0).normal(size=50)
    d = x - x.mean()
    brute = [sum(d[t] * d[t - k] for t in range(k, 50)) / sum(d * d) for k in (1, 2, 3)]
    np.testing.assert_allclose(acf(x, 3), brute)


def test_seasonal_indices_by_hand():
    # exact multiplicative seasonality on a constant level: indices are recovered
    s = np.array([0.5, 1.5, 1.0, 1.0])
    x = 10 * np.tile(s, 6)
    np.testing.assert_allclose(seasonal_indices(x, 4), np.tile(s, 6))
    assert seasonality_test(x + np.random.default_rng(1).normal(0, 0.1, x.size), 4)
    f = naive2(x, 6, 4)
    np.testing.assert_allclose(f, 10 * np.resize(s, 6))


def test_naive2_without_seasonality_is_naive():
    x = np.cumsum(np.random.default_rng(2).normal(size=100)) + 50
    assert not seasonality_test(x[:10], 4)  # shorter than 3m: never seasonal
    np.testing.assert_array_equal(naive2(x[:10], 3, 4), naive(x[:10], 3))


def test_drift_and_seasonal_naive():
    np.testing.assert_allclose(drift([2.0, 4.0, 6.0], 3), [8.0, 10.0, 12.0])
    np.testing.assert_array_equal(seasonal_naive([1, 2, 3, 4, 5], 5, 2), [4, 5, 4, 5, 4])


def test_ses_brute_force():
    z = np.random.default_rng(3).normal(size=40) + 5
    alpha, l0, _ = ses_fit(z)

    def sse(a, level):
        total = 0.0
        for v in z:
            total += (v - level) ** 2
            level += a * (v - level)
        return total

    grid = min(sse(a, lv) for a in np.linspace(1e-4, 0.9999, 60)
               for lv in np.linspace(z.min(), z.max(), 60))
    assert sse(alpha, l0) <= grid + 1e-9


def test_theta_nonnegative_and_trend():
    f = theta(np.linspace(100, 1, 50), 100, m=1)
    assert np.all(f >= 0) and f[-1] == 0


@pytest.mark.parametrize("call, match", [
    (lambda: naive([1.0, np.nan, 2.0], 3), "position 1"),
    (lambda: naive([1.0, 2.0], 0), "positive integer"),
    (lambda: seasonal_naive([1.0, 2.0], 3, 24), "at least 24"),
    (lambda: smape([1.0], [1.0, 2.0]), "differ in length"),
    (lambda: mase([1.0], [1.0], [2.0, 2.0, 2.0], 1), "scale is 0"),
    (lambda: acf([3.0, 3.0, 3.0], 1), "constant"),
])
def test_bad_input(call, match):
    with pytest.raises((DataError, ConfigError), match=match):
        call()


def test_read_csv_series(tmp_path):
    from seqlab.data.timeseries import read_csv_series

    good = tmp_path / "s.csv"
    good.write_text("time,a,b\n2020-01-01,1,2\n2020-01-02,3,4\n")
    times, names, values = read_csv_series(good)
    assert names == ["a", "b"] and times.tolist() == ["2020-01-01", "2020-01-02"]
    np.testing.assert_array_equal(values, [[1, 2], [3, 4]])
    bad = tmp_path / "bad.csv"
    bad.write_text("time,a\n1,x\n")
    with pytest.raises(DataError, match="non-numeric value 'x' at line 2, column 'a'"):
        read_csv_series(bad)
    gap = tmp_path / "gap.csv"
    gap.write_text("time,a\n1,1\n2,\n")
    with pytest.raises(DataError, match="missing value at line 3"):
        read_csv_series(gap)
    with pytest.raises(ConfigError, match="value columns"):
        read_csv_series(good, value_columns=["zz"])


@pytest.mark.data
def test_ett_informer_split(shared_data, monkeypatch):
    from seqlab.data.timeseries import load_ett

    monkeypatch.setenv("SEQLAB_DATA", str(shared_data))
    e = load_ett("ETTh1")
    assert e.train.shape == (8640, 1) and e.valid.shape == (2880, 1) and e.test.shape == (2880, 1)
    np.testing.assert_allclose(e.train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(e.train.std(0), 1)
    multi = load_ett("ETTh1", target=None, seq_len=96)
    assert multi.names[-1] == "OT" and multi.test.shape == (2976, 7)
    np.testing.assert_allclose(multi.test[96:, -1], e.test[:, 0])
