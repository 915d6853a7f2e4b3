"""Classical forecasting: M4 baselines (naive, seasonal naive, drift, Naive2, Theta) and the
M4 metrics (sMAPE, MASE, OWA). ``baselines`` and ``theta`` hold the forecasters, ``metrics`` the
scores; none of them imports torch.
"""

from __future__ import annotations

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

__all__ = ["naive", "seasonal_naive", "drift", "naive2", "seasonality_test", "seasonal_indices",
           "theta", "smape", "mase", "owa", "mse", "mae"]
