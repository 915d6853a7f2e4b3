"""The forecaster's windows: M4 official arrangement, ETT Informer split, CSV holdout, fills."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.config import RunConfig
from seqlab.data.timeseries import calendar_features, parse_times, regularise
from seqlab.errors import DataError
from seqlab.forecast.metrics import mase_scale
from seqlab.tasks import get_task


def _cfg(**data):
    return RunConfig.from_dict({"data": data}, base=get_task("forecaster").default_config())


def test_m4_windows_are_the_official_split(shared_data):
    from seqlab.data.timeseries import load_m4_hourly

    m4 = load_m4_hourly()
    data = get_task("forecaster").build_data(_cfg(dataset="m4-hourly", max_series=5))
    test = next(iter(data.batches("test", "final")))
    valid = next(iter(data.batches("valid", "final")))
    for i in range(5):
        x = m4.train[i]
        np.testing.assert_allclose(test["y"][i, :, 0].numpy(), m4.test[i], rtol=1e-6)
        np.testing.assert_allclose(test["x"][i, :, 0].numpy(), x[-336:], rtol=1e-6)
        assert test["mase_scale"][i, 0].item() == pytest.approx(mase_scale(x, 24), rel=1e-6)
        np.testing.assert_allclose(valid["y"][i, :, 0].numpy(), x[-48:], rtol=1e-6)
        assert valid["mase_scale"][i, 0].item() == pytest.approx(mase_scale(x[:-48], 24),
                                                                 rel=1e-6)
    # training windows end before the validation targets
    last = max(o for s in data.series for o in s.origins["train"][-1:])
    assert all(s.origins["train"][-1] + 48 <= s.origins["valid"][0] for s in data.series)
    assert last > 0


def test_ett_windows_follow_informer(shared_data):
    data = get_task("forecaster").build_data(_cfg(dataset="ett", window=96, horizon=24))
    s = data.series[0]
    assert s.values.shape == (20 * 30 * 24, 1)
    assert len(s.origins["test"]) == 2880 - 24 + 1 and s.origins["test"][0] == 16 * 720
    assert len(s.origins["valid"]) == 2880 - 24 + 1 and s.origins["valid"][0] == 12 * 720
    train = s.values[:12 * 720]
    assert abs(train.mean()) < 1e-9 and train.std() == pytest.approx(1.0)
    multi = get_task("forecaster").build_data(_cfg(dataset="ett", target="", window=96,
                                                   horizon=24))
    assert multi.assets["channels"] == 7


def test_regularise_fills_only_on_request():
    t = parse_times(np.array(["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 03:00"]))
    v = np.array([[1.0], [2.0], [4.0]])
    with pytest.raises(DataError, match="missing timestamps"):
        regularise(t, v)
    times, lin = regularise(t, v, "linear")
    assert lin[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert str(times[2]) == "2020-01-01T02:00:00"
    assert regularise(t, v, "ffill")[1][:, 0].tolist() == [1.0, 2.0, 2.0, 4.0]
    with pytest.raises(DataError, match="no value before row 1"):
        regularise(None, np.array([[np.nan], [1.0]]), "ffill")
    with pytest.raises(DataError, match="must increase"):
        regularise(np.array([3, 2, 5]), np.ones((3, 1)))


def test_calendar_features_by_hand():
    t = parse_times(np.array(["2024-01-01 06:00:00"]))  # a Monday, a quarter of the day
    np.testing.assert_allclose(calendar_features(t)[0], [1.0, 0.0, 0.0, 1.0], atol=1e-12)
