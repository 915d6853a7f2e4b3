"""Gradient clipping and truncated-BPTT state handling."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from seqlab.errors import ConfigError

Params = Tensor | Iterable[Tensor]


def clip_grad_norm(parameters: Params, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """Scales the gradients so that their joint ``norm_type`` norm is at most ``max_norm``.

    ``g <- g * min(1, max_norm / (||g|| + 1e-6))`` over all gradients together (Pascanu et al.
    2013); wraps ``torch.nn.utils.clip_grad_norm_``. Returns the norm before clipping.
    """
    if not max_norm > 0:
        raise ConfigError(f"max_norm must be > 0, got {max_norm}")
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type,
                                          error_if_nonfinite=error_if_nonfinite)


def clip_grad_value(parameters: Params, clip_value: float) -> None:
    """Clamps every gradient element into ``[-clip_value, clip_value]``."""
    if not clip_value > 0:
        raise ConfigError(f"clip_value must be > 0, got {clip_value}")
    torch.nn.utils.clip_grad_value_(parameters, clip_value)


def detach_state(state):
    """Cuts the autograd history of a carried state (truncated BPTT).

    Between two BPTT windows the last state is carried on as the next initial state, but the
    gradient must stop there, or backward would run through every earlier window (and keep
    their graphs alive). Works on a tensor, on ``(h, c)`` and on nested tuples/lists/dicts;
    None stays None.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    raise TypeError(f"state must be a tensor or a tuple/list/dict of tensors, got "
                    f"{type(state).__name__}")
