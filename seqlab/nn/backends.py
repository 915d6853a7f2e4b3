"""How a recurrent layer runs: PyTorch's fused kernels, or the cells with a compiled step.

* ``fused_forward``: the same ``torch._VF`` kernels ``torch.nn.LSTM/GRU/RNN`` call (oneDNN on CPU,
  cuDNN on GPU), fed the layer's own Parameters in torch's order; lengths go through
  ``pack_padded_sequence``. Nothing is copied, so its cost is the kernel's.
* ``compiled_unroll``: any cell. The input projection of all steps is one GEMM
  (``cell.project_input`` on (T, B, D)). LSTM, LayerNorm-LSTM and GRU cells then run their whole
  time loop in C with a hand-written backward (``lstm_loop.py``, ``gru_loop.py``); SimpleGRU, RNN
  cells (and GRU cells where the C kernels do not build)
  run as one autograd node per direction with torch.compile'd gate kernels (``compiled.py``);
  other cells run ``torch.compile(cell.recur)`` step by step. If it fails inside a call (no
  C compiler...), the layer logs why and runs that call on the reference loop.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqlab.nn import compiled
from seqlab.nn.padding import keep_where

log = logging.getLogger(__name__)

_KERNELS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}


def fused_forward(layer, x: Tensor, state, lengths: Tensor | None):
    """Runs ``layer`` (plain cells) with torch's fused kernel; same shapes as ``layer.forward``."""
    kernel = _KERNELS[layer.torch_mode]
    weights = layer.flat_weights()
    if layer.proj_size:  # torch warns that oneDNN lacks projections; its fallback is exact
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "LSTM with projections is not supported")
            return _fused(kernel, layer, x, state, lengths, weights)
    return _fused(kernel, layer, x, state, lengths, weights)


def _fused(kernel, layer, x: Tensor, state, lengths: Tensor | None, weights: list[Tensor]):
    args = (layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    if lengths is None:
        result = kernel(x, state, weights, *args, layer.batch_first)
        return (result[0], tuple(result[1:])) if layer.is_lstm else result
    T = x.shape[1] if layer.batch_first else x.shape[0]
    packed = pack_padded_sequence(x, lengths, layer.batch_first, enforce_sorted=False)
    order, undo = packed.sorted_indices, packed.unsorted_indices
    if layer.is_lstm:
        state = (state[0].index_select(1, order), state[1].index_select(1, order))
    else:
        state = state.index_select(1, order)
    result = kernel(packed.data, packed.batch_sizes, state, weights, *args)
    output = PackedSequence(result[0], packed.batch_sizes, order, undo)
    output, _ = pad_packed_sequence(output, layer.batch_first, total_length=T)
    finals = tuple(s.index_select(1, undo) for s in result[1:])
    return output, (finals if layer.is_lstm else finals[0])


_compiled: dict[type, Callable] = {}  # cell class -> its compiled ``recur``


def fallback_note(error: Exception) -> str:
    """Logs why the compiled backend failed in one call; returns that call's ``backend_used``.

    Nothing is remembered: a failure stays local to the call that failed.
    """
    log.warning("backend='compiled' failed in this call (%s: %s); it ran the reference loop "
                "instead", type(error).__name__, error)
    return f"reference (compiled failed: {type(error).__name__}: {error})"


def _compiled_recur(cell) -> Callable:
    """``type(cell).recur`` through torch.compile, one per cell class (Dynamo's cache is per
    function, so classes do not evict each other's graphs)."""
    cls = type(cell)
    if cls not in _compiled:
        with warnings.catch_warnings():  # inductor imports torch.jit-scripted helpers
            warnings.filterwarnings("ignore", ".*torch.jit.script", DeprecationWarning)
            import torch._inductor.compile_fx  # noqa: F401
        _compiled[cls] = torch.compile(cls.recur)
    return _compiled[cls]


def compiled_unroll(cell, x: Tensor, state, mask: Tensor | None, reverse: bool = False):
    """The compiled counterpart of ``recurrent.unroll``: same arguments, same results.

    Cells with a pointwise kernel in ``seqlab.nn.compiled`` run as one autograd node per
    direction; other cells run ``torch.compile(cell.recur)`` step by step.
    """
    if compiled.has_kernel(cell):
        return compiled.kernel_unroll(cell, x, state, mask, reverse)
    return _generic_unroll(cell, x, state, mask, reverse)


def _generic_unroll(cell, x: Tensor, state, mask: Tensor | None, reverse: bool = False):
    recur = _compiled_recur(cell)
    xw = cell.project_input(x)  # (T, B, G*H): one GEMM for all steps
    outputs: list[Tensor] = [x] * x.shape[0]
    for t in reversed(range(x.shape[0])) if reverse else range(x.shape[0]):
        with warnings.catch_warnings():  # Dynamo reads .grad of non-leaf inputs when tracing
            warnings.filterwarnings("ignore", "The .grad attribute of a Tensor", UserWarning)
            new = recur(cell, xw[t], state)
        if mask is not None:
            new = keep_where(mask[t], new, state)
        state = new
        h = state[0] if isinstance(state, tuple) else state
        outputs[t] = h if mask is None else h * mask[t]
    return torch.stack(outputs), state
