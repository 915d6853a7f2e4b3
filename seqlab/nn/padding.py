"""Padded steps, written once: the state is kept there and padded inputs reach no gradient.

Every Python path of the recurrent layers (the reference loop, the compiled kernels, the
LSTM loop's PyTorch-op fallback, MinGRU/MinLSTM's sequential loop) keeps the state through
:func:`keep_where`; the C loops (``csrc/lstm_loop_body.h``, ``keep``) and the Numba scan do the
same in their own code.
"""

from __future__ import annotations

import torch
from torch import Tensor


def keep_where(mask: Tensor, new, old):
    """``new`` where ``mask`` (B, 1) is True (a real step), else ``old`` (the state is kept);
    for tensors or tuples of them, e.g. an LSTM's (h, c)."""
    if isinstance(new, tuple):
        return tuple(torch.where(mask, n, o) for n, o in zip(new, old))
    return torch.where(mask, new, old)


def keep_step(mask: Tensor | None, new: tuple, old: tuple) -> tuple:
    """A step's ``(*state, output)``: the kept state (:func:`keep_where`) and output 0 at padded
    steps; without a mask the output is the new h (``new[0]``)."""
    if mask is None:
        return (*new, new[0])
    kept = keep_where(mask, tuple(new), tuple(old))
    return (*kept, kept[0] * mask)


def zero_padding(x: Tensor, mask: Tensor) -> Tensor:
    """``x`` with 0 at padded positions (``mask`` False), so NaN/inf there reach no gradient.

    ``torch.where`` (not ``x * mask``): its backward sends 0, not ``0 * nan``, to the padding.
    """
    return torch.where(mask, x, x.new_zeros(()))
