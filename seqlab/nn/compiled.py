"""The ``compiled`` backend: a whole direction of a layer as one autograd node.

LSTMCell (without ``proj_size``) and LayerNormLSTMCell run in :mod:`seqlab.nn.lstm_loop`: the
whole time loop in a small C file (own GEMM for ``h @ W_hh.T``, fused gate kernels, a
hand-written backward), built with the system's C compiler, with a PyTorch-op fallback.
GRUCell runs its C loop in :mod:`seqlab.nn.gru_loop` where the C kernels build (CPU,
float32/float64), else here; SimpleGRUCell and RNNCell run here. For one direction of one
layer, with
``xw = x @ W_ih.T + b_ih`` already computed for all steps (one GEMM, outside this module)::

    forward,  each t:   hw_t = h_{t-1} @ W_hh.T + b_hh               (GEMM, B x H by H x G)
                        state_t, out_t = kernel(xw_t, hw_t, mask_t, state_{t-1}, extra)
    backward, each t:   d(xw_t, hw_t, state_{t-1}, extra) = vjp(kernel)(d state_t, d out_t)
                        d h_{t-1} += d hw_t @ W_hh
    then, once:         d W_hh = dHW.T @ H_prev;  d b_hh = dHW.sum()    (one big GEMM)

``kernel`` is the cell's pointwise gate arithmetic (a pure function in :data:`KERNELS`), fused
by ``torch.compile`` into one loop in the forward and one in the backward (its ``vjp``). This
is how the native kernels work too: only the small recurrent GEMM stays inside the time loop.
The per-step GEMMs and the input projection are :mod:`seqlab.nn.gemm`'s.
Cells without a kernel here go through ``torch.compile`` of ``cell.recur`` (see backends.py).
The node is differentiable once (no double backward).
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import vjp

from seqlab.nn import gru_loop, lstm_loop
from seqlab.nn.cells import GRUCell, LayerNormLSTMCell, LSTMCell, RNNCell, SimpleGRUCell
from seqlab.nn.gemm import matmul, project_input, weight_grad
from seqlab.nn.padding import keep_step


# Pointwise kernels: (xw, hw, mask, *state, *extra) -> (*new_state, out). Same equations as
# the cells' docstrings (tests prove them equal to the reference loop).
def gru_kernel(xw, hw, mask, h):
    x_r, x_z, x_n = xw.chunk(3, -1)
    h_r, h_z, h_n = hw.chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return keep_step(mask, (z * h + (1 - z) * n,), (h,))


def simple_gru_kernel(xw, hw, mask, c):
    u, c_tilde = (xw + hw).chunk(2, -1)
    u = torch.sigmoid(u)
    return keep_step(mask, (u * torch.tanh(c_tilde) + (1 - u) * c,), (c,))


def rnn_tanh_kernel(xw, hw, mask, h):
    return keep_step(mask, (torch.tanh(xw + hw),), (h,))


def rnn_relu_kernel(xw, hw, mask, h):
    return keep_step(mask, (torch.relu(xw + hw),), (h,))


@dataclass
class Kernel:
    """A cell class's pointwise kernel and how to read its extra tensors off a cell."""

    function: Callable
    additive: bool = False  # the kernel sees xw and hw only through xw + hw
    extra: Callable = lambda cell: ()
    constants: Callable = lambda cell: ()
    forward: Callable | None = None
    backward: Callable | None = None


def _kernel_for(cell) -> Kernel | None:
    kind = type(cell)
    if kind is RNNCell:
        return KERNELS[f"rnn_{cell.nonlinearity}"]
    name = {GRUCell: "gru", SimpleGRUCell: "simple_gru"}
    return KERNELS.get(name.get(kind, ""))


KERNELS = {
    "gru": Kernel(gru_kernel),
    "simple_gru": Kernel(simple_gru_kernel, additive=True),
    "rnn_tanh": Kernel(rnn_tanh_kernel, additive=True),
    "rnn_relu": Kernel(rnn_relu_kernel, additive=True),
}


def _backward_of(function: Callable) -> Callable:
    """``vjp`` of a kernel as a function of (inputs..., cotangents...)."""

    def backward(xw, hw, mask, rest: tuple, constants: tuple, cotangents: tuple):
        _, pullback = vjp(lambda xw, hw, *rest: function(xw, hw, mask, *rest, *constants),
                          xw, hw, *rest)
        return pullback(cotangents)

    # torch.compile keeps one cache per code object: give each kernel's backward its own.
    code = backward.__code__.replace(co_name=f"{function.__name__}_backward")
    return types.FunctionType(code, backward.__globals__, code.co_name, None,
                              backward.__closure__)


def compile_kernels(kernel: Kernel) -> None:
    """Fills ``kernel.forward/backward`` with their torch.compile'd versions (once)."""
    if kernel.forward is None:
        with warnings.catch_warnings():  # inductor imports torch.jit-scripted helpers
            warnings.filterwarnings("ignore", ".*torch.jit.script", DeprecationWarning)
            import torch._inductor.compile_fx  # noqa: F401
        kernel.forward = torch.compile(kernel.function)
        kernel.backward = torch.compile(_backward_of(kernel.function))


