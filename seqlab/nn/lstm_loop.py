"""LSTM and LayerNorm-LSTM time loops of the ``compiled`` backend, with a hand-written backward.

One direction of one layer is one autograd node. With ``xw = x @ W_ih.T + b_ih`` computed for
all steps by one GEMM outside (``LN_ih`` applied there too for the layer-norm cell)::

    forward, each t:   hw = h @ W_hh.T                          (GEMM, B x H by H x 4H)
                       gates, state and output from (xw_t, hw, h, c): one fused kernel
    backward, each t:  d gates from (d h, d c) and the saved gates: one fused kernel
                       d h_{t-1} = d hw @ W_hh                  (GEMM)
    then, once:        d W_hh = dHW.T @ H_prev, d b_hh, d gains (big GEMM / sums over T*B)

LSTMCell (``b = b_ih + b_hh``, both folded into ``xw``)::

    i, f, g, o = (xw + hw).chunk(4)          ->  i, f, o = sigmoid(.),  g = tanh(.)
    c' = f * c + i * g;   h' = o * tanh(c')

    backward, with e = d h' (from the output and from step t+1) and dc = d c' (from t+1):
    dc~ = dc + e * o * (1 - tanh(c')^2)
    d o = e * tanh(c') * o * (1 - o);   d i = dc~ * g * i * (1 - i)
    d f = dc~ * c * f * (1 - f);        d g = dc~ * i * (1 - g^2);   d c = dc~ * f

LayerNormLSTMCell (``hw^ = (hw - mean) * rstd`` over the 4H gates, ``c^`` likewise over H)::

    i, f, g, o = (xw + gain_hh * hw^).chunk(4);   c' = f * c + i * g
    y = gain_c * c'^ + shift_c;                   h' = o * tanh(y)

    backward: d y = e * o * (1 - tanh(y)^2),  d o = e * tanh(y) * o * (1 - o);
    dc~ = dc + rstd_c * (d c'^ - mean(d c'^) - c'^ * mean(d c'^ * c'^)),  d c'^ = d y * gain_c
    (gates as above); d hw = rstd_hh * (d hw^ - mean(d hw^) - hw^ * mean(d hw^ * hw^)),
    d hw^ = d a * gain_hh;  d gain_hh = sum(d a * hw^), d gain_c = sum(d y * c'^),
    d shift_c = sum(d y).

Padded steps (``mask`` False) keep h and c and output 0: their gates get no gradient and d h,
d c pass through to the step before.

The gates are saved in the forward (after their sigmoid/tanh), so the backward recomputes
nothing. The pointwise kernels are a small C file compiled once with the system's C compiler
(``cc -O3 -march=native``, loaded with ctypes; ``exp`` vectorized through glibc's libmvec), which
does per step in one call what would otherwise be 7-15 PyTorch ops (each op's dispatch costs
about as much as its arithmetic at B = 20, H = 200). Without a C compiler, on GPU, or for other
dtypes than float32/float64 the same kernels run as PyTorch ops (:class:`_TorchKernels`).
``SEQLAB_NO_C_KERNELS=1`` forces that path.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import weakref

import torch
from torch import Tensor

log = logging.getLogger(__name__)

_C_TEMPLATE = r"""
#define ONE ((T)1)
#define TWO ((T)2)
#define SIG(x) (ONE / (ONE + EXP(-(x))))
#define TANH(x) (ONE - TWO / (EXP(TWO * (x)) + ONE))
#define R restrict

static T mean_of(long n, const T* R x) {
    T s = 0;
    #pragma omp simd reduction(+:s)
    for (long j = 0; j < n; j++) s += x[j];
    return s / (T)n;
}

/* LN backward over n: out = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gain */
static void ln_back(long n, const T* R dy, const T* R gain, const T* R xhat, T rstd,
                    T* R g, T* R out) {
    T s1 = 0, s2 = 0;
    #pragma omp simd reduction(+:s1, s2)
    for (long j = 0; j < n; j++) { T v = dy[j] * gain[j]; g[j] = v; s1 += v; s2 += v * xhat[j]; }
    s1 /= (T)n; s2 /= (T)n;
    for (long j = 0; j < n; j++) out[j] = rstd * (g[j] - s1 - xhat[j] * s2);
}

