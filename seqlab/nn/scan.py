"""Scans for the elementwise linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (MinGRU, MinLSTM).

Three ways to run it, all over time dimension 1 (batch first):

* ``sequential_scan``: the per-step loop; readable ground truth.
* ``logspace_scan``: the log-space associative scan of Feng et al. (2024, Sec. 3 and the
  appendix's log-space code): ``log h_t = a*_t + logcumsumexp(log b - a*)_t`` with
  ``a*_t = cumsum(log a)_t``. Run in chunks of ``chunk_size`` steps with the state carried
  between chunks, so ``a*`` stays small and sequences of any length (T = 100k) stay finite.
* ``fused_layer`` (used by MinGRU/MinLSTM) and ``min_gru_scan`` / ``min_lstm_scan`` (the same
  after a given projection): the fast CPU path. One autograd node computes the input projection
  ``P = x @ W.T`` (B, T, G*H) with one GEMM, then adds the bias, computes the gates and runs the
  recurrence inside one Numba kernel, parallel over (sequence, block of units) and looping over
  T in compiled code, leaving in P's buffer the gate values the backward needs. The backward is
  written by hand and is the same recurrence reversed::

      g_t = dL/dh_t + a_{t+1} * g_{t+1}      (g_{T} gets dL/dh_T from the final state)
      dL/db_t = g_t,  dL/da_t = g_t * h_{t-1},  dL/dh_0 = a_1 * g_1

  followed by the chain rule through the gate nonlinearities (sigmoid, g) and the bias sum,
  all in the same pass, then the two weight/input GEMMs on the flat dL/dP. Padded steps
  (t >= lengths[b]) output 0 and leave the state unchanged. ``logspace_scan`` stays the
  reference these kernels are tested against (outputs and gradients).

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

from seqlab.nn import gemm
from seqlab.nn.buffers import pooled, workspace

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


# ---------------------------------------------------------------- kernels
# Every kernel runs one task per (sequence b, block of units j0:j1) in parallel and loops over the
# steps inside. The unit loops read 1-D row slices (P[b, t, j0:j1], ...): indexed by the loop
# counter alone, LLVM vectorises them (8 floats per AVX2 instruction, exp included); indexing the
# 3-D arrays with j0 + j instead kept them scalar (4x slower forward, 4x slower backward).
#
# The forward kernels overwrite P with what the backward needs ("gates"), so the backward runs
# no exp and (MinGRU) no division. The candidate h_tilde = g(k_h) > 0 is stored with its branch
# in the sign: +h_tilde where k_h >= 0 (g' = 1), -sigmoid(k_h) where k_h < 0 (g' = s (1 - s)).
@njit(**_JIT)
def _gru_forward(P, bias, h0, lengths, block, out, h_last):
    """P (B, T, 2H) in: k_z, k_h without bias; out: z, signed h_tilde."""
    B, T, H2 = P.shape
    H = H2 // 2
    nb = (H + block - 1) // block
    one = np.ones(1, P.dtype)[0]
    half = one / 2
    for task in prange(B * nb):
        b = task // nb
        j0 = (task % nb) * block
        j1 = min(j0 + block, H)
        b_z, b_h = bias[j0:j1], bias[H + j0:H + j1]
        L = lengths[b]
        for t in range(L):
            p_z, p_h = P[b, t, j0:j1], P[b, t, H + j0:H + j1]
            h_prev = out[b, t - 1, j0:j1] if t > 0 else h0[b, j0:j1]
            h = out[b, t, j0:j1]
            for j in range(j1 - j0):
                k_h = p_h[j] + b_h[j]
                z = one / (one + _exp(-(p_z[j] + b_z[j])))
                s = one / (one + _exp(-k_h))
                h_tilde = k_h + half if k_h >= 0 else s
                h[j] = h_prev[j] + z * (h_tilde - h_prev[j])  # (1 - z) h_prev + z h_tilde
                p_z[j] = z
                p_h[j] = k_h + half if k_h >= 0 else -s
        h_last[b, j0:j1] = out[b, L - 1, j0:j1]
        for t in range(L, T):
            out[b, t, j0:j1] = 0


@njit(**_JIT)
def _gru_backward(G, h0, out, lengths, block, grad_out, grad_last,
                  grad_P, grad_bias_rows, grad_h0):
    B, T, H2 = G.shape
    H = H2 // 2
    nb = (H + block - 1) // block
    one = np.ones(1, G.dtype)[0]
    for task in prange(B * nb):
        b = task // nb
        j0 = (task % nb) * block
        j1 = min(j0 + block, H)
        carry = grad_last[b, j0:j1].copy()  # a_{t+1} * g_{t+1}
        gb_z = np.zeros(j1 - j0, G.dtype)
        gb_h = np.zeros(j1 - j0, G.dtype)
        L = lengths[b]
        for t in range(L, T):
            grad_P[b, t, j0:j1] = 0
            grad_P[b, t, H + j0:H + j1] = 0
        for step in range(L):
            t = L - 1 - step  # counted up: Numba vectorises the inner loop only this way
            g_z, g_h = G[b, t, j0:j1], G[b, t, H + j0:H + j1]
            h_prev = out[b, t - 1, j0:j1] if t > 0 else h0[b, j0:j1]
            g_out = grad_out[b, t, j0:j1]
            d_z, d_h = grad_P[b, t, j0:j1], grad_P[b, t, H + j0:H + j1]
            for j in range(j1 - j0):
                z = g_z[j]
                v = g_h[j]
                positive = v > 0
                h_tilde = v if positive else -v
                dg = one if positive else h_tilde * (one - h_tilde)
                g = g_out[j] + carry[j]
                d_kz = g * (h_tilde - h_prev[j]) * z * (one - z)
                d_kh = g * z * dg
                d_z[j] = d_kz
                d_h[j] = d_kh
                gb_z[j] += d_kz
                gb_h[j] += d_kh
                carry[j] = (one - z) * g
        grad_h0[b, j0:j1] = carry
        grad_bias_rows[b, j0:j1] = gb_z
        grad_bias_rows[b, H + j0:H + j1] = gb_h


# MinLSTM with e_f = exp(-k_f), e_i = exp(-k_i), r = 1 / (2 + e_f + e_i):
#   f_n = f / (f + i) = (1 + e_i) r,   i_n = (1 + e_f) r      (one division instead of three)
#   d f_n / d k_f = f_n (e_f r),       d f_n / d k_i = -i_n (e_i r)
# _exp clamps its argument to [-87, 88] (float32), so 2 + e_f + e_i < 3.4e38 stays finite.
@njit(**_JIT)
def _lstm_forward(P, bias, h0, lengths, block, out, h_last):
    """P (B, T, 3H) in: k_f, k_i, k_h without bias; out: e_f, e_i, signed h_tilde."""
    B, T, H3 = P.shape
    H = H3 // 3
    nb = (H + block - 1) // block
    one = np.ones(1, P.dtype)[0]
    half = one / 2
    two = one + one
    for task in prange(B * nb):
        b = task // nb
        j0 = (task % nb) * block
        j1 = min(j0 + block, H)
        b_f, b_i, b_h = bias[j0:j1], bias[H + j0:H + j1], bias[2 * H + j0:2 * H + j1]
        L = lengths[b]
        for t in range(L):
            p_f, p_i = P[b, t, j0:j1], P[b, t, H + j0:H + j1]
            p_h = P[b, t, 2 * H + j0:2 * H + j1]
            h_prev = out[b, t - 1, j0:j1] if t > 0 else h0[b, j0:j1]
            h = out[b, t, j0:j1]
            for j in range(j1 - j0):
                e_f = _exp(-(p_f[j] + b_f[j]))
                e_i = _exp(-(p_i[j] + b_i[j]))
                r = one / (two + e_f + e_i)
                k_h = p_h[j] + b_h[j]
                s = one / (one + _exp(-k_h))
                h_tilde = k_h + half if k_h >= 0 else s
                h[j] = (one + e_i) * r * h_prev[j] + (one + e_f) * r * h_tilde
                p_f[j] = e_f
                p_i[j] = e_i
                p_h[j] = k_h + half if k_h >= 0 else -s
        h_last[b, j0:j1] = out[b, L - 1, j0:j1]
        for t in range(L, T):
            out[b, t, j0:j1] = 0


@njit(**_JIT)
def _lstm_backward(G, h0, out, lengths, block, grad_out, grad_last,
                   grad_P, grad_bias_rows, grad_h0):
    B, T, H3 = G.shape
    H = H3 // 3
    nb = (H + block - 1) // block
    one = np.ones(1, G.dtype)[0]
    two = one + one
    for task in prange(B * nb):
        b = task // nb
        j0 = (task % nb) * block
        j1 = min(j0 + block, H)
        carry = grad_last[b, j0:j1].copy()
        gb_f = np.zeros(j1 - j0, G.dtype)
        gb_i = np.zeros(j1 - j0, G.dtype)
        gb_h = np.zeros(j1 - j0, G.dtype)
        L = lengths[b]
        for t in range(L, T):
            for gate in range(3):
                grad_P[b, t, gate * H + j0:gate * H + j1] = 0
        for step in range(L):
            t = L - 1 - step
            g_f, g_i = G[b, t, j0:j1], G[b, t, H + j0:H + j1]
            g_h = G[b, t, 2 * H + j0:2 * H + j1]
            h_prev = out[b, t - 1, j0:j1] if t > 0 else h0[b, j0:j1]
            g_out = grad_out[b, t, j0:j1]
            d_f, d_i = grad_P[b, t, j0:j1], grad_P[b, t, H + j0:H + j1]
            d_h = grad_P[b, t, 2 * H + j0:2 * H + j1]
            for j in range(j1 - j0):
                e_f = g_f[j]
                e_i = g_i[j]
                r = one / (two + e_f + e_i)
                f_n = (one + e_i) * r
                i_n = (one + e_f) * r
                v = g_h[j]
                positive = v > 0
                h_tilde = v if positive else -v
                dg = one if positive else h_tilde * (one - h_tilde)
                g = g_out[j] + carry[j]
                q = g * (h_prev[j] - h_tilde)  # dL/df_n
                d_kf = q * f_n * (e_f * r)
                d_ki = -q * i_n * (e_i * r)
                d_kh = g * i_n * dg
                d_f[j] = d_kf
                d_i[j] = d_ki
                d_h[j] = d_kh
                gb_f[j] += d_kf
                gb_i[j] += d_ki
                gb_h[j] += d_kh
                carry[j] = f_n * g
        grad_h0[b, j0:j1] = carry
        grad_bias_rows[b, j0:j1] = gb_f
        grad_bias_rows[b, H + j0:H + j1] = gb_i
        grad_bias_rows[b, 2 * H + j0:2 * H + j1] = gb_h


_KERNELS = {"gru": (_gru_forward, _gru_backward), "lstm": (_lstm_forward, _lstm_backward)}
_GATES = {"gru": 2, "lstm": 3}


def fused_scan_supported(x: Tensor) -> bool:
    """True when the Numba kernels can run on ``x`` (a CPU float32/float64 tensor)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


