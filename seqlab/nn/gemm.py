"""The GEMMs of the compiled backend, shared by :mod:`seqlab.nn.compiled` and
:mod:`seqlab.nn.lstm_loop`.

On CPU in float32 the per-step recurrent GEMMs (:func:`matmul`, weights packed once per call)
go through oneDNN, as torch.nn.LSTM's kernel does. The input projection and its d x
(:func:`dense`, :class:`Linear`) run on oneDNN or on the BLAS behind ``F.linear`` (MKL), the
faster of the two on this host: which one wins depends on the CPU (MKL was 2-3x slower on an
AMD Zen 3 host, 1.1-1.4x faster on an AVX-512 Xeon at T*B = 700), so the first call of a
shape (rows rounded up to a power of two, columns, transposed weight or not, dtype, threads)
times both, one warm-up and :data:`ROUNDS` interleaved runs, BLAS winning only by
:data:`MARGIN`; the choice is kept in memory and in ``gemm.json`` beside the built kernels
(:func:`seqlab.nn.cbuild.save_choice`), so a resumed training on the same host computes
exactly as before. Below :data:`MIN_WORK` multiply-adds, and with ``SEQLAB_AUTOTUNE=0``, it is
oneDNN. The weight gradients ``dY.T @ X`` (:func:`weight_grad`) are chosen the same way
between ``torch.mm``, which reads the transposed operand in place (1.5x faster at T*B = 700,
4H = 800 on an AVX-512 Xeon, and the default below :data:`MIN_WORK`), and oneDNN on transposed
copies (1.2-1.5x faster at T*B = 700, 4H = 2600, H = 650 on an AMD Zen 4 host).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.nn import cbuild
from seqlab.nn.cells import GRUCell, LayerNormLSTMCell, LSTMCell, RNNCell, SimpleGRUCell


def _onednn_available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and bool(
            torch.ops.mkldnn._linear_pointwise and torch.ops.mkldnn._reorder_linear_weight)
    except (AttributeError, RuntimeError):
        return False


_ONEDNN = _onednn_available()


def matmul(W: Tensor, bias: Tensor | None, batch_size: int) -> Callable[[Tensor], Tensor]:
    """``h -> h @ W.T + bias`` for the small per-step GEMMs of the time loop.

    On CPU in float32, W is packed once for oneDNN (as torch.nn.LSTM's own kernel does): at
    B = 20, H = 200 that GEMM runs about 1.7x faster than ``addmm``. Elsewhere: ``addmm``.
    """
    if _ONEDNN and W.device.type == "cpu" and W.dtype == torch.float32:
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(W, batch_size)
            linear = torch.ops.mkldnn._linear_pointwise
            return lambda h: linear(h, packed, bias, "none", [], "")
        except RuntimeError:  # an unsupported layout or build: the plain GEMM below
            pass
    if bias is None:
        return lambda h: torch.mm(h, W.t())
    return lambda h: torch.addmm(bias, h, W.t())


ROUNDS = 3
MARGIN = 0.97  # BLAS runs only if its time <= MARGIN * oneDNN's
MIN_WORK = 1 << 24  # multiply-adds (rows * K * N) from which the two are measured
_FILE = "gemm.json"
_memory: dict[str, str] = {}


def _onednn(x: Tensor, W: Tensor, bias: Tensor | None) -> Tensor:
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), W.contiguous(), bias, "none", [],
                                              "")


def pow2(n: int) -> int:
    """``n`` rounded up to a power of two (how sizes enter the measured choices' keys)."""
    return 1 << max(0, n - 1).bit_length()


def best_times(runs: dict[str, Callable], *args, rounds: int = ROUNDS) -> dict[str, float]:
    """Best-of-``rounds`` seconds of each ``run(*args)``, after one warm-up each, the runs
    interleaved round by round (so load from other jobs hits every side alike), no autograd."""
    best = dict.fromkeys(runs, float("inf"))
    with torch.no_grad():
        for run in runs.values():
            run(*args)
        for _ in range(rounds):
            for name, run in runs.items():
                start = time.perf_counter()
                run(*args)
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def _key(x: Tensor, W: Tensor, bias: Tensor | None) -> str:
    parts = [pow2(x.shape[0]), x.shape[1], W.shape[0], int(W.is_contiguous()),
             int(bias is not None), str(x.dtype).removeprefix("torch."), torch.get_num_threads(),
             cbuild.host_key()]
    return "/".join(map(str, parts))


def _measure(x: Tensor, W: Tensor, bias: Tensor | None) -> dict[str, float]:
    """Best-of-:data:`ROUNDS` seconds of this product on oneDNN and on BLAS (``F.linear``)."""
    return best_times({"onednn": _onednn, "blas": F.linear}, x, W, bias)


def choice(key: str, measure: Callable[[], dict[str, float]], default: str,
           *others: str) -> str:
    """The cached choice for ``key`` (memory, then ``gemm.json``), else ``measure()``'s
    (seconds by path name; a path it did not time is out): the fastest of ``others`` only if
    its time is <= :data:`MARGIN` times ``default``'s."""
    if key not in _memory:
        entry = cbuild.read_choices(_FILE).get(key)
        if not (isinstance(entry, dict) and entry.get("choice") in (default, *others)):
            times = measure()
            timed = [name for name in others if name in times]
            best = min(timed, key=times.__getitem__) if timed else default
            entry = {"choice": best if times.get(best, 0) <= MARGIN * times[default]
                     else default, **times}
            cbuild.save_choice(_FILE, key, entry)
        _memory[key] = entry["choice"]
    return _memory[key]


def _gemm_choice(key: str, measure, default: str, other: str) -> str:
    """:func:`choice` between oneDNN and BLAS; a product oneDNN refuses (RuntimeError while
    measuring) is BLAS, not measured again."""
    try:
        return choice(key, measure, default, other)
    except RuntimeError:
        _memory[key] = "blas"
        return "blas"


def measured(work: int) -> bool:
    """Whether a product of ``work`` multiply-adds is measured (see the module docstring)."""
    return work >= MIN_WORK and os.environ.get("SEQLAB_AUTOTUNE", "1") != "0"


def gemm_choice(x: Tensor, W: Tensor, bias: Tensor | None = None) -> str:
    """``"onednn"`` or ``"blas"``: the path :func:`dense` takes for this product (CPU float32
    with oneDNN available; measured on first use of its key, see the module docstring)."""
    if not measured(x.shape[0] * x.shape[1] * W.shape[0]):
        return "onednn"
    return _gemm_choice(_key(x, W, bias), lambda: _measure(x, W, bias), "onednn", "blas")


def dense(x: Tensor, W: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ W.T + bias`` for 2-D ``x``: on CPU float32 oneDNN or BLAS, whichever
    :func:`gemm_choice` measured faster for this shape; elsewhere ``F.linear``."""
    if _ONEDNN and x.device.type == "cpu" and x.dtype == torch.float32:
        try:
            if gemm_choice(x, W, bias) == "onednn":
                return _onednn(x, W, bias)
        except RuntimeError:
            pass
    return F.linear(x, W, bias)


def _wgrad_onednn(dy: Tensor, x: Tensor) -> Tensor:
    """``dy.T @ x`` through oneDNN: both operands copied transposed (oneDNN's layout)."""
    return torch.ops.mkldnn._linear_pointwise(dy.t().contiguous(), x.t().contiguous(), None,
                                              "none", [], "")


def _wgrad_blas(dy: Tensor, x: Tensor) -> Tensor:
    return torch.mm(dy.t(), x)


def _measure_wgrad(dy: Tensor, x: Tensor) -> dict[str, float]:
    """Best-of-:data:`ROUNDS` seconds of ``dy.T @ x`` on oneDNN and on BLAS (``torch.mm``)."""
    return best_times({"onednn": _wgrad_onednn, "blas": _wgrad_blas}, dy, x)


def weight_grad_choice(dy: Tensor, x: Tensor) -> str:
    """``"blas"`` or ``"onednn"``: the path :func:`weight_grad` takes for ``dy.T @ x`` (BLAS
    unless oneDNN, with its two transposed copies, measured faster by :data:`MARGIN`)."""
    if not measured(dy.shape[0] * dy.shape[1] * x.shape[1]):
        return "blas"
    key = "/".join(map(str, ["wgrad", pow2(dy.shape[0]), dy.shape[1], x.shape[1],
                             str(dy.dtype).removeprefix("torch."), torch.get_num_threads(),
                             cbuild.host_key()]))
    return _gemm_choice(key, lambda: _measure_wgrad(dy, x), "blas", "onednn")


def weight_grad(dy: Tensor, x: Tensor) -> Tensor:
    """``dy.T @ x`` for 2-D ``dy`` (M, N) and ``x`` (M, K): the weight gradient of
    ``x @ W.T``, summed over the M rows. On CPU float32 ``torch.mm`` (which reads the
    transposed operand in place) or oneDNN on transposed copies, whichever
    :func:`weight_grad_choice` measured faster for this shape (oneDNN was 1.2-1.5x faster at
    M = 700, N = 2600, K = 650 on an AMD Zen 4 host, slower at most shapes elsewhere)."""
    if _ONEDNN and dy.device.type == "cpu" and dy.dtype == torch.float32 == x.dtype:
        try:
            if weight_grad_choice(dy, x) == "onednn":
                return _wgrad_onednn(dy, x)
        except RuntimeError:
            pass
    return torch.mm(dy.t(), x)


class Linear(torch.autograd.Function):
    """``x @ W.T + b`` over (..., D): forward and d x through :func:`dense`, d W through
    :func:`weight_grad`."""

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, bias: Tensor | None) -> Tensor:
        x2 = x.reshape(-1, x.shape[-1])
        ctx.save_for_backward(x2, W)
        ctx.has_bias, ctx.shape = bias is not None, x.shape
        return dense(x2, W, bias).view(*x.shape[:-1], W.shape[0])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy: Tensor):
        x2, W = ctx.saved_tensors
        need_x, need_W, need_b = ctx.needs_input_grad
        dy2 = dy.reshape(-1, W.shape[0])
        dx = dense(dy2, W.t()).view(ctx.shape) if need_x else None  # (N, D)
        dW = weight_grad(dy2, x2) if need_W else None  # (G, D)
        return dx, dW, dy2.sum(0) if ctx.has_bias and need_b else None


def project_input(cell, x: Tensor) -> Tensor:
    """``cell.project_input(x)`` with the GEMMs of :class:`Linear` for the known cells."""
    kind = type(cell)
    if kind in (LSTMCell, GRUCell, RNNCell, SimpleGRUCell):
        return Linear.apply(x, cell.weight_ih, cell.bias_ih)
    if kind is LayerNormLSTMCell:
        xw = cell.ln_ih(Linear.apply(x, cell.weight_ih, None))
        return xw if cell.bias_ih is None else xw + cell.bias_ih
    return cell.project_input(x)