/* LN forward over n without gain: xhat = (x - mean) * rstd; returns rstd */
static T ln_fwd(long n, T eps, const T* R x, T* R xhat) {
    T m = mean_of(n, x), v = 0;
    #pragma omp simd reduction(+:v)
    for (long j = 0; j < n; j++) { T d = x[j] - m; v += d * d; }
    T r = ONE / SQRT(v / (T)n + eps);
    for (long j = 0; j < n; j++) xhat[j] = (x[j] - m) * r;
    return r;
}

/* a holds the 4H pre-activations: i, f, o -> sigmoid, g -> tanh */
static void activate(long H, T* R a) {
    for (long j = 0; j < 2 * H; j++) a[j] = SIG(a[j]);
    for (long j = 2 * H; j < 3 * H; j++) a[j] = TANH(a[j]);
    for (long j = 3 * H; j < 4 * H; j++) a[j] = SIG(a[j]);
}

static void keep(long H, const T* R hp, const T* R cp, T* R h, T* R c) {
    for (long j = 0; j < H; j++) { h[j] = hp[j]; c[j] = cp[j]; }
}

void lstm_forward_SUF(long B, long H, const T* R hw, const T* R xw, const T* R h_prev,
                      const T* R c_prev, const unsigned char* R mask, T* R act, T* R tc,
                      T* R h, T* R c) {
    for (long b = 0; b < B; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        T* R a = act + g4;
        for (long j = 0; j < 4 * H; j++) a[j] = hw[g4 + j] + xw[g4 + j];
        activate(H, a);
        for (long j = 0; j < H; j++) c[g1 + j] = a[H + j] * c_prev[g1 + j] + a[j] * a[2 * H + j];
        for (long j = 0; j < H; j++) tc[g1 + j] = TANH(c[g1 + j]);
        for (long j = 0; j < H; j++) h[g1 + j] = a[3 * H + j] * tc[g1 + j];
        if (mask && !mask[b]) keep(H, h_prev + g1, c_prev + g1, h + g1, c + g1);
    }
}

void lstm_backward_SUF(long B, long H, const T* R dh_next, const T* R d_out,
                       const unsigned char* R mask, const T* R act, const T* R tc,
                       const T* R c_prev, T* R carry, T* R dc, T* R dg) {
    for (long b = 0; b < B; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        const T* R a = act + g4;
        T* R d = dg + g4;
        if (mask && !mask[b]) {  /* padded: no gate gradient, d h and d c pass through */
            for (long j = 0; j < H; j++) carry[g1 + j] += dh_next[g1 + j];
            for (long j = 0; j < 4 * H; j++) d[j] = 0;
            continue;
        }
        for (long j = 0; j < H; j++) {
            T e = dh_next[g1 + j] + d_out[g1 + j] + carry[g1 + j];
            T i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[g1 + j];
            T dcn = dc[g1 + j] + e * o * (ONE - t * t);
            carry[g1 + j] = 0;
            d[j] = dcn * g * i * (ONE - i);
            d[H + j] = dcn * c_prev[g1 + j] * f * (ONE - f);
            d[2 * H + j] = dcn * i * (ONE - g * g);
            d[3 * H + j] = e * t * o * (ONE - o);
            dc[g1 + j] = dcn * f;
        }
    }
}

void lnlstm_forward_SUF(long B, long H, double eps_hh, double eps_c, const T* R hw,
                        const T* R xw, const T* R gain_hh, const T* R gain_c,
                        const T* R shift_c, const T* R h_prev, const T* R c_prev,
                        const unsigned char* R mask, T* R nhw, T* R rstd_hh, T* R act,
                        T* R chat, T* R rstd_c, T* R ty, T* R h, T* R c) {
    for (long b = 0; b < B; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        T* R a = act + g4;
        T* R n = nhw + g4;
        rstd_hh[b] = ln_fwd(4 * H, (T)eps_hh, hw + g4, n);
        for (long j = 0; j < 4 * H; j++) a[j] = xw[g4 + j] + gain_hh[j] * n[j];
        activate(H, a);
        for (long j = 0; j < H; j++) c[g1 + j] = a[H + j] * c_prev[g1 + j] + a[j] * a[2 * H + j];
        rstd_c[b] = ln_fwd(H, (T)eps_c, c + g1, chat + g1);
        for (long j = 0; j < H; j++) ty[g1 + j] = TANH(gain_c[j] * chat[g1 + j] + shift_c[j]);
        for (long j = 0; j < H; j++) h[g1 + j] = a[3 * H + j] * ty[g1 + j];
        if (mask && !mask[b]) keep(H, h_prev + g1, c_prev + g1, h + g1, c + g1);
    }
}

