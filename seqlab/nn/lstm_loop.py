"""LSTM and LayerNorm-LSTM time loops of the ``compiled`` backend, with a hand-written backward.

One direction of one layer is one autograd node. With ``xw = x @ W_ih.T + b_ih`` computed for
all steps by one GEMM first (for the layer-norm cell ``xw = x @ W_ih.T``, which the loop
normalises row by row: ``LN_ih`` and ``b_ih`` are applied inside)::

    forward, each t:   hw = h @ W_hh.T                          (GEMM, B x H by H x 4H)
                       gates, state and output from (xw_t, hw, h, c): one fused kernel
    backward, each t:  d gates from (d h, d c) and the saved gates: one fused kernel
                       d h_{t-1} = d hw @ W_hh                  (GEMM)
    then, once:        d W_hh = dHW.T @ H_prev, d b_hh (big GEMM / sum over T*B); the
                       layer norm's d gains are summed per batch row inside the loop

LSTMCell (``b = b_ih + b_hh``, both folded into ``xw``)::

    i, f, g, o = (xw + hw).chunk(4)          ->  i, f, o = sigmoid(.),  g = tanh(.)
    c' = f * c + i * g;   h' = o * tanh(c')

    backward, with e = d h' (from the output and from step t+1) and dc = d c' (from t+1):
    dc~ = dc + e * o * (1 - tanh(c')^2)
    d o = e * tanh(c') * o * (1 - o);   d i = dc~ * g * i * (1 - i)
    d f = dc~ * c * f * (1 - f);        d g = dc~ * i * (1 - g^2);   d c = dc~ * f

LayerNormLSTMCell (``hw^ = (hw - mean) * rstd`` over the 4H gates, ``xw^`` likewise, ``c^``
over H)::

    i, f, g, o = (gain_ih * xw^ + b_ih + gain_hh * hw^).chunk(4);   c' = f * c + i * g
    y = gain_c * c'^ + shift_c;                                      h' = o * tanh(y)

    backward: d y = e * o * (1 - tanh(y)^2),  d o = e * tanh(y) * o * (1 - o);
    dc~ = dc + rstd_c * (d c'^ - mean(d c'^) - c'^ * mean(d c'^ * c'^)),  d c'^ = d y * gain_c
    (gates as above); d hw = rstd_hh * (d hw^ - mean(d hw^) - hw^ * mean(d hw^ * hw^)),
    d hw^ = d a * gain_hh (d xw from d xw^ = d a * gain_ih the same way);
    d gain_hh = sum(d a * hw^), d gain_ih = sum(d a * xw^), d b_ih = sum(d a),
    d gain_c = sum(d y * c'^), d shift_c = sum(d y).

Padded steps (``mask`` False) keep h and c and output 0: their gates get no gradient and d h,
d c pass through to the step before.

The gates are saved in the forward (after their sigmoid/tanh), so the backward recomputes
nothing; they and the states come from :func:`seqlab.nn.buffers.pooled` (no page faults once
a training step has run), the packed weights and the backward's d xw and d hw from workspaces.

On CPU in float32/float64 each direction's whole time loop, forward and backward, is one call
into a small C library (``csrc/lstm_loop.c``, float and double from one source through the
preprocessor): its own GEMM for the recurrent product on weights packed in column panels of
``NV`` vectors, ``MR`` x ``NV`` register blocks (vector width and blocking follow the ISA the
compiler targets: 64-byte vectors and 12-row blocks with AVX-512, 32 and 6 with AVX2, 16-byte
vectors otherwise; faster than a oneDNN call per step at B = 20, H = 200, where a call's
overhead is a third of the GEMM) and the gate kernels above, vectorized at the same width
(float ``exp`` is the library's own inlined polynomial, double's glibc's libmvec on x86-64).
:mod:`seqlab.nn.cbuild` builds it on first use (``SEQLAB_CPU_ISA`` picks the target) and caches
it. It runs on ``torch.get_num_threads()`` threads (one OpenMP team per call, in the runtime
torch uses: each thread owns a share of the batch rows and, with at least half a register block
of rows each, runs their step GEMMs too, never waiting for the others; with fewer rows the
threads share the GEMM's column panels, two barriers per step; either way the results do not
depend on the thread count), or on one for a small step (``4 B H^2 < _MIN_WORK``) or when the
compiler has no OpenMP (the library is then built without it). Without a C compiler (or with
``SEQLAB_NO_C_KERNELS=1``), on GPU, or for other dtypes, the same loop runs in Python over
PyTorch ops (:class:`seqlab.nn.lstm_torch.TorchKernels`, the GEMM through ``gemm.matmul``)."""

