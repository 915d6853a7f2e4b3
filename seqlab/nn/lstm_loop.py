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
nothing. On CPU in float32/float64 each direction's whole time loop, forward and backward, is
one call into a small C file (:data:`_C_TEMPLATE`): its own GEMM for the recurrent product on
weights packed in 16-column panels (6 x 16 register blocks; faster than a oneDNN call per step
at B = 20, H = 200, where a call's overhead is a third of the GEMM) and the gate kernels above,
``exp`` vectorized through glibc's libmvec. It is built on first use with the system's C
compiler (``cc -O3 -march=native -fopenmp``, about a second) into ``~/.cache/seqlab/kernels``
and loaded with ctypes. It runs on ``torch.get_num_threads()`` threads (one OpenMP team per
call, in the runtime torch uses: each thread owns a share of the GEMM's column panels and of
the batch rows of the gate kernels, two barriers per step, so the results do not depend on the
thread count), or on one for a small step (``4 B H^2 < _MIN_WORK``) or when the compiler has
no OpenMP (the library is then built without it). Without a C
compiler (or with ``SEQLAB_NO_C_KERNELS=1``), on GPU, or for other dtypes, the same loop runs
in Python over PyTorch ops (:class:`_TorchKernels`, the GEMM through ``compiled._matmul``).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import torch
from torch import Tensor

log = logging.getLogger(__name__)

_C_TEMPLATE = r"""
#define ONE ((T)1)
#define TWO ((T)2)
#define SIG(x) (ONE / (ONE + EXP(-(x))))
#define TANH(x) (ONE - TWO / (EXP(TWO * (x)) + ONE))
#define R restrict


/* out (B x N) = a (B x K) @ W, W packed in panels of NR columns: wp[p][k][0:NR] = W[k][p*NR:..]
   (zero-padded). A 6 x NR register block per inner loop; each panel is read once per call. */
typedef T vec_SUF __attribute__((vector_size(32)));
#define LANES (32 / (long)sizeof(T))
#define NR (2 * LANES)
#define MICRO(MR) \
static inline void micro_SUF_##MR(long K, const T* R a, const T* R w, T* R out, long ldo, \
                                  long ncols) { \
    vec_SUF acc0[MR], acc1[MR]; \
    for (int r = 0; r < MR; r++) { acc0[r] = (vec_SUF){0}; acc1[r] = (vec_SUF){0}; } \
    for (long k = 0; k < K; k++) { \
        vec_SUF w0, w1; \
        memcpy(&w0, w + k * NR, sizeof(vec_SUF)); \
        memcpy(&w1, w + k * NR + LANES, sizeof(vec_SUF)); \
        for (int r = 0; r < MR; r++) { T x = a[r * K + k]; acc0[r] += x * w0; acc1[r] += x * w1; } \
    } \
    for (int r = 0; r < MR; r++) { \
        T tmp[NR]; \
        memcpy(tmp, &acc0[r], sizeof(vec_SUF)); \
        memcpy(tmp + LANES, &acc1[r], sizeof(vec_SUF)); \
        for (long j = 0; j < ncols; j++) out[r * ldo + j] = tmp[j]; \
    } \
}
MICRO(1) MICRO(2) MICRO(3) MICRO(4) MICRO(5) MICRO(6)
#undef MICRO

/* panels [np * tid / nth, np * (tid + 1) / nth): thread tid's share of the output columns */
static void gemm_part_SUF(long B, long K, long N, const T* R a, const T* R wp, T* R out,
                          long tid, long nth) {
    const long np = (N + NR - 1) / NR, p1 = np * (tid + 1) / nth;
    for (long p = np * tid / nth; p < p1; p++) {
        const T* w = wp + p * K * NR;
        T* o = out + p * NR;
        long ncols = N - p * NR < NR ? N - p * NR : NR, b = 0;
        for (; b + 6 <= B; b += 6) micro_SUF_6(K, a + b * K, w, o + b * N, N, ncols);
        switch (B - b) {
            case 1: micro_SUF_1(K, a + b * K, w, o + b * N, N, ncols); break;
            case 2: micro_SUF_2(K, a + b * K, w, o + b * N, N, ncols); break;
            case 3: micro_SUF_3(K, a + b * K, w, o + b * N, N, ncols); break;
            case 4: micro_SUF_4(K, a + b * K, w, o + b * N, N, ncols); break;
            case 5: micro_SUF_5(K, a + b * K, w, o + b * N, N, ncols); break;
            default: break;
        }
    }
}

void gemm_SUF(long B, long K, long N, const T* R a, const T* R wp, T* R out) {
    gemm_part_SUF(B, K, N, a, wp, out, 0, 1);
}
#undef NR
#undef LANES

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

void lstm_forward_SUF(long b0, long b1, long H, const T* R hw, const T* R xw, const T* R h_prev,
                      const T* R c_prev, const unsigned char* R mask, T* R act, T* R tc,
                      T* R h, T* R c) {
    for (long b = b0; b < b1; b++) {
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

void lstm_backward_SUF(long b0, long b1, long H, const T* R dh_next, const T* R d_out,
                       const unsigned char* R mask, const T* R act, const T* R tc,
                       const T* R c_prev, T* R carry, T* R dc, T* R dg) {
    for (long b = b0; b < b1; b++) {
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

void lnlstm_forward_SUF(long b0, long b1, long H, double eps_hh, double eps_c, const T* R hw,
                        const T* R xw, const T* R gain_hh, const T* R gain_c,
                        const T* R shift_c, const T* R h_prev, const T* R c_prev,
                        const unsigned char* R mask, T* R nhw, T* R rstd_hh, T* R act,
                        T* R chat, T* R rstd_c, T* R ty, T* R h, T* R c) {
    for (long b = b0; b < b1; b++) {
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

void lnlstm_backward_SUF(long b0, long b1, long H, const T* R dh_next, const T* R d_out,
                         const unsigned char* R mask, const T* R gain_hh, const T* R gain_c,
                         const T* R nhw, const T* R rstd_hh, const T* R act, const T* R chat,
                         const T* R rstd_c, const T* R ty, const T* R c_prev, T* R carry,
                         T* R dc, T* R da, T* R dhw, T* R dy, T* R scratch) {
    for (long b = b0; b < b1; b++) {
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

/* Whole time loops. State buffers have steps + 1 slots; step t reads slot t and writes t + 1
   (reverse: reads t + 1, writes t). Per-step buffers (A...) have one slot when !keep. */
#ifdef _OPENMP
#include <omp.h>
#define TEAM(nt) _Pragma("omp parallel num_threads(nt) if(nt > 1)")
#define THREAD_ID omp_get_thread_num()
#define THREADS omp_get_num_threads()
#define BARRIER if (nth > 1) { _Pragma("omp barrier") }
#else
#define TEAM(nt)
#define THREAD_ID 0
#define THREADS 1
#define BARRIER
#endif
/* Inside a loop each of the nt threads owns rows [b0, b1) of the gate kernels and a share of
   the GEMM's column panels: every value is computed by the same code whatever nt is. */
#define ROWS const long tid = THREAD_ID, nth = THREADS, b0 = B * tid / nth, \
    b1 = B * (tid + 1) / nth;
#define SLOTS(t) long rd = reverse ? (t) + 1 : (t), wr = reverse ? (t) : (t) + 1, \
    ks = keep ? (t) : 0;
void lstm_forward_loop_SUF(long nt, long steps, long B, long H, long reverse, long keep,
                           const T* R wp, const T* R xw, const unsigned char* R mask,
                           T* R Hb, T* R Cb, T* R A, T* R TC, T* R hw) {
    const long s1 = B * H, s4 = 4 * B * H;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? steps - 1 - n : n;
        SLOTS(t)
        gemm_part_SUF(B, H, 4 * H, Hb + rd * s1, wp, hw, tid, nth);
        BARRIER
        lstm_forward_SUF(b0, b1, H, hw, xw + t * s4, Hb + rd * s1, Cb + rd * s1,
                         mask ? mask + t * B : 0, A + ks * s4, TC + ks * s1, Hb + wr * s1,
                         Cb + wr * s1);
        BARRIER
    }
    }
}

void lstm_backward_loop_SUF(long nt, long steps, long B, long H, long reverse, const T* R wp,
                            const T* R d_out, const unsigned char* R mask, const T* R A,
                            const T* R TC, const T* R Cb, T* R dh, T* R carry, T* R dc,
                            T* R DA, T* R dh_next) {
    const long s1 = B * H, s4 = 4 * B * H, keep = 1;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? n : steps - 1 - n;
        SLOTS(t)
        (void)wr; (void)ks;
        memcpy(dh_next + b0 * H, dh + b0 * H, sizeof(T) * (b1 - b0) * H);
        lstm_backward_SUF(b0, b1, H, dh_next, d_out + t * s1, mask ? mask + t * B : 0, A + t * s4,
                          TC + t * s1, Cb + rd * s1, carry, dc, DA + t * s4);
        BARRIER
        gemm_part_SUF(B, 4 * H, H, DA + t * s4, wp, dh, tid, nth);
        BARRIER
    }
    }
}

void lnlstm_forward_loop_SUF(long nt, long steps, long B, long H, long reverse, long keep,
                             double eps_hh, double eps_c, const T* R wp, const T* R xw,
                             const T* R gain_hh, const T* R gain_c, const T* R shift_c,
                             const unsigned char* R mask, T* R Hb, T* R Cb, T* R NH, T* R RH,
                             T* R A, T* R CH, T* R RC, T* R TY, T* R hw) {
    const long s1 = B * H, s4 = 4 * B * H;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? steps - 1 - n : n;
        SLOTS(t)
        gemm_part_SUF(B, H, 4 * H, Hb + rd * s1, wp, hw, tid, nth);
        BARRIER
        lnlstm_forward_SUF(b0, b1, H, eps_hh, eps_c, hw, xw + t * s4, gain_hh, gain_c, shift_c,
                           Hb + rd * s1, Cb + rd * s1, mask ? mask + t * B : 0, NH + ks * s4,
                           RH + ks * B, A + ks * s4, CH + ks * s1, RC + ks * B, TY + ks * s1,
                           Hb + wr * s1, Cb + wr * s1);
        BARRIER
    }
    }
}

void lnlstm_backward_loop_SUF(long nt, long steps, long B, long H, long reverse, const T* R wp,
                              const T* R d_out, const unsigned char* R mask, const T* R gain_hh,
                              const T* R gain_c, const T* R NH, const T* R RH, const T* R A,
                              const T* R CH, const T* R RC, const T* R TY, const T* R Cb,
                              T* R dh, T* R carry, T* R dc, T* R DA, T* R DHW, T* R DY,
                              T* R scratch, T* R dh_next) {
    const long s1 = B * H, s4 = 4 * B * H, keep = 1;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? n : steps - 1 - n;
        SLOTS(t)
        (void)wr; (void)ks;
        memcpy(dh_next + b0 * H, dh + b0 * H, sizeof(T) * (b1 - b0) * H);
        lnlstm_backward_SUF(b0, b1, H, dh_next, d_out + t * s1, mask ? mask + t * B : 0, gain_hh,
                            gain_c, NH + t * s4, RH + t * B, A + t * s4, CH + t * s1,
                            RC + t * B, TY + t * s1, Cb + rd * s1, carry, dc, DA + t * s4,
                            DHW + t * s4, DY + t * s1, scratch + tid * 8 * H);
        BARRIER
        gemm_part_SUF(B, 4 * H, H, DHW + t * s4, wp, dh, tid, nth);
        BARRIER
    }
    }
}
#undef SLOTS
#undef ROWS
#undef TEAM
#undef THREAD_ID
#undef THREADS
#undef BARRIER
"""

_C_HEADER = """#include <math.h>
#include <string.h>
extern float expf(float) __attribute__((simd("notinbranch")));
extern double exp(double) __attribute__((simd("notinbranch")));
"""


def _c_source() -> str:
    """The kernels for float (``_f32``) and double (``_f64``)."""
    parts = [_C_HEADER]
    for ctype, suffix, exp, sqrt in (("float", "f32", "expf", "sqrtf"),
                                     ("double", "f64", "exp", "sqrt")):
        body = _C_TEMPLATE.replace("_SUF", f"_{suffix}")
        for name in ("mean_of", "ln_back", "ln_fwd", "activate", "keep("):
            name = name.rstrip("(")
            body = body.replace(f"{name}(", f"{name}_{suffix}(")
        parts.append(f"#define T {ctype}\n#define EXP {exp}\n#define SQRT {sqrt}\n{body}\n"
                     "#undef T\n#undef EXP\n#undef SQRT\n#undef ONE\n#undef TWO\n#undef SIG\n"
                     "#undef TANH\n#undef R\n")
    return "\n".join(parts)


_FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fopenmp-simd", "-shared", "-fPIC"]
# With OpenMP first (the loops then run on torch.get_num_threads() threads; the library links
# libgomp.so.1, the OpenMP runtime torch has already loaded, so both share one thread pool);
# without, if the compiler or the runtime lacks it (the loops then run on one thread).
_VARIANTS = (["-fopenmp"], [])
_SIGNATURES = {  # entry points -> (number of leading longs, doubles, then pointers)
    "gemm": (3, 0, 3),
    "lstm_forward_loop": (6, 0, 8),
    "lstm_backward_loop": (5, 0, 11),
    "lnlstm_forward_loop": (6, 2, 15),
    "lnlstm_backward_loop": (5, 0, 20),
}
# Below this many multiply-adds per step (4 B H^2) the loops stay on one thread: two barriers
# per step would cost more than the split saves.
_MIN_WORK = 1 << 17
_library_cache: list = []  # [ctypes.CDLL or None], filled on first use


def _cpu() -> str:
    """The CPU's name and feature flags: ``-march=native`` code is only reused on the same."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags"))][:2]
        return platform.machine() + "".join(lines)
    except OSError:
        return platform.machine() + platform.processor()


def _kernel_folder() -> str:
    """Where the built library is kept: ``$SEQLAB_KERNEL_DIR``, else ``~/.cache/seqlab/kernels``
    (or under ``$XDG_CACHE_HOME``); a folder we do not own or others can write to is not used."""
    folder = os.environ.get("SEQLAB_KERNEL_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "seqlab", "kernels")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
        if info.st_uid == os.getuid() and not info.st_mode & 0o022:
            return folder
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="seqlab-kernels-")  # private, for this process only


def _build() -> ctypes.CDLL | None:
    if os.environ.get("SEQLAB_NO_C_KERNELS"):
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.info("no C compiler found: the LSTM kernels of backend='compiled' run as PyTorch ops")
        return None
    source = _c_source()
    folder = _kernel_folder()
    for extra in _VARIANTS:
        flags = [*_FLAGS, *extra]
        key = hashlib.sha256("\0".join([source, compiler, *flags, sys.platform, _cpu()])
                             .encode())
        path = os.path.join(folder, f"lstm_{key.hexdigest()[:16]}.so")
        try:
            if not os.path.exists(path):
                with tempfile.TemporaryDirectory(dir=folder) as work:
                    src = os.path.join(work, "lstm.c")
                    with open(src, "w") as f:
                        f.write(source)
                    out = os.path.join(work, "lstm.so")
                    subprocess.run([compiler, *flags, src, "-o", out, "-lm"], check=True,
                                   capture_output=True, text=True, timeout=120)
                    os.replace(out, path)  # atomic: concurrent builders write the same file
            lib = ctypes.CDLL(path)
            break
        except (OSError, subprocess.SubprocessError) as error:
            detail = str(getattr(error, "stderr", "") or error).strip()[:500]
            if extra:
                log.info("C kernels with %s failed (%s); building them for one thread",
                         " ".join(extra), detail)
                continue
            log.warning("building the C kernels of backend='compiled' failed (%s); the LSTM "
                        "kernels run as PyTorch ops", detail)
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
    """The C kernels for one dtype: whole time loops (own GEMM on packed weights + gate
    kernels), called once per direction with the buffers' data pointers."""

    def __init__(self, lib: ctypes.CDLL, suffix: str, panel: int) -> None:
        self.panel = panel  # GEMM panel width: two 32-byte vectors
        for name in _SIGNATURES:
            setattr(self, name, getattr(lib, f"{name}_{suffix}"))


class _TorchKernels:
    """The same kernels as PyTorch ops (any device and dtype); same arguments as the C ones."""

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
            f32 = t.dtype == torch.float32
            return _CKernels(lib, "f32" if f32 else "f64", 16 if f32 else 8)
    return _TorchKernels


# --------------------------------------------------------------------------------- loops
def _panels(M: Tensor, width: int) -> Tensor:
    """M (K x N) in the C GEMM's layout: panels of ``width`` columns, each (K, width)."""
    K, N = M.shape
    Np = -(-N // width) * width
    if M.t().is_contiguous():  # M = W.T: pad W's rows, then transpose width x K blocks
        padded = M.new_zeros(Np, K)
        padded[:N] = M.t()
        return padded.view(-1, width, K).transpose(1, 2).contiguous()
    padded = M.new_zeros(K, Np)
    padded[:, :N] = M
    return padded.view(K, -1, width).transpose(0, 1).contiguous()


def _gemm_weights(k, W: Tensor, batch_size: int, transpose: bool):
    """The recurrent GEMM's weights: ``h @ W.T`` (or ``d @ W`` with ``transpose``)."""
    from seqlab.nn.compiled import _matmul

    W = W.detach()  # packed on every call: a cache keyed on W._version would miss updates
    if isinstance(k, _CKernels):  # made through .data (old-style optimizers, gradcheck)
        return _panels(W if transpose else W.t(), k.panel)
    return _matmul(W.t().contiguous() if transpose else W, None, batch_size)


def _threads(B: int, H: int) -> int:
    """Threads for a loop: ``torch.get_num_threads()``, or 1 for a small step."""
    return max(1, torch.get_num_threads()) if 4 * B * H * H >= _MIN_WORK else 1


def _ptr(t: Tensor | None):
    return None if t is None else t.data_ptr()


def _slots(reverse: bool, t: int) -> tuple[int, int]:
    """(slot read, slot written) by step t in the (T + 1)-slot state buffers."""
    return (t + 1, t) if reverse else (t, t + 1)


def _forward(k, layer_norm: bool, eps: tuple, xw: Tensor, W_hh: Tensor, b_hh, h0: Tensor,
             c0: Tensor, ln: tuple, mask: Tensor | None, reverse: bool, keep: bool):
    """Runs the loop; returns (out, h_T, c_T, state buffers Hb, Cb, saved buffers)."""
    T, B, G = xw.shape
    H = G // 4
    xw = (xw if b_hh is None else xw + b_hh).contiguous()
    Hb, Cb = xw.new_empty(T + 1, B, H), xw.new_empty(T + 1, B, H)
    first = T if reverse else 0
    Hb[first], Cb[first] = h0, c0
    n = T if keep else 1  # without autograd the per-step buffers are one scratch slot
    saved = {"A": xw.new_empty(n, B, G), "TC": xw.new_empty(n, B, H)}
    if layer_norm:
        saved.update(NH=xw.new_empty(n, B, G), CH=xw.new_empty(n, B, H),
                     RH=xw.new_empty(n, B), RC=xw.new_empty(n, B))
    gemm = _gemm_weights(k, W_hh, B, False)
    ln = tuple(p.detach().contiguous() for p in ln)
    if isinstance(k, _CKernels):
        hw = xw.new_empty(B, G)
        if layer_norm:
            k.lnlstm_forward_loop(_threads(B, H), T, B, H, reverse, keep, *eps, _ptr(gemm),
                                  _ptr(xw), *map(_ptr, ln), _ptr(mask), _ptr(Hb), _ptr(Cb),
                                  *(_ptr(saved[n]) for n in ("NH", "RH", "A", "CH", "RC", "TC")),
                                  _ptr(hw))
        else:
            k.lstm_forward_loop(_threads(B, H), T, B, H, reverse, keep, _ptr(gemm), _ptr(xw),
                                _ptr(mask), _ptr(Hb), _ptr(Cb), _ptr(saved["A"]), _ptr(saved["TC"]),
                                _ptr(hw))
    else:
        rows = {name: list(b.unbind(0)) * (T // n) for name, b in saved.items()}
        H_r, C_r, X_r = Hb.unbind(0), Cb.unbind(0), xw.unbind(0)
        M_r = [None] * T if mask is None else mask.unbind(0)
        for t in reversed(range(T)) if reverse else range(T):
            p, w = _slots(reverse, t)
            hw = gemm(H_r[p])
            if layer_norm:
                k.lnlstm_forward(B, H, *eps, hw, X_r[t], *ln, H_r[p], C_r[p], M_r[t],
                                 *(rows[n][t] for n in ("NH", "RH", "A", "CH", "RC", "TC")),
                                 H_r[w], C_r[w])
            else:
                k.lstm_forward(B, H, hw, X_r[t], H_r[p], C_r[p], M_r[t], rows["A"][t],
                               rows["TC"][t], H_r[w], C_r[w])
    out = Hb[:-1] if reverse else Hb[1:]
    if mask is not None:
        out = out * mask.unsqueeze(-1)
    last = 0 if reverse else T
    return out, Hb[last].clone(), Cb[last].clone(), Hb, Cb, saved


def _backward(k, layer_norm: bool, W_hh: Tensor, Hb: Tensor, Cb: Tensor, saved: dict, ln: tuple,
              mask: Tensor | None, reverse: bool, d_out, d_hT, d_cT):
    """d xw (the gates' pre-activations), d h_0 and d c_0; for the layer norm also d hw."""
    T, B, G = saved["A"].shape
    H = G // 4
    d_out = Hb.new_zeros(T, B, H) if d_out is None else d_out.contiguous()
    dh = Hb.new_zeros(B, H) if d_hT is None else d_hT.contiguous().clone()
    dc = Hb.new_zeros(B, H) if d_cT is None else d_cT.contiguous().clone()
    carry = Hb.new_zeros(B, H)  # d h passed through padded steps
    gemm = _gemm_weights(k, W_hh, B, True)  # d hw -> d h_{t-1}
    DA = Hb.new_empty(T, B, G)
    DHW, DY = (Hb.new_empty(T, B, G), Hb.new_empty(T, B, H)) if layer_norm else (DA, None)
    ln = tuple(p.detach().contiguous() for p in ln)
    if isinstance(k, _CKernels):
        dh_next, threads = Hb.new_empty(B, H), _threads(B, H)
        if layer_norm:
            scratch = Hb.new_empty(threads, 8 * H)  # one slice per thread
            k.lnlstm_backward_loop(threads, T, B, H, reverse, _ptr(gemm), _ptr(d_out), _ptr(mask),
                                   _ptr(ln[0]), _ptr(ln[1]),
                                   *(_ptr(saved[n]) for n in ("NH", "RH", "A", "CH", "RC", "TC")),
                                   _ptr(Cb), _ptr(dh), _ptr(carry), _ptr(dc), _ptr(DA),
                                   _ptr(DHW), _ptr(DY), _ptr(scratch), _ptr(dh_next))
        else:
            k.lstm_backward_loop(threads, T, B, H, reverse, _ptr(gemm), _ptr(d_out), _ptr(mask),
                                 _ptr(saved["A"]), _ptr(saved["TC"]), _ptr(Cb), _ptr(dh),
                                 _ptr(carry), _ptr(dc), _ptr(DA), _ptr(dh_next))
    else:
        rows = {name: b.unbind(0) for name, b in saved.items()}
        C_r, DO_r, DA_r, DHW_r = Cb.unbind(0), d_out.unbind(0), DA.unbind(0), DHW.unbind(0)
        DY_r = DY.unbind(0) if layer_norm else None
        M_r = [None] * T if mask is None else mask.unbind(0)
        for t in range(T) if reverse else reversed(range(T)):
            p, _ = _slots(reverse, t)
            if layer_norm:
                k.lnlstm_backward(B, H, dh, DO_r[t], M_r[t], ln[0], ln[1],
                                  *(rows[n][t] for n in ("NH", "RH", "A", "CH", "RC", "TC")),
                                  C_r[p], carry, dc, DA_r[t], DHW_r[t], DY_r[t], None)
            else:
                k.lstm_backward(B, H, dh, DO_r[t], M_r[t], rows["A"][t], rows["TC"][t], C_r[p],
                                carry, dc, DA_r[t])
            dh = gemm(DHW_r[t])
    return DA, DHW, DY, dh + carry, dc


class _LSTMLoop(torch.autograd.Function):
    """One direction of an LSTM / LayerNorm-LSTM layer; differentiable once."""

    @staticmethod
    def forward(ctx, layer_norm, eps, mask, reverse, xw, W_hh, b_hh, h0, c0, *ln):
        out, hT, cT, Hb, Cb, saved = _forward(kernels_for(xw), layer_norm, eps, xw, W_hh, b_hh,
                                              h0, c0, ln, mask, reverse, True)
        ctx.layer_norm, ctx.mask, ctx.reverse, ctx.has_bias = layer_norm, mask, reverse, \
            b_hh is not None
        ctx.names = sorted(saved)
        ctx.save_for_backward(W_hh, Hb, Cb, *(saved[name] for name in ctx.names), *ln)
        return out, hT, cT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_hT, d_cT):
        W_hh, Hb, Cb, *rest = ctx.saved_tensors
        saved = dict(zip(ctx.names, rest[: len(ctx.names)]))
        ln = rest[len(ctx.names):]
        DA, DHW, DY, dh, dc = _backward(kernels_for(Hb), ctx.layer_norm, W_hh, Hb, Cb,
                                        saved, ln, ctx.mask, ctx.reverse, d_out, d_hT, d_cT)
        need = ctx.needs_input_grad
        H_prev = Hb[1:] if ctx.reverse else Hb[:-1]
        d_W = torch.mm(DHW.flatten(0, 1).t(), H_prev.flatten(0, 1)) if need[5] else None
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
