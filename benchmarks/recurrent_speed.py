"""Speed of seqlab's recurrent layers beside torch.nn, in one process.

For LSTM, GRU and RNN at (batch, T, hidden, layers) = (20, 35, 200, 2), (20, 35, 650, 2) and
(64, 100, 256, 1) it times forward+backward and forward-only (no grad) and prints tokens/s of
each seqlab backend, of torch.nn, and their ratio. ``auto`` rows name what backend="auto" picked
(for LSTMs a one-time measurement per configuration, ``seqlab/nn/autotune.py``). Custom cells
(LayerNorm-LSTM, seed-003 GRU)
run on the compiled backend and are compared with torch.nn's plain LSTM/GRU, which have no such
cells. Timings interleave seqlab and torch.nn and report medians, so a busy machine hurts both.
The last column is the median minor page faults per training call, seqlab / torch.nn: a fresh
page costs microseconds on a VM, and how many calls fault depends on the process's heap.

Other sections (e.g. the scan backend's MinGRU vs GRU) register in ``SECTIONS``: each is a
function ``section(args) -> list[Row]``.

    python benchmarks/recurrent_speed.py [--device cuda] [--repeats 7] [--quick]
        [--models LSTM,GRU] [--configs 0,2] [--sections recurrent] [--clock cpu]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from machine import isa_line

import seqlab.nn as snn

CONFIGS = [(20, 35, 200, 2), (20, 35, 650, 2), (64, 100, 256, 1)]
MODELS = {"LSTM": (torch.nn.LSTM, snn.LSTM), "GRU": (torch.nn.GRU, snn.GRU),
          "RNN": (torch.nn.RNN, snn.RNN)}
# (row label, seqlab layer kwargs) per model; each is timed beside the plain torch.nn layer.
VARIANTS = {
    "LSTM": [("fused", {"backend": "fused"}), ("compiled", {"backend": "compiled"}),
             ("compiled LayerNorm-LSTM", {"backend": "compiled", "cell": "layernorm_lstm"}),
             ("auto", {"backend": "auto"})],
    "GRU": [("fused", {"backend": "fused"}), ("compiled", {"backend": "compiled"}),
            ("compiled SimpleGRU (003)", {"backend": "compiled", "cell": "simple_gru"}),
            ("auto", {"backend": "auto"})],
    "RNN": [("fused", {"backend": "fused"}), ("compiled", {"backend": "compiled"})],
}


@dataclass
class Row:
    model: str
    config: str
    variant: str
    train: float  # tokens/s, forward + backward
    train_peer: float
    infer: float  # tokens/s, forward only
    infer_peer: float
    peer: str = "torch.nn"
    faults: tuple[float, float] = (math.nan, math.nan)  # per training call: ours, peer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter  # set by --clock


def _minor_faults() -> float:
    try:
        import resource  # POSIX only
    except ImportError:
        return math.nan
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


# median minor page faults per call of (ours, peer) in the last time_pair: a fresh page costs
# ~4.5 us on some VMs, and whether glibc hands freed memory back (so that the next call faults
# again) depends on the heap's layout, i.e. on what ran before in the process
last_faults = (math.nan, math.nan)


def time_pair(ours: Callable, peer: Callable, repeats: int, device: torch.device):
    """Median seconds of ``ours()`` and ``peer()``, run alternately after a warm-up (their
    median page faults per call go to :data:`last_faults`)."""
    global last_faults
    for fn in (ours, peer, ours, peer):
        fn()
    _sync(device)
    a, b, fa, fb = [], [], [], []
    for _ in range(repeats):
        for fn, out, faults in ((ours, a, fa), (peer, b, fb)):
            before = _minor_faults()
            start = clock()
            fn()
            _sync(device)
            out.append(clock() - start)
            faults.append(_minor_faults() - before)
    last_faults = (statistics.median(fa), statistics.median(fb))
    return statistics.median(a), statistics.median(b)


def train(module, x: torch.Tensor) -> Callable:
    return lambda: module(x)[0].sum().backward()


def infer(module, x: torch.Tensor) -> Callable:
    def run():
        with torch.no_grad():
            module(x)
    return run


def recurrent_section(args) -> list[Row]:
    device = torch.device(args.device)
    rows = []
    for model in args.models:
        torch_cls, seqlab_cls = MODELS[model]
        for B, T, H, L in CONFIGS[:1] if args.quick else [CONFIGS[i] for i in args.configs]:
            torch.manual_seed(0)
            peer = torch_cls(H, H, L, batch_first=True, device=device)
            x = torch.randn(B, T, H, device=device, requires_grad=True)
            tokens = B * T
            for label, kwargs in VARIANTS[model]:
                ours = seqlab_cls(H, H, L, device=device, **kwargs)
                if "cell" not in kwargs:
                    ours.load_state_dict(peer.state_dict())

                t_ours, t_peer = time_pair(train(ours, x), train(peer, x), args.repeats, device)
                faults = last_faults
                i_ours, i_peer = time_pair(infer(ours, x), infer(peer, x), args.repeats, device)
                if label == "auto":  # what the one-time measurement picked (for inference)
                    label = f"auto ({ours.backend_used.split()[0]} in inference)"
                rows.append(Row(model, f"B={B} T={T} H={H} L={L}", label, tokens / t_ours,
                                tokens / t_peer, tokens / i_ours, tokens / i_peer,
                                faults=faults))
                print(format_row(rows[-1]), flush=True)
    return rows


def generate(step: Callable, x: torch.Tensor, keep_time_dim: int) -> Callable:
    """Feeds x one time step at a time, carrying the state, as a generator does."""
    def run():
        with torch.no_grad():
            state = None
            for t in range(x.shape[1]):
                x_t = x[:, t : t + 1] if keep_time_dim else x[:, t]
                _, state = step(x_t, state)
    return run


def step_section(args) -> list[Row]:
    """Generation: T=35 calls of ``layer.step`` vs torch.nn called on one step at a time."""
    device, rows, T = torch.device(args.device), [], 35
    for model in args.models:
        torch_cls, seqlab_cls = MODELS[model]
        for B, H in ((1, 200), (20, 650)):
            torch.manual_seed(0)
            peer = torch_cls(H, H, 2, batch_first=True, device=device)
            ours = seqlab_cls.from_torch(peer)
            x = torch.randn(B, T, H, device=device)
            t_ours, t_peer = time_pair(generate(ours.step, x, 0), generate(peer, x, 1),
                                       args.repeats, device)
            rows.append(Row(model, f"B={B} T={T} H={H} L=2", "step() (peer: T=1 calls)",
                            math.nan, math.nan, B * T / t_ours, B * T / t_peer))
            print(format_row(rows[-1]), flush=True)
    return rows


def scan_section(args) -> list[Row]:
    """MinGRU (``scan`` backend) vs torch.nn.GRU at batch 16, 256/256, T = 512 and 2048."""
    device, rows = torch.device(args.device), []
    for T in (512,) if args.quick else (512, 2048):
        torch.manual_seed(0)
        peer = torch.nn.GRU(256, 256, batch_first=True, device=device)
        ours = snn.MinGRU(256, 256, backend="scan", device=device)
        x = torch.randn(16, T, 256, device=device, requires_grad=True)
        t_ours, t_peer = time_pair(train(ours, x), train(peer, x), args.repeats, device)
        i_ours, i_peer = time_pair(infer(ours, x), infer(peer, x), args.repeats, device)
        rows.append(Row("MinGRU", f"B=16 T={T} H=256 L=1", "scan (peer torch.nn.GRU)",
                        16 * T / t_ours, 16 * T / t_peer, 16 * T / i_ours, 16 * T / i_peer))
        print(format_row(rows[-1]), flush=True)
    return rows


# Sections print their rows as they go; the scan helper appends its MinGRU-vs-GRU section here.
SECTIONS: list[Callable] = [recurrent_section, step_section, scan_section]


def machine_line(device: str) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if device.startswith("cuda") else ""
    return (f"machine: {platform.platform()}, {cpu}{gpu}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch threads, device {device}")


HEADER = (f"| {'model':5} | {'config':22} | {'seqlab variant':25} | {'fwd+bwd tok/s':>13} | "
          f"{'peer tok/s':>10} | {'ratio':>5} | {'fwd tok/s':>10} | {'peer tok/s':>10} | "
          f"{'ratio':>5} | {'faults/step':>13} |")


def format_row(r: Row) -> str:
    if math.isnan(r.train):  # forward-only rows
        train = f"{'-':>13} | {'-':>10} | {'-':>5}"
    else:
        train = f"{r.train:13,.0f} | {r.train_peer:10,.0f} | {r.train / r.train_peer:5.2f}"
    faults = ("-" if math.isnan(r.faults[0]) else
              f"{r.faults[0]:,.0f} / {r.faults[1]:,.0f}")
    return (f"| {r.model:5} | {r.config:22} | {r.variant:25} | {train} | {r.infer:10,.0f} | "
            f"{r.infer_peer:10,.0f} | {r.infer / r.infer_peer:5.2f} | {faults:>13} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per figure (median)")
    parser.add_argument("--models", default="LSTM,GRU,RNN", type=lambda s: s.split(","))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: "
                        "torch's own choice)")
    parser.add_argument("--quick", action="store_true", help="first config only")
    parser.add_argument("--configs", default=",".join(map(str, range(len(CONFIGS)))),
                        type=lambda s: [int(i) for i in s.split(",")],
                        help="comma-separated indices into (B, T, H, L) = " + ", ".join(
                            f"{i}: {c}" for i, c in enumerate(CONFIGS)) + " (default: all)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: perf_counter (default); cpu: process CPU time, which a "
                        "machine shared with other jobs disturbs less (use with --threads 1)")
    names = [section.__name__.removesuffix("_section") for section in SECTIONS]
    parser.add_argument("--sections", default=",".join(names), type=lambda s: s.split(","),
                        help=f"comma-separated subset of {names} (default: all)")
    args = parser.parse_args(argv)
    for name in args.sections:
        if name not in names:
            parser.error(f"--sections: expected names from {names}, got {name!r}")
    for model in args.models:
        if model not in MODELS:
            parser.error(f"--models: expected names from {list(MODELS)}, got {model!r}")
    if any(not 0 <= i < len(CONFIGS) for i in args.configs):
        parser.error(f"--configs: indices in [0, {len(CONFIGS)}), got {args.configs}")
    global clock
    clock = CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine_line(args.device) + f", clock {args.clock}")
    print(isa_line())
    print("peer = torch.nn with the same sizes (plain LSTM/GRU for the custom cells); "
          "ratio = seqlab / peer (higher is better)")
    print(HEADER)
    print("|" + "|".join("-" * (len(c)) for c in HEADER.split("|")[1:-1]) + "|")
    for section, name in zip(SECTIONS, names):
        if name in args.sections:
            section(args)


if __name__ == "__main__":
    main()
