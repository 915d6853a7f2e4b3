"""The long-range task model: a seqlab recurrent stack and a linear read-out.

Equations (symbols as in the code; ``rnn`` is any cell of
:data:`seqlab.nn.factory.RECURRENT_CELLS`)::

    u_t       = x_t                      adding (2 channels), sevenseg (1 pixel)
    u_t       = onehot(x_t)              copy memory (10 symbols)
    h_t       = rnn(u_t, h_t-1)          (B, T, H)
    adding:   y_hat = W h_T + b          loss sum_b (y_hat_b - y_b)^2          (MSE)
    copy:     logits_t = W h_t + b       loss sum_{b,t} -log softmax(logits_t)[y_t]  (every step)
    sevenseg: logits = W h_T + b         loss sum_b -log softmax(logits)[y_b]

``metrics`` reports ``loss`` (MSE, or nats per step / per sequence) and ``chance`` beside it,
the memoryless strategy's loss (adding 0.1767 as published, copy 10 ln 8 / (T + 20)); copy
adds ``recall_acc`` (accuracy on the 10 recalled symbols), sevenseg ``accuracy``.

Init (``init``): ``default`` (each layer's own, PyTorch's), ``seed001`` (Xavier input weights,
orthogonal recurrent weights, zero biases and LSTM forget bias ``forget_bias``:
:func:`seqlab.nn.init.init_recurrent`), ``chrono`` (the default, then chrono gate biases with
``t_max = length``: :func:`seqlab.nn.chrono.chrono_init`).

Example:
    >>> model = LongRangeModel(LongRangeConfig(cell="gru", hidden_size=8),
    ...                        {"task": "adding", "length": 5, "input_size": 2,
    ...                         "output_size": 1, "chance": 0.1767})
    >>> out = model.loss((torch.rand(3, 5, 2), torch.rand(3)))
    >>> out.count, out.sequences, sorted(model.metrics({"loss": 0.3, "count": 3}))
    (3, 3, ['chance', 'loss'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.config import check
from seqlab.errors import ConfigError, DataError
from seqlab.models.base import LossOutput, TaskModel
from seqlab.nn.factory import RECURRENT_CELLS, check_cell, recurrent_stack

INITS = ("default", "seed001", "chrono")


@dataclass
class LongRangeConfig:
    """The long-range model's shape and init (see :class:`LongRangeModel`)."""

    HELP: ClassVar[dict[str, str]] = {
        "cell": "recurrent cell", "hidden_size": "recurrent width H",
        "num_layers": "stacked recurrent layers",
        "backend": "recurrent backend (auto picks the fastest)",
        "init": "default: the layers' own; seed001: Xavier / orthogonal / forget bias; "
                "chrono: gate biases log U(1, T - 1) (Tallec & Ollivier 2018)",
        "forget_bias": "LSTM forget-gate bias of the seed001 init"}
    CHOICES: ClassVar[dict[str, tuple]] = {"cell": tuple(RECURRENT_CELLS), "init": INITS}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("backend",)

    cell: str = "gru"
    hidden_size: int = 128
    num_layers: int = 1
    backend: str = "auto"
    init: str = "default"
    forget_bias: float = 1.0

    def __post_init__(self) -> None:
        check_cell(self.cell, name="model.cell")
        for name in ("hidden_size", "num_layers"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        check(self.init in INITS, "model.init", f"one of {INITS}", self.init)
        if self.init == "chrono" and self.cell == "rnn":
            raise ConfigError("model.init='chrono' needs a gated cell, got cell 'rnn'")


class LongRangeModel(TaskModel):
    """Recurrent model for the adding, copy-memory and sevenseg tasks (module docstring)."""

    task = "longrange"
    config_class = LongRangeConfig
    count_name = "seq"

    def __init__(self, config: LongRangeConfig, assets: Mapping[str, Any]) -> None:
        super().__init__()
        for key in ("task", "length", "input_size", "output_size", "chance"):
            if key not in assets:
                raise ConfigError(f"longrange assets must hold {key!r}, got {sorted(assets)}")
        self.config, self._assets = config, dict(assets)
        self.kind = assets["task"]
        # copy memory's loss counts output positions, the other tasks count sequences
        self.count_name = "tok" if self.kind == "copy" else "seq"
        self.rnn = recurrent_stack(config.cell, int(assets["input_size"]), config.hidden_size,
                                   num_layers=config.num_layers, backend=config.backend)
        self.readout = nn.Linear(config.hidden_size, int(assets["output_size"]))
        if config.init == "seed001":
            from seqlab.nn.init import init_recurrent

            if config.cell in ("mingru", "minlstm"):
                raise ConfigError("model.init='seed001' needs W_hh; MinGRU/MinLSTM have none "
                                  "(use 'default' or 'chrono')")
            init_recurrent(self.rnn, forget_bias=config.forget_bias)
        elif config.init == "chrono":
            from seqlab.nn.chrono import chrono_init

            chrono_init(self.rnn, t_max=max(float(assets["length"]), 3.0))
        self.log_metrics = ("chance",) + (("recall_acc",) if self.kind == "copy" else
                                          ("accuracy",) if self.kind == "sevenseg" else ())

    @classmethod
    def from_config(cls, config: LongRangeConfig, assets: Mapping[str, Any]) -> LongRangeModel:
        return cls(config, assets)

    def assets(self) -> dict[str, Any]:
        return dict(self._assets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Adding: predictions (B,); copy: logits (B, T, 10); sevenseg: logits (B, 10)."""
        if self.kind == "copy":
            if x.dtype != torch.long or x.dim() != 2:
                raise DataError(f"copy inputs must be a (B, T) long tensor, got {x.dtype} "
                                f"{tuple(x.shape)}")
            u = F.one_hot(x, int(self._assets["input_size"])).to(self.readout.weight.dtype)
        else:
            if x.dim() != 3:
                raise DataError(f"inputs must be (B, T, {self._assets['input_size']}), got "
                                f"shape {tuple(x.shape)}")
            u = x
        out, _ = self.rnn(u)
        if self.kind == "copy":
            return self.readout(out)
        last = self.readout(out[:, -1])
        return last[:, 0] if self.kind == "adding" else last

    def loss(self, batch: Any, state: Any = None) -> LossOutput:
        x, y = batch
        pred = self(x)
        B = x.shape[0]
        if self.kind == "adding":
            return LossOutput(((pred - y) ** 2).sum(), B, B)
        if self.kind == "copy":
            nll = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), y.reshape(-1),
                                  reduction="sum")
            recall = 10
            hits = (pred[:, -recall:].argmax(-1) == y[:, -recall:]).sum()
            return LossOutput(nll, y.numel(), B, sums={"recall_correct": float(hits),
                                                       "recall_count": float(B * recall)})
        nll = F.cross_entropy(pred, y, reduction="sum")
        return LossOutput(nll, B, B, sums={"correct": float((pred.argmax(-1) == y).sum())})

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float]:
        count = totals.get("count", 0)
        figures = {"loss": totals["loss"] / count if count else float("nan"),
                   "chance": float(self._assets["chance"])}
        if self.kind == "copy" and totals.get("recall_count"):
            figures["recall_acc"] = totals["recall_correct"] / totals["recall_count"]
        if self.kind == "sevenseg" and count:
            figures["accuracy"] = totals.get("correct", 0.0) / count
            figures["chance"] = 0.1  # chance accuracy, beside the accuracy
        return figures