void lnlstm_backward_SUF(long B, long H, const T* R dh_next, const T* R d_out,
                         const unsigned char* R mask, const T* R gain_hh, const T* R gain_c,
                         const T* R nhw, const T* R rstd_hh, const T* R act, const T* R chat,
                         const T* R rstd_c, const T* R ty, const T* R c_prev, T* R carry,
                         T* R dc, T* R da, T* R dhw, T* R dy, T* R scratch) {
    for (long b = 0; b < B; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        const T* R a = act + g4;
        T* R d = da + g4;
        if (mask && !mask[b]) {
            for (long j = 0; j < H; j++) { carry[g1 + j] += dh_next[g1 + j]; dy[g1 + j] = 0; }
            for (long j = 0; j < 4 * H; j++) { d[j] = 0; dhw[g4 + j] = 0; }
            continue;
        }
        for (long j = 0; j < H; j++) {
            T e = dh_next[g1 + j] + d_out[g1 + j] + carry[g1 + j], o = a[3 * H + j];
            T t = ty[g1 + j];
            carry[g1 + j] = 0;
            dy[g1 + j] = e * o * (ONE - t * t);
            d[3 * H + j] = e * t * o * (ONE - o);
        }
        ln_back(H, dy + g1, gain_c, chat + g1, rstd_c[b], scratch, scratch + H);
        for (long j = 0; j < H; j++) {
            T i = a[j], f = a[H + j], g = a[2 * H + j];
            T dcn = dc[g1 + j] + scratch[H + j];
            d[j] = dcn * g * i * (ONE - i);
            d[H + j] = dcn * c_prev[g1 + j] * f * (ONE - f);
            d[2 * H + j] = dcn * i * (ONE - g * g);
            dc[g1 + j] = dcn * f;
        }
        ln_back(4 * H, d, gain_hh, nhw + g4, rstd_hh[b], scratch, dhw + g4);
    }
}
"""

_C_HEADER = """#include <math.h>
extern float expf(float) __attribute__((simd("notinbranch")));
extern double exp(double) __attribute__((simd("notinbranch")));
"""


def _c_source() -> str:
    """The kernels for float (``_f32``) and double (``_f64``)."""
    parts = [_C_HEADER]
    for ctype, suffix, exp, sqrt in (("float", "f32", "expf", "sqrtf"),
                                     ("double", "f64", "exp", "sqrt")):
        body = _C_TEMPLATE.replace("_SUF", f"_{suffix}")
        for name in ("mean_of", "ln_back", "ln_fwd", "activate", "keep"):
            body = body.replace(f"{name}(", f"{name}_{suffix}(")
        parts.append(f"#define T {ctype}\n#define EXP {exp}\n#define SQRT {sqrt}\n{body}\n"
                     "#undef T\n#undef EXP\n#undef SQRT\n#undef ONE\n#undef TWO\n#undef SIG\n"
                     "#undef TANH\n#undef R\n")
    return "\n".join(parts)


_FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fopenmp-simd", "-shared", "-fPIC"]
_SIGNATURES = {  # name -> (number of leading longs, doubles, then pointers)
    "lstm_forward": (2, 0, 9),
    "lstm_backward": (2, 0, 9),
    "lnlstm_forward": (2, 2, 16),
    "lnlstm_backward": (2, 0, 18),
}
_library_cache: list = []  # [ctypes.CDLL or None], filled on first use


def _build() -> ctypes.CDLL | None:
    if os.environ.get("SEQLAB_NO_C_KERNELS"):
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.info("no C compiler found: the LSTM kernels of backend='compiled' run as PyTorch ops")
        return None
    source = _c_source()
    key = hashlib.sha256("\0".join([source, compiler, *_FLAGS, sys.platform]).encode())
    folder = os.path.join(tempfile.gettempdir(), f"seqlab-kernels-{os.getuid()}")
    path = os.path.join(folder, f"lstm_{key.hexdigest()[:16]}.so")
    try:
        if not os.path.exists(path):
            os.makedirs(folder, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder) as work:
                src = os.path.join(work, "lstm.c")
                with open(src, "w") as f:
                    f.write(source)
                out = os.path.join(work, "lstm.so")
                subprocess.run([compiler, *_FLAGS, src, "-o", out, "-lm"], check=True,
                               capture_output=True, text=True, timeout=120)
                os.replace(out, path)  # atomic: concurrent builders write the same file
        lib = ctypes.CDLL(path)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", "") or error
        log.warning("building the C kernels of backend='compiled' failed (%s); the LSTM "
                    "kernels run as PyTorch ops", str(detail).strip()[:500])
        return None
    for suffix in ("f32", "f64"):
        for name, (longs, doubles, pointers) in _SIGNATURES.items():
            fn = getattr(lib, f"{name}_{suffix}")
            fn.argtypes = ([ctypes.c_long] * longs + [ctypes.c_double] * doubles
                           + [ctypes.c_void_p] * pointers)
            fn.restype = None
    return lib


def c_library() -> ctypes.CDLL | None:
    """The compiled kernels (built on first call), or None if they cannot be built here."""
    if not _library_cache:
        _library_cache.append(_build())
    return _library_cache[0]


# --------------------------------------------------------------------------------- kernels
class _CKernels:
    """The C kernels for one dtype; tensors are passed as data pointers (rows of buffers)."""

    def __init__(self, lib: ctypes.CDLL, suffix: str) -> None:
        for name in _SIGNATURES:
            setattr(self, name, getattr(lib, f"{name}_{suffix}"))

    @staticmethod
    def rows(t: Tensor) -> list:
        """Per-index handles of a contiguous buffer's first dimension."""
        step = t[0].numel() * t.element_size()
        base = t.data_ptr()
        return [base + k * step for k in range(t.shape[0])]

    @staticmethod
    def handle(t: Tensor | None):
        return None if t is None else t.data_ptr()


