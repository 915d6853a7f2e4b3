"""Numba kernels of the linear-chain CRF (CPU): scaled forward-backward and Viterbi.

Loaded by :mod:`seqlab.nn.crf` on first use. Each kernel loops over the sequences and, inside,
over the steps and tags in compiled code, so one call replaces the ``T`` per-step tensor
operations (and their autograd nodes) of the reference recursion.

Forward-backward runs in exp space with one rescaling per step (Rabiner 1989, Sec. V.A), in
float64 whatever the input dtype. With ``E = exp(A - max A)``, ``e_t = exp(x_t - max x_t)``::

    u_0 = exp(s + x_0 - c_0),            c_0 = max(s + x_0)
    u_t = (alpha_{t-1} @ E) * e_t         (t = 1 .. L-1)
    alpha_t = u_t / z_t,                  z_t = sum(u_t)
    z_L = sum(alpha_{L-1} * exp(n - max n))
    log Z = c_0 + sum_{t>=1} (max A + max x_t) + max n + sum_{t=0}^{L} log z_t

and backwards ``beta_{L-1} = exp(n - max n) / z_L``, ``beta_{t-1} = E @ (e_t * beta_t) / z_t``.
Then ``alpha_t * beta_t`` is the marginal ``p(y_t = j)`` (it sums to 1) and
``alpha_{t-1}[i] E[i, j] e_t[j] beta_t[j] / z_t`` the pairwise marginal ``p(y_{t-1}=i, y_t=j)``:
the gradients of ``log Z`` with respect to ``x_t``, ``A`` (summed over t), ``s`` and ``n``.
If a step underflows (scores more than ~700 apart within one step) ``z_t`` is 0 and ``log Z``
comes out ``-inf``; the caller then falls back to the log-space recursion.

Viterbi runs in the input dtype with the same operation order as the tensor recursion
(``(delta_{t-1}[i] + A[i, j]) + x_t[j]``, first maximum on ties).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")


@njit(**_JIT)
def alpha_pass(x, start, E, amax, end_exp, emax, lengths, alpha, scale, ex, final):
    """x (B, T, K) float64; fills alpha, scale (B, T), ex (B, T, K), final (B,); returns log Z."""
    B, T, K = x.shape
    logz = np.empty(B)
    u = np.empty(K)
    for b in range(B):
        L = lengths[b]
        c = -np.inf
        for j in range(K):
            u[j] = start[j] + x[b, 0, j]
            c = max(c, u[j])
        s = 0.0
        for j in range(K):
            u[j] = math.exp(u[j] - c)
            s += u[j]
        inv = 1.0 / s if s > 0 else 0.0
        for j in range(K):
            alpha[b, 0, j] = u[j] * inv
        scale[b, 0] = s
        acc = c + math.log(s) if s > 0 else -np.inf
        for t in range(1, L):
            m = -np.inf
            for j in range(K):
                m = max(m, x[b, t, j])
            for j in range(K):
                ex[b, t, j] = math.exp(x[b, t, j] - m)
                u[j] = 0.0
            for i in range(K):
                a = alpha[b, t - 1, i]
                for j in range(K):
                    u[j] += a * E[i, j]
            s = 0.0
            for j in range(K):
                u[j] *= ex[b, t, j]
                s += u[j]
            inv = 1.0 / s if s > 0 else 0.0
            for j in range(K):
                alpha[b, t, j] = u[j] * inv
            scale[b, t] = s
            acc += amax + m + (math.log(s) if s > 0 else -np.inf)
        s = 0.0
        for j in range(K):
            s += alpha[b, L - 1, j] * end_exp[j]
        final[b] = s
        acc += emax + (math.log(s) if s > 0 else -np.inf)
        logz[b] = acc
    return logz


@njit(**_JIT)
def beta_pass(alpha, scale, ex, final, E, end_exp, lengths, g, gx, gstart, gend, gtrans):
    """Adds g[b] times the gradients of log Z_b into gx (B, T, K), gstart, gend, gtrans."""
    B, T, K = alpha.shape
    beta = np.empty(K)
    w = np.empty(K)
    for b in range(B):
        L = lengths[b]
        gb = g[b]
        for j in range(K):
            beta[j] = end_exp[j] / final[b]
            gend[j] += gb * alpha[b, L - 1, j] * beta[j]
        for t in range(L - 1, 0, -1):
            inv = 1.0 / scale[b, t]
            for j in range(K):
                gx[b, t, j] = gb * alpha[b, t, j] * beta[j]
                w[j] = ex[b, t, j] * beta[j] * inv
            for i in range(K):
                ga = gb * alpha[b, t - 1, i]
                acc = 0.0
                for j in range(K):
                    q = E[i, j] * w[j]
                    gtrans[i, j] += ga * q
                    acc += q
                beta[i] = acc
        for j in range(K):
            p = gb * alpha[b, 0, j] * beta[j]
            gx[b, 0, j] = p
            gstart[j] += p


@njit(**_JIT)
def viterbi(x, start, trans, end, lengths, out):
    """Best path per sequence into out (B, T) (positions >= length left untouched)."""
    B, T, K = x.shape
    delta = np.empty(K, x.dtype)
    nxt = np.empty(K, x.dtype)
    back = np.empty((T, K), np.int64)
    for b in range(B):
        L = lengths[b]
        for j in range(K):
            delta[j] = start[j] + x[b, 0, j]
        for t in range(1, L):
            for j in range(K):
                best = delta[0] + trans[0, j]
                arg = 0
                for i in range(1, K):
                    v = delta[i] + trans[i, j]
                    if v > best:
                        best = v
                        arg = i
                nxt[j] = best + x[b, t, j]
                back[t, j] = arg
            for j in range(K):
                delta[j] = nxt[j]
        best = delta[0] + end[0]
        arg = 0
        for j in range(1, K):
            v = delta[j] + end[j]
            if v > best:
                best = v
                arg = j
        out[b, L - 1] = arg
        for t in range(L - 1, 0, -1):
            arg = back[t, arg]
            out[b, t - 1] = arg
