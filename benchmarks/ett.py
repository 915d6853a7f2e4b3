"""ETTh1 univariate (target OT, Informer protocol: 12/4/4-month split, train-set z-score):
seqlab's RNN forecaster and the repeat-last-value baseline beside Informer's table (Zhou et
al., AAAI 2021, Table 1, ETTh1 univariate; MSE / MAE on the z-scored series).

For each horizon H the forecaster (``seqlab train forecaster --preset etth1 --horizon H``) is
trained under a time limit, selected by validation loss, and scored on every test window
(2880 - H + 1 of them, inputs reaching back into the validation months as in Informer).

Run: ``SEQLAB_DATA=/work/shared/data PYTHONPATH=. python benchmarks/ett.py [--time-limit S]
[--horizons 24,48,168,336,720] [--out-dir runs/ett]``
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from machine import cpu_model

from seqlab.config import RunConfig
from seqlab.tasks import get_task, train

PUBLISHED = {  # horizon: (MSE, MAE), Informer Table 1, ETTh1 univariate
    "Informer": {24: (0.098, 0.247), 48: (0.158, 0.319), 168: (0.183, 0.346),
                 336: (0.222, 0.387), 720: (0.269, 0.435)},
    "LSTMa": {24: (0.114, 0.272), 48: (0.193, 0.358), 168: (0.236, 0.392),
              336: (0.590, 0.698), 720: (0.683, 0.768)},
    "ARIMA": {24: (0.108, 0.284), 48: (0.175, 0.424), 168: (0.396, 0.504),
              336: (0.468, 0.593), 720: (0.659, 0.766)},
}


def repeat_last(data) -> tuple[float, float]:
    """MSE/MAE of forecasting every test window with its last input value."""
    se = ae = count = 0.0
    for batch in data.batches("test", "final"):
        f = batch["x"][:, -1:, :].double()  # no deseasonalisation in this preset: x is raw
        err = batch["y"].double() - f
        se += float((err ** 2).sum())
        ae += float(err.abs().sum())
        count += err.numel()
    return se / count, ae / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", default="24,48,168,336,720")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per training")
    parser.add_argument("--out-dir", default="runs/ett")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    task = get_task("forecaster")
    rows = []
    for H in (int(h) for h in args.horizons.split(",")):
        cfg = RunConfig.from_dict({"data": {"horizon": H},
                                   "train": {"time_limit": args.time_limit,
                                             "threads": args.threads, "progress_bar": "off",
                                             "out_dir": f"{args.out_dir}/h{H}"}},
                                  base=task.preset("etth1"))
        data = task.build_data(cfg)
        last = repeat_last(data)
        t0 = time.perf_counter()
        result = train(cfg, overwrite=True, data=data, log=lambda line: None)
        secs = time.perf_counter() - t0
        rows.append((H, result["test_mse"], result["test_mae"], last, result["test_targets"],
                     result["epochs"], secs))
    print(f"machine: {cpu_model()} ({platform.machine()}), python {platform.python_version()}, "
          f"torch {torch.__version__} ISA {torch.backends.cpu.get_cpu_capability()}")
    print("ETTh1 univariate (OT), MSE / MAE on the train-z-scored series, all test windows")
    print(f"{'H':>4} | {'seqlab RNN':>15} | {'repeat last':>15} | {'LSTMa (pub.)':>15} | "
          f"{'ARIMA (pub.)':>15} | {'Informer (pub.)':>15} | targets, epochs, s")
    for H, mse_, mae_, (lmse, lmae), n, ep, secs in rows:
        pub = [PUBLISHED[k][H] for k in ("LSTMa", "ARIMA", "Informer")]
        print(f"{H:>4} | {mse_:6.3f} / {mae_:6.3f} | {lmse:6.3f} / {lmae:6.3f} | "
              + " | ".join(f"{a:6.3f} / {b:6.3f}" for a, b in pub)
              + f" | {n}, {ep}, {secs:.0f}")
    below = all(r[1] < PUBLISHED["LSTMa"][r[0]][0] for r in rows)
    print(f"MSE below LSTMa at every horizon: {below}")
    assert np.isfinite([r[1] for r in rows]).all()


if __name__ == "__main__":
    main()
