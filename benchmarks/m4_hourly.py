"""M4 Hourly (414 series, h = 48, m = 24): seqlab's classical forecasters beside the published
M4 figures (sMAPE %, MASE, OWA relative to Naive2; M4-Evaluation-and-Ranks.xlsx, Hourly).

Run: ``SEQLAB_DATA=/work/shared/data PYTHONPATH=. python benchmarks/m4_hourly.py``
"""

from __future__ import annotations

import platform
import time

import numpy as np
from machine import cpu_model

from seqlab.data.timeseries import load_m4_hourly
from seqlab.forecast import drift, mase, naive, naive2, owa, seasonal_naive, smape, theta

PUBLISHED = {  # method: (sMAPE, MASE, OWA), M4 official Hourly column
    "Naive": (43.003, 11.608, 3.593),
    "sNaive": (13.912, 1.193, 0.628),
    "Naive2": (18.383, 2.395, 1.000),
    "Theta": (18.138, 2.455, 1.006),
    "RNN (M4 ML benchmark)": (14.698, 3.048, 1.036),
    "#118 Smyl ES-RNN": (9.328, 0.893, 0.440),
}

METHODS = {
    "Naive": lambda x: naive(x, 48),
    "sNaive": lambda x: seasonal_naive(x, 48, 24),
    "Naive2": lambda x: naive2(x, 48, 24),
    "Theta": lambda x: theta(x, 48, 24),
    "Drift": lambda x: drift(x, 48),
}




def speed(data, orders=((1, 1, 1), (2, 0, 1)), n_series: int = 20) -> None:
    """ARIMA fit time per series, seqlab vs statsmodels (same series, orders, defaults)."""
    import warnings

    from statsmodels.tsa.arima.model import ARIMA as SMARIMA

    from seqlab.forecast import ARIMA

    ARIMA((1, 0, 0)).fit(data.train[0][:200])  # compile the numba filter outside the timing
    print(f"\nARIMA fit, first {n_series} series (full train length 700-960):")
    print(f"{'order':<12}{'seqlab s/series':>16}{'statsmodels':>13}{'ratio':>8}"
          f"{'min llf diff':>13}{'max rel dparam':>16}")
    print("(llf diff = seqlab - statsmodels; >= 0: seqlab reached at least statsmodels' optimum)")
    for order in orders:
        t_ours = t_sm = 0.0
        dllf, dpar = np.inf, 0.0
        for x in data.train[:n_series]:
            t0 = time.perf_counter()
            ours = ARIMA(order).fit(x)
            t_ours += time.perf_counter() - t0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                ref = SMARIMA(x, order=order).fit()
                t_sm += time.perf_counter() - t0
            mine = np.array(list(ours.params_.values()))
            dllf = min(dllf, ours.llf_ - ref.llf)
            dpar = max(dpar, float(np.max(np.abs(mine - ref.params) / np.abs(ref.params))))
        print(f"{str(order):<12}{t_ours / n_series:16.4f}{t_sm / n_series:13.4f}"
              f"{t_sm / t_ours:7.2f}x{dllf:13.2e}{dpar:16.2e}")


def main() -> None:
    data = load_m4_hourly()
    scores = {}
    for name, fn in METHODS.items():
        t0 = time.perf_counter()
        fc = [fn(x) for x in data.train]
        secs = time.perf_counter() - t0
        s = float(np.mean([smape(y, f) for y, f in zip(data.test, fc)]))
        m = float(np.mean([mase(y, f, x, 24) for x, y, f in zip(data.train, data.test, fc)]))
        scores[name] = (s, m, secs)
    s2, m2, _ = scores["Naive2"]
    print(f"machine: {cpu_model()} ({platform.machine()}), python {platform.python_version()}")
    print(f"{'method':<24}{'sMAPE':>9}{'MASE':>8}{'OWA':>7} | {'published':>24} | seconds")
    for name in dict.fromkeys([*METHODS, *PUBLISHED]):
        pub = PUBLISHED.get(name)
        pub_txt = " / ".join(f"{v:.3f}" for v in pub) if pub else "-"
        if name in scores:
            s, m, secs = scores[name]
            print(f"{'seqlab ' + name:<24}{s:9.3f}{m:8.3f}{owa(s, m, s2, m2):7.3f} | "
                  f"{pub_txt:>24} | {secs:.2f}")
        else:
            print(f"{name:<24}{'':>9}{'':>8}{'':>7} | {pub_txt:>24} |")
    try:
        import llvmlite.binding as llvm

        print(f"host ISA (LLVM): {llvm.get_host_cpu_name()}")
    except ImportError:
        pass
    speed(data)


if __name__ == "__main__":
    main()
