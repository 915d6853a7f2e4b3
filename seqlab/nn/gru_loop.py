"""The GRU and SimpleGRU time loops of the ``compiled`` backend in C, with a hand-written
backward.

One direction of one layer is one autograd node, like :mod:`seqlab.nn.lstm_loop` (same C
library, same GEMM on packed weights, same threading). torch.nn.GRU's equations, with
``xw = x @ W_ih.T + b_ih`` for all steps by one GEMM outside and ``hw = h @ W_hh.T`` per step::

    r = sigmoid(xw_r + hw_r + b_hr),  z = sigmoid(xw_z + hw_z + b_hz)
    n = tanh(xw_n + r * (hw_n + b_hn)),  h' = (1 - z) * n + z * h

    backward, with e = d h' (from the output, step t+1's GEMM and the direct path):
    d n~ = e (1 - z)(1 - n^2),  d z~ = e (h - n) z (1 - z),  d r~ = d n~ (hw_n + b_hn) r (1 - r)
    d xw = (d r~, d z~, d n~),  d hw = (d r~, d z~, d n~ * r)
    d h = e z + d hw @ W_hh;  once: d W_hh = dHW.T @ H_prev,  d b_hh = sum(d hw)

SimpleGRUCell (seed 003; both biases into ``xw``), with ``c`` its state::

    u = sigmoid(xw_u + hw_u),  c~ = tanh(xw_c + hw_c),  c' = c + u (c~ - c)
    d u~ = e (c~ - c) u (1 - u),  d c~~ = e u (1 - c~^2),  d xw = d hw = (d u~, d c~~)
    d c = e (1 - u) + d hw @ W_hh

Padded steps (``mask`` False) keep h and output 0: no gate gradient, d h passes through.
Runs where the C kernels build (CPU, float32/float64); elsewhere :mod:`seqlab.nn.compiled`'s
torch.compile path runs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqlab.nn import lstm_loop
from seqlab.nn.buffers import pooled, workspace
from seqlab.nn.cells import SimpleGRUCell
from seqlab.nn.gemm import Linear, weight_grad


def runs_here(x: Tensor) -> bool:
    """True if the C GRU loop runs for ``x`` (CPU, float32/float64, the C kernels built)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and \
        lstm_loop.c_library() is not None


def _ptr(t: Tensor | None):
    return None if t is None else t.data_ptr()


def _forward(k, simple: bool, xw: Tensor, W_hh: Tensor, b_hh: Tensor | None, h0: Tensor, mask,
             reverse: bool, keep: bool):
    T, B, G = xw.shape
    H = G // (2 if simple else 3)
    bn = None
    if b_hh is not None and simple:  # every gate sees xw + hw: both biases into xw
        xw = xw + b_hh.detach()
    elif b_hh is not None:  # r and z's recurrent biases are additive: into xw; n's stays apart
        b = b_hh.detach()
        xw = torch.cat([xw[..., : 2 * H] + b[: 2 * H], xw[..., 2 * H :]], -1)
        bn = b[2 * H :].contiguous()
    xw = xw.contiguous()
    Hb = pooled(xw, (T + 1, B, H))  # saved for the backward, like A
    Hb[T if reverse else 0] = h0
    A = pooled(xw, (T if keep else 1, B, 4 * H))
    wp = lstm_loop._panels(W_hh.detach().t(), k.panel)
    hw = xw.new_empty(B, G)  # kept alive here: C gets its address
    k.gru_forward_loop(lstm_loop._threads(B, H), simple, T, B, H, reverse, keep, _ptr(wp), _ptr(xw),
                       _ptr(bn), _ptr(mask), _ptr(Hb), _ptr(A), _ptr(hw))
    out = Hb[:-1] if reverse else Hb[1:]
    if mask is not None:
        out = out * mask.unsqueeze(-1)
    return out, Hb[0 if reverse else T].clone(), Hb, A


class _GRULoop(torch.autograd.Function):
    """One direction of a GRU layer; differentiable once."""

    @staticmethod
    def forward(ctx, simple, mask, reverse, xw, W_hh, b_hh, h0):
        k = lstm_loop.kernels_for(xw)
        out, hT, Hb, A = _forward(k, simple, xw.detach(), W_hh, b_hh, h0.detach(), mask, reverse,
                                  True)
        ctx.simple, ctx.mask, ctx.reverse, ctx.has_bias = simple, mask, reverse, b_hh is not None
        ctx.save_for_backward(W_hh, Hb, A)
        return out, hT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_hT):
        W_hh, Hb, A = ctx.saved_tensors
        k = lstm_loop.kernels_for(Hb)
        T, B, H = Hb.shape[0] - 1, Hb.shape[1], Hb.shape[2]
        d_out = Hb.new_zeros(T, B, H) if d_out is None else d_out.contiguous()
        dh = Hb.new_zeros(B, H) if d_hT is None else d_hT.contiguous().clone()
        carry = Hb.new_zeros(B, H)
        G = (2 if ctx.simple else 3) * H
        DXW = pooled(Hb, (T, B, G))  # d xw: returned
        DHW = workspace(DXW, "gru-dhw")  # dead when the backward returns
        wp = lstm_loop._panels(W_hh.detach(), k.panel)  # d hw -> d h: d hw @ W_hh
        dh_next = Hb.new_empty(B, H)  # kept alive here: C gets its address
        k.gru_backward_loop(lstm_loop._threads(B, H), ctx.simple, T, B, H, ctx.reverse, _ptr(wp),
                            _ptr(d_out), _ptr(ctx.mask), _ptr(A), _ptr(Hb), _ptr(dh),
                            _ptr(carry), _ptr(DXW), _ptr(DHW), _ptr(dh_next))
        need = ctx.needs_input_grad
        H_prev = Hb[1:] if ctx.reverse else Hb[:-1]
        flat = DHW.flatten(0, 1)
        d_W = weight_grad(flat, H_prev.flatten(0, 1)) if need[4] else None
        d_b = flat.sum(0) if ctx.has_bias and need[5] else None
        return None, None, None, DXW, d_W, d_b, dh + carry


def unroll(cell, x: Tensor, state: Tensor, mask: Tensor | None, reverse: bool = False):
    """``recurrent.unroll``'s contract for a GRUCell or SimpleGRUCell, where :func:`runs_here`."""
    simple = type(cell) is SimpleGRUCell
    xw = Linear.apply(x, cell.weight_ih, cell.bias_ih)  # (T, B, G*H): one GEMM for all steps
    m = None if mask is None else mask.reshape(mask.shape[0], -1).contiguous()  # (T, B) bool
    tensors = (xw, cell.weight_hh, cell.bias_hh, state)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        out, h = _GRULoop.apply(simple, m, reverse, *tensors)
    else:
        with torch.no_grad():
            out, h, _, _ = _forward(lstm_loop.kernels_for(xw), simple, xw, cell.weight_hh,
                                    cell.bias_hh, state, m, reverse, False)
    return out, h
