"""M4 Hourly (414 series, h = 48, m = 24): seqlab's forecasters beside the published M4
figures (sMAPE %, MASE, OWA relative to Naive2; M4-Evaluation-and-Ranks.xlsx, Hourly).

Rows: the M4 baselines; the RNN forecaster of a checkpoint (``--rnn CKPT``, trained by
``seqlab train forecaster --preset m4-hourly``), forecasting each series from its whole train
part; ``auto_arima`` (``--arima``) with its 95% intervals scored by MSIS beside the published
ARIMA benchmark (the workbook gives ARIMA interval scores only); ARIMA fit speed against
statsmodels (``--speed``).

Run: ``SEQLAB_DATA=/work/shared/data PYTHONPATH=. python benchmarks/m4_hourly.py [--rnn CKPT]
[--arima] [--speed] [--no-baselines] [--workers N]``
"""

from __future__ import annotations

import platform
import time

import numpy as np
from machine import cpu_model

from seqlab.data.timeseries import load_m4_hourly
from seqlab.forecast import drift, mase, naive, naive2, owa, seasonal_naive, smape, theta
from seqlab.forecast.metrics import mase_scale

PUBLISHED = {  # method: (sMAPE, MASE, OWA), M4 official Hourly column
    "Naive": (43.003, 11.608, 3.593),
    "sNaive": (13.912, 1.193, 0.628),
    "Naive2": (18.383, 2.395, 1.000),
    "Theta": (18.138, 2.455, 1.006),
    "RNN (M4 ML benchmark)": (14.698, 3.048, 1.036),
    "#118 Smyl ES-RNN": (9.328, 0.893, 0.440),
}
PUBLISHED_MSIS = {"ARIMA (M4 benchmark, auto.arima)": 7.538, "ETS (M4 benchmark)": 17.487,
                  "#118 Smyl ES-RNN": 7.928}

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


def msis(y, lo, hi, insample, m: int = 24, alpha: float = 0.05) -> float:
    """M4's mean scaled interval score of a (1 - alpha) interval."""
    y, lo, hi = (np.asarray(v, dtype=np.float64) for v in (y, lo, hi))
    penalty = (2 / alpha) * ((lo - y) * (y < lo) + (y - hi) * (y > hi))
    return float(np.mean(hi - lo + penalty) / mase_scale(insample, m))


def _auto_one(x):
    from seqlab.forecast import auto_arima

    t0 = time.perf_counter()
    model = auto_arima(x, 24, max_P=0, max_Q=0)
    mean, lo, hi = model.forecast(48, alpha=0.05)
    return mean, lo, hi, time.perf_counter() - t0, model.order, model.seasonal_order[1]


def arima_rows(data, workers: int) -> dict:
    """auto_arima on every series (seasonal differencing by the 90% test, no seasonal AR/MA
    terms: max_P = max_Q = 0, to keep 414 searches within minutes)."""
    from concurrent.futures import ProcessPoolExecutor

    _auto_one(data.train[0][:300])  # compile the numba kernels (cached on disk for workers)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        out = list(pool.map(_auto_one, data.train, chunksize=4))
    wall = time.perf_counter() - t0
    s = float(np.mean([smape(y, o[0]) for y, o in zip(data.test, out)]))
    m = float(np.mean([mase(y, o[0], x, 24) for x, y, o in zip(data.train, data.test, out)]))
    ms = float(np.mean([msis(y, o[1], o[2], x) for x, y, o in zip(data.train, data.test, out)]))
    cpu = sum(o[3] for o in out)
    seasonal_d = sum(o[5] for o in out)
    print(f"\nauto_arima: {len(out)} series, {wall:.1f} s wall ({workers} processes), "
          f"{cpu / len(out):.2f} s CPU per series; D = 1 chosen for {seasonal_d} series")
    return {"auto_arima (seasonal diff., stepwise AICc)": (s, m, ms, wall)}


def rnn_rows(data, checkpoint: str) -> dict:
    import torch

    from seqlab.models.forecaster_predict import forecast_history
    from seqlab.tasks import load

    torch.set_num_threads(1)
    model = load(checkpoint, task="forecaster")
    t0 = time.perf_counter()
    fc = [forecast_history(model, x[:, None], 48).mean[:, 0] for x in data.train]
    secs = time.perf_counter() - t0
    s = float(np.mean([smape(y, f) for y, f in zip(data.test, fc)]))
    m = float(np.mean([mase(y, f, x, 24) for x, y, f in zip(data.train, data.test, fc)]))
    cfg = model.config
    return {f"RNN forecaster ({cfg.cell} {cfg.num_layers}x{cfg.hidden_size}, {cfg.mode})":
            (s, m, None, secs)}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnn", default="", help="forecaster checkpoint to score")
    parser.add_argument("--arima", action="store_true", help="auto_arima on all 414 series")
    parser.add_argument("--speed", action="store_true", help="ARIMA fit time vs statsmodels")
    parser.add_argument("--no-baselines", action="store_true", help="skip Theta/Drift/Naive")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    data = load_m4_hourly()
    scores = {}
    methods = {"Naive2": METHODS["Naive2"]} if args.no_baselines else METHODS
    for name, fn in methods.items():
        t0 = time.perf_counter()
        fc = [fn(x) for x in data.train]
        secs = time.perf_counter() - t0
        s = float(np.mean([smape(y, f) for y, f in zip(data.test, fc)]))
        m = float(np.mean([mase(y, f, x, 24) for x, y, f in zip(data.train, data.test, fc)]))
        scores[name] = (s, m, secs)
    extra = {}
    if args.rnn:
        extra.update(rnn_rows(data, args.rnn))
    if args.arima:
        extra.update(arima_rows(data, args.workers))
    s2, m2, _ = scores["Naive2"]
    import torch

    print(f"machine: {cpu_model()} ({platform.machine()}), python {platform.python_version()}, "
          f"torch ISA {torch.backends.cpu.get_cpu_capability()}")
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
    for name, (s, m, ms, secs) in extra.items():
        print(f"seqlab {name}: sMAPE {s:.3f} | MASE {m:.3f} | OWA {owa(s, m, s2, m2):.3f}"
              + (f" | MSIS {ms:.3f}" if ms is not None else "") + f" | {secs:.1f} s")
    if args.arima:
        print("published MSIS (95%): " + "; ".join(f"{k} {v:.3f}"
                                                   for k, v in PUBLISHED_MSIS.items()))
    try:
        import llvmlite.binding as llvm

        print(f"host ISA (LLVM): {llvm.get_host_cpu_name()}")
    except ImportError:
        pass
    if args.speed:
        speed(data)


if __name__ == "__main__":
    main()
