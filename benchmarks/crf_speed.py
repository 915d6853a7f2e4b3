"""seqlab.nn.CRF against pytorch-crf (torchcrf.CRF): forward+backward and Viterbi, same run.

Both CRFs get the same parameters, emissions, tags and mask (B=32, T=40, lengths drawn in
[T/2, T] with one full row, as a padded tagging batch). "forward+backward" = the summed
log-likelihood and its backward to the emissions and the CRF parameters; "Viterbi" =
``decode`` to lists of tags. Each figure is the best of ``--repeats`` timings of ``--iters``
calls, the libraries interleaved repeat by repeat. Ratios are pytorch-crf time / seqlab time.
Also shown: seqlab's tensor-loop path (the non-CPU fallback and the tests' reference).

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/crf_speed.py
"""

from __future__ import annotations

import argparse
import platform
import time

import numba
import torch
import torchcrf
from machine import cpu_model

import seqlab.nn.crf as crf_module
from seqlab.nn import CRF


def best_time(fn, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters


def setup(K: int, B: int, T: int, seed: int):
    torch.manual_seed(seed)
    ours, theirs = CRF(K), torchcrf.CRF(K, batch_first=True)
    with torch.no_grad():
        for name in ("start_transitions", "end_transitions", "transitions"):
            getattr(theirs, name).copy_(getattr(ours, name))
    x = torch.randn(B, T, K)
    tags = torch.randint(0, K, (B, T))
    lengths = torch.randint(T // 2, T + 1, (B,))
    lengths[0] = T
    mask = torch.arange(T) < lengths[:, None]
    return ours, theirs, x, tags, mask


def train_step(crf, x, tags, mask):
    xg = x.detach().requires_grad_(True)
    crf.zero_grad(set_to_none=True)
    (-crf(xg, tags, mask, reduction="sum")).backward()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--tags", type=int, nargs="+", default=[9, 17])
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.platform()} | {cpu_model()} | ISA {torch.backends.cpu.get_cpu_capability()}"
          f" | torch {torch.__version__}, {torch.get_num_threads()} thread(s) | numba "
          f"{numba.__version__} | pytorch-crf {getattr(torchcrf, '__version__', '?')}")
    print(f"B={args.batch}, T={args.steps}, best of {args.repeats} x {args.iters} calls, "
          "times in ms per call")
    print(f"{'K':>3} {'task':<17} {'pytorch-crf':>11} {'seqlab':>8} {'ratio':>6} "
          f"{'seqlab tensor loop':>19} {'ratio':>6}")
    fast = crf_module._fast
    for K in args.tags:
        ours, theirs, x, tags, mask = setup(K, args.batch, args.steps, seed=K)
        # same results first
        torch.testing.assert_close(ours(x, tags, mask), theirs(x, tags, mask), rtol=1e-5,
                                   atol=1e-3)
        assert ours.decode(x, mask) == theirs.decode(x, mask)
        tasks = {"forward+backward": lambda c, x=x, y=tags, m=mask: train_step(c, x, y, m),
                 "Viterbi": lambda c, x=x, m=mask: c.decode(x, m)}
        for task, fn in tasks.items():
            times = {"theirs": [], "ours": [], "loop": []}
            for who in times:  # warm-up (Numba compiles or loads its cache)
                crf_module._fast = (lambda t: False) if who == "loop" else fast
                fn(theirs if who == "theirs" else ours)
            for _ in range(args.repeats):
                for who in times:
                    crf_module._fast = (lambda t: False) if who == "loop" else fast
                    mod = theirs if who == "theirs" else ours
                    times[who].append(best_time(lambda mod=mod, fn=fn: fn(mod), args.iters))
            crf_module._fast = fast
            t = {k: 1e3 * min(v) for k, v in times.items()}
            print(f"{K:>3} {task:<17} {t['theirs']:>11.3f} {t['ours']:>8.3f} "
                  f"{t['theirs'] / t['ours']:>5.1f}x {t['loop']:>19.3f} "
                  f"{t['theirs'] / t['loop']:>5.1f}x")


if __name__ == "__main__":
    main()
