"""Variational ("locked") dropout: one mask per sequence, shared by every time step.

For a batch ``x`` of shape (B, T, D) (``batch_first``) or (T, B, D), in training:

    m_bd ~ Bernoulli(1 - p)            one draw per sequence b and feature d
    y_btd = x_btd * m_bd / (1 - p)     the same mask at every step t

so a dropped feature stays dropped for the whole sequence (Gal & Ghahramani 2016; applied to
the inputs and outputs of recurrent layers by Reimers & Gurevych 2017 for taggers and by
Merity et al. 2018). ``E[y] = x``; in eval mode ``y = x``. Inputs of other ranks are an error.

    >>> import torch
    >>> drop = LockedDropout(0.5).train()
    >>> y = drop(torch.ones(2, 4, 3))
    >>> bool((y == y[:, :1]).all()), sorted(set(y.flatten().tolist())) <= [0.0, 2.0]
    (True, True)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["LockedDropout"]


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence over its time steps (module docstring)."""

    def __init__(self, p: float = 0.5, batch_first: bool = True) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"LockedDropout p must be in [0, 1), got {p!r}")
        self.p, self.batch_first = p, batch_first

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.dim() != 3:
            raise ValueError(f"LockedDropout expects (B, T, D) or (T, B, D) input, got shape "
                             f"{tuple(x.shape)}")
        shape = (x.shape[0], 1, x.shape[2]) if self.batch_first else (1, *x.shape[1:])
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        return x * mask / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"
