"""``backend="auto"`` for plain LSTMs and GRUs: seqlab's C loop or torch.nn's fused kernel, by
measurement.

Which of the two is faster depends on the host (AVX2 or AVX-512, the oneDNN build), the shape,
the dtype and the thread count, so ``auto`` does not guess: the first call of a configuration
times both on that call's own input, forward (and, when the parameters need gradients,
``torch.autograd.grad`` of the outputs' sum: the backward, without touching ``.grad``), one
warm-up and :data:`ROUNDS` interleaved timed runs each, and keeps the faster by its best time.
The C loop must win by :data:`MARGIN` (so noise cannot make ``auto`` slower than torch.nn).
The choice is cached in memory and in ``autotune.json`` beside the built kernels
(:func:`seqlab.nn.cbuild.kernel_folder`), keyed on (sizes, B and T rounded up to powers of two,
padded or not, dtype, training or inference, threads, host and kernel target), so a host
measures each configuration once. ``layer.backend_used`` then reads e.g. ``"compiled (auto:
1.18x faster than fused, measured)"`` or ``"... cached)"``.

Measured only where it can matter: CPU, float32/float64, the C kernels built, plain LSTMCell
(without projection) or GRUCell, at least :data:`MIN_WORK` multiply-adds per call; elsewhere
(and with ``SEQLAB_AUTOTUNE=0``) ``auto`` runs the fused kernel, as torch.nn does.
"""

from __future__ import annotations

import functools
import logging
import os
import time

import torch
from torch import Tensor

from seqlab.nn import cbuild, lstm_loop
from seqlab.nn.cells import GRUCell, LSTMCell
from seqlab.nn.gemm import pow2

log = logging.getLogger(__name__)

ROUNDS = 3
MARGIN = 0.97  # compiled runs only if its time <= MARGIN * fused's
MIN_WORK = 10_000_000  # multiply-adds of the recurrent GEMMs per call (G H^2 B T per cell)
_C_LOOPS = {LSTMCell: 4, GRUCell: 3}  # cells with a C loop -> gates G
_FILE = "autotune.json"
_memory: dict[str, dict] = {}


def eligible(layer, x: Tensor) -> bool:
    """True if ``auto`` measures for this call (see the module docstring)."""
    cell = layer.cells[0]
    if os.environ.get("SEQLAB_AUTOTUNE", "1") == "0" or type(cell) not in _C_LOOPS:
        return False
    if layer.proj_size or x.device.type != "cpu":
        return False
    if x.dtype not in (torch.float32, torch.float64) or lstm_loop.c_library() is None:
        return False
    T, B = (x.shape[1], x.shape[0]) if layer.batch_first else (x.shape[0], x.shape[1])
    work = _C_LOOPS[type(cell)] * layer.hidden_size ** 2 * B * T * len(layer.cells)
    return work >= MIN_WORK


@functools.cache
def _target(isa: str) -> str:
    """The C kernel's target for ``isa`` (``$SEQLAB_CPU_ISA``), looked up once per process."""
    return lstm_loop.kernel_target()


def key(layer, x: Tensor, lengths: Tensor | None, train: bool) -> str:
    T, B = (x.shape[1], x.shape[0]) if layer.batch_first else (x.shape[0], x.shape[1])
    host = cbuild.host_key(_target(cbuild.requested_isa()))
    parts = [layer.mode, layer.input_size, layer.hidden_size, layer.num_layers,
             layer.num_directions, int(layer.bias), pow2(B), pow2(T), int(lengths is not None),
             str(x.dtype).removeprefix("torch."), "train" if train else "infer",
             torch.get_num_threads(), host]
    return "/".join(map(str, parts))


def _load() -> dict:
    return cbuild.read_choices(_FILE)


def _save(entry_key: str, entry: dict) -> None:
    cbuild.save_choice(_FILE, entry_key, entry)


def _time(run, kind: str) -> float:
    start = time.perf_counter()
    run(kind)
    return time.perf_counter() - start


def measure(layer, x: Tensor, state, lengths: Tensor | None, train: bool) -> dict:
    """Best-of-:data:`ROUNDS` seconds of one call on ``fused`` and on ``compiled``."""
    params = [p for p in layer.parameters() if p.requires_grad]
    x = x.detach()
    state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    def run(kind: str) -> None:
        with torch.enable_grad() if train else torch.no_grad():
            out, final = layer._run(kind, x, state, lengths)
            if train:
                finals = final if isinstance(final, tuple) else (final,)
                loss = out.sum() + sum(f.sum() for f in finals)
                torch.autograd.grad(loss, params, allow_unused=True)

    best = {"fused": float("inf"), "compiled": float("inf")}
    for kind in best:  # warm-up: builds the kernels, packs the weights, fills caches
        run(kind)
    for _ in range(ROUNDS):
        for kind in best:
            best[kind] = min(best[kind], _time(run, kind))
    return best


def choose(layer, x: Tensor, state, lengths: Tensor | None) -> tuple[str, str]:
    """``(backend, why)`` for this call: measured on first use of its key, else cached."""
    train = torch.is_grad_enabled() and any(p.requires_grad for p in layer.parameters())
    entry_key = key(layer, x, lengths, train)
    how = "cached"
    if entry_key not in _memory:
        entry = _load().get(entry_key)
        if not (isinstance(entry, dict) and entry.get("choice") in ("fused", "compiled")):
            times = measure(layer, x, state, lengths, train)
            choice = "compiled" if times["compiled"] <= MARGIN * times["fused"] else "fused"
            entry = {"choice": choice, **times}
            _save(entry_key, entry)
            how = "measured"
            log.info("backend='auto' measured %s: fused %.3g ms, compiled %.3g ms -> %s",
                     entry_key, 1e3 * times["fused"], 1e3 * times["compiled"], choice)
        _memory[entry_key] = entry
    else:
        entry = _memory[entry_key]
    choice = entry["choice"]
    other = "fused" if choice == "compiled" else "compiled"
    ratio = entry[other] / entry[choice]
    return choice, f"auto: {ratio:.2f}x faster than {other}, {how}"
