"""Scans for the elementwise linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (MinGRU, MinLSTM).

Three ways to run it, all over time dimension 1 (batch first):

* ``sequential_scan``: the per-step loop; readable ground truth.
* ``logspace_scan``: the log-space associative scan of Feng et al. (2024, Sec. 3 and the
  appendix's log-space code): ``log h_t = a*_t + logcumsumexp(log b - a*)_t`` with
  ``a*_t = cumsum(log a)_t``. Run in chunks of ``chunk_size`` steps with the state carried
  between chunks, so ``a*`` stays small and sequences of any length (T = 100k) stay finite.
* ``min_gru_scan`` / ``min_lstm_scan``: the fast CPU path. One autograd Function per model takes
  the input projection ``P = x @ W.T`` (B, T, G*H), adds the bias, computes the gates and runs
  the recurrence inside one Numba kernel, parallel over (sequence, block of units) and looping
  over T in compiled code; the backward is written by hand and is the same recurrence reversed::

      g_t = dL/dh_t + a_{t+1} * g_{t+1}      (g_{T} gets dL/dh_T from the final state)
      dL/db_t = g_t,  dL/da_t = g_t * h_{t-1},  dL/dh_0 = a_1 * g_1

  followed by the chain rule through the gate nonlinearities (sigmoid, g) and the bias sum,
  all in the same pass. Padded steps (t >= lengths[b]) output 0 and leave the state unchanged.

The float32 kernels use a vectorisable ``exp`` (Cephes polynomial, < 2 ulp) because Numba has
no vector math library here; float64 uses ``math.exp``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload
from torch import Tensor
from torch.autograd.function import once_differentiable

# 'contract' (FMA) only: reassociation would break the rounding trick in _exp_f32.
_JIT = dict(parallel=True, fastmath={"contract"}, error_model="numpy", cache=True)

# ---------------------------------------------------------------- vectorisable exp (float32)
_F = np.float32
_LOG2E, _LN2_HI, _LN2_LO = _F(1.4426950408889634), _F(0.693359375), _F(-2.12194440e-4)
_C0, _C1, _C2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_C3, _C4, _C5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
_ROUND, _EXP_HI, _EXP_LO, _ONE = _F(12582912.0), _F(88.0), _F(-87.0), _F(1.0)


@intrinsic
def _int_bits_as_float32(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


def _exp(x):  # placeholder that Numba replaces by the overload below
    return math.exp(x)


@overload(_exp, inline="always")
def _exp_overload(x):
    if x == types.float32:
        def exp_f32(x):
            x = min(max(x, _EXP_LO), _EXP_HI)
            n = (x * _LOG2E + _ROUND) - _ROUND  # round to nearest integer
            r = x - n * _LN2_HI - n * _LN2_LO
            p = ((((_C0 * r + _C1) * r + _C2) * r + _C3) * r + _C4) * r + _C5
            p = p * r * r + r + _ONE
            return p * _int_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))

        return exp_f32
    return lambda x: math.exp(min(max(x, -700.0), 700.0))


# ---------------------------------------------------------------- MinGRU kernels
@njit(**_JIT)
def _gru_forward(P, bias, h0, lengths, block, out, h_last):
    B, T, H2 = P.shape
    H = H2 // 2
    nb = (H + block - 1) // block
    one = np.ones(1, P.dtype)[0]
    half = one / 2
    for task in prange(B * nb):
        b, j0 = task // nb, (task % nb) * block
        n = min(block, H - j0)
        h = h0[b, j0:j0 + n].copy()
        L = lengths[b]
        for t in range(L):
            for j in range(n):
                k_z = P[b, t, j0 + j] + bias[j0 + j]
                k_h = P[b, t, H + j0 + j] + bias[H + j0 + j]
                z = one / (one + _exp(-k_z))
                s = one / (one + _exp(-k_h))
                h_tilde = k_h + half if k_h >= 0 else s
                h[j] = h[j] + z * (h_tilde - h[j])
                out[b, t, j0 + j] = h[j]
        for t in range(L, T):
            out[b, t, j0:j0 + n] = 0
        h_last[b, j0:j0 + n] = h


@njit(**_JIT)
def _gru_backward(P, bias, h0, out, lengths, block, grad_out, grad_last,
                  grad_P, grad_bias_rows, grad_h0):
    B, T, H2 = P.shape
    H = H2 // 2
    nb = (H + block - 1) // block
    one = np.ones(1, P.dtype)[0]
    half = one / 2
    for task in prange(B * nb):
        b, j0 = task // nb, (task % nb) * block
        n = min(block, H - j0)
        carry = grad_last[b, j0:j0 + n].copy()  # a_{t+1} * g_{t+1}
        gb_z = np.zeros(n, P.dtype)
        gb_h = np.zeros(n, P.dtype)
        L = lengths[b]
        for t in range(L, T):
            grad_P[b, t, j0:j0 + n] = 0
            grad_P[b, t, H + j0:H + j0 + n] = 0
        for step in range(L):
            t = L - 1 - step  # counted up: Numba vectorises the inner loop only this way
            h_prev = out[b, t - 1] if t > 0 else h0[b]
            for j in range(n):
                k_z = P[b, t, j0 + j] + bias[j0 + j]
                k_h = P[b, t, H + j0 + j] + bias[H + j0 + j]
                z = one / (one + _exp(-k_z))
                s = one / (one + _exp(-k_h))
                positive = k_h >= 0
                h_tilde = k_h + half if positive else s
                dg = one if positive else s * (one - s)
                g = grad_out[b, t, j0 + j] + carry[j]
                d_kz = g * (h_tilde - h_prev[j0 + j]) * z * (one - z)
                d_kh = g * z * dg
                grad_P[b, t, j0 + j] = d_kz
                grad_P[b, t, H + j0 + j] = d_kh
                gb_z[j] += d_kz
                gb_h[j] += d_kh
                carry[j] = (one - z) * g
        grad_h0[b, j0:j0 + n] = carry
        grad_bias_rows[b, j0:j0 + n] = gb_z
        grad_bias_rows[b, H + j0:H + j0 + n] = gb_h


# ---------------------------------------------------------------- MinLSTM kernels
@njit(**_JIT)
def _lstm_forward(P, bias, h0, lengths, block, out, h_last):
    B, T, H3 = P.shape
    H = H3 // 3
    nb = (H + block - 1) // block
    one = np.ones(1, P.dtype)[0]
    half = one / 2
    for task in prange(B * nb):
        b, j0 = task // nb, (task % nb) * block
        n = min(block, H - j0)
        h = h0[b, j0:j0 + n].copy()
        L = lengths[b]
        for t in range(L):
            for j in range(n):
                f = one / (one + _exp(-(P[b, t, j0 + j] + bias[j0 + j])))
                i = one / (one + _exp(-(P[b, t, H + j0 + j] + bias[H + j0 + j])))
                k_h = P[b, t, 2 * H + j0 + j] + bias[2 * H + j0 + j]
                s = one / (one + _exp(-k_h))
                h_tilde = k_h + half if k_h >= 0 else s
                f_n = f / (f + i)
                h[j] = f_n * h[j] + (one - f_n) * h_tilde
                out[b, t, j0 + j] = h[j]
        for t in range(L, T):
            out[b, t, j0:j0 + n] = 0
        h_last[b, j0:j0 + n] = h


@njit(**_JIT)
def _lstm_backward(P, bias, h0, out, lengths, block, grad_out, grad_last,
                   grad_P, grad_bias_rows, grad_h0):
    B, T, H3 = P.shape
    H = H3 // 3
    nb = (H + block - 1) // block
    one = np.ones(1, P.dtype)[0]
    half = one / 2
    for task in prange(B * nb):
        b, j0 = task // nb, (task % nb) * block
        n = min(block, H - j0)
        carry = grad_last[b, j0:j0 + n].copy()
        gb = np.zeros((3, n), P.dtype)
        L = lengths[b]
        for t in range(L, T):
            for gate in range(3):
                grad_P[b, t, gate * H + j0:gate * H + j0 + n] = 0
        for step in range(L):
            t = L - 1 - step
            h_prev = out[b, t - 1] if t > 0 else h0[b]
            for j in range(n):
                f = one / (one + _exp(-(P[b, t, j0 + j] + bias[j0 + j])))
                i = one / (one + _exp(-(P[b, t, H + j0 + j] + bias[H + j0 + j])))
                k_h = P[b, t, 2 * H + j0 + j] + bias[2 * H + j0 + j]
                s = one / (one + _exp(-k_h))
                positive = k_h >= 0
                h_tilde = k_h + half if positive else s
                dg = one if positive else s * (one - s)
                f_n = f / (f + i)
                i_n = one - f_n
                g = grad_out[b, t, j0 + j] + carry[j]
                q = g * (h_prev[j0 + j] - h_tilde) * f_n * i_n  # dL/df_n * f_n * i_n
                d_kf = q * (one - f)
                d_ki = -q * (one - i)
                d_kh = g * i_n * dg
                grad_P[b, t, j0 + j] = d_kf
                grad_P[b, t, H + j0 + j] = d_ki
                grad_P[b, t, 2 * H + j0 + j] = d_kh
                gb[0, j] += d_kf
                gb[1, j] += d_ki
                gb[2, j] += d_kh
                carry[j] = f_n * g
        grad_h0[b, j0:j0 + n] = carry
        for gate in range(3):
            grad_bias_rows[b, gate * H + j0:gate * H + j0 + n] = gb[gate]


_KERNELS = {"gru": (_gru_forward, _gru_backward), "lstm": (_lstm_forward, _lstm_backward)}


def fused_scan_supported(x: Tensor) -> bool:
    """True when the Numba kernels can run on ``x`` (a CPU float32/float64 tensor)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


