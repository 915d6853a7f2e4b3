"""MinGRU / MinLSTM (every backend) against torch.nn.GRU: training and inference tokens/s.

Both run in this process, interleaved repeat by repeat, on the same input; each figure is the
best of ``--repeats`` timings (the least disturbed by other jobs on a shared machine).
Training = forward + backward of the output against a fixed random gradient; inference =
forward under ``torch.no_grad()``. Ratios are seqlab / torch.nn.GRU tokens/s. ``--clock cpu``
times process CPU seconds instead of wall seconds: with ``--threads 1`` this ignores time lost
to other jobs on a busy machine.

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/scan_speed.py
    .venv/bin/python benchmarks/scan_speed.py --device cuda
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numba
import torch
from machine import isa_line

from seqlab.nn import MinGRU, MinLSTM

MODELS = {"MinGRU": MinGRU, "MinLSTM": MinLSTM}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(device: torch.device) -> str:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return (f"{platform.platform()} | {where} | torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads | numba {numba.__version__}")


def timer(device: torch.device, clock: str) -> Callable[[Callable[[], None]], float]:
    now = time.process_time if clock == "cpu" else time.perf_counter

    def run(fn: Callable[[], None]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = now()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return now() - start

    return run


def workloads(module: torch.nn.Module, x: torch.Tensor, grad: torch.Tensor):
    """(train, infer) closures for one module."""

    def train() -> None:
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.backward(grad)

    def infer() -> None:
        with torch.no_grad():
            module(x)

    return train, infer


def bench_length(T: int, args, device: torch.device) -> list[tuple[str, float, float]]:
    """Rows (name, train tokens/s, inference tokens/s) for one sequence length."""
    gen = torch.Generator().manual_seed(0)
    B, D, H = args.batch, args.size, args.size
    x = torch.randn(B, T, D, generator=gen).to(device).requires_grad_(args.input_grad)
    grad = torch.randn(B, T, H, generator=gen).to(device)
    contenders = {"torch.nn.GRU": torch.nn.GRU(D, H, batch_first=True).to(device)}
    for model in args.models:
        for backend in args.backends:
            if backend == "sequential" and T > args.max_sequential_T:
                continue
            contenders[f"{model} {backend}"] = MODELS[model](D, H, backend=backend).to(device)
    jobs = {name: workloads(m, x, grad) for name, m in contenders.items()}
    run = timer(device, args.clock)
    best = {name: [float("inf"), float("inf")] for name in jobs}
    for train, infer in jobs.values():  # warm-up: Numba compile, allocator, caches
        train()
        infer()
    if torch.get_num_threads() != args.threads:  # see seqlab.nn.scan._numba_threads
        raise SystemExit(f"torch runs {torch.get_num_threads()} threads after the warm-up, "
                         f"not --threads {args.threads}: the timings would not compare")
    for _ in range(args.repeats):
        for name, (train, infer) in jobs.items():
            best[name][0] = min(best[name][0], run(train))
            best[name][1] = min(best[name][1], run(infer))
    tokens = B * T
    return [(name, tokens / t_train, tokens / t_infer) for name, (t_train, t_infer)
            in best.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch (and Numba) threads")
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=256, help="input_size = hidden_size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-input-grad", dest="input_grad", action="store_false",
                        help="x does not require grad (raw features into the first layer), so "
                        "training skips dL/dx in both contenders")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu = process CPU seconds: with --threads 1 it ignores time lost "
                        "to other jobs on a busy machine (tokens per CPU-second)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--backends", nargs="+", default=["scan", "logspace", "sequential"],
                        choices=["scan", "logspace", "sequential"])
    parser.add_argument("--max-sequential-T", type=int, default=512,
                        help="skip the per-step loop above this length")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(machine_line(device))
    print(isa_line())
    print(f"batch {args.batch}, input = hidden = {args.size}, 1 layer, best of {args.repeats}, "
          f"{args.clock} clock, dL/dx {'computed' if args.input_grad else 'not needed'}\n")
    print("| T | model | train tok/s | vs GRU | inference tok/s | vs GRU |")
    print("|---:|---|---:|---:|---:|---:|")
    for T in args.lengths:
        rows = bench_length(T, args, device)
        peer_train, peer_infer = rows[0][1], rows[0][2]
        for name, train, infer in rows:
            print(f"| {T} | {name} | {train:,.0f} | {train / peer_train:.2f}x | "
                  f"{infer:,.0f} | {infer / peer_infer:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