from __future__ import annotations

import ctypes
import logging

import torch
from torch import Tensor

from seqlab.nn import cbuild
from seqlab.nn import gemm as gemms
from seqlab.nn.buffers import pooled, workspace
from seqlab.nn.cells import LayerNormLSTMCell
from seqlab.nn.gemm import dense, matmul, weight_grad
from seqlab.nn.lstm_torch import TorchKernels

log = logging.getLogger(__name__)

_SIGNATURES = {  # entry points -> (number of leading longs, doubles, then pointers)
    "gemm": (3, 0, 3),
    "pack": (5, 0, 2),
    "lstm_forward_loop": (8, 0, 9),
    "lstm_backward_loop": (5, 0, 11),
    "lnlstm_forward_loop": (6, 3, 18),
    "lnlstm_backward_loop": (5, 0, 28),
    "gru_forward_loop": (7, 0, 7),  # seqlab/nn/gru_loop.py
    "gru_backward_loop": (6, 0, 10),
}
# Below this many multiply-adds per step (4 B H^2) the loops stay on one thread: two barriers
# per step would cost more than the split saves.
_MIN_WORK = 1 << 17
_library_cache: list = []  # [ctypes.CDLL or None], filled on first use
_kernels_cache: dict = {}  # (id(library), dtype suffix) -> _CKernels


def _load() -> ctypes.CDLL | None:
    lib = cbuild.build("lstm_loop")
    if lib is None:
        return None
    for suffix in ("f32", "f64"):
        for name, (longs, doubles, pointers) in _SIGNATURES.items():
            fn = getattr(lib, f"{name}_{suffix}")
            fn.argtypes = ([ctypes.c_long] * longs + [ctypes.c_double] * doubles
                           + [ctypes.c_void_p] * pointers)
            fn.restype = None
        getattr(lib, f"panel_{suffix}").restype = ctypes.c_long
    return lib


def c_library() -> ctypes.CDLL | None:
    """The compiled kernels (built on first call), or None if they cannot be built here."""
    if not _library_cache:
        _library_cache.append(_load())
    return _library_cache[0]


def kernel_target() -> str:
    """What the C kernels were built for, e.g. ``native: avx512 64-byte vectors, 12 x 2 register
    blocks`` (printed by the speed benchmarks)."""
    return cbuild.kernel_target(c_library())


# --------------------------------------------------------------------------------- kernels
class _CKernels:
    """The C kernels for one dtype: whole time loops (own GEMM on packed weights + gate
    kernels), called once per direction with the buffers' data pointers."""

    def __init__(self, lib: ctypes.CDLL, suffix: str) -> None:
        self.panel = getattr(lib, f"panel_{suffix}")()  # GEMM panel width (NV vectors)
        for name in _SIGNATURES:
            setattr(self, name, getattr(lib, f"{name}_{suffix}"))


def kernels_for(t: Tensor):
    """C kernels for CPU float32/float64 tensors when they build here, else PyTorch ops."""
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        lib = c_library()
        if lib is not None:
            suffix = "f32" if t.dtype == torch.float32 else "f64"
            kernels = _kernels_cache.get((id(lib), suffix))
            if kernels is None:  # the library's functions, looked up once per dtype
                kernels = _kernels_cache[(id(lib), suffix)] = _CKernels(lib, suffix)
            return kernels
    return TorchKernels


