"""Cost of one diagnostics pass (``seqlab.diagnostics.gradient_flow``) vs a forward+backward.

The model: a 2x650 LSTM (Zaremba's medium size) on B sequences of T = 200 steps. The peer
is a plain forward + backward of the same probe loss through the same layer with its fastest
backend (torch's fused kernel, ``backend="auto"``); the diagnostics pass runs the traced
per-step loop, one ``autograd.grad`` with respect to all 2 x 200 hidden and cell states, the
norms and the gate statistics. Target: within 3x.

Denormals are flushed to zero (``torch.set_flush_denormal(True)``, both passes alike): the
probe's gradient enters at the last step only and vanishes backwards through 200 steps into
float32's denormal range (below 1.2e-38), where CPU arithmetic is an order of magnitude
slower; without the flush one plain forward+backward at T = 200 took over a minute here
instead of ~4 s (``--keep-denormals`` shows it).

    flock /tmp/seqlab-heavy.lock python benchmarks/diagnostics_cost.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from machine import cpu_model

from seqlab.diagnostics import gradient_flow
from seqlab.diagnostics.flow import probe_loss
from seqlab.nn import LSTM


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-size", type=int, default=650)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep-denormals", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    flushed = torch.set_flush_denormal(not args.keep_denormals) and not args.keep_denormals
    torch.manual_seed(0)
    H = args.hidden_size
    layer = LSTM(H, H, num_layers=args.layers)  # backend auto: fused
    x = torch.randn(args.batch_size, args.length, H)

    def plain() -> None:
        layer.zero_grad()
        out, _ = layer(x)
        probe_loss(out).backward()

    def diagnostics() -> None:
        gradient_flow(layer, x)

    t_plain = timed(plain, args.repeats)
    t_diag = timed(diagnostics, args.repeats)
    print(f"machine: {cpu_model()} | ISA {torch.backends.cpu.get_cpu_capability()} | "
          f"threads {args.threads} | torch {torch.__version__} | denormals flushed: {flushed}")
    print(f"| model | B | T | forward+backward ({layer.backend_used}) s | diagnostics pass s "
          "| ratio | target |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.layers}x{H} LSTM | {args.batch_size} | {args.length} | {t_plain:.3f} | "
          f"{t_diag:.3f} | {t_diag / t_plain:.2f}x | <= 3x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