def _threads() -> int:
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def _np(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def _block(B: int, H: int, threads: int) -> int:
    """Units per parallel task: whole rows when the batch keeps every thread busy."""
    if B >= 2 * threads:
        return H
    splits = -(-2 * threads // B)
    return max(16, -(-H // splits))


class _FusedScan(torch.autograd.Function):
    """(P, bias, h0, lengths) -> (out, h_last); see the module docstring."""

    @staticmethod
    def forward(ctx, kind: str, P: Tensor, bias: Tensor, h0: Tensor, lengths: Tensor):
        B, T, _ = P.shape
        H = h0.shape[1]
        threads = _threads()
        numba.set_num_threads(threads)
        block = _block(B, H, threads)
        out = P.new_empty(B, T, H)
        h_last = P.new_empty(B, H)
        forward_kernel = _KERNELS[kind][0]
        forward_kernel(_np(P), _np(bias), _np(h0), _np(lengths), block, _np(out), _np(h_last))
        ctx.kind, ctx.block, ctx.threads = kind, block, threads
        ctx.save_for_backward(P, bias, h0, lengths, out)
        return out, h_last

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor, grad_last: Tensor):
        P, bias, h0, lengths, out = ctx.saved_tensors
        grad_P = torch.empty_like(P)
        grad_bias_rows = P.new_empty(P.shape[0], P.shape[2])  # (B, G*H), summed over B below
        grad_h0 = torch.empty_like(h0)
        numba.set_num_threads(ctx.threads)
        backward_kernel = _KERNELS[ctx.kind][1]
        backward_kernel(_np(P), _np(bias), _np(h0), _np(out), _np(lengths), ctx.block,
                        _np(grad_out.contiguous()), _np(grad_last.contiguous()),
                        _np(grad_P), _np(grad_bias_rows), _np(grad_h0))
        return None, grad_P, grad_bias_rows.sum(0), grad_h0, None


def _fused_scan(kind: str, gates: int, P: Tensor, bias: Tensor | None, h0: Tensor,
                lengths: Tensor | None) -> tuple[Tensor, Tensor]:
    if not fused_scan_supported(P):
        raise ValueError(f"the fused scan needs a CPU float32/float64 tensor, got {P.dtype} "
                         f"on {P.device}")
    B, T, GH = P.shape
    if GH != gates * h0.shape[1]:
        raise ValueError(f"P must have {gates} * H = {gates * h0.shape[1]} features, got {GH}")
    if bias is None:
        bias = P.new_zeros(GH)
    if lengths is None:
        lengths = torch.full((B,), T, dtype=torch.int64)
    return _FusedScan.apply(kind, P.contiguous(), bias.contiguous(), h0.contiguous(),
                            lengths.to("cpu", torch.int64).contiguous())


def min_gru_scan(P: Tensor, bias: Tensor | None, h0: Tensor,
                 lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fused MinGRU layer after its input projection (CPU, float32/float64).

    With ``k_z, k_h = (P + bias).chunk(2, -1)``: ``z = sigmoid(k_z)``, ``h_tilde = g(k_h)``,
    ``h_t = (1 - z) * h_{t-1} + z * h_tilde`` (``g`` as in ``seqlab.nn.minrnn.g``).

    Args:
        P: (B, T, 2H) input projection ``x @ W.T`` without bias.
        bias: (2H,) or None.
        h0: (B, H) initial state.
        lengths: (B,) int64 in [1, T], or None for full sequences.

    Returns:
        ``(out, h_last)``: (B, T, H) states (0 at padded steps) and (B, H) each sequence's state
        after its last real step.
    """
    return _fused_scan("gru", 2, P, bias, h0, lengths)


def min_lstm_scan(P: Tensor, bias: Tensor | None, h0: Tensor,
                  lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fused MinLSTM layer after its input projection (CPU, float32/float64).

    With ``k_f, k_i, k_h = (P + bias).chunk(3, -1)``: ``f = sigmoid(k_f)``, ``i = sigmoid(k_i)``,
    ``f_n = f / (f + i)``, ``i_n = i / (f + i)``, ``h_t = f_n * h_{t-1} + i_n * g(k_h)``.
    Arguments and returns as :func:`min_gru_scan` with 3H features in ``P``.
    """
    return _fused_scan("lstm", 3, P, bias, h0, lengths)


def sequential_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """``h_t = a_t * h_{t-1} + b_t`` step by step; ``a, b``: (B, T, H), ``h0``: (B, H)."""
    h, states = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return torch.stack(states, 1)


def logspace_scan(log_a: Tensor, log_b: Tensor, h0: Tensor, chunk_size: int = 128) -> Tensor:
    """``h_t = a_t * h_{t-1} + b_t`` for ``a_t = exp(log_a_t) > 0``, ``b_t = exp(log_b_t) >= 0``.

    Inside a chunk of steps s..t, ``h_t = A_t * h_s + exp(a*_t + logcumsumexp(log_b - a*)_t)``
    with ``a*`` the running sum of ``log_a`` from the chunk start and ``A_t = exp(a*_t)``. ``h0``
    enters linearly, so it may have any sign. Chunking bounds ``|a*|`` by ``chunk_size`` times
    the largest ``|log_a|``; without it ``a*`` grows with T and float32 loses every digit.

    Args:
        log_a, log_b: (B, T, H).
        h0: (B, H).
        chunk_size: steps per chunk.

    Returns:
        (B, T, H) states ``h_1 .. h_T``.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    h, chunks = h0, []
    for start in range(0, log_a.shape[1], chunk_size):
        a_star = log_a[:, start:start + chunk_size].cumsum(1)  # (B, C, H)
        tail = torch.logcumsumexp(log_b[:, start:start + chunk_size] - a_star, dim=1)
        states = torch.exp(a_star) * h.unsqueeze(1) + torch.exp(a_star + tail)
        chunks.append(states)
        h = states[:, -1]
    return torch.cat(chunks, 1)
