"""M4 Hourly: our baselines on the official files reproduce the official published figures."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from seqlab.forecast import mase, naive, naive2, owa, seasonal_naive, smape, theta

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def m4(request):
    from tests.conftest import data_root

    root = data_root()
    if root is None or not (root / "m4-hourly" / "Hourly-train.csv").is_file():
        pytest.skip("m4-hourly not in the mirror: set SEQLAB_DATA to a copy of shared/data")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEQLAB_DATA", str(root))
    from seqlab.data.timeseries import load_m4_hourly

    data = load_m4_hourly()
    mp.undo()
    with open(root / "m4-hourly" / "hourly_point_forecast_results.csv", encoding="utf-8-sig") as f:
        published = {r["method"]: r for r in csv.DictReader(f)}
    return data, published


def _scores(data, method):
    fc = [method(x) for x in data.train]
    s = np.mean([smape(y, f) for y, f in zip(data.test, fc)])
    m = np.mean([mase(y, f, x, 24) for x, y, f in zip(data.train, data.test, fc)])
    return s, m


def test_m4_hourly_shape(m4):
    data, _ = m4
    assert len(data.ids) == 414 and data.ids[0] == "H1" and data.test.shape == (414, 48)
    assert sum(x.size for x in data.train) == 353_500
    assert min(x.size for x in data.train) == 700 and max(x.size for x in data.train) == 960


@pytest.mark.parametrize("method, fn, expected", [
    ("Naive2", lambda x: naive2(x, 48, 24), (18.383, 2.395)),
    ("sNaive", lambda x: seasonal_naive(x, 48, 24), (13.912, 1.193)),
    ("Naive", lambda x: naive(x, 48), (43.003, 11.608)),
    pytest.param("Theta", lambda x: theta(x, 48, 24), (18.138, 2.455),
                 marks=pytest.mark.slow),  # ~10-30 s: 414 SES fits
])
def test_official_hourly_figures(m4, method, fn, expected):
    data, published = m4
    s, m = _scores(data, fn)
    row = published[method]
    assert (float(row["sMAPE_hourly"]), float(row["MASE_hourly"])) == expected
    assert round(s, 3) == expected[0] and round(m, 3) == expected[1]
    n2 = published["Naive2"]
    ours_owa = owa(s, m, *_scores(data, lambda x: naive2(x, 48, 24)))
    official = owa(s, m, float(n2["sMAPE_hourly"]), float(n2["MASE_hourly"]))
    assert abs(ours_owa - float(row["OWA_hourly"])) < 6e-4
    assert abs(official - float(row["OWA_hourly"])) < 6e-4