class _TorchKernels:
    """The same kernels as PyTorch ops (any device and dtype); same arguments as the C ones."""

    @staticmethod
    def rows(t: Tensor) -> list:
        return list(t.unbind(0))

    @staticmethod
    def handle(t: Tensor | None):
        return t

    @staticmethod
    def _activate(a: Tensor, H: int) -> None:
        a[:, : 2 * H].sigmoid_()
        a[:, 2 * H : 3 * H].tanh_()
        a[:, 3 * H :].sigmoid_()

    @staticmethod
    def _keep(mask, h_prev, c_prev, h, c) -> None:
        if mask is not None:
            m = mask.unsqueeze(1)
            h.copy_(torch.where(m, h, h_prev))
            c.copy_(torch.where(m, c, c_prev))

    @staticmethod
    def _incoming(dh_next, d_out, mask, carry):
        """e = d h' at real steps (0 at padded ones); carry collects the pass-through."""
        e = dh_next + d_out + carry
        if mask is None:
            carry.zero_()
            return e, None
        m = mask.unsqueeze(1)
        carry.copy_(torch.where(m, 0, carry + dh_next))
        return torch.where(m, e, 0), m

    @classmethod
    def lstm_forward(cls, B, H, hw, xw, h_prev, c_prev, mask, act, tc, h, c):
        torch.add(hw, xw, out=act)
        cls._activate(act, H)
        i, f, g, o = act.chunk(4, 1)
        torch.mul(i, g, out=c)
        c.addcmul_(f, c_prev)
        torch.tanh(c, out=tc)
        torch.mul(o, tc, out=h)
        cls._keep(mask, h_prev, c_prev, h, c)

    @classmethod
    def lstm_backward(cls, B, H, dh_next, d_out, mask, act, tc, c_prev, carry, dc, dg):
        e, m = cls._incoming(dh_next, d_out, mask, carry)
        i, f, g, o = act.chunk(4, 1)
        dcn = dc + e * o * (1 - tc * tc)
        if m is not None:
            dcn = torch.where(m, dcn, 0)
        torch.cat([dcn * g * i * (1 - i), dcn * c_prev * f * (1 - f), dcn * i * (1 - g * g),
                   e * tc * o * (1 - o)], 1, out=dg)
        dc.copy_(dcn * f if m is None else torch.where(m, dcn * f, dc))

    @staticmethod
    def _ln(x, eps):
        mean = x.mean(1, keepdim=True)
        rstd = torch.rsqrt((x - mean).pow(2).mean(1, keepdim=True) + eps)
        return (x - mean) * rstd, rstd

    @staticmethod
    def _ln_back(dy, gain, xhat, rstd):
        g = dy * gain
        return rstd * (g - g.mean(1, keepdim=True) - xhat * (g * xhat).mean(1, keepdim=True))

    @classmethod
    def lnlstm_forward(cls, B, H, eps_hh, eps_c, hw, xw, gain_hh, gain_c, shift_c, h_prev,
                       c_prev, mask, nhw, rstd_hh, act, chat, rstd_c, ty, h, c):
        n, r = cls._ln(hw, eps_hh)
        nhw.copy_(n)
        rstd_hh.copy_(r.squeeze(1))
        torch.addcmul(xw, gain_hh, n, out=act)
        cls._activate(act, H)
        i, f, g, o = act.chunk(4, 1)
        torch.mul(i, g, out=c)
        c.addcmul_(f, c_prev)
        n, r = cls._ln(c, eps_c)
        chat.copy_(n)
        rstd_c.copy_(r.squeeze(1))
        torch.tanh(torch.addcmul(shift_c, gain_c, n), out=ty)
        torch.mul(o, ty, out=h)
        cls._keep(mask, h_prev, c_prev, h, c)

    @classmethod
    def lnlstm_backward(cls, B, H, dh_next, d_out, mask, gain_hh, gain_c, nhw, rstd_hh, act,
                        chat, rstd_c, ty, c_prev, carry, dc, da, dhw, dy, scratch):
        e, m = cls._incoming(dh_next, d_out, mask, carry)
        i, f, g, o = act.chunk(4, 1)
        torch.mul(e * o, 1 - ty * ty, out=dy)
        dcn = dc + cls._ln_back(dy, gain_c, chat, rstd_c.unsqueeze(1))
        if m is not None:
            dcn = torch.where(m, dcn, 0)
        torch.cat([dcn * g * i * (1 - i), dcn * c_prev * f * (1 - f), dcn * i * (1 - g * g),
                   e * ty * o * (1 - o)], 1, out=da)
        dhw.copy_(cls._ln_back(da, gain_hh, nhw, rstd_hh.unsqueeze(1)))
        dc.copy_(dcn * f if m is None else torch.where(m, dcn * f, dc))


