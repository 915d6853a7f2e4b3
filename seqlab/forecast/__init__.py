"""Classical forecasting: ARIMA by exact maximum likelihood (``arima``) and its stepwise order
search (``auto``: ``auto_arima``), the M4 baselines
(naive, seasonal naive, drift, Naive2 in ``baselines``; Theta in ``theta_method``) and the M4
metrics (sMAPE, MASE, OWA in ``metrics``); none of them imports torch or statsmodels.
"""

from __future__ import annotations

from seqlab.forecast.arima import ARIMA
from seqlab.forecast.auto import auto_arima, kpss, ndiffs, nsdiffs
from seqlab.forecast.baselines import (
    drift,
    naive,
    naive2,
    seasonal_indices,
    seasonal_naive,
    seasonality_test,
)
from seqlab.forecast.metrics import mae, mase, mse, owa, smape
from seqlab.forecast.theta_method import theta

__all__ = ["ARIMA", "auto_arima", "kpss", "ndiffs", "nsdiffs", "naive", "seasonal_naive",
           "drift", "naive2", "seasonality_test", "seasonal_indices", "theta", "smape", "mase",
           "owa", "mse", "mae"]
