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