# --------------------------------------------------------------------------------- loops
def _panels(M: Tensor, width: int) -> Tensor:
    """M (K x N) in the C GEMM's layout: panels of ``width`` columns, each (K, width), in this
    thread's ``"panels"`` workspace (packed on every call and dead when the C call returns)."""
    K, N = M.shape
    P = -(-N // width)
    out = workspace(M.new_empty(0), "panels", (P, K, width))
    k = kernels_for(M)
    if isinstance(k, _CKernels):  # the C packer: up to 2.8x faster than a strided torch copy
        k.pack(K, N, width, M.stride(0), M.stride(1), _ptr(M), _ptr(out))
        return out
    full = N // width
    out[:full].copy_(M[:, : full * width].unflatten(1, (full, width)).transpose(0, 1))
    if full < P:  # the last panel padded with zero columns
        out[full].zero_()
        out[full, :, : N - full * width].copy_(M[:, full * width :])
    return out


def _gemm_weights(k, W: Tensor, batch_size: int, transpose: bool):
    """The recurrent GEMM's weights: ``h @ W.T`` (or ``d @ W`` with ``transpose``)."""
    W = W.detach()  # packed on every call: a cache keyed on W._version would miss updates
    if isinstance(k, _CKernels):  # made through .data (old-style optimizers, gradcheck)
        return _panels(W if transpose else W.t(), k.panel)
    return matmul(W.t().contiguous() if transpose else W, None, batch_size)


def _threads(B: int, H: int) -> int:
    """Threads for a loop: ``torch.get_num_threads()``, or 1 for a small step."""
    return max(1, torch.get_num_threads()) if 4 * B * H * H >= _MIN_WORK else 1


def _ptr(t: Tensor | None):
    return None if t is None else t.data_ptr()


def _slots(reverse: bool, t: int) -> tuple[int, int]:
    """(slot read, slot written) by step t in the (T + 1)-slot state buffers."""
    return (t + 1, t) if reverse else (t, t + 1)


def _state_buffers(like: Tensor, h0: Tensor, c0: Tensor, T: int, reverse: bool):
    """The (T + 1)-slot state buffers Hb, Cb with (h0, c0) in the slot step 0 reads."""
    B, H = h0.shape
    Hb, Cb = pooled(like, (T + 1, B, H)), pooled(like, (T + 1, B, H))
    first = T if reverse else 0
    Hb[first], Cb[first] = h0, c0
    return Hb, Cb


def _outputs(Hb: Tensor, Cb: Tensor, mask: Tensor | None, reverse: bool):
    """(out, h_T, c_T) from the state buffers: out is 0 at padded steps."""
    out = Hb[:-1] if reverse else Hb[1:]
    if mask is not None:
        out = out * mask.unsqueeze(-1)
    last = 0 if reverse else Hb.shape[0] - 1
    return out, Hb[last].clone(), Cb[last].clone()


def _project(x: Tensor, W_ih: Tensor, bias: Tensor | None) -> Tensor:
    """``x @ W_ih.T (+ bias)`` over (T, B, I) into a fresh buffer (the LayerNorm-LSTM loop
    normalises it in place: LN_ih's x^, saved for the backward)."""
    T, B, I = x.shape
    return dense(x.reshape(T * B, I), W_ih, bias).view(T, B, W_ih.shape[0])


def _forward(k, layer_norm: bool, eps: tuple, x: Tensor, W_ih: Tensor, W_hh: Tensor, bias,
             h0: Tensor, c0: Tensor, ln: tuple, mask: Tensor | None, reverse: bool, keep: bool,
             projection: str = "separate"):
    """Projects x (one GEMM for all steps) and runs the loop; returns (out, h_T, c_T, state
    buffers Hb, Cb, saved buffers). ``bias`` is b_ih + b_hh (LSTMCell) or b_ih (the layer
    norm's, added in the loop after LN_ih), or None; ``ln`` is (gain_ih, gain_hh, gain_c,
    shift_c) or (). With ``projection="in-loop"`` (LSTMCell, C kernels) each step's GEMM
    projects its input instead (``[x_t, h] @ [W_ih; W_hh].T``): the (T, B, 4H) projection never
    goes through memory, but W_ih is read at every step (faster while the weights stay in
    cache: 1.1x at B = 20, H = 200 and at B = 64, H = 256; 1.4x slower at B = 20, H = 650 on
    AMD Zen 4); ``"in-loop-columns"`` also has the threads share the weights' column panels
    rather than own batch rows (each then reads half the weights: 1.1-1.2x faster on 2 threads
    at B = 20, H = 200 with AVX2). :func:`unroll` asks :func:`_projection`, a one-time
    measurement."""
    W_ih = W_ih.detach()
    bias = None if bias is None else bias.detach().contiguous()
    ln = tuple(p.detach().contiguous() for p in ln)
    x = x.detach()
    in_loop = projection != "separate"
    row = x.new_zeros(W_ih.shape[0]) if bias is None else bias  # added in the loop
    if in_loop:
        x = x.contiguous()
        xw = row
    else:
        xw = _project(x, W_ih, None if layer_norm else bias)
    if layer_norm:  # b_ih after LN_ih
        ln = (ln[0], row, *ln[1:])
    T, B, _ = x.shape
    H = W_hh.shape[1]
    G = 4 * H
    Hb, Cb = _state_buffers(x, h0, c0, T, reverse)
    n = T if keep else 1  # without autograd the per-step buffers are one scratch slot
    saved = {"A": pooled(x, (n, B, G)), "TC": pooled(x, (n, B, H))}
    if layer_norm:
        saved.update(NX=xw, RX=x.new_empty(n, B), NH=pooled(x, (n, B, G)),
                     CH=pooled(x, (n, B, H)), RH=x.new_empty(n, B), RC=x.new_empty(n, B))
    if in_loop:
        gemm = _panels(torch.cat([W_ih, W_hh.detach()], 1).t(), k.panel)  # (I + H) x 4H
        hw = x.new_empty(B, G)  # kept alive here: C gets its address
        k.lstm_forward_loop(_threads(B, H), int(projection == "in-loop-columns"), T, B, H,
                            x.shape[2], reverse, keep, _ptr(gemm),
                            _ptr(x), _ptr(xw), _ptr(mask), _ptr(Hb), _ptr(Cb),
                            _ptr(saved["A"]), _ptr(saved["TC"]), _ptr(hw))
        return *_outputs(Hb, Cb, mask, reverse), Hb, Cb, saved
    gemm = _gemm_weights(k, W_hh, B, False)
    if isinstance(k, _CKernels):
        hw = xw.new_empty(B, G)
        if layer_norm:
            k.lnlstm_forward_loop(_threads(B, H), T, B, H, reverse, keep, *eps, _ptr(gemm),
                                  _ptr(xw), *map(_ptr, ln), _ptr(mask), _ptr(Hb), _ptr(Cb),
                                  *(_ptr(saved[n]) for n in _LN_FORWARD), _ptr(hw))
        else:
            k.lstm_forward_loop(_threads(B, H), 0, T, B, H, 0, reverse, keep, _ptr(gemm), None,
                                _ptr(xw), _ptr(mask), _ptr(Hb), _ptr(Cb), _ptr(saved["A"]),
                                _ptr(saved["TC"]), _ptr(hw))
    else:
        rows = {name: list(b.unbind(0)) * (T // b.shape[0]) for name, b in saved.items()}
        H_r, C_r, X_r = Hb.unbind(0), Cb.unbind(0), xw.unbind(0)
        M_r = [None] * T if mask is None else mask.unbind(0)
        for t in reversed(range(T)) if reverse else range(T):
            p, w = _slots(reverse, t)
            hw = gemm(H_r[p])
            if layer_norm:
                k.lnlstm_forward(B, H, *eps, hw, X_r[t], *ln, H_r[p], C_r[p], M_r[t],
                                 *(rows[n][t] for n in _LN_FORWARD), H_r[w], C_r[w])
            else:
                k.lstm_forward(B, H, hw, X_r[t], H_r[p], C_r[p], M_r[t], rows["A"][t],
                               rows["TC"][t], H_r[w], C_r[w])
    return *_outputs(Hb, Cb, mask, reverse), Hb, Cb, saved


# the saved buffers in the order of the layer norm kernels' arguments
_LN_FORWARD = ("RX", "NH", "RH", "A", "CH", "RC", "TC")
_LN_BACKWARD = ("NX", "RX", "NH", "RH", "A", "CH", "RC", "TC")


def _backward(k, layer_norm: bool, W_hh: Tensor, Hb: Tensor, Cb: Tensor, saved: dict, ln: tuple,
              mask: Tensor | None, reverse: bool, d_out, d_hT, d_cT):
    """d xw (the gates' pre-activations; for the layer norm d (x @ W_ih.T)), d hw (the
    recurrent GEMM's output; without the layer norm d xw again), the layer norm's (d gain_ih,
    d b_ih, d gain_hh, d gain_c, d shift_c) (else ()), d h_0 and d c_0."""
    T, B, G = saved["A"].shape
    H = G // 4
    d_out = Hb.new_zeros(T, B, H) if d_out is None else d_out.contiguous()
    dh = Hb.new_zeros(B, H) if d_hT is None else d_hT.contiguous().clone()
    dc = Hb.new_zeros(B, H) if d_cT is None else d_cT.contiguous().clone()
    carry = Hb.new_zeros(B, H)  # d h passed through padded steps
    gemm = _gemm_weights(k, W_hh, B, True)  # d hw -> d h_{t-1}
    # d xw (for the layer norm d (x @ W_ih.T)) and d hw: dead when _LSTMLoop.backward returns
    DA = workspace(Hb, "lstm-da", (T, B, G))
    DHW = workspace(Hb, "lstm-dhw", (T, B, G)) if layer_norm else DA
    # the gains' and b_ih's gradients summed over steps per batch row (rows summed below),
    # and d y's row
    acc = [Hb.new_zeros(B, n) for n in (G, G, G, H, H, H)] if layer_norm else []
    gains = tuple(ln[i].detach().contiguous() for i in (0, 1, 2)) if layer_norm else ()
    if isinstance(k, _CKernels):
        dh_next, threads = Hb.new_empty(B, H), _threads(B, H)
        if layer_norm:
            scratch = Hb.new_empty(threads, 8 * H)  # one slice per thread
            k.lnlstm_backward_loop(threads, T, B, H, reverse, _ptr(gemm), _ptr(d_out), _ptr(mask),
                                   *map(_ptr, gains), *(_ptr(saved[n]) for n in _LN_BACKWARD),
                                   _ptr(Cb), _ptr(dh), _ptr(carry), _ptr(dc), _ptr(DA),
                                   _ptr(DHW), _ptr(acc[5]), _ptr(scratch), _ptr(dh_next),
                                   *map(_ptr, acc[:5]))
        else:
            k.lstm_backward_loop(threads, T, B, H, reverse, _ptr(gemm), _ptr(d_out), _ptr(mask),
                                 _ptr(saved["A"]), _ptr(saved["TC"]), _ptr(Cb), _ptr(dh),
                                 _ptr(carry), _ptr(dc), _ptr(DA), _ptr(dh_next))
    else:
        rows = {name: b.unbind(0) for name, b in saved.items()}
        C_r, DO_r, DA_r, DHW_r = Cb.unbind(0), d_out.unbind(0), DA.unbind(0), DHW.unbind(0)
        M_r = [None] * T if mask is None else mask.unbind(0)
        for t in range(T) if reverse else reversed(range(T)):
            p, _ = _slots(reverse, t)
            if layer_norm:
                k.lnlstm_backward(B, H, dh, DO_r[t], M_r[t], *gains,
                                  *(rows[n][t] for n in _LN_BACKWARD), C_r[p], carry, dc,
                                  DA_r[t], DHW_r[t], acc[5], None, *acc[:5])
            else:
                k.lstm_backward(B, H, dh, DO_r[t], M_r[t], rows["A"][t], rows["TC"][t], C_r[p],
                                carry, dc, DA_r[t])
            dh = gemm(DHW_r[t])
    d_ln = tuple(a.sum(0) for a in acc[:5])  # d gain_ih, d b_ih, d gain_hh, d gain_c, d shift_c
    return DA, DHW, d_ln, dh + carry, dc


class _LSTMLoop(torch.autograd.Function):
    """One direction of an LSTM / LayerNorm-LSTM layer, input GEMM included; differentiable
    once. Arguments as :func:`_forward`'s."""

    @staticmethod
    def forward(ctx, layer_norm, eps, mask, reverse, projection, x, W_ih, W_hh, bias, h0, c0,
                *ln):
        out, hT, cT, Hb, Cb, saved = _forward(kernels_for(x), layer_norm, eps, x, W_ih, W_hh,
                                              bias, h0, c0, ln, mask, reverse, True, projection)
        ctx.layer_norm, ctx.mask, ctx.reverse = layer_norm, mask, reverse
        ctx.has_bias = bias is not None
        ctx.names = sorted(saved)
        ctx.save_for_backward(x, W_ih, W_hh, Hb, Cb, *(saved[name] for name in ctx.names), *ln)
        return out, hT, cT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_hT, d_cT):
        x, W_ih, W_hh, Hb, Cb, *rest = ctx.saved_tensors
        saved = dict(zip(ctx.names, rest[: len(ctx.names)]))
        ln = rest[len(ctx.names):]
        DA, DHW, d_ln, dh, dc = _backward(kernels_for(Hb), ctx.layer_norm, W_hh, Hb, Cb,
                                          saved, ln, ctx.mask, ctx.reverse, d_out, d_hT, d_cT)
        need = ctx.needs_input_grad[1:]  # x: need[4], W_ih, W_hh, bias, h0, c0, the gains
        H_prev = (Hb[1:] if ctx.reverse else Hb[:-1]).flatten(0, 1)
        DA2, x2 = DA.flatten(0, 1), x.detach().flatten(0, 1)
        d_x = dense(DA2, W_ih.detach().t()).view(x.shape) if need[4] else None
        if not ctx.layer_norm and need[5] and need[6]:  # one GEMM: d [W_ih | W_hh]
            d_W = weight_grad(DA2, torch.cat([x2, H_prev], 1))
            d_W_ih, d_W_hh = d_W[:, : x2.shape[1]], d_W[:, x2.shape[1] :]
        else:
            d_W_ih = weight_grad(DA2, x2) if need[5] else None
            d_W_hh = weight_grad(DHW.flatten(0, 1), H_prev) if need[6] else None
        if not ctx.has_bias or not need[7]:
            d_b = None
        else:  # the layer norm's d b_ih summed in the loop
            d_b = d_ln[1] if ctx.layer_norm else DA2.sum(0)
        d_ln = (d_ln[0], *d_ln[2:]) if ctx.layer_norm else ()
        d_ln = tuple(g if n else None for g, n in zip(d_ln, need[10:]))
        return (None, None, None, None, None, d_x, d_W_ih, d_W_hh, d_b, dh, dc, *d_ln)


def _inference(k, cell, x: Tensor, h0: Tensor, c0: Tensor, mask: Tensor | None, reverse: bool,
               projection: str = "separate"):
    """Inference of a plain LSTMCell, the input projected as :func:`_forward`'s ``projection``
    says."""
    bias = None if cell.bias_ih is None else cell.bias_ih + cell.bias_hh
    out, h, c, *_ = _forward(k, False, (), x, cell.weight_ih, cell.weight_hh, bias, h0, c0, (),
                             mask, reverse, False, projection)
    return out, (h, c)


def _projection(k, cell, x, h0, c0, mask, reverse) -> str:
    """How the plain cell's loop gets its input projection (``projection`` of
    :func:`_forward`, for inference and training alike): ``"separate"``, ``"in-loop"`` or
    (on several threads) ``"in-loop-columns"``, measured once per (T and B rounded up to powers
    of two, sizes, masked, dtype, threads, host) on inference (best of 3 after a warm-up; an
    in-loop one must win by ``gemm.MARGIN``), cached beside the kernels in ``gemm.json``."""
    T, B, I = x.shape
    H = cell.hidden_size
    if not gemms.measured(T * B * (I + H) * 4 * H):
        return "separate"
    key = "/".join(map(str, ["lstm-infer", gemms.pow2(T), gemms.pow2(B), I, H,
                             int(mask is not None), str(x.dtype).removeprefix("torch."),
                             torch.get_num_threads(), cbuild.host_key(kernel_target())]))
    with torch.no_grad():
        return gemms.choice(key, lambda: _time_inference(k, cell, x, h0, c0, mask, reverse),
                            "separate", "in-loop", "in-loop-columns")


def _time_inference(k, cell, x, h0, c0, mask, reverse) -> dict[str, float]:
    """Best-of-3 seconds (after a warm-up) of :func:`_inference` with each projection (the
    column split only when the loop runs on several threads)."""
    names = ["separate", "in-loop"]
    if _threads(x.shape[1], cell.hidden_size) > 1:
        names.append("in-loop-columns")
    runs = {name: lambda *args, p=name: _inference(*args, p) for name in names}
    return gemms.best_times(runs, k, cell, x, h0, c0, mask, reverse)


def unroll(cell, x: Tensor, state, mask: Tensor | None, reverse: bool = False):
    """``recurrent.unroll``'s contract for LSTMCell (no projection) and LayerNormLSTMCell."""
    layer_norm = type(cell) is LayerNormLSTMCell
    h0, c0 = state
    b_hh = cell.bias_hh
    m = None if mask is None else mask.reshape(mask.shape[0], -1).contiguous()  # (T, B) bool
    grad = torch.is_grad_enabled() and any(
        p.requires_grad for p in (x, h0, c0, *cell.parameters()))
    k = kernels_for(x)
    projection = "separate" if layer_norm or not isinstance(k, _CKernels) else _projection(
        k, cell, x, h0, c0, m, reverse)  # measured on inference, used by training too
    if not grad and not layer_norm:  # inference of the plain cell
        with torch.no_grad():
            return _inference(k, cell, x, h0, c0, m, reverse, projection)
    if layer_norm:  # LN_ih and b_ih applied in the loop
        bias, eps = cell.bias_ih, (cell.ln_ih.eps, cell.ln_hh.eps, cell.ln_c.eps)
        ln = (cell.ln_ih.weight, cell.ln_hh.weight, cell.ln_c.weight, cell.ln_c.bias)
    else:  # b_ih + b_hh added by the input GEMM
        bias = None if cell.bias_ih is None else cell.bias_ih + b_hh
        ln, eps = (), ()
    tensors = (x, cell.weight_ih, cell.weight_hh, bias, h0, c0, *ln)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        out, h, c = _LSTMLoop.apply(layer_norm, eps, m, reverse, projection, *tensors)
    else:
        with torch.no_grad():
            out, h, c, *_ = _forward(k, layer_norm, eps, x, cell.weight_ih, cell.weight_hh, bias,
                                     h0, c0, ln, m, reverse, False, projection)
    return out, (h, c)