def _loop(kernel: Kernel, cell, xw: Tensor, mask: Tensor | None, state: tuple, reverse: bool,
          extra: tuple, keep: bool):
    """The forward time loop; with ``keep`` it also returns what the backward needs."""
    b_hh = None if cell.bias_hh is None else cell.bias_hh.detach()
    recurrent = matmul(cell.weight_hh.detach(), b_hh, xw.shape[1])
    constants, T = kernel.constants(cell), xw.shape[0]
    prev, HW, outs = [], [xw] * T, [xw] * T
    xs, masks = xw.unbind(0), [None] * T if mask is None else mask.unbind(0)  # views, made once
    for t in reversed(range(T)) if reverse else range(T):
        HW[t] = recurrent(state[0])  # (B, G)
        if keep:
            prev.append(state)
        *state, outs[t] = kernel.forward(xs[t], HW[t], masks[t], *state, *extra, *constants)
    return torch.stack(outs), tuple(state), torch.stack(HW) if keep else None, prev


class _Recurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kernel, cell, mask, reverse, n_state, xw, W_hh, b_hh, *state_and_extra):
        # detached: Dynamo must not see autograd-tracked inputs (it would read their .grad)
        xw = xw.detach()
        state = tuple(s.detach() for s in state_and_extra[:n_state])
        extra = tuple(e.detach() for e in state_and_extra[n_state:])
        outs, final, HW, prev = _loop(kernel, cell, xw, mask, state, reverse, extra, True)
        if reverse:
            prev.reverse()
        prev = [torch.stack(s) for s in zip(*prev)]  # each (T, B, .), in time order
        ctx.kernel, ctx.cell, ctx.mask, ctx.reverse, ctx.n_state = kernel, cell, mask, reverse, \
            n_state
        ctx.has_bias = b_hh is not None
        ctx.save_for_backward(xw, HW, W_hh, *prev, *extra)
        return (outs, *final)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, *d_final):
        xw, HW, W_hh, *rest = ctx.saved_tensors
        prev, extra = rest[: ctx.n_state], tuple(rest[ctx.n_state :])
        constants, mask = ctx.kernel.constants(ctx.cell), ctx.mask
        T = xw.shape[0]
        d_state = [torch.zeros_like(p[0]) if d is None else d for p, d in zip(prev, d_final)]
        d_out = torch.zeros_like(prev[0]) if d_out is None else d_out
        d_HW, d_xw = [HW] * T, [xw] * T
        d_extra = [torch.zeros_like(e) for e in extra]
        back = matmul(W_hh.t().contiguous(), None, xw.shape[1])  # d hw -> d h_{t-1}
        xs, hws, d_outs = xw.unbind(0), HW.unbind(0), d_out.unbind(0)
        masks = [None] * T if mask is None else mask.unbind(0)
        prevs = list(zip(*(p.unbind(0) for p in prev)))  # prevs[t] = state before step t
        for t in range(T) if ctx.reverse else reversed(range(T)):
            grads = ctx.kernel.backward(xs[t], hws[t], masks[t], (*prevs[t], *extra), constants,
                                        (*d_state, d_outs[t]))
            d_HW[t], d_xw[t] = grads[1], grads[0]
            d_state = list(grads[2 : 2 + ctx.n_state])
            d_state[0] = d_state[0] + back(grads[1])  # h_{t-1} fed hw_t
            for acc, g in zip(d_extra, grads[2 + ctx.n_state :]):
                acc += g
        d_HW = torch.stack(d_HW)
        d_xw = d_HW if ctx.kernel.additive else torch.stack(d_xw)  # gates see xw + hw only
        flat = d_HW.flatten(0, 1)  # (T * B, G)
        d_W_hh = weight_grad(flat, prev[0].flatten(0, 1))  # one GEMM for all steps
        d_b_hh = flat.sum(0) if ctx.has_bias else None
        return (None, None, None, None, None, d_xw, d_W_hh, d_b_hh, *d_state, *d_extra)


def kernel_unroll(cell, x: Tensor, state, mask: Tensor | None, reverse: bool = False):
    """Same contract as ``recurrent.unroll``, for cells with a kernel (see :func:`has_kernel`)."""
    if _lstm_loop_runs(cell):
        return lstm_loop.unroll(cell, x, state, mask, reverse)
    if type(cell) in (GRUCell, SimpleGRUCell) and gru_loop.runs_here(x):
        return gru_loop.unroll(cell, x, state, mask, reverse)
    kernel = _kernel_for(cell)
    compile_kernels(kernel)
    xw = project_input(cell, x)  # (T, B, G): one GEMM for all steps
    state = state if isinstance(state, tuple) else (state,)
    extra = kernel.extra(cell)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (xw, cell.weight_hh, *state,
                                                                  *extra)):
        outs, *final = _Recurrence.apply(kernel, cell, mask, reverse, len(state), xw,
                                         cell.weight_hh, cell.bias_hh, *state, *extra)
    else:
        outs, final, _, _ = _loop(kernel, cell, xw, mask, state, reverse, extra, False)
    return outs, (tuple(final) if len(final) == 2 else final[0])


def _lstm_loop_runs(cell) -> bool:
    kind = type(cell)
    return kind is LayerNormLSTMCell or (kind is LSTMCell and not cell.proj_size)


def has_kernel(cell) -> bool:
    """True if ``cell`` runs as one autograd node per direction: LSTMCell (no projection) and
    LayerNormLSTMCell through :mod:`seqlab.nn.lstm_loop`, the others with a kernel in
    :data:`KERNELS` through :class:`_Recurrence` (else the generic compiled step)."""
    return _lstm_loop_runs(cell) or _kernel_for(cell) is not None
