"""The RNN forecaster: learns a sinusoid, beats seasonal naive on a noisy seasonal series,
losses and figures against hand/numpy oracles, the CLI (forecast CSV, plot, eval), bad input."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from seqlab.cli.main import main
from seqlab.config import RunConfig
from seqlab.errors import ConfigError, DataError
from seqlab.forecast import mase, seasonal_naive, smape
from seqlab.models.forecaster import Forecaster
from seqlab.models.forecaster_predict import forecast_history
from seqlab.tasks import get_task, load, train


def _windows(series: np.ndarray, L: int, H: int):
    xs = np.stack([series[o - L:o] for o in range(L, series.size - H + 1)])
    ys = np.stack([series[o:o + H] for o in range(L, series.size - H + 1)])
    return (torch.tensor(xs[..., None], dtype=torch.float32),
            torch.tensor(ys[..., None], dtype=torch.float32))


@pytest.mark.parametrize("mode", ["direct", "autoregressive"])
def test_recovers_a_noiseless_sinusoid(mode):
    torch.manual_seed(0)
    t = np.arange(400)
    y = 5 + 2 * np.sin(2 * np.pi * t / 12)
    x, target = _windows(y, 24, 12)
    model = Forecaster(24, 12, cell="gru", hidden_size=16, mode=mode, loss="mse",
                       patch=1 if mode == "direct" else 4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(300):
        idx = torch.randint(0, x.shape[0], (64,))
        out = model.loss({"x": x[idx], "y": target[idx]})
        opt.zero_grad()
        (out.loss / out.count).backward()
        opt.step()
    model.eval()
    fc = forecast_history(model, (5 + 2 * np.sin(2 * np.pi * (np.arange(24) + 5) / 12))[:, None],
                          12)
    truth = 5 + 2 * np.sin(2 * np.pi * (np.arange(24, 36) + 5) / 12)
    assert np.max(np.abs(fc.mean[:, 0] - truth)) < 0.1  # amplitude 2: within 5%


def _seasonal_csv(path, n_series=12, n=360, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    cols = [20 + 3 * i + 4 * np.sin(2 * np.pi * (t + 3 * i) / 24) + rng.normal(0, 1.0, n)
            for i in range(n_series)]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t", *[f"s{i}" for i in range(n_series)]])
        for j in range(n):
            w.writerow([j, *[f"{c[j]:.5f}" for c in cols]])
    return np.stack(cols, axis=1)


def _cfg(tmp_path, csv_path, **model):
    tables = {"model": {"cell": "gru", "hidden_size": 32, "patch": 24, "loss": "mae", **model},
              "data": {"dataset": "", "data": str(csv_path), "window": 96, "horizon": 24,
                       "batch_size": 64, "eval_batch_size": 64, "period": 24},
              "train": {"optimizer": "adam", "lr": 0.01, "epochs": 4, "clip": 1.0,
                        "loss_reduction": "token", "threads": 1, "progress_bar": "off",
                        "schedule": "constant", "out_dir": str(tmp_path / "run"), "seed": 0}}
    return RunConfig.from_dict(tables, base=get_task("forecaster").default_config())


@pytest.fixture(scope="module")
def seasonal_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seasonal")
    values = _seasonal_csv(tmp / "s.csv")
    torch.manual_seed(0)
    result = train(_cfg(tmp, tmp / "s.csv"), log=lambda line: None)
    return tmp, values, result


def test_beats_seasonal_naive_on_a_noisy_seasonal_series(seasonal_run):
    tmp, values, result = seasonal_run
    H = 24
    snaive_mae = np.mean([np.mean(np.abs(seasonal_naive(col[:-H], H, 24) - col[-H:]))
                          for col in values.T])
    snaive_smape = np.mean([smape(col[-H:], seasonal_naive(col[:-H], H, 24)) for col in values.T])
    assert result["test_mae"] < 0.85 * snaive_mae  # iid noise: the best forecaster is ~0.71x
    assert result["test_smape"] < snaive_smape
    # the engine's exact sums equal the per-series means of seqlab.forecast's metrics
    model = load(tmp / "run" / "best.safetensors")
    fcs = [forecast_history(model, col[:-H, None], H).mean[:, 0] for col in values.T]
    ours = np.mean([smape(col[-H:], f) for col, f in zip(values.T, fcs)])
    ours_mase = np.mean([mase(col[-H:], f, col[:-H], 24) for col, f in zip(values.T, fcs)])
    assert result["test_smape"] == pytest.approx(ours, rel=1e-4)
    assert result["test_mase"] == pytest.approx(ours_mase, rel=1e-4)


def test_losses_equal_their_formulas():
    torch.manual_seed(0)
    batch = {"x": torch.rand(3, 8, 1) + 1, "y": torch.rand(3, 4, 1) + 1,
             "mase_scale": torch.full((3, 1), 0.5)}
    for kind in ("mse", "mae", "smape", "quantile"):
        torch.manual_seed(1)
        model = Forecaster(8, 4, hidden_size=4, loss=kind, quantiles="0.1,0.5,0.9")
        out = model.loss(batch)
        f_all = model.predict(batch["x"], all_quantiles=True).detach().double().numpy()
        z = model(batch["x"])[0].detach().double().numpy()  # unsorted quantiles
        y = batch["y"].double().numpy()
        x = batch["x"].double().numpy()
        loc, scale = x.mean(1, keepdims=True), x.std(1, keepdims=True)
        np.testing.assert_allclose(np.sort(z * scale[..., None] + loc[..., None], axis=-1),
                                   f_all, rtol=1e-5)
        zy = (y - loc) / scale
        f = f_all[..., 1] if kind == "quantile" else f_all[..., 0]
        expect = {"mse": ((z[..., 0] - zy) ** 2).sum(), "mae": np.abs(z[..., 0] - zy).sum(),
                  "smape": (200 * np.abs(y - f) / (np.abs(y) + np.abs(f))).sum()}
        if kind == "quantile":
            e = zy[..., None] - z
            tau = np.array([0.1, 0.5, 0.9])
            expect["quantile"] = np.maximum(tau * e, (tau - 1) * e).sum()
        assert out.loss.item() == pytest.approx(expect[kind], rel=1e-4)
        assert out.count == 12
        assert out.sums["smape"] == pytest.approx(
            sum(smape(y[i, :, 0], f[i, :, 0]) * 4 for i in range(3)), rel=1e-4)
        assert out.sums["mase"] == pytest.approx(np.abs(y - f).sum() / 0.5, rel=1e-4)
        assert out.sums["se"] == pytest.approx(((y - f) ** 2).sum(), rel=1e-4)


def test_save_load_and_forecast_cli(seasonal_run, tmp_path, capsys):
    tmp, values, _ = seasonal_run
    ckpt = tmp / "run" / "best.safetensors"
    assert main(["forecast", str(ckpt), "--file", str(tmp / "s.csv"), "--horizon", "24",
                 "--column", "s3", "--out", str(tmp_path / "fc.csv"),
                 "--plot", str(tmp_path / "fc.png")]) == 0
    rows = _rows(tmp_path / "fc.csv")
    assert len(rows) == 24 and rows[0]["series"] == "s3" and rows[0]["time"] == "360"
    model = load(ckpt)
    direct = forecast_history(model, values[:, [3]], 24).mean[:, 0]
    np.testing.assert_allclose([float(r["forecast"]) for r in rows], direct, rtol=1e-5)
    assert (tmp_path / "fc.png").stat().st_size > 1000
    # eval on the test split gives the run's own test figures
    assert main(["eval", str(ckpt), "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert '"smape"' in out


def test_quantile_model_writes_an_interval(tmp_path):
    values = _seasonal_csv(tmp_path / "s.csv", n_series=3, n=300)
    cfg = _cfg(tmp_path, tmp_path / "s.csv", loss="quantile", quantiles="0.1,0.5,0.9",
               mode="autoregressive")
    cfg = RunConfig.from_dict({"train": {"epochs": 1}}, base=cfg)
    train(cfg, log=lambda line: None)
    ckpt = tmp_path / "run" / "best.safetensors"
    # an autoregressive model may forecast past its trained horizon
    assert main(["forecast", str(ckpt), "--file", str(tmp_path / "s.csv"), "--horizon", "30",
                 "--out", str(tmp_path / "fc.csv")]) == 0
    rows = _rows(tmp_path / "fc.csv")
    assert len(rows) == 90 and {"lower_0.1", "upper_0.9"} <= set(rows[0])
    assert all(float(r["lower_0.1"]) <= float(r["forecast"]) <= float(r["upper_0.9"])
               for r in rows)
    assert values.shape == (300, 3)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _csv(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_input(seasonal_run, tmp_path, capsys):
    tmp, values, _ = seasonal_run
    ckpt = str(tmp / "run" / "best.safetensors")
    good = [f"2020-01-01 {h:02d}:00:00" for h in range(24)] + \
        [f"2020-01-02 {h:02d}:00:00" for h in range(24)] + \
        [f"2020-01-03 {h:02d}:00:00" for h in range(24)] + \
        [f"2020-01-04 {h:02d}:00:00" for h in range(24)] + \
        [f"2020-01-05 {h:02d}:00:00" for h in range(24)]
    vals = [f"{20 + 4 * math.sin(2 * math.pi * i / 24):.4f}" for i in range(len(good))]

    def run(lines, *extra):
        path = _csv(tmp_path / "in.csv", ["time,v", *lines])
        code = main(["forecast", ckpt, "--file", str(path), "--horizon", "24", *extra])
        return code, capsys.readouterr()

    # NaN: an error naming it, or filled on request
    nan = [f"{t},{v}" for t, v in zip(good, vals)]
    nan[50] = f"{good[50]},"
    code, cap = run(nan)
    assert code == 1 and "missing value" in cap.err and "fill" in cap.err
    code, cap = run(nan, "--fill", "linear")
    assert code == 0 and "filled 0 missing timestamp(s) and 1 missing value(s)" in cap.err, cap.err
    # a missing timestamp
    gap = [f"{t},{v}" for t, v in zip(good, vals)]
    del gap[60]
    code, cap = run(gap)
    assert code == 1 and "missing timestamps (1 in all" in cap.err
    code, cap = run(gap, "--fill", "ffill")
    assert code == 0 and len(cap.out.strip().splitlines()) == 25
    # shorter than the window
    code, cap = run([f"{t},{v}" for t, v in zip(good[:50], vals[:50])])
    assert code == 1 and "input window needs 96" in cap.err
    # non-numeric
    bad = [f"{t},{v}" for t, v in zip(good, vals)]
    bad[3] = f"{good[3]},abc"
    code, cap = run(bad)
    assert code == 1 and "non-numeric value 'abc' at line 5" in cap.err
    # a constant series forecasts (finite), with a note
    code, cap = run([f"{t},7.0" for t in good])
    assert code == 0 and "constant" in cap.err
    assert all(math.isfinite(float(r.split(",")[3])) for r in cap.out.strip().splitlines()[1:])
    # horizons: <= 0, and past a direct model's trained horizon
    path = _csv(tmp_path / "in.csv", ["time,v", *[f"{t},{v}" for t, v in zip(good, vals)]])
    for h, msg in (("0", "positive integer"), ("-3", "positive integer"), ("25", "at most 24")):
        assert main(["forecast", ckpt, "--file", str(path), "--horizon", h]) == 1
        assert msg in capsys.readouterr().err
    with pytest.raises(ConfigError):
        forecast_history(load(ckpt), values[:, :1], 0)


def test_series_shorter_than_window_in_training_data(tmp_path):
    _csv(tmp_path / "short.csv", ["t,v", *[f"{i},{i % 5}" for i in range(50)]])
    with pytest.raises(DataError, match="need 144"):
        get_task("forecaster").build_data(_cfg(tmp_path, tmp_path / "short.csv"))


@pytest.mark.parametrize("module", ["seqlab.models.forecaster",
                                    "seqlab.models.forecaster_predict"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "layernorm_lstm", "simple_gru",
                                  "mingru", "minlstm"])
def test_every_cell_in_both_modes(cell):
    torch.manual_seed(0)
    batch = {"x": torch.rand(2, 12, 1) + 1, "y": torch.rand(2, 5, 1) + 1,
             "mase_scale": torch.ones(2, 1)}
    for mode in ("direct", "autoregressive"):
        model = Forecaster(12, 5, cell=cell, mode=mode, patch=3, hidden_size=6, num_layers=2,
                           backend="reference")
        out = model.loss(batch)
        out.loss.backward()
        assert all(p.grad is not None for p in model.parameters())
    model.eval()
    # the decoder feeds on its own outputs only: running it longer leaves the first steps
    with torch.no_grad():
        short, long = model.predict(batch["x"]), model.predict(batch["x"], steps=11)
    assert long.shape == (2, 11, 1)
    torch.testing.assert_close(long[:, :5], short)