def kernels_for(t: Tensor):
    """C kernels for CPU float32/float64 tensors when they build here, else PyTorch ops."""
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        lib = c_library()
        if lib is not None:
            return _CKernels(lib, "f32" if t.dtype == torch.float32 else "f64")
    return _TorchKernels


# --------------------------------------------------------------------------------- loops
_packs: dict[int, tuple] = {}  # id(W) -> (weakref to W, {key: gemm}), dropped with W


def _recurrent_gemm(W: Tensor, batch_size: int, transpose: bool):
    """``h -> h @ W.T`` (``transpose``: ``d -> d @ W``) with W packed for the GEMM once per
    weight value: the pack is kept while ``W`` is not modified (same ``_version``), so repeated
    calls with unchanged weights (evaluation, benchmarks) skip the reorder."""
    from seqlab.nn.compiled import _matmul

    key = (W._version, W.data_ptr(), batch_size, transpose)
    ref, entries = _packs.get(id(W), (None, None))
    if ref is None or ref() is not W:
        entries = {}
        _packs[id(W)] = (weakref.ref(W), entries)
        weakref.finalize(W, _packs.pop, id(W), None)
    if key not in entries:
        stale = [k for k in entries if k[:2] != key[:2]]
        for k in stale:
            del entries[k]
        entries[key] = _matmul(W.detach().t().contiguous() if transpose else W.detach(), None,
                               batch_size)
    return entries[key]


def _slots(T: int, reverse: bool, t: int) -> tuple[int, int]:
    """(slot read, slot written) by step t in the (T + 1)-slot state buffers."""
    return (t + 1, t) if reverse else (t, t + 1)


