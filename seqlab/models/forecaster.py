"""Recurrent forecaster over sliding windows, trained globally across many series.

A window gives ``L`` past values ``x_{1..L}`` (``k`` channels) and the next ``H`` targets
``y_{1..H}``. With optional multiplicative seasonal factors ``s`` (classical decomposition of
the series' history, 1 when off) and a per-window or per-series location/scale ``(l, c)``::

    z_t   = (x_t / s_t - l) / c                     # scaled input, (B, L, k)
    u_j   = [z_{(j-1)P+1 .. jP}, cov_{(j-1)P+1 .. jP}]   # patches of P steps (P = patch)
    h_j, S_j = rnn(u_j, S_{j-1}),  j = 1 .. L/P     # encoder: any cell of seqlab.nn.factory

direct mode (all ``H`` steps from the last state)::

    zhat_{1..H} = W_d h_{L/P} + b_d                 # (B, H, k, Q)

autoregressive mode (a decoder fed its own outputs, seq2seq)::

    g_0 = S_{L/P},  v_1 = [z_{L-P+1 .. L}, cov_{L+1 .. L+P}]
    o_j, g_j = dec(v_j, g_{j-1});  zhat_{patch j} = W_a o_j + b_a
    v_{j+1} = [median of zhat_{patch j}, cov of patch j + 1]

and the forecast ``f_t = (c zhat_t + l) s_t`` in the data's units. ``cov`` are known future
covariates (sin/cos of hour of day and weekday) given to the encoder and the decoder.

Losses, summed over the B*H*k targets (``count``) with ``zy = (y / s - l) / c``:

    mse:      (zhat - zy)^2                    mae: |zhat - zy|
    smape:    200 |y - f| / (|y| + |f|)         (the M4 metric itself, in data units)
    quantile: sum_q max(tau_q e, (tau_q - 1) e),  e = zy - zhat_q   (pinball; intervals)

Figures (exact sums over a split): ``mse``/``mae`` in data units (ETT: z-normalised),
``smape`` and ``mase`` (|y - f| over the series' in-sample seasonal-naive MAE) as means over
all targets; with one H-step window per series (M4), these equal the means over series.

Example:
    >>> torch.manual_seed(0) and None
    >>> model = Forecaster(window=24, horizon=6, hidden_size=8)
    >>> batch = {"x": torch.rand(3, 24, 1) + 1, "y": torch.rand(3, 6, 1) + 1}
    >>> tuple(model.predict(batch["x"]).shape)
    (3, 6, 1)
    >>> out = model.loss(batch)
    >>> out.count, out.sequences, sorted(out.sums)
    (18, 3, ['ae', 'mase', 'se', 'smape'])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from seqlab.config import check
from seqlab.errors import ConfigError, DataError
from seqlab.models.base import LossOutput, TaskModel
from seqlab.nn.factory import RECURRENT_CELLS, check_cell, recurrent_stack

MODES = ("direct", "autoregressive")
LOSSES = ("mse", "mae", "smape", "quantile")
SCALINGS = ("window", "series", "none")
EPS = 1e-8


def parse_quantiles(text: str) -> tuple[float, ...]:
    try:
        qs = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"model.quantiles must be comma-separated floats, got {text!r}"
                          ) from None
    if not qs or any(not 0 < q < 1 for q in qs) or list(qs) != sorted(set(qs)):
        raise ConfigError(f"model.quantiles must be increasing values in (0, 1), got {text!r}")
    return qs


@dataclass
class ForecasterConfig:
    """The forecaster's shape (see :class:`Forecaster`)."""

    HELP: ClassVar[dict[str, str]] = {
        "cell": "recurrent cell", "hidden_size": "recurrent width", "num_layers":
        "stacked recurrent layers", "dropout": "dropout between layers and before the head",
        "mode": "direct (all h steps from the last state) or autoregressive (decoder fed its "
                "own outputs)", "loss": "training loss", "quantiles": "comma-separated "
        "quantile levels of the quantile loss (the median is the point forecast)",
        "scaling": "window: each input window's mean/std; series: the series' history; none",
        "patch": "values per recurrent step (the window and the horizon are cut in patches)",
        "backend": "recurrent backend (auto, reference, fused, compiled, scan)"}
    CHOICES: ClassVar[dict[str, tuple]] = {"cell": tuple(RECURRENT_CELLS), "mode": MODES,
                                           "loss": LOSSES, "scaling": SCALINGS}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("backend",)

    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    mode: str = "direct"
    loss: str = "mae"
    quantiles: str = "0.05,0.5,0.95"
    scaling: str = "window"
    patch: int = 1
    backend: str = "auto"

    def __post_init__(self) -> None:
        check_cell(self.cell, name="model.cell")
        for name in ("hidden_size", "num_layers", "patch"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        check(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        for name in ("mode", "loss", "scaling"):
            choices = self.CHOICES[name]
            check(getattr(self, name) in choices, f"model.{name}", f"one of {choices}",
                  getattr(self, name))
        if self.loss == "quantile" and 0.5 not in parse_quantiles(self.quantiles):
            raise ConfigError(f"model.quantiles must hold 0.5 (the point forecast), got "
                              f"{self.quantiles!r}")


class Forecaster(TaskModel):
    """RNN forecaster (equations in the module docstring).

    Args:
        window: input length L (a multiple of ``patch``).
        horizon: forecast length H.
        channels: values per time step k (1: univariate).
        covariates: known covariates per step C (0: none).
        cell, hidden_size, num_layers, dropout, backend: the recurrent stack.
        mode: "direct" or "autoregressive".
        loss: "mse", "mae", "smape" or "quantile".
        quantiles: levels of the quantile loss (must hold 0.5).
        scaling: "window", "series" (``loc``/``scale`` given in the batch) or "none".
        patch: values P per recurrent step.

    Shape:
        batch dict: ``x`` (B, L, k) history divided by its seasonal factors, ``y`` (B, H, k)
        targets in data units; optional ``season`` (B, H, k), ``cov`` (B, L + H, C),
        ``loc``/``scale`` (B, 1, k), ``mase_scale`` (B, k).
    """

    task = "forecaster"
    config_class = ForecasterConfig
    selection = ("loss", "min")
    state_batch_dim = 0
    count_name = "pt"

    def __init__(self, window: int, horizon: int, channels: int = 1, covariates: int = 0,
                 cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1,
                 dropout: float = 0.0, mode: str = "direct", loss: str = "mae",
                 quantiles: str = "0.05,0.5,0.95", scaling: str = "window", patch: int = 1,
                 backend: str = "auto") -> None:
        super().__init__()
        self.config = ForecasterConfig(cell=cell, hidden_size=hidden_size,
                                       num_layers=num_layers, dropout=dropout, mode=mode,
                                       loss=loss, quantiles=quantiles, scaling=scaling,
                                       patch=patch, backend=backend)
        for name, value in (("window", window), ("horizon", horizon), ("channels", channels)):
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be an int > 0, got {value!r}")
        if window % patch:
            raise ConfigError(f"the window ({window}) must be a multiple of model.patch "
                              f"({patch})")
        self.window, self.horizon, self.channels, self.covariates = (window, horizon, channels,
                                                                     covariates)
        self.quantile_levels = parse_quantiles(quantiles) if loss == "quantile" else (0.5,)
        self.register_buffer("taus", torch.tensor(self.quantile_levels), persistent=False)
        self.median = self.quantile_levels.index(0.5)
        nq, P = len(self.quantile_levels), patch
        self._assets: dict[str, Any] = {"window": window, "horizon": horizon,
                                        "channels": channels, "covariates": covariates}
        step_in = P * (channels + covariates)
        self.encoder = recurrent_stack(cell, step_in, hidden_size, num_layers=num_layers,
                                       dropout=dropout, backend=backend)
        self.drop = nn.Dropout(dropout)
        if mode == "direct":
            self.head = nn.Linear(hidden_size, horizon * channels * nq)
        else:
            self.decoder = recurrent_stack(cell, step_in, hidden_size, num_layers=num_layers,
                                           dropout=dropout, backend=backend)
            self.head = nn.Linear(hidden_size, P * channels * nq)

    @classmethod
    def from_config(cls, config: ForecasterConfig, assets: Mapping[str, Any]) -> Forecaster:
        missing = [k for k in ("window", "horizon", "channels") if k not in assets]
        if missing:
            raise ConfigError(f"a forecaster needs assets {missing} (from its data)")
        model = cls(int(assets["window"]), int(assets["horizon"]), int(assets["channels"]),
                    int(assets.get("covariates", 0)), **config.__dict__)
        model._assets = dict(assets)
        return model

    def assets(self) -> dict[str, Any]:
        return dict(self._assets)

    @property
    def log_metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        """ETT reports MSE/MAE on z-scored data; M4 and CSVs sMAPE/MASE."""
        return ("mse", "mae") if self._assets.get("source") == "ett" else ("smape", "mase")

    # ---------------------------------------------------------------------------- forward
    def _scales(self, x: torch.Tensor, loc, scale):
        mode = self.config.scaling
        if mode == "window":
            loc = x.mean(dim=1, keepdim=True)
            scale = x.std(dim=1, keepdim=True, unbiased=False)
        elif mode == "none" or loc is None or scale is None:
            if mode == "series":
                raise DataError("scaling 'series' needs the batch's loc and scale")
            loc, scale = torch.zeros_like(x[:, :1]), torch.ones_like(x[:, :1])
        # a constant window (scale 0) is scaled by 1: its forecast is then learned around l
        return loc, torch.where(scale > EPS, scale, torch.ones_like(scale))

    def _patches(self, z: torch.Tensor, cov: torch.Tensor | None) -> torch.Tensor:
        """(B, T, k) values [+ (B, T, C) covariates] -> (B, T / P, P (k + C))."""
        u = z if cov is None else torch.cat([z, cov], dim=-1)
        B, T, F = u.shape
        return u.reshape(B, T // self.config.patch, self.config.patch * F)

    def forward(self, x: torch.Tensor, cov: torch.Tensor | None = None, loc=None, scale=None,
                steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scaled forecasts ``zhat`` (B, H', k, Q) and the window's ``(loc, scale)``.

        ``steps`` (autoregressive mode only) runs the decoder past the trained horizon;
        ``cov`` then covers ``L + steps`` positions.
        """
        H = self.horizon if steps is None else steps
        self._check(x, cov, H)
        loc, scale = self._scales(x, loc, scale)
        z = (x - loc) / scale
        P, k, nq = self.config.patch, self.channels, len(self.quantile_levels)
        past = None if cov is None else cov[:, :self.window]
        out, state = self.encoder(self._patches(z, past))
        B = x.shape[0]
        if self.config.mode == "direct":
            if H > self.horizon:
                raise DataError(f"a direct forecaster predicts at most its horizon "
                                f"{self.horizon} steps, got {H}")
            zhat = self.head(self.drop(out[:, -1])).reshape(B, self.horizon, k, nq)
            return zhat[:, :H], loc, scale
        outs, prev = [], z[:, -P:]
        for j in range(math.ceil(H / P)):
            fut = None
            if cov is not None:
                fut = cov[:, self.window + j * P:self.window + (j + 1) * P]
                if fut.shape[1] < P:  # the last patch past the covariates: repeat the last
                    fut = torch.cat([fut, fut[:, -1:].expand(B, P - fut.shape[1], -1)], 1)
            o, state = self.decoder(self._patches(prev, fut), state)
            step = self.head(self.drop(o[:, -1])).reshape(B, P, k, nq)
            outs.append(step)
            prev = step[..., self.median]
        return torch.cat(outs, dim=1)[:, :H], loc, scale

    def _check(self, x: torch.Tensor, cov, H: int) -> None:
        if x.dim() != 3 or x.shape[1] != self.window or x.shape[2] != self.channels:
            raise DataError(f"x must be (B, {self.window}, {self.channels}), got "
                            f"{tuple(x.shape)}")
        if H <= 0:
            raise DataError(f"the horizon must be > 0, got {H}")
        if self.covariates and (cov is None or cov.shape[-1] != self.covariates
                                or cov.shape[1] < self.window + H):
            got = None if cov is None else tuple(cov.shape)
            raise DataError(f"this forecaster needs covariates (B, {self.window + H}, "
                            f"{self.covariates}), got {got}")
        if not self.covariates and cov is not None:
            raise DataError("this forecaster was trained without covariates; pass cov=None")

    def predict(self, x: torch.Tensor, cov=None, season=None, loc=None, scale=None,
                steps: int | None = None, all_quantiles: bool = False) -> torch.Tensor:
        """Forecasts in data units: (B, H, k), or (B, H, k, Q) with ``all_quantiles``."""
        zhat, loc, scale = self(x, cov, loc, scale, steps)
        f = zhat * scale[..., None] + loc[..., None]
        if season is not None:
            f = f * season[..., None]
        if not all_quantiles:
            return f[..., self.median]
        return f.sort(dim=-1).values  # quantile crossing removed (sorted levels)

    # ---------------------------------------------------------------------- task contract
    def loss(self, batch: Mapping[str, Any], state: Any = None) -> LossOutput:
        x, y = batch["x"], batch["y"]
        season = batch.get("season")
        zhat, loc, scale = self(x, batch.get("cov"), batch.get("loc"), batch.get("scale"))
        s = torch.ones_like(y) if season is None else season
        f_all = (zhat * scale[..., None] + loc[..., None]) * s[..., None]
        f = (f_all.sort(dim=-1).values if f_all.shape[-1] > 1 else f_all)[..., self.median]
        zy = (y / s - loc) / scale
        kind = self.config.loss
        if kind == "mse":
            loss = ((zhat[..., 0] - zy) ** 2).sum()
        elif kind == "mae":
            loss = (zhat[..., 0] - zy).abs().sum()
        elif kind == "smape":
            loss = (200 * (y - f).abs() / ((y.abs() + f.abs()).clamp_min(EPS))).sum()
        else:
            e = zy[..., None] - zhat
            loss = torch.maximum(self.taus * e, (self.taus - 1) * e).sum()
        with torch.no_grad():
            err = y - f
            denom = y.abs() + f.abs()
            smape = torch.where(denom > 0, 200 * err.abs() / denom.clamp_min(EPS),
                                torch.zeros_like(denom))
            mscale = batch.get("mase_scale")
            mase = (err.abs() / mscale[:, None, :]).sum() if mscale is not None else \
                torch.tensor(float("nan"))
            sums = {"se": float((err ** 2).sum()), "ae": float(err.abs().sum()),
                    "smape": float(smape.sum()), "mase": float(mase)}
        return LossOutput(loss, y.numel(), x.shape[0], None, sums)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        n = totals.get("count", 0)
        if not n:
            return {k: float("nan") for k in ("loss", "mse", "mae", "smape", "mase")}
        return {"loss": totals["loss"] / n, "mse": totals.get("se", math.nan) / n,
                "mae": totals.get("ae", math.nan) / n,
                "smape": totals.get("smape", math.nan) / n,
                "mase": totals.get("mase", math.nan) / n}
