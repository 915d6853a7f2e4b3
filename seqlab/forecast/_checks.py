"""Input checks shared by the forecasters: a finite 1-D float series and a positive horizon."""

from __future__ import annotations

import numpy as np

from seqlab.errors import ConfigError, DataError


def as_series(y, name: str = "y", min_length: int = 1) -> np.ndarray:
    """``y`` as a 1-D float64 array; a ``DataError`` naming the first NaN/inf or a short series."""
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim != 1:
        raise DataError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DataError(f"{name} has a missing or non-finite value at position {bad[0]} "
                        f"({arr[bad[0]]}); {bad.size} such value(s) in all: fill or drop them")
    if arr.size < min_length:
        raise DataError(f"{name} has {arr.size} observations; at least {min_length} are needed")
    return arr


def check_horizon(h) -> int:
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h <= 0:
        raise ConfigError(f"horizon h must be a positive integer, got {h!r}")
    return int(h)


def check_period(m) -> int:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ConfigError(f"seasonal period m must be an integer >= 1, got {m!r}")
    return int(m)