def _numba_threads() -> int:
    """Sets Numba's threads for the next kernel to torch's count (capped by Numba's pool).

    The first call starts Numba's pool. With Numba's 'omp' threading layer that start calls
    ``omp_set_num_threads(NUMBA_NUM_THREADS)`` in the OpenMP runtime torch uses too (both load
    ``libgomp.so.1``), which silently raised ``torch.get_num_threads()`` from 1 to 2 while MKL
    stayed at 1; torch.nn.GRU then trained 10x slower in the same process. So torch's count is
    put back.
    """
    want = torch.get_num_threads()
    threads = max(1, min(want, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)
    return threads


def _np(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def _block(B: int, H: int, threads: int) -> int:
    """Units per parallel task: whole rows when the batch keeps every thread busy."""
    if B >= 2 * threads:
        return H
    splits = -(-2 * threads // B)
    return max(16, -(-H // splits))


def _scan_forward(kind: str, P: Tensor, bias: Tensor, h0: Tensor, lengths: Tensor):
    """Runs the forward kernel on P (B, T, G*H), which it overwrites with the gates.

    Returns ``(out, h_last, block)``.
    """
    B, T, _ = P.shape
    H = h0.shape[1]
    threads = _numba_threads()
    block = _block(B, H, threads)
    out = pooled(P, (B, T, H))  # returned and saved: handed out again once unused
    h_last = P.new_empty(B, H)
    _KERNELS[kind][0](_np(P), _np(bias), _np(h0), _np(lengths), block, _np(out), _np(h_last))
    return out, h_last, block


def _scan_backward(kind: str, block: int, G: Tensor, h0: Tensor, lengths: Tensor,
                   out: Tensor, grad_out: Tensor, grad_last: Tensor):
    """Runs the backward kernel on the forward's gates G; returns (grad_P, grad_bias, grad_h0).

    ``grad_P`` may be the thread's workspace: use it before the next backward.
    """
    grad_P = workspace(G, "scan")
    grad_bias_rows = G.new_empty(G.shape[0], G.shape[2])  # (B, G*H), summed over B below
    grad_h0 = torch.empty_like(h0)
    _numba_threads()
    _KERNELS[kind][1](_np(G), _np(h0), _np(out), _np(lengths), block,
                      _np(grad_out.contiguous()), _np(grad_last.contiguous()),
                      _np(grad_P), _np(grad_bias_rows), _np(grad_h0))
    return grad_P, grad_bias_rows.sum(0), grad_h0


class _FusedScan(torch.autograd.Function):
    """(P, bias, h0, lengths) -> (out, h_last); see the module docstring."""

    @staticmethod
    def forward(ctx, kind: str, P: Tensor, bias: Tensor, h0: Tensor, lengths: Tensor):
        gates = P.detach().clone()  # the kernel overwrites it; P is the caller's
        out, h_last, block = _scan_forward(kind, gates, bias, h0, lengths)
        ctx.kind, ctx.block = kind, block
        ctx.save_for_backward(gates, h0, lengths, out)
        return out, h_last

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor, grad_last: Tensor):
        gates, h0, lengths, out = ctx.saved_tensors
        grad_P, grad_bias, grad_h0 = _scan_backward(ctx.kind, ctx.block, gates, h0, lengths,
                                                    out, grad_out, grad_last)
        return None, grad_P.clone(), grad_bias, grad_h0, None


class _FusedLayer(torch.autograd.Function):
    """(x, weight, bias, h0, lengths) -> (out, h_last): the input GEMM ``P = x @ weight.T`` and
    the scan in one node. The forward kernel turns P into the gates in place (no second buffer);
    the backward runs the kernel into the reused dL/dP buffer and then exactly the two GEMMs it
    needs (dL/dx = dL/dP @ weight, dL/dweight = dL/dP.T @ x) on the flat (B*T, G*H) gradient."""

    @staticmethod
    def forward(ctx, kind: str, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
                lengths: Tensor):
        B, T, D = x.shape
        x2 = x.reshape(B * T, D)
        P = gemm.dense(x2, weight).view(B, T, -1)  # oneDNN or BLAS, measured (seqlab.nn.gemm)
        bias_or_zeros = bias if bias is not None else P.new_zeros(P.shape[2])
        out, h_last, block = _scan_forward(kind, P, bias_or_zeros, h0, lengths)
        ctx.kind, ctx.block, ctx.has_bias = kind, block, bias is not None
        ctx.save_for_backward(x2, weight, P, h0, lengths, out)
        return out, h_last

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor, grad_last: Tensor):
        x2, weight, gates, h0, lengths, out = ctx.saved_tensors
        grad_P, grad_bias, grad_h0 = _scan_backward(ctx.kind, ctx.block, gates, h0, lengths,
                                                    out, grad_out, grad_last)
        flat = grad_P.view(-1, grad_P.shape[2])
        need = ctx.needs_input_grad
        grad_x = None
        if need[1]:
            grad_x = gemm.dense(flat, weight.t()).view(*gates.shape[:2], weight.shape[1])
        grad_weight = gemm.weight_grad(flat, x2) if need[2] else None
        return (None, grad_x, grad_weight, grad_bias if ctx.has_bias else None, grad_h0, None)


def _check(P_or_x: Tensor, lengths: Tensor | None) -> Tensor:
    """Rejects what the kernels cannot run; returns ``lengths`` as CPU int64 (T if None)."""
    if not fused_scan_supported(P_or_x):
        raise ValueError(f"the fused scan needs a CPU float32/float64 tensor, got "
                         f"{P_or_x.dtype} on {P_or_x.device}")
    if lengths is None:
        return torch.full((P_or_x.shape[0],), P_or_x.shape[1], dtype=torch.int64)
    return lengths.to("cpu", torch.int64).contiguous()


def _fused_scan(kind: str, P: Tensor, bias: Tensor | None, h0: Tensor,
                lengths: Tensor | None) -> tuple[Tensor, Tensor]:
    lengths = _check(P, lengths)
    gates = _GATES[kind]
    if P.shape[2] != gates * h0.shape[1]:
        raise ValueError(f"P must have {gates} * H = {gates * h0.shape[1]} features, "
                         f"got {P.shape[2]}")
    if bias is None:
        bias = P.new_zeros(P.shape[2])
    return _FusedScan.apply(kind, P.contiguous(), bias.contiguous(), h0.contiguous(), lengths)


def fused_layer(kind: str, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
                lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One MinGRU (``kind="gru"``) or MinLSTM (``"lstm"``) layer on CPU: input GEMM + scan.

    Equals ``min_gru_scan(x @ weight.T, bias, h0, lengths)`` (``min_lstm_scan`` for "lstm").

    Args:
        x: (B, T, D) input, batch first.
        weight: (G*H, D), G = 2 (gru) or 3 (lstm).
        bias: (G*H,) or None.
        h0: (B, H).
        lengths: (B,) ints in [1, T], or None for full sequences.
    """
    lengths = _check(x, lengths)
    gates = _GATES[kind]
    if weight.shape[0] != gates * h0.shape[1]:
        raise ValueError(f"weight must have {gates} * H = {gates * h0.shape[1]} rows, "
                         f"got {weight.shape[0]}")
    return _FusedLayer.apply(kind, x, weight, None if bias is None else bias.contiguous(),
                             h0.contiguous(), lengths)


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
    return _fused_scan("gru", P, bias, h0, lengths)


def min_lstm_scan(P: Tensor, bias: Tensor | None, h0: Tensor,
                  lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fused MinLSTM layer after its input projection (CPU, float32/float64).

    With ``k_f, k_i, k_h = (P + bias).chunk(3, -1)``: ``f = sigmoid(k_f)``, ``i = sigmoid(k_i)``,
    ``f_n = f / (f + i)``, ``i_n = i / (f + i)``, ``h_t = f_n * h_{t-1} + i_n * g(k_h)``.
    Arguments and returns as :func:`min_gru_scan` with 3H features in ``P``.
    """
    return _fused_scan("lstm", P, bias, h0, lengths)


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
