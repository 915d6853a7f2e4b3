"""An exponential moving average of the weights (Polyak averaging), kept beside training.

With ``train.ema = d`` (0 < d < 1) every optimizer step t = 1, 2, ... updates a shadow copy
theta_bar of each trainable parameter theta:

    d_t = min(d, (1 + t) / (10 + t))
    theta_bar_t = d_t * theta_bar_{t-1} + (1 - d_t) * theta_t,   theta_bar_0 = theta_0

The warm-up d_t (the ``num_updates`` form of TensorFlow's ExponentialMovingAverage) keeps the
first steps from being averaged with the initial weights for thousands of steps. Validation,
the best checkpoint and therefore the final model use theta_bar; training goes on with theta.
The step t comes from the training progress, so nothing but the shadow tensors needs saving
for an exact resume (``average/<param name>`` in ``last.safetensors``).

>>> lin = torch.nn.Linear(2, 1, bias=False)
>>> _ = torch.nn.init.zeros_(lin.weight)
>>> avg = WeightAverage(lin, decay=0.5)
>>> with torch.no_grad():
...     _ = lin.weight.fill_(1.0)
>>> avg.update(step=1)  # d_1 = min(0.5, 2 / 11) = 2/11: 2/11 * 0 + 9/11 * 1
>>> round(avg.shadow["weight"][0, 0].item(), 4)
0.8182
>>> with avg.applied():
...     round(lin.weight[0, 0].item(), 4)
0.8182
>>> lin.weight[0, 0].item()  # training weights are back after the block
1.0
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from seqlab.errors import CheckpointError, ConfigError

PREFIX = "average/"


def averaged(average: WeightAverage | None):
    """``average.applied()``, or a block that changes nothing when there is no average."""
    return average.applied() if average is not None else contextlib.nullcontext()


class WeightAverage:
    """A shadow copy of ``model``'s trainable parameters, averaged after every step."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"train.ema: the decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.params = {name: p for name, p in model.named_parameters() if p.requires_grad}
        self.shadow = {name: p.detach().clone() for name, p in self.params.items()}

    def rate(self, step: int) -> float:
        """d_t: the weight of the old average at step ``step``."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold the current weights in after optimizer step ``step`` (counted from 1)."""
        names = list(self.params)
        torch._foreach_lerp_([self.shadow[n] for n in names],
                             [self.params[n].detach() for n in names], 1.0 - self.rate(step))

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Inside the block the model holds the averaged weights; after it, its own again."""
        saved = {name: p.detach().clone() for name, p in self.params.items()}
        self._copy_into_params(self.shadow)
        try:
            yield
        finally:
            self._copy_into_params(saved)

    @torch.no_grad()
    def load_into_model(self) -> None:
        """Give the model the averaged weights for good (training is over)."""
        self._copy_into_params(self.shadow)

    @torch.no_grad()
    def _copy_into_params(self, values: dict[str, torch.Tensor]) -> None:
        for name, p in self.params.items():
            p.copy_(values[name])

    def tensors(self) -> dict[str, torch.Tensor]:
        """The shadow as checkpoint tensors ``average/<name>``."""
        return {PREFIX + name: t.detach().cpu().contiguous().clone()
                for name, t in self.shadow.items()}

    def load_tensors(self, tensors: dict[str, torch.Tensor], where: str = "checkpoint") -> None:
        """Restore the shadow from checkpoint tensors (every name must be there)."""
        missing = [n for n in self.shadow if PREFIX + n not in tensors]
        if missing:
            raise CheckpointError(f"{where} holds no weight average for {missing[:3]} (the run "
                                  "was saved without train.ema)")
        with torch.no_grad():
            for name, t in self.shadow.items():
                t.copy_(tensors[PREFIX + name])
