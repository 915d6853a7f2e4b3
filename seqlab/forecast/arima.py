"""ARIMA by exact Gaussian maximum likelihood (state space + Kalman filter), as statsmodels'
``statsmodels.tsa.arima.model.ARIMA`` defines it.

Model, with ``B`` the backshift operator and ``w_t = (1 - B)^d (1 - B^m)^D y_t``:

    phi(B) Phi(B^m) (w_t - mu) = theta(B) Theta(B^m) e_t,     e_t ~ N(0, sigma2)
    phi(B) = 1 - phi_1 B - ... - phi_p B^p,  theta(B) = 1 + theta_1 B + ... + theta_q B^q

where the mean of the levels is a deterministic trend ``y_t = beta' x_t + u_t`` with
``u_t`` the ARIMA process: ``trend="c"`` (``x_t = 1``, name ``const``; the default when
``d = D = 0``), ``"t"`` (``x_t = t``, ``t = 1..n``, name ``x1``: with ``d = 1`` a drift),
``"ct"`` (both) or ``"n"``; so ``mu_t = beta' (1 - B)^d (1 - B^m)^D x_t``, and trend terms of
lower order than ``d + D`` are rejected (differencing removes them), as statsmodels does. AR,
MA and ARMA are ``order=(p, 0, 0)``, ``(0, 0, q)``, ``(p, 0, q)``. The stationary ARMA part
of ``w`` is in Harvey's state space form ``x_{t+1} = T x_t + R e_t``, ``w_t - mu_t = x_t[0]``
(``T``: the AR
coefficients in its first column, ones above the diagonal; ``R = (1, theta_1, ...)``),
initialised with its stationary covariance ``P_0 = T P_0 T' + sigma2 R R'``. The log-likelihood
is the Kalman filter's prediction-error decomposition

    llf = -1/2 sum_t (log 2 pi + log F_t + v_t^2 / F_t),  v_t = w_t - mu_t - a_t[0],
    F_t = P_t[0,0]

(the exact diffuse likelihood of the integrated model equals that of ``w``). Parameters are
optimised unconstrained (scipy L-BFGS-B) through statsmodels' transformations: AR via
partial autocorrelations ``r = u / sqrt(1 + u^2)`` and the Durbin-Levinson recursion
(stationarity), MA likewise with the opposite sign (invertibility). ``sigma2`` is
concentrated out: with ``F_t = sigma2 f_t`` (the filter run at ``sigma2 = 1``) its maximiser is
``sigma2 = (1/n) sum_t v_t^2 / f_t`` and the optimiser sees the profile likelihood

    llf_c = -n/2 (log 2 pi + 1 + log sigma2) - 1/2 sum_t log f_t

whose maximum is the same point as the full likelihood's (one dimension fewer). Trend
coefficients start at their least-squares values.
``aic = -2 llf + 2 k``, ``bic = -2 llf + k log(n_w)``; ``k`` counts every parameter.
``method="css"`` minimises the conditional sum of squares (residuals before ``t = p`` taken 0).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import solve_discrete_lyapunov
from scipy.optimize import minimize
from scipy.stats import norm

from seqlab.errors import ConfigError, DataError, NotFittedError
from seqlab.forecast._checks import as_series, check_horizon
from seqlab.forecast._kalman import arma_filter, arma_sums, stationary_cov

__all__ = ["ARIMA", "constrain_stationary", "unconstrain_stationary", "TRENDS"]

TRENDS = ("n", "c", "t", "ct")
_SMALL = 12  # state dimension up to which the stationary covariance is solved compiled


def constrain_stationary(u: np.ndarray) -> np.ndarray:
    """Unconstrained reals -> coefficients of a stationary AR polynomial (statsmodels' map)."""
    n = u.size
    r = u / np.sqrt(1.0 + u * u)
    y = np.zeros((n, n))
    for k in range(n):
        for i in range(k):
            y[k, i] = y[k - 1, i] + r[k] * y[k - 1, k - i - 1]
        y[k, k] = r[k]
    return -y[n - 1, :] if n else u.copy()


def unconstrain_stationary(c: np.ndarray) -> np.ndarray:
    """Inverse of :func:`constrain_stationary` (reverse Durbin-Levinson)."""
    n = c.size
    y = np.zeros((n, n))
    if n == 0:
        return c.copy()
    y[n - 1] = -c
    for k in range(n - 1, 0, -1):
        for i in range(k):
            y[k - 1, i] = (y[k, i] - y[k, k] * y[k, k - i - 1]) / (1 - y[k, k] ** 2)
    r = np.diag(y)
    return r / np.sqrt(1.0 - r * r)


def _poly(coef: np.ndarray, lag: int, sign: float) -> np.ndarray:
    """``1 + sign * sum_i coef_i B^(i lag)`` as coefficients of B^0.."""
    out = np.zeros(coef.size * lag + 1)
    out[0] = 1.0
    out[lag::lag] = sign * coef
    return out


class ARIMA:
    """Seasonal ARIMA(p, d, q)(P, D, Q)_m fitted by exact maximum likelihood (or CSS).

    Attributes after ``fit``: ``params_`` (dict name -> value, statsmodels' names: ``const``,
    ``ar.L1``, ``ma.L1``, ``ar.S.L12``, ``ma.S.L12``, ``sigma2``), ``llf_``, ``aic_``,
    ``bic_``, ``converged_``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> e = rng.normal(size=400)
        >>> y = np.zeros(400)
        >>> for t in range(1, 400): y[t] = 0.6 * y[t - 1] + e[t]
        >>> m = ARIMA(order=(1, 0, 0)).fit(y)
        >>> sorted(m.params_)
        ['ar.L1', 'const', 'sigma2']
        >>> round(m.params_["ar.L1"], 1)
        0.6
    """

    def __init__(self, order=(1, 0, 0), seasonal_order=(0, 0, 0, 0), trend: str | None = None,
                 method: str = "mle"):
        p, d, q = (int(v) for v in order)
        P, D, Q, m = (int(v) for v in seasonal_order)
        if min(p, d, q, P, D, Q, m) < 0 or (m == 1 and (P or D or Q)):
            raise ConfigError(f"invalid order {order} / seasonal_order {seasonal_order}")
        if (P or D or Q) and m < 2:
            raise ConfigError("a seasonal part needs a period m >= 2")
        integrated = d + D > 0
        trend = ("n" if integrated else "c") if trend is None else trend
        if trend not in TRENDS:
            raise ConfigError(f"trend must be one of {TRENDS}, got {trend!r}")
        lowest = {"c": 0, "ct": 0, "t": 1}.get(trend)
        if lowest is not None and lowest < d + D:
            raise ConfigError(f"trend {trend!r} with d + D = {d + D} is not identified (the "
                              "differencing removes trend terms of lower order than d + D); "
                              + ("use trend='t' (a drift) or 'n'" if d + D == 1
                                 else "use trend='n'"))
        if method not in ("mle", "css"):
            raise ConfigError(f"method must be 'mle' or 'css', got {method!r}")
        self.order, self.seasonal_order = (p, d, q), (P, D, Q, m)
        self.trend, self.method = trend, method
        # L-BFGS-B options; tight, so that the optimum is reached (auto_arima's search
        # screens candidates with looser ones and refits the chosen model with these)
        self._options = {"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-15}

    # ---- parameters -----------------------------------------------------------------------
    @property
    def _k_trend(self) -> int:
        return len(self.trend.replace("n", ""))

    def _trend_data(self, n: int) -> np.ndarray:
        """``x_t`` of the levels, ``t = 1..n``: columns 1 and/or t."""
        t = np.arange(1, n + 1, dtype=np.float64)
        cols = {"n": [], "c": [np.ones(n)], "t": [t], "ct": [np.ones(n), t]}[self.trend]
        return np.column_stack(cols) if cols else np.zeros((n, 0))

    def _names(self) -> list[str]:
        p, _, q = self.order
        P, _, Q, m = self.seasonal_order
        names = {"n": [], "c": ["const"], "t": ["x1"], "ct": ["const", "x1"]}[self.trend]
        names += [f"ar.L{i}" for i in range(1, p + 1)] + [f"ma.L{i}" for i in range(1, q + 1)]
        names += [f"ar.S.L{m * i}" for i in range(1, P + 1)]
        names += [f"ma.S.L{m * i}" for i in range(1, Q + 1)]
        return names + ["sigma2"]

    def _split(self, theta: np.ndarray):
        p, _, q = self.order
        P, _, Q, _ = self.seasonal_order
        k = self._k_trend
        mu = theta[:k]
        parts, i = [], k
        for size in (p, q, P, Q):
            parts.append(theta[i:i + size])
            i += size
        return mu, parts, theta[i]

    def _transform(self, u: np.ndarray) -> np.ndarray:
        mu, (ar, ma, sar, sma), s = self._split(u)
        return np.r_[mu, constrain_stationary(ar), -constrain_stationary(ma),
                     constrain_stationary(sar), -constrain_stationary(sma), s * s]

    def _untransform(self, c: np.ndarray) -> np.ndarray:
        mu, (ar, ma, sar, sma), s = self._split(c)
        return np.r_[mu, unconstrain_stationary(ar), unconstrain_stationary(-ma),
                     unconstrain_stationary(sar), unconstrain_stationary(-sma), np.sqrt(s)]

    def _polys(self, c: np.ndarray):
        mu, (ar, ma, sar, sma), s2 = self._split(c)
        m = self.seasonal_order[3]
        phi = np.convolve(_poly(ar, 1, -1.0), _poly(sar, max(m, 1), -1.0))
        th = np.convolve(_poly(ma, 1, 1.0), _poly(sma, max(m, 1), 1.0))
        return mu, -phi[1:], th[1:], s2

    # ---- likelihood -----------------------------------------------------------------------
    def _system(self, c: np.ndarray):
        mu, phi, th, s2 = self._polys(c)
        r = max(phi.size, th.size + 1, 1)
        T = np.zeros((r, r))
        T[:phi.size, 0] = phi
        T[np.arange(r - 1), np.arange(1, r)] = 1.0
        R = np.zeros(r)
        R[0] = 1.0
        R[1:th.size + 1] = th
        return mu, T, R, s2

    def _stationary(self, T: np.ndarray, RR: np.ndarray) -> np.ndarray:
        if T.shape[0] <= _SMALL:
            return stationary_cov(np.ascontiguousarray(T[:, 0]), RR)
        return solve_discrete_lyapunov(T, RR)

    def _mean(self, c: np.ndarray, n: int) -> np.ndarray | float:
        """``mu_t`` of the differenced series (length ``n - len(delta) + 1``)."""
        beta = c[:self._k_trend]
        if not beta.size:
            return 0.0
        return self._Xw[:n] @ beta

    def _filter(self, c: np.ndarray, w: np.ndarray):
        mu, T, R, s2 = self._system(c)
        RR = s2 * np.outer(R, R)
        P = self._stationary(T, RR)
        return arma_filter(w - self._mean(c, w.size), np.ascontiguousarray(T[:, 0]), RR,
                           np.ascontiguousarray(P))

    def _profile(self, c: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        """``(-llf_c / n, sigma2_hat)`` at ``c`` (its sigma2 entry ignored)."""
        _, T, R, _ = self._system(c)
        RR = np.outer(R, R)
        P = self._stationary(T, RR)
        slog, sv2 = arma_sums(w - self._mean(c, w.size), np.ascontiguousarray(T[:, 0]), RR,
                              np.ascontiguousarray(P))
        n = w.size
        s2 = sv2 / n
        if not (np.isfinite(slog) and s2 > 0):
            return 1e10, np.nan
        return 0.5 * (np.log(2 * np.pi) + 1 + np.log(s2)) + 0.5 * slog / n, s2

    def _filter_dense(self, c: np.ndarray, w: np.ndarray):
        """The same filter with dense matrices (reference for the compiled one)."""
        _, T, R, s2 = self._system(c)
        RR = s2 * np.outer(R, R)
        P = solve_discrete_lyapunov(T, RR)
        a = np.zeros(T.shape[0])
        llf = 0.0
        for value in w - self._mean(c, w.size):
            F = P[0, 0]
            v = value - a[0]
            llf -= 0.5 * (np.log(2 * np.pi * F) + v * v / F)
            K = T @ P[:, 0] / F
            a = T @ a + K * v
            P = T @ P @ T.T - np.outer(K, K) * F + RR
        return llf, a, P

    def _css(self, c: np.ndarray, w: np.ndarray) -> float:
        _, phi, th, _ = self._polys(c)
        x, e = w - self._mean(c, w.size), np.zeros(w.size)
        for t in range(phi.size, w.size):
            ar = sum(phi[i] * x[t - 1 - i] for i in range(phi.size))
            ma = sum(th[j] * e[t - 1 - j] for j in range(th.size) if t - 1 - j >= 0)
            e[t] = x[t] - ar - ma
        return float(e[phi.size:] @ e[phi.size:])

    # ---- fit / forecast -------------------------------------------------------------------
    def _difference(self, y: np.ndarray) -> np.ndarray:
        d, (_, D, _, m) = self.order[1], self.seasonal_order
        delta = np.array([1.0])
        for _ in range(d):
            delta = np.convolve(delta, [1.0, -1.0])
        for _ in range(D):
            delta = np.convolve(delta, np.r_[1.0, np.zeros(m - 1), -1.0])
        self._delta = delta
        return np.convolve(y, delta, mode="valid")

    def fit(self, y) -> ARIMA:
        p, d, q = self.order
        P, D, Q, m = self.seasonal_order
        need = p + q + P * m + Q * m + d + D * m + 2
        y = as_series(y, min_length=need)
        w = self._difference(y)
        if np.ptp(w) == 0:
            raise DataError("the (differenced) series is constant: an ARIMA is not identified")
        names = self._names()
        # optimise on the standardised series (an exact reparameterisation: the trend
        # coefficients and sigma2 are mapped back below), so that the optimiser sees O(1)
        # scales; the trend regressors are scaled to max |x| = 1 likewise
        k = self._k_trend
        Xw = (np.column_stack([np.convolve(col, self._delta, mode="valid")
                               for col in self._trend_data(y.size).T]) if k
              else np.zeros((w.size, 0)))
        scale = float(w.std())
        colscale = np.abs(Xw).max(axis=0) if k else np.ones(0)
        self._Xw = Xw / colscale
        ws = w / scale
        start = np.zeros(len(names))
        start[-1] = 1.0
        if k:  # least-squares trend start
            start[:k] = np.linalg.lstsq(self._Xw, ws, rcond=None)[0]
        u0 = self._untransform(start)[:-1]

        def full(u):
            return self._transform(np.r_[u, 0.0])  # sigma2 entry: 0 -> 0 (set below)

        if self.method == "mle":
            def objective(u):
                try:
                    return self._profile(full(u), ws)[0]
                except (np.linalg.LinAlgError, ZeroDivisionError):  # a unit root: no P0
                    return 1e10
        else:
            n = w.size - self._polys(start)[1].size

            def objective(u):
                return self._css(full(u), ws) / n
        if u0.size:
            res = minimize(objective, u0, method="L-BFGS-B",
                           options=self._options)
            ux = res.x
        else:
            res, ux = None, u0
        c = full(ux)
        c[-1] = self._css(c, ws) / n if self.method == "css" else self._profile(c, ws)[1]
        c[:k] *= scale / colscale
        c[-1] *= scale * scale
        self._Xw = Xw
        # L-BFGS-B ends "ABNORMAL" when the line search cannot improve at machine precision:
        # converged if the gradient is (numerically) zero there
        self.converged_ = res is None or bool(res.success or np.max(np.abs(res.jac)) < 1e-5)
        if not self.converged_:
            warnings.warn(f"ARIMA{self.order} optimiser did not converge: {res.message}",
                          RuntimeWarning, stacklevel=2)
        self._c, self._y, self._w = c, y, w
        self.params_ = dict(zip(names, c.tolist()))
        try:
            llf, self._a, self._P = self._filter(c, w)
        except np.linalg.LinAlgError:
            raise DataError(f"ARIMA{self.order}: the fit reached a non-stationary AR part "
                            f"(a unit root; params {self.params_}); difference the series "
                            "(raise d) or lower p") from None
        self.llf_ = float(llf)
        k = len(names)
        self.aic_ = -2 * self.llf_ + 2 * k
        self.bic_ = -2 * self.llf_ + k * np.log(w.size)
        return self

    def forecast(self, h: int, alpha: float = 0.05):
        """``(mean, lower, upper)`` of the next ``h`` values; ``1 - alpha`` intervals."""
        if not hasattr(self, "_c"):
            raise NotFittedError("ARIMA is not fitted: call fit(y) first")
        h = check_horizon(h)
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
        _, T, R, s2 = self._system(self._c)
        RR = s2 * np.outer(R, R)
        a, V = self._a.copy(), self._P.copy()
        means, covs = np.zeros(h), []
        mu = np.zeros(h)
        k = self._k_trend
        if k:  # the trend's mean of the differenced series at t = n + 1 .. n + h
            X = self._trend_data(self._y.size + h)
            Xw = np.column_stack([np.convolve(col, self._delta, mode="valid") for col in X.T])
            mu = Xw[-h:] @ self._c[:k]
        for i in range(h):
            means[i] = mu[i] + a[0]
            covs.append(V.copy())
            a, V = T @ a, T @ V @ T.T + RR
        Sw = np.zeros((h, h))
        for i in range(h):
            M = covs[i]
            for j in range(i, h):
                Sw[i, j] = Sw[j, i] = M[0, 0]
                M = T @ M
        # integrate: y_t = w_t - sum_{k>=1} delta_k y_{t-k}
        delta, y = self._delta, self._y
        hist = list(y[-(delta.size - 1):]) if delta.size > 1 else []
        ymean = np.zeros(h)
        A = np.eye(h)
        for t in range(h):
            val = means[t]
            for k in range(1, delta.size):
                val -= delta[k] * (ymean[t - k] if t - k >= 0 else hist[t - k])
                if t - k >= 0:
                    A[t, t - k] = delta[k]
            ymean[t] = val
        Ainv = np.linalg.inv(A)
        se = np.sqrt(np.diag(Ainv @ Sw @ Ainv.T))
        z = norm.ppf(1 - alpha / 2)
        return ymean, ymean - z * se, ymean + z * se
