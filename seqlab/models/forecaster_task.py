"""The forecaster task: its data config, presets and data builder (``seqlab train forecaster``).

Sources and splits:

* ``m4-hourly``: the 414 official series. Training windows come from each train series
  without its last ``horizon`` values; ``valid`` is one window per series forecasting those
  held-out values; ``test`` forecasts the official test values from the whole train series.
  MASE scales are the in-sample seasonal-naive MAE before each window's origin.
* ``ett``: one ETT file (``ett_file``), target ``OT`` or all 7 columns (``target = ""``),
  the Informer 12/4/4-month split z-scored with the train statistics; every window of each
  split (``eval_stride`` thins the per-epoch validation; final scores use them all).
* a CSV file (``data``): a time column and value columns; each column is a series (or one
  multivariate series with ``multivariate``); ``test`` is the last ``horizon`` values,
  ``valid`` the ``horizon`` before them, as M4 holds out.

Series whose history is shorter than ``window + horizon`` are an error (named), never
silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from seqlab.config import check
from seqlab.data.timeseries import FILLS, calendar_features, parse_times, regularise
from seqlab.errors import ConfigError, DataError
from seqlab.forecast.baselines import seasonal_indices, seasonality_test

SOURCES = ("m4-hourly", "ett", "")
COVARIATES = ("none", "calendar", "phase")


@dataclass
class ForecastDataConfig:
    """Where the series come from and how they are cut into windows."""

    HELP: ClassVar[dict[str, str]] = {
        "dataset": "m4-hourly or ett ('' with --data FILE.csv)", "data": "a CSV file: a time "
        "column and value columns", "ett_file": "ETTh1, ETTh2, ETTm1 or ETTm2",
        "target": "ETT column forecast ('' : all 7, multivariate)", "time_column": "CSV time "
        "column ('': the first)", "columns": "CSV value columns, comma-separated ('': all)",
        "multivariate": "CSV columns form one multivariate series (else: one series each)",
        "window": "input length L", "horizon": "forecast length H",
        "period": "seasonal period m (0: the dataset's: 24 hourly, 96 for 15-minute data)",
        "deseasonalise": "divide by classical multiplicative seasonal indices when the 90%% "
                         "test at lag m says seasonal (positive series only)",
        "covariates": "known future covariates: calendar (hour, weekday from timestamps), "
                      "phase (t mod m, for series without timestamps) or none",
        "train_stride": "steps between training windows", "eval_stride": "steps between "
        "windows of the per-epoch validation", "batch_size": "training windows per batch",
        "eval_batch_size": "windows per evaluation batch", "max_series": "use the first N "
        "series only (0: all)", "fill": "missing timestamps / values: none (an error), "
        "ffill or linear"}
    CHOICES: ClassVar[dict[str, tuple]] = {"dataset": SOURCES, "covariates": COVARIATES,
                                           "fill": FILLS}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("eval_batch_size", "eval_stride")

    dataset: str = "m4-hourly"
    data: str = ""
    ett_file: str = "ETTh1"
    target: str = "OT"
    time_column: str = ""
    columns: str = ""
    multivariate: bool = False
    window: int = 336
    horizon: int = 48
    period: int = 0
    deseasonalise: bool = False
    covariates: str = "none"
    train_stride: int = 1
    eval_stride: int = 1
    batch_size: int = 256
    eval_batch_size: int = 512
    max_series: int = 0
    fill: str = "none"

    def __post_init__(self) -> None:
        check(bool(self.dataset or self.data), "data.dataset or data.data", "set", "")
        check(self.dataset in SOURCES, "data.dataset", f"one of {SOURCES}", self.dataset)
        for name in ("window", "horizon", "train_stride", "eval_stride", "batch_size",
                     "eval_batch_size"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"data.{name}", "an int > 0", value)
        check(self.period >= 0 and self.max_series >= 0, "data.period and data.max_series",
              ">= 0", (self.period, self.max_series))
        check(self.covariates in COVARIATES, "data.covariates", f"one of {COVARIATES}",
              self.covariates)
        check(self.fill in FILLS, "data.fill", f"one of {FILLS}", self.fill)


@dataclass
class Series:
    """One (possibly multivariate) series: ``values`` (n, k), optional ``times``, the end of
    its training part, and the window origins of each split."""

    name: str
    values: np.ndarray
    times: np.ndarray | None
    train_end: int
    origins: dict[str, np.ndarray]


class SeriesPrep:
    """Per-series transforms learned from the training part: seasonal factors, loc/scale,
    cumulative seasonal-naive errors for the MASE scale."""

    def __init__(self, s: Series, m: int, deseasonalise: bool) -> None:
        x = s.values
        n, k = x.shape
        self.figure = np.ones((m, k))
        head = x[:s.train_end]
        if deseasonalise and m > 1:
            for j in range(k):
                col = head[:, j]
                if np.all(col > 0) and seasonality_test(col, m):
                    self.figure[:, j] = seasonal_indices(col, m)[:m]
        self.factors = self.figure[np.arange(n) % m]  # s_t = figure[t mod m]
        adj = head / self.factors[:s.train_end]
        self.loc, self.scale = adj.mean(axis=0), adj.std(axis=0)
        self.scale = np.where(self.scale > 0, self.scale, 1.0)
        diffs = np.abs(x[m:] - x[:-m]) if n > m else np.zeros((0, k))
        self.cum = np.vstack([np.zeros((1, k)), np.cumsum(diffs, axis=0)])  # cum[i]: i diffs
        self.m = m

    def mase_scale(self, origin: int) -> np.ndarray:
        """Mean |x_t - x_{t-m}| over the values before ``origin`` (1 where undefined or 0)."""
        count = origin - self.m
        if count <= 0:
            return np.ones(self.cum.shape[1])
        scale = self.cum[count] / count
        return np.where(scale > 0, scale, 1.0)


class WindowBatches:
    """Batches of windows of one split: ``len`` and iteration (shuffled per epoch in training,
    ``DistributedSampler`` over processes when ``world > 1``)."""

    def __init__(self, data: ForecastData, split: str, rows: int, stride: int, train: bool,
                 rank: int = 0, world: int = 1) -> None:
        self.data, self.rows, self.train = data, rows, train
        index = [(i, int(o)) for i, s in enumerate(data.series) for o in s.origins[split][::stride]]
        if not index:
            raise DataError(f"split {split!r} has no windows of {data.L} + {data.H} values "
                            "(the series are too short for this window and horizon)")
        self.index = index
        self.sampler = None
        if train:
            from torch.utils.data import DistributedSampler

            self.sampler = DistributedSampler(range(len(index)), num_replicas=world, rank=rank,
                                              shuffle=True, seed=data.seed)

    def set_epoch(self, epoch: int) -> None:
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def _order(self) -> list[int]:
        return list(self.sampler) if self.sampler is not None else list(range(len(self.index)))

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.index)
        return -(-n // self.rows)

    def __iter__(self):
        order = self._order()
        for start in range(0, len(order), self.rows):
            yield self.data.batch([self.index[j] for j in order[start:start + self.rows]])


class ForecastData:
    """The series of one source, their per-series transforms and the batches of windows."""

    def __init__(self, cfg: Any, series: list[Series], period: int, covariates: str,
                 source: str) -> None:
        d = cfg.data
        self.cfg, self.series, self.period, self.seed = cfg, series, period, cfg.train.seed
        self.L, self.H = d.window, d.horizon
        self.prep = [SeriesPrep(s, period, d.deseasonalise) for s in series]
        self.covariates = covariates
        self.cov = [self._covariates(s) for s in series]
        self.splits = {name: sum(len(s.origins[name]) for s in series)
                       for name in ("train", "valid", "test")}
        k = series[0].values.shape[1]
        self.assets = {"window": self.L, "horizon": self.H, "channels": k,
                       "covariates": 0 if covariates == "none" else self.cov[0].shape[1],
                       "covariate_kind": covariates, "period": period,
                       "deseasonalise": d.deseasonalise, "source": source}

    def _covariates(self, s: Series) -> np.ndarray | None:
        if self.covariates == "none":
            return None
        if self.covariates == "calendar":
            if s.times is None or s.times.dtype.kind != "M":
                raise ConfigError(f"series {s.name} has no date timestamps: covariates 'calendar' "
                                  "needs dates; use 'phase' or 'none'")
            return calendar_features(s.times)
        t = 2 * np.pi * (np.arange(s.values.shape[0]) % self.period) / self.period
        return np.stack([np.sin(t), np.cos(t)], axis=1)

    def describe(self) -> str:
        return (f"{len(self.series)} series | windows train {self.splits['train']} valid "
                f"{self.splits['valid']} test {self.splits['test']} | L {self.L} H {self.H} "
                f"m {self.period}")

    def batch(self, items: list[tuple[int, int]]) -> dict[str, torch.Tensor]:
        L, H = self.L, self.H
        out: dict[str, list] = {k: [] for k in ("x", "y", "season", "loc", "scale",
                                                "mase_scale", "cov")}
        for i, o in items:
            s, p = self.series[i], self.prep[i]
            out["x"].append(s.values[o - L:o] / p.factors[o - L:o])
            out["y"].append(s.values[o:o + H])
            out["season"].append(p.factors[o:o + H])
            out["loc"].append(p.loc[None])
            out["scale"].append(p.scale[None])
            out["mase_scale"].append(p.mase_scale(o))
            if self.cov[i] is not None:
                out["cov"].append(self.cov[i][o - L:o + H])
        if not out["cov"]:
            del out["cov"]
        return {k: torch.tensor(np.stack(v), dtype=torch.float32) for k, v in out.items()}

    def batches(self, split: str, purpose: str = "train", rank: int = 0, world: int = 1):
        if split not in self.splits:
            raise DataError(f"no split {split!r}; the splits are {sorted(self.splits)}")
        d = self.cfg.data
        if purpose == "train":
            return WindowBatches(self, split, d.batch_size, d.train_stride, True, rank, world)
        stride = d.eval_stride if purpose == "eval" else 1
        return WindowBatches(self, split, d.eval_batch_size, stride, False)


# ------------------------------------------------------------------------------- sources
def _holdout(name: str, values: np.ndarray, times, L: int, H: int) -> Series:
    """Train windows before the last 2H values; valid/test one window each (M4 style)."""
    n = values.shape[0]
    if n < L + 2 * H:
        raise DataError(f"series {name} has {n} values; the window ({L}) plus the valid and "
                        f"test horizons (2 x {H}) need {L + 2 * H}")
    train_end = n - 2 * H
    return Series(name, values, times, train_end,
                  {"train": np.arange(L, train_end - H + 1), "valid": np.array([n - 2 * H]),
                   "test": np.array([n - H])})


def _m4(d: ForecastDataConfig) -> list[Series]:
    from seqlab.data.timeseries import load_m4_hourly

    m4 = load_m4_hourly()
    if d.horizon != m4.horizon:
        raise ConfigError(f"m4-hourly is scored at horizon {m4.horizon}; got data.horizon "
                          f"{d.horizon}")
    count = d.max_series or len(m4.ids)
    return [_holdout(sid, np.r_[x, y][:, None], None, d.window, d.horizon)
            for sid, x, y in zip(m4.ids[:count], m4.train[:count], m4.test[:count])]


def _ett(d: ForecastDataConfig) -> list[Series]:
    from seqlab.data.timeseries import _path, load_ett, read_csv_series

    split = load_ett(d.ett_file, d.target or None)
    times = parse_times(read_csv_series(_path("ett", f"{d.ett_file}.csv"), "date",
                                        [split.names[0]])[0])
    a, b = split.train.shape[0], split.train.shape[0] + split.valid.shape[0]
    values = np.vstack([split.train, split.valid, split.test])
    L, H = d.window, d.horizon
    n = values.shape[0]
    if a < L + H:
        raise DataError(f"{d.ett_file}: the train split ({a} rows) is shorter than window + "
                        f"horizon ({L + H})")
    # Informer: the valid/test input windows reach back into the previous split
    origins = {"train": np.arange(L, a - H + 1), "valid": np.arange(max(a, L), b - H + 1),
               "test": np.arange(b, n - H + 1)}
    return [Series(d.ett_file, values, times[:n], a, origins)]


def read_csv_file(d: ForecastDataConfig, path: str) -> tuple[list[str], np.ndarray | None,
                                                              np.ndarray]:
    """``(names, times, values)`` of a CSV, checked and (with ``fill``) repaired."""
    from seqlab.data.timeseries import read_csv_series

    if not Path(path).exists():
        raise DataError(f"data file not found: {path}")
    columns = [c.strip() for c in d.columns.split(",") if c.strip()] or None
    raw_times, names, values = read_csv_series(path, d.time_column or None, columns,
                                               missing="keep")
    times = parse_times(raw_times)
    times, values = regularise(times, values, d.fill, source=str(path))
    return names, times, values


def _csv(d: ForecastDataConfig, path: str) -> list[Series]:
    names, times, values = read_csv_file(d, path)
    if d.multivariate:
        return [_holdout(Path(path).stem, values, times, d.window, d.horizon)]
    return [_holdout(name, values[:, [j]], times, d.window, d.horizon)
            for j, name in enumerate(names)]


def default_period(source: str, times: np.ndarray | None, ett_file: str = "") -> int:
    if source == "m4-hourly":
        return 24
    if source == "ett":
        return 96 if ett_file.startswith("ETTm") else 24
    if times is not None and times.size > 1:
        step = int((times[1] - times[0]).astype(np.int64))
        return {3600: 24, 900: 96, 1800: 48, 86400: 7}.get(step, 1)
    return 1


def build_data(cfg: Any, assets: Mapping[str, Any] | None = None,
               data: str | None = None) -> ForecastData:
    """The configured source (or ``data``, a CSV, e.g. ``seqlab eval --data``) as windows.

    ``assets`` (a checkpoint's) fix window, horizon, period and covariates to the model's.
    """
    d = cfg.data
    path = data or d.data
    if assets:
        for key, field in (("window", "window"), ("horizon", "horizon"), ("period", "period")):
            if key in assets and getattr(d, field) != assets[key] and not (
                    key == "period" and d.period == 0):
                raise ConfigError(f"data.{field} {getattr(d, field)} differs from the "
                                  f"model's {assets[key]}")
    if path:
        series, source = _csv(d, path), "csv"
    elif d.dataset == "m4-hourly":
        series, source = _m4(d), "m4-hourly"
    else:
        series, source = _ett(d), "ett"
    if d.max_series:
        series = series[:d.max_series]
    period = d.period or (assets or {}).get("period") or default_period(
        source, series[0].times, d.ett_file)
    channels = {s.values.shape[1] for s in series}
    if assets and channels != {assets["channels"]}:
        raise DataError(f"the data has {channels.pop()} channel(s); the model takes "
                        f"{assets['channels']}")
    kind = (assets or {}).get("covariate_kind", d.covariates)
    return ForecastData(cfg, series, int(period), kind, source)


# ---------------------------------------------------------------------------------- presets
# M4 hourly: 14 days of input cut into 24-hour patches (14 recurrent steps), direct 48-step
# head, MAE on window-scaled values (the MASE's numerator up to scale), Adam with cosine decay.
_M4 = {"dataset": "m4-hourly", "window": 336, "horizon": 48, "batch_size": 256,
       "eval_batch_size": 512}
_TRAIN = {"optimizer": "adam", "lr": 0.002, "schedule": "cosine", "min_lr": 0.0001,
          "epochs": 8, "clip": 1.0, "loss_reduction": "token", "log_every": 100}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "m4-hourly": {"model": {"cell": "lstm", "hidden_size": 256, "num_layers": 2,
                            "patch": 24, "mode": "direct", "loss": "mae"},
                  "data": dict(_M4, train_stride=2),
                  "train": dict(_TRAIN, epochs=5, time_limit=660, threads=1)},
    "m4-hourly-ar": {"model": {"cell": "gru", "hidden_size": 128, "num_layers": 1,
                               "patch": 24, "mode": "autoregressive", "loss": "mae"},
                     "data": dict(_M4, train_stride=4, covariates="phase"),
                     "train": dict(_TRAIN, time_limit=600)},
    "m4-hourly-quantile": {"model": {"cell": "lstm", "hidden_size": 128, "num_layers": 2,
                                     "patch": 24, "mode": "direct", "loss": "quantile",
                                     "quantiles": "0.05,0.5,0.95"},
                           "data": dict(_M4, train_stride=4),
                           "train": dict(_TRAIN, time_limit=600)},
    # ETTh1 univariate (Informer's "S" setting): MSE on the train-z-scored OT column
    "etth1": {"model": {"cell": "lstm", "hidden_size": 64, "num_layers": 1, "patch": 24,
                        "mode": "direct", "loss": "mse", "scaling": "window"},
              "data": {"dataset": "ett", "ett_file": "ETTh1", "target": "OT", "window": 336,
                       "horizon": 24, "batch_size": 64, "eval_batch_size": 512,
                       "eval_stride": 8, "covariates": "calendar"},
              "train": dict(_TRAIN, lr=0.001, epochs=6, time_limit=120, patience=2)},
}
