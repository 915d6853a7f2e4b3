"""Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?").

A gate that keeps the old state with probability ``sigmoid(b)`` holds information for about
``1 / (1 - sigmoid(b))`` steps. Chrono draws the keep-gate biases so that these horizons
spread over ``[1, t_max]``::

    b_keep ~ log(U(1, t_max - 1)),   b_write = -b_keep

(the recurrent-side biases of the same gates are set to 0). Per cell, in seqlab's gate
orders: LSTM ``f`` keeps and ``i`` writes; GRU ``z`` keeps (``h' = z h + (1 - z) n``, no write
bias); MinGRU ``z`` writes (``a = 1 - z``: ``b_z = -b_keep``); MinLSTM ``f`` keeps and ``i``
writes. A plain RNN has no gate: an error.

Example:
    >>> import torch
    >>> from seqlab.nn import LSTM
    >>> lstm = chrono_init(LSTM(3, 4), t_max=100, generator=torch.Generator().manual_seed(0))
    >>> b = lstm.cells[0].bias_ih
    >>> bool((b[4:8] >= 0).all() and (b[4:8] <= 4.6).all() and torch.equal(b[:4], -b[4:8]))
    True
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError


def _keep(n: int, t_max: float, like: Tensor, generator) -> Tensor:
    u = torch.rand(n, generator=generator, dtype=torch.float64) * (t_max - 2) + 1
    return torch.log(u).to(like)


@torch.no_grad()
def chrono_init(module: nn.Module, t_max: float, generator: torch.Generator | None = None
                ) -> nn.Module:
    """Set the gate biases of every recurrent layer in ``module`` by chrono (module docstring).

    Args:
        module: a model or layer holding seqlab LSTM/GRU/MinGRU/MinLSTM layers.
        t_max: the longest dependency expected (e.g. the sequence length), > 2.
        generator: a torch.Generator for reproducible draws.
    """
    from seqlab.nn.minrnn import MinGRU, MinLSTM
    from seqlab.nn.recurrent import GRU, LSTM, RNN

    if not (isinstance(t_max, int | float) and math.isfinite(t_max) and t_max > 2):
        raise ConfigError(f"t_max must be a number > 2, got {t_max!r}")
    found = False
    for sub in module.modules():
        if isinstance(sub, RNN):
            raise ConfigError("chrono init needs gated cells; a plain RNN has no gate")
        if isinstance(sub, LSTM | GRU):
            for cell in sub.cells:
                if cell.bias_ih is None:
                    raise ConfigError("chrono init needs biases (bias=True)")
                H = cell.hidden_size
                keep = _keep(H, t_max, cell.bias_ih, generator)
                gates = cell.bias_ih.shape[0] // H
                if sub.mode == "LSTM" and gates == 4:
                    cell.bias_ih[H:2 * H], cell.bias_ih[:H] = keep, -keep
                    zeroed = (slice(0, 2 * H),)
                elif sub.mode == "GRU" and gates == 3:
                    cell.bias_ih[H:2 * H] = keep
                    zeroed = (slice(H, 2 * H),)
                else:
                    raise ConfigError(f"chrono init does not know cell {type(cell).__name__}")
                if cell.bias_hh is not None:
                    for s in zeroed:
                        cell.bias_hh[s] = 0.0
                found = True
        elif isinstance(sub, MinGRU | MinLSTM):
            H = sub.hidden_size
            for layer in range(sub.num_layers):
                _, bias = sub.layer_parameters(layer)
                if bias is None:
                    raise ConfigError("chrono init needs biases (bias=True)")
                keep = _keep(H, t_max, bias, generator)
                if isinstance(sub, MinGRU):
                    bias[:H] = -keep
                else:
                    bias[:H], bias[H:2 * H] = keep, -keep
                found = True
    if not found:
        raise ConfigError(f"chrono init found no gated recurrent layer in "
                          f"{type(module).__name__}")
    return module