def _forward(k, layer_norm: bool, eps: tuple, xw: Tensor, W_hh: Tensor, b_hh, h0: Tensor,
             c0: Tensor, ln: tuple, mask: Tensor | None, reverse: bool, keep: bool):
    """Runs the loop; returns (out, h_T, c_T, saved buffers)."""
    T, B, G = xw.shape
    H = G // 4
    xw = (xw if b_hh is None else xw + b_hh).contiguous()
    Hb, Cb = xw.new_empty(T + 1, B, H), xw.new_empty(T + 1, B, H)
    first = T if reverse else 0
    Hb[first], Cb[first] = h0, c0
    n = T if keep else 1  # without autograd the per-step buffers are scratch rows
    A, TC = xw.new_empty(n, B, G), xw.new_empty(n, B, H)
    saved = {"A": A, "TC": TC}
    rows = k.rows
    A_r, TC_r = rows(A) * (T // n), rows(TC) * (T // n)
    H_r, C_r, X_r, H_v = rows(Hb), rows(Cb), rows(xw), Hb.unbind(0)
    M_r = [None] * T if mask is None else rows(mask)
    recurrent = _recurrent_gemm(W_hh, B, False)
    handle = k.handle
    if layer_norm:
        NH, CH = xw.new_empty(n, B, G), xw.new_empty(n, B, H)
        RH, RC = xw.new_empty(n, B), xw.new_empty(n, B)
        saved.update(NH=NH, CH=CH, RH=RH, RC=RC)
        NH_r, CH_r, RH_r, RC_r = (rows(b) * (T // n) for b in (NH, CH, RH, RC))
        gains = tuple(handle(p.contiguous()) for p in ln)
        step = k.lnlstm_forward
        for t in reversed(range(T)) if reverse else range(T):
            p, w = _slots(T, reverse, t)
            hw = recurrent(H_v[p])  # kept alive across the call (C gets its pointer)
            step(B, H, *eps, handle(hw), X_r[t], *gains, H_r[p], C_r[p], M_r[t],
                 NH_r[t], RH_r[t], A_r[t], CH_r[t], RC_r[t], TC_r[t], H_r[w], C_r[w])
    else:
        step = k.lstm_forward
        for t in reversed(range(T)) if reverse else range(T):
            p, w = _slots(T, reverse, t)
            hw = recurrent(H_v[p])
            step(B, H, handle(hw), X_r[t], H_r[p], C_r[p], M_r[t], A_r[t],
                 TC_r[t], H_r[w], C_r[w])
    out = Hb[:-1] if reverse else Hb[1:]
    if mask is not None:
        out = out * mask.unsqueeze(-1)
    last = 0 if reverse else T
    return out, Hb[last].clone(), Cb[last].clone(), Hb, Cb, saved


class _LSTMLoop(torch.autograd.Function):
    """One direction of an LSTM / LayerNorm-LSTM layer; differentiable once."""

    @staticmethod
    def forward(ctx, layer_norm, eps, mask, reverse, xw, W_hh, b_hh, h0, c0, *ln):
        k = kernels_for(xw)
        out, hT, cT, Hb, Cb, saved = _forward(k, layer_norm, eps, xw, W_hh, b_hh, h0, c0, ln,
                                              mask, reverse, True)
        ctx.layer_norm, ctx.mask, ctx.reverse, ctx.has_bias = layer_norm, mask, reverse, \
            b_hh is not None
        ctx.weight = W_hh  # the Parameter itself: the key of its packed copies
        names = sorted(saved)
        ctx.names = names
        ctx.save_for_backward(W_hh, Hb, Cb, *(saved[name] for name in names), *ln)
        return out, hT, cT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_hT, d_cT):
        W_hh, Hb, Cb, *rest = ctx.saved_tensors
        saved = dict(zip(ctx.names, rest[: len(ctx.names)]))
        ln = rest[len(ctx.names):]
        mask, reverse = ctx.mask, ctx.reverse
        T, B, G = saved["A"].shape
        H = G // 4
        k = kernels_for(Hb)
        rows, handle = k.rows, k.handle
        d_out = Hb.new_zeros(T, B, H) if d_out is None else d_out.contiguous()
        dh = Hb.new_zeros(B, H) if d_hT is None else d_hT.contiguous()
        dc = Hb.new_zeros(B, H) if d_cT is None else d_cT.contiguous().clone()
        carry = Hb.new_zeros(B, H)
        carry_h, dc_h = handle(carry), handle(dc)
        back = _recurrent_gemm(ctx.weight, B, True)  # d hw -> d h_{t-1}
        C_r, DO_r = rows(Cb), rows(d_out)
        M_r = [None] * T if mask is None else rows(mask)
        A_r, TC_r = rows(saved["A"]), rows(saved["TC"])
        DA = Hb.new_empty(T, B, G)
        DA_r = rows(DA)
        order = range(T) if reverse else reversed(range(T))
        if ctx.layer_norm:
            DHW, DY = Hb.new_empty(T, B, G), Hb.new_empty(T, B, H)
            DHW_r, DY_r, DHW_v = rows(DHW), rows(DY), DHW.unbind(0)
            NH_r, CH_r, RH_r, RC_r = (rows(saved[n]) for n in ("NH", "CH", "RH", "RC"))
            gain_hh, gain_c = handle(ln[0].contiguous()), handle(ln[1].contiguous())
            work = Hb.new_empty(8 * H)
            scratch = handle(work)
            step = k.lnlstm_backward
            for t in order:
                p, _ = _slots(T, reverse, t)
                step(B, H, handle(dh), DO_r[t], M_r[t], gain_hh, gain_c, NH_r[t], RH_r[t],
                     A_r[t], CH_r[t], RC_r[t], TC_r[t], C_r[p], carry_h, dc_h, DA_r[t],
                     DHW_r[t], DY_r[t], scratch)
                dh = back(DHW_v[t])
        else:
            DHW, DA_v = DA, DA.unbind(0)
            step = k.lstm_backward
            for t in order:
                p, _ = _slots(T, reverse, t)
                step(B, H, handle(dh), DO_r[t], M_r[t], A_r[t], TC_r[t], C_r[p], carry_h, dc_h,
                     DA_r[t])
                dh = back(DA_v[t])
        dh = dh + carry
        flat = DHW.flatten(0, 1)  # (T * B, 4H)
        H_prev = Hb[1:] if reverse else Hb[:-1]
        need = ctx.needs_input_grad
        d_W = torch.mm(flat.t(), H_prev.flatten(0, 1)) if need[5] else None  # (4H, H)
        d_b = DA.sum((0, 1)) if ctx.has_bias and need[6] else None
        d_ln = ()
        if ctx.layer_norm:
            d_ln = ((DA * saved["NH"]).sum((0, 1)), (DY * saved["CH"]).sum((0, 1)),
                    DY.sum((0, 1)))
        return (None, None, None, None, DA, d_W, d_b, dh, dc, *d_ln)


def unroll(cell, x: Tensor, state, mask: Tensor | None, reverse: bool = False):
    """``recurrent.unroll``'s contract for LSTMCell (no projection) and LayerNormLSTMCell."""
    from seqlab.nn.cells import LayerNormLSTMCell
    from seqlab.nn.compiled import _Linear, project_input

    layer_norm = type(cell) is LayerNormLSTMCell
    h0, c0 = state
    b_hh = cell.bias_hh
    if layer_norm:
        xw = project_input(cell, x)  # (T, B, 4H): one GEMM for all steps, then LN_ih + b_ih
        ln, eps = (cell.ln_hh.weight, cell.ln_c.weight, cell.ln_c.bias), (cell.ln_hh.eps,
                                                                         cell.ln_c.eps)
    else:  # b_ih + b_hh added by the input GEMM
        bias = None if cell.bias_ih is None else cell.bias_ih + b_hh
        xw, b_hh, ln, eps = _Linear.apply(x, cell.weight_ih, bias), None, (), ()
    m = None if mask is None else mask.reshape(mask.shape[0], -1).contiguous()  # (T, B) bool
    tensors = (xw, cell.weight_hh, b_hh, h0, c0, *ln)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        out, h, c = _LSTMLoop.apply(layer_norm, eps, m, reverse, *tensors)
    else:
        with torch.no_grad():
            out, h, c, *_ = _forward(kernels_for(xw), layer_norm, eps, xw, cell.weight_hh,
                                     b_hh, h0, c0, ln, m, reverse, False)
    return out, (h, c)
