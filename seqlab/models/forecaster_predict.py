"""Forecasts of a trained :class:`~seqlab.models.forecaster.Forecaster` from raw histories
(what ``seqlab forecast`` runs): the same seasonal factors, scaling and covariates as in
training, computed from the history given.

Example:
    >>> import numpy as np, torch
    >>> from seqlab.models.forecaster import Forecaster
    >>> torch.manual_seed(0) and None
    >>> model = Forecaster(window=12, horizon=4, hidden_size=4).eval()
    >>> fc = forecast_history(model, np.arange(30.0)[:, None] + 1, horizon=3)
    >>> fc.mean.shape, fc.lower is None
    ((3, 1), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seqlab.data.timeseries import calendar_features
from seqlab.errors import ConfigError, DataError
from seqlab.forecast.baselines import seasonal_indices, seasonality_test


@dataclass
class Forecast:
    """``mean`` (h, k); ``lower``/``upper`` (h, k) from the outer quantiles of a quantile
    model (None otherwise) at ``levels``; ``times`` of the forecast steps (or None)."""

    mean: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    levels: tuple[float, float] | None
    times: np.ndarray | None


def future_times(times: np.ndarray | None, horizon: int) -> np.ndarray | None:
    """The next ``horizon`` timestamps at the history's (regular) step."""
    if times is None or times.size < 2:
        return None
    step = times[-1] - times[-2]
    return times[-1] + step * np.arange(1, horizon + 1)


def forecast_history(model, values: np.ndarray, horizon: int, times: np.ndarray | None = None,
                     ) -> Forecast:
    """Forecast ``horizon`` steps after ``values`` (n, k), a checked, regular history."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon <= 0:
        raise ConfigError(f"the horizon must be a positive integer, got {horizon!r}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != model.channels:
        raise DataError(f"the history must be (n, {model.channels}), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise DataError("the history holds NaN or infinite values: fill them first")
    n, L = values.shape[0], model.window
    if n < L:
        raise DataError(f"the history has {n} values; the model's input window needs {L}")
    if horizon > model.horizon and model.config.mode == "direct":
        raise DataError(f"this direct forecaster predicts at most {model.horizon} steps "
                        f"(its trained horizon); got --horizon {horizon}")
    assets = model.assets()
    m = int(assets.get("period", 1))
    figure = np.ones((m, model.channels))
    if assets.get("deseasonalise") and m > 1:
        for j in range(model.channels):
            col = values[:, j]
            if n >= 3 * m and np.all(col > 0) and seasonality_test(col, m):
                # phase of figure[i]: positions t = i mod m counted from the history's start
                figure[:, j] = seasonal_indices(col, m)[:m]
    steps = max(horizon, model.horizon)
    t_all = np.arange(n + steps)
    factors = figure[t_all % m]
    adj = values / factors[:n]
    loc, scale = adj.mean(axis=0), adj.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    future = future_times(times, steps)
    kind = assets.get("covariate_kind", "none")
    cov = None
    if kind == "calendar":
        if times is None or times.dtype.kind != "M" or future is None:
            raise DataError("this model takes calendar covariates: the history needs date "
                            "timestamps (a time column of dates)")
        cov = calendar_features(np.r_[times[-L:], future])
    elif kind == "phase":
        ph = 2 * np.pi * (t_all[n - L:] % m) / m
        cov = np.stack([np.sin(ph), np.cos(ph)], axis=1)

    def tensor(a):
        return torch.tensor(np.asarray(a)[None], dtype=torch.float32)

    with torch.no_grad():
        q = model.predict(tensor(adj[-L:]), None if cov is None else tensor(cov),
                          tensor(factors[n:n + steps]), tensor(loc[None]),
                          tensor(scale[None]),
                          steps=horizon if horizon > model.horizon else None,
                          all_quantiles=True)[0, :horizon].double().numpy()  # (h, k, Q)
    levels = model.quantile_levels
    mean = q[..., model.median]
    if len(levels) > 1:
        return Forecast(mean, q[..., 0], q[..., -1], (levels[0], levels[-1]),
                        None if future is None else future[:horizon])
    return Forecast(mean, None, None, None, None if future is None else future[:horizon])


def plot_forecast(path, history: np.ndarray, fc: Forecast, names: list[str],
                  times: np.ndarray | None = None, show: int = 0) -> None:
    """PNG of the last ``show`` history values (default 4 horizons), the forecast and its
    interval, one panel per series; written atomically."""
    import os
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = fc.mean.shape[0]
    show = show or min(history.shape[0], 4 * h)
    k = history.shape[1]
    fig, axes = plt.subplots(k, 1, figsize=(9, 2.8 * k), squeeze=False)
    xs_hist = np.arange(-show, 0)
    xs_fc = np.arange(0, h)
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(xs_hist, history[-show:, j], color="black", lw=1, label="history")
        ax.plot(xs_fc, fc.mean[:, j], color="tab:blue", lw=1.5, label="forecast")
        if fc.lower is not None:
            lo, hi = fc.levels
            ax.fill_between(xs_fc, fc.lower[:, j], fc.upper[:, j], color="tab:blue", alpha=0.25,
                            label=f"{lo:g}-{hi:g} quantiles")
        ax.axvline(-0.5, color="grey", lw=0.5)
        ax.set_title(names[j] if j < len(names) else f"series {j}")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("steps from the forecast origin")
    fig.tight_layout()
    path = str(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
