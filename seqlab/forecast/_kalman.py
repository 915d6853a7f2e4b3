"""Numba Kalman filter for Harvey's ARMA state space (``T``: AR column + shift, ``Z = e_1``).

With ``P`` the state covariance, ``(T P)_{ij} = phi_i P_{0j} + P_{i+1,j}``, so each step costs
O(r^2) instead of the dense O(r^3). Same recursions as :meth:`ARIMA._filter`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def arma_filter(x, phi, RR, P):  # pragma: no cover - compiled
    r = P.shape[0]
    a = np.zeros(r)
    TP = np.empty((r, r))
    llf = 0.0
    log2pi = np.log(2.0 * np.pi)
    for t in range(x.size):
        F = P[0, 0]
        v = x[t] - a[0]
        llf -= 0.5 * (log2pi + np.log(F) + v * v / F)
        for i in range(r):  # TP = T P
            for j in range(r):
                TP[i, j] = phi[i] * P[0, j] + (P[i + 1, j] if i + 1 < r else 0.0)
        a0 = a[0]
        for i in range(r):  # a = T a + K v, K = TP[:, 0] / F
            a[i] = phi[i] * a0 + (a[i + 1] if i + 1 < r else 0.0) + TP[i, 0] / F * v
        for i in range(r):  # P = TP T' - K K' F + RR
            for j in range(r):
                P[i, j] = (TP[i, 0] * phi[j] + (TP[i, j + 1] if j + 1 < r else 0.0)
                           - TP[i, 0] * TP[j, 0] / F + RR[i, j])
    return llf, a, P


@njit(cache=True)
def arma_sums(x, phi, RR, P):  # pragma: no cover - compiled
    """``(sum_t log F_t, sum_t v_t^2 / F_t)`` of the same filter (``RR``, ``P`` for sigma2 = 1:
    the concentrated likelihood of :class:`~seqlab.forecast.arima.ARIMA`); ``F <= 0`` gives
    ``(nan, nan)``."""
    r = P.shape[0]
    P = P.copy()
    a = np.zeros(r)
    TP = np.empty((r, r))
    slog = 0.0
    sv2 = 0.0
    for t in range(x.size):
        F = P[0, 0]
        if not F > 0.0:
            return np.nan, np.nan
        v = x[t] - a[0]
        slog += np.log(F)
        sv2 += v * v / F
        for i in range(r):
            for j in range(r):
                TP[i, j] = phi[i] * P[0, j] + (P[i + 1, j] if i + 1 < r else 0.0)
        a0 = a[0]
        for i in range(r):
            a[i] = phi[i] * a0 + (a[i + 1] if i + 1 < r else 0.0) + TP[i, 0] / F * v
        for i in range(r):
            for j in range(r):
                P[i, j] = (TP[i, 0] * phi[j] + (TP[i, j + 1] if j + 1 < r else 0.0)
                           - TP[i, 0] * TP[j, 0] / F + RR[i, j])
    return slog, sv2


@njit(cache=True)
def stationary_cov(phi, RR):  # pragma: no cover - compiled
    """``P`` with ``P = T P T' + RR`` (``T``: ``phi`` in the first column, ones above the
    diagonal), from the linear system ``(I - T (x) T) vec P = vec RR`` (small ``r`` only)."""
    r = phi.size
    T = np.zeros((r, r))
    for i in range(r):
        T[i, 0] = phi[i]
        if i + 1 < r:
            T[i, i + 1] = 1.0
    n = r * r
    A = np.eye(n)
    for i in range(r):
        for j in range(r):
            for k in range(r):
                for m in range(r):
                    A[i * r + j, k * r + m] -= T[i, k] * T[j, m]
    vec = np.linalg.solve(A, RR.copy().reshape(n))
    P = vec.reshape((r, r))
    return 0.5 * (P + P.T)
