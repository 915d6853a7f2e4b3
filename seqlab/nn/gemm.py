"""The GEMMs of the compiled backend, shared by :mod:`seqlab.nn.compiled` and
:mod:`seqlab.nn.lstm_loop`.

On CPU in float32 the per-step recurrent GEMMs (:func:`matmul`, weights packed once per call)
and the input projection (:func:`dense`, :class:`Linear`) go through oneDNN, as torch.nn.LSTM's
kernel does; the weight gradients ``dY.T @ X`` use ``torch.mm``, which takes the transposed
operand without the copy oneDNN needs (1.5x faster at T*B = 700, 4H = 800).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.nn.cells import GRUCell, LayerNormLSTMCell, LSTMCell, RNNCell, SimpleGRUCell


def _onednn_available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and bool(
            torch.ops.mkldnn._linear_pointwise and torch.ops.mkldnn._reorder_linear_weight)
    except (AttributeError, RuntimeError):
        return False


_ONEDNN = _onednn_available()


def matmul(W: Tensor, bias: Tensor | None, batch_size: int) -> Callable[[Tensor], Tensor]:
    """``h -> h @ W.T + bias`` for the small per-step GEMMs of the time loop.

    On CPU in float32, W is packed once for oneDNN (as torch.nn.LSTM's own kernel does): at
    B = 20, H = 200 that GEMM runs about 1.7x faster than ``addmm``. Elsewhere: ``addmm``.
    """
    if _ONEDNN and W.device.type == "cpu" and W.dtype == torch.float32:
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(W, batch_size)
            linear = torch.ops.mkldnn._linear_pointwise
            return lambda h: linear(h, packed, bias, "none", [], "")
        except RuntimeError:  # an unsupported layout or build: the plain GEMM below
            pass
    if bias is None:
        return lambda h: torch.mm(h, W.t())
    return lambda h: torch.addmm(bias, h, W.t())


def dense(x: Tensor, W: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ W.T + bias`` for 2-D ``x``: oneDNN on CPU float32 (MKL's GEMM is 2-3x slower on
    this AMD machine at these sizes), else ``F.linear``."""
    if _ONEDNN and x.device.type == "cpu" and x.dtype == torch.float32:
        try:
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), W.contiguous(), bias,
                                                      "none", [], "")
        except RuntimeError:
            pass
    return F.linear(x, W, bias)


class Linear(torch.autograd.Function):
    """``x @ W.T + b`` over (..., D): forward and d x through _dense, d W through torch.mm."""

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, bias: Tensor | None) -> Tensor:
        x2 = x.reshape(-1, x.shape[-1])
        ctx.save_for_backward(x2, W)
        ctx.has_bias, ctx.shape = bias is not None, x.shape
        return dense(x2, W, bias).view(*x.shape[:-1], W.shape[0])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy: Tensor):
        x2, W = ctx.saved_tensors
        need_x, need_W, need_b = ctx.needs_input_grad
        dy2 = dy.reshape(-1, W.shape[0])
        dx = dense(dy2, W.t()).view(ctx.shape) if need_x else None  # (N, D)
        dW = torch.mm(dy2.t(), x2) if need_W else None  # (G, D); no transposed copies
        return dx, dW, dy2.sum(0) if ctx.has_bias and need_b else None


def project_input(cell, x: Tensor) -> Tensor:
    """``cell.project_input(x)`` with the GEMMs of :class:`Linear` for the known cells."""
    kind = type(cell)
    if kind in (LSTMCell, GRUCell, RNNCell, SimpleGRUCell):
        return Linear.apply(x, cell.weight_ih, cell.bias_ih)
    if kind is LayerNormLSTMCell:
        xw = cell.ln_ih(Linear.apply(x, cell.weight_ih, None))
        return xw if cell.bias_ih is None else xw + cell.bias_ih
    return cell.project_input(x)
