/* One dtype's kernels: T (float or double), SUF (f32, f64), EXP and SQRT are defined by
   lstm_loop.c, which includes this file once per dtype; NAME(x) is x_SUF. */
#define ONE ((T)1)
#define TWO ((T)2)
#define SIG(x) (ONE / (ONE + EXP(-(x))))
#define TANH(x) (ONE - TWO / (EXP(TWO * (x)) + ONE))
#define R restrict
#define VEC NAME(vec)
#define LANES (SEQLAB_VEC_BYTES / (long)sizeof(T))
#define NV SEQLAB_NV
#define NR (NV * LANES)
#define MR SEQLAB_MR
#if MR < 1 || MR > 16
#error "SEQLAB_MR must be in [1, 16]"
#endif

/* out (B x N) = a (B x K) @ W, W packed in panels of NR columns: wp[p][k][0:NR] = W[k][p*NR:..]
   (zero-padded). An m x NR register block per inner loop (m <= MR); each panel is read once per
   call. */
typedef T VEC __attribute__((vector_size(SEQLAB_VEC_BYTES)));

/* the panel width the Python side packs the weights for */
long NAME(panel)(void) { return NR; }

/* Two sources: out = [a1 a] @ W, a1 (B x K1) before a (B x K) along k, W's first K1 rows
   for a1 (K1 = 0: one source); the recurrent step's x_t @ W_ih.T + h @ W_hh.T in one pass. */
/* acc[M][NV] += A (M x KK, rows KK apart) @ the panel rows at W */
#define ACCUMULATE(M, KK, A, W) \
    for (long k = 0; k < (KK); k++) { \
        VEC wv[NV]; \
        for (int v = 0; v < NV; v++) memcpy(&wv[v], (W) + k * NR + v * LANES, sizeof(VEC)); \
        for (int r = 0; r < M; r++) { \
            T x = (A)[r * (KK) + k]; \
            for (int v = 0; v < NV; v++) acc[r][v] += x * wv[v]; \
        } \
    }
#define MICRO(M) \
static inline void CAT(NAME(micro), M)(long K1, const T* R a1, long K, const T* R a, \
                                       const T* R w, T* R out, long ldo, long ncols) { \
    VEC acc[M][NV]; \
    for (int r = 0; r < M; r++) for (int v = 0; v < NV; v++) acc[r][v] = (VEC){0}; \
    ACCUMULATE(M, K1, a1, w) \
    ACCUMULATE(M, K, a, w + K1 * NR) \
    for (int r = 0; r < M; r++) { \
        T tmp[NR]; \
        for (int v = 0; v < NV; v++) memcpy(tmp + v * LANES, &acc[r][v], sizeof(VEC)); \
        for (long j = 0; j < ncols; j++) out[r * ldo + j] = tmp[j]; \
    } \
}
MICRO(1) MICRO(2) MICRO(3) MICRO(4) MICRO(5) MICRO(6) MICRO(7) MICRO(8) MICRO(9) MICRO(10)
MICRO(11) MICRO(12) MICRO(13) MICRO(14) MICRO(15) MICRO(16)
#undef MICRO
#undef ACCUMULATE

typedef void (*NAME(micro_fn))(long, const T* R, long, const T* R, const T* R, T* R, long,
                               long);
#define MICRO_(M) CAT(NAME(micro), M)
static const NAME(micro_fn) NAME(micros)[17] = {
    0, MICRO_(1), MICRO_(2), MICRO_(3), MICRO_(4), MICRO_(5), MICRO_(6), MICRO_(7), MICRO_(8),
    MICRO_(9), MICRO_(10), MICRO_(11), MICRO_(12), MICRO_(13), MICRO_(14), MICRO_(15),
    MICRO_(16)};
#undef MICRO_

/* panels [np * tid / nth, np * (tid + 1) / nth): thread tid's share of the output columns */
static void NAME(gemm2_part)(long B, long K1, const T* R a1, long K, const T* R a, long N,
                             const T* R wp, T* R out, long tid, long nth) {
    const long np = (N + NR - 1) / NR, p1 = np * (tid + 1) / nth;
    for (long p = np * tid / nth; p < p1; p++) {
        const T* w = wp + p * (K1 + K) * NR;
        T* o = out + p * NR;
        long ncols = N - p * NR < NR ? N - p * NR : NR, b = 0;
        for (; b + MR <= B; b += MR)
            CAT(NAME(micro), MR)(K1, a1 + b * K1, K, a + b * K, w, o + b * N, N, ncols);
        if (B > b) NAME(micros)[B - b](K1, a1 + b * K1, K, a + b * K, w, o + b * N, N, ncols);
    }
}

static void NAME(gemm_part)(long B, long K, long N, const T* R a, const T* R wp, T* R out,
                            long tid, long nth) {
    NAME(gemm2_part)(B, 0, a, K, a, N, wp, out, tid, nth);
}

void NAME(gemm)(long B, long K, long N, const T* R a, const T* R wp, T* R out) {
    NAME(gemm_part)(B, K, N, a, wp, out, 0, 1);
}
/* M (K x N, element (k, n) at M[k * rs + n * cs]) packed for the GEMM: panels of `width`
   columns, each (K, width) row-major, the last padded with zero columns. Contiguous rows
   (cs = 1) are copied row by row; a transposed M (rs = 1) column by column in blocks of rows,
   so the reads run along memory and the writes stay in L1. */
void NAME(pack)(long K, long N, long width, long rs, long cs, const T* R M, T* R out) {
    for (long p = 0; p * width < N; p++) {
        T* R o = out + p * K * width;
        const long n0 = p * width, cols = N - n0 < width ? N - n0 : width;
        if (cs == 1) {
            for (long k = 0; k < K; k++) {
                for (long j = 0; j < cols; j++) o[k * width + j] = M[k * rs + n0 + j];
                for (long j = cols; j < width; j++) o[k * width + j] = 0;
            }
        } else {  /* 8 x 8 tiles: 8 reads along memory, 8 writes along the panel row */
            for (long k0 = 0; k0 < K; k0 += 8) {
                const long k1 = k0 + 8 < K ? k0 + 8 : K;
                for (long j0 = 0; j0 < cols; j0 += 8) {
                    const long j1 = j0 + 8 < cols ? j0 + 8 : cols;
                    for (long k = k0; k < k1; k++)
                        for (long j = j0; j < j1; j++) o[k * width + j] = M[k * rs + (n0 + j) * cs];
                }
            }
            for (long k = 0; k < K; k++)
                for (long j = cols; j < width; j++) o[k * width + j] = 0;
        }
    }
}

/* rows of a full register block: a thread's share of the rows must reach it (ROWS below) */
static const long NAME(block_rows) = MR;
#undef NR
#undef LANES
#undef NV
#undef MR
#undef VEC

static T NAME(mean_of)(long n, const T* R x) {
    T s = 0;
    #pragma omp simd reduction(+:s)
    for (long j = 0; j < n; j++) s += x[j];
    return s / (T)n;
}

/* LN backward over n: out = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gain */
static void NAME(ln_back)(long n, const T* R dy, const T* R gain, const T* R xhat, T rstd,
                    T* R g, T* R out) {
    T s1 = 0, s2 = 0;
    #pragma omp simd reduction(+:s1, s2)
    for (long j = 0; j < n; j++) { T v = dy[j] * gain[j]; g[j] = v; s1 += v; s2 += v * xhat[j]; }
    s1 /= (T)n; s2 /= (T)n;
    for (long j = 0; j < n; j++) out[j] = rstd * (g[j] - s1 - xhat[j] * s2);
}

/* LN statistics over n: the mean into *m; returns rstd = 1 / sqrt(var + eps) */
static T NAME(ln_stats)(long n, T eps, const T* R x, T* m) {
    T mu = NAME(mean_of)(n, x), v = 0;
    #pragma omp simd reduction(+:v)
    for (long j = 0; j < n; j++) { T d = x[j] - mu; v += d * d; }
    *m = mu;
    return ONE / SQRT(v / (T)n + eps);
}

/* LN forward over n without gain: xhat = (x - mean) * rstd; returns rstd */
static T NAME(ln_fwd)(long n, T eps, const T* R x, T* R xhat) {
    T m, r = NAME(ln_stats)(n, eps, x, &m);
    for (long j = 0; j < n; j++) xhat[j] = (x[j] - m) * r;
    return r;
}

/* a holds the 4H pre-activations: i, f, o -> sigmoid, g -> tanh */
static void NAME(activate)(long H, T* R a) {
    for (long j = 0; j < 2 * H; j++) a[j] = SIG(a[j]);
    for (long j = 2 * H; j < 3 * H; j++) a[j] = TANH(a[j]);
    for (long j = 3 * H; j < 4 * H; j++) a[j] = SIG(a[j]);
}

static void NAME(keep)(long H, const T* R hp, const T* R cp, T* R h, T* R c) {
    for (long j = 0; j < H; j++) { h[j] = hp[j]; c[j] = cp[j]; }
}

/* xw's rows are xs apart: 4H, or 0 for one bias row added to every row */
void NAME(lstm_forward)(long b0, long b1, long H, const T* R hw, const T* R xw, long xs,
                      const T* R h_prev, const T* R c_prev, const unsigned char* R mask,
                      T* R act, T* R tc, T* R h, T* R c) {
    for (long b = b0; b < b1; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        T* R a = act + g4;
        const T* R xr = xw + b * xs;
        for (long j = 0; j < 4 * H; j++) a[j] = hw[g4 + j] + xr[j];
        NAME(activate)(H, a);
        for (long j = 0; j < H; j++) c[g1 + j] = a[H + j] * c_prev[g1 + j] + a[j] * a[2 * H + j];
        for (long j = 0; j < H; j++) tc[g1 + j] = TANH(c[g1 + j]);
        for (long j = 0; j < H; j++) h[g1 + j] = a[3 * H + j] * tc[g1 + j];
        if (mask && !mask[b]) NAME(keep)(H, h_prev + g1, c_prev + g1, h + g1, c + g1);
    }
}

void NAME(lstm_backward)(long b0, long b1, long H, const T* R dh_next, const T* R d_out,
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

/* LN in place over n without gain: x = (x - mean) * rstd; returns rstd */
static T NAME(ln_inplace)(long n, T eps, T* R x) {
    T m, r = NAME(ln_stats)(n, eps, x, &m);
    for (long j = 0; j < n; j++) x[j] = (x[j] - m) * r;
    return r;
}

/* xw holds x @ W_ih.T and is normalised in place (LN_ih's x^, kept for the backward) */
void NAME(lnlstm_forward)(long b0, long b1, long H, double eps_ih, double eps_hh, double eps_c,
                        const T* R hw, T* R xw, const T* R gain_ih, const T* R bias_ih,
                        const T* R gain_hh, const T* R gain_c, const T* R shift_c,
                        const T* R h_prev, const T* R c_prev, const unsigned char* R mask,
                        T* R rstd_ih, T* R nhw, T* R rstd_hh, T* R act, T* R chat,
                        T* R rstd_c, T* R ty, T* R h, T* R c) {
    for (long b = b0; b < b1; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        T* R a = act + g4;
        T* R n = nhw + g4;
        T* R nx = xw + g4;
        rstd_ih[b] = NAME(ln_inplace)(4 * H, (T)eps_ih, nx);
        rstd_hh[b] = NAME(ln_fwd)(4 * H, (T)eps_hh, hw + g4, n);
        for (long j = 0; j < 4 * H; j++)
            a[j] = gain_ih[j] * nx[j] + bias_ih[j] + gain_hh[j] * n[j];
        NAME(activate)(H, a);
        for (long j = 0; j < H; j++) c[g1 + j] = a[H + j] * c_prev[g1 + j] + a[j] * a[2 * H + j];
        rstd_c[b] = NAME(ln_fwd)(H, (T)eps_c, c + g1, chat + g1);
        for (long j = 0; j < H; j++) ty[g1 + j] = TANH(gain_c[j] * chat[g1 + j] + shift_c[j]);
        for (long j = 0; j < H; j++) h[g1 + j] = a[3 * H + j] * ty[g1 + j];
        if (mask && !mask[b]) NAME(keep)(H, h_prev + g1, c_prev + g1, h + g1, c + g1);
    }
}

/* d gates in scratch[4H, 8H) (scratch[0, 4H) is the LN backwards' work row); out: d hw and
   d (x @ W_ih.T) of each row, and the per-row sums of the gains' and b_ih's gradients */
void NAME(lnlstm_backward)(long b0, long b1, long H, const T* R dh_next, const T* R d_out,
                         const unsigned char* R mask, const T* R gain_ih, const T* R gain_hh,
                         const T* R gain_c, const T* R nxw, const T* R rstd_ih,
                         const T* R nhw, const T* R rstd_hh, const T* R act, const T* R chat,
                         const T* R rstd_c, const T* R ty, const T* R c_prev, T* R carry,
                         T* R dc, T* R dxw, T* R dhw, T* R dy, T* R scratch, T* R acc_ih,
                         T* R acc_b, T* R acc_hh, T* R acc_c, T* R acc_shift) {
    T* R d = scratch + 4 * H;
    for (long b = b0; b < b1; b++) {
        const long g4 = b * 4 * H, g1 = b * H;
        const T* R a = act + g4;
        if (mask && !mask[b]) {
            for (long j = 0; j < H; j++) carry[g1 + j] += dh_next[g1 + j];
            for (long j = 0; j < 4 * H; j++) { dxw[g4 + j] = 0; dhw[g4 + j] = 0; }
            continue;
        }
        for (long j = 0; j < H; j++) {
            T e = dh_next[g1 + j] + d_out[g1 + j] + carry[g1 + j], o = a[3 * H + j];
            T t = ty[g1 + j];
            carry[g1 + j] = 0;
            dy[g1 + j] = e * o * (ONE - t * t);
            d[3 * H + j] = e * t * o * (ONE - o);
        }
        NAME(ln_back)(H, dy + g1, gain_c, chat + g1, rstd_c[b], scratch, scratch + H);
        for (long j = 0; j < H; j++) {
            T i = a[j], f = a[H + j], g = a[2 * H + j];
            T dcn = dc[g1 + j] + scratch[H + j];
            d[j] = dcn * g * i * (ONE - i);
            d[H + j] = dcn * c_prev[g1 + j] * f * (ONE - f);
            d[2 * H + j] = dcn * i * (ONE - g * g);
            dc[g1 + j] = dcn * f;
        }
        NAME(ln_back)(4 * H, d, gain_hh, nhw + g4, rstd_hh[b], scratch, dhw + g4);
        NAME(ln_back)(4 * H, d, gain_ih, nxw + g4, rstd_ih[b], scratch, dxw + g4);
        /* the gains' and b_ih's gradients, summed over steps per row (in step order: the same
           bits on any number of threads); the caller sums the B rows */
        for (long j = 0; j < 4 * H; j++) {
            acc_ih[g4 + j] += d[j] * nxw[g4 + j];
            acc_b[g4 + j] += d[j];
            acc_hh[g4 + j] += d[j] * nhw[g4 + j];
        }
        for (long j = 0; j < H; j++) {
            acc_c[g1 + j] += dy[g1 + j] * chat[g1 + j];
            acc_shift[g1 + j] += dy[g1 + j];
        }
    }
}

/* GRU (torch's equations; xw holds b_ih and the r, z parts of b_hh; bn = b_hh's n part):
   r, z = sigmoid(xw_rz + hw_rz);  hn = hw_n + bn;  n = tanh(xw_n + r * hn);  h' = n + z (h - n).
   act per row: r, z, n, hn (4H). */
void NAME(gru_forward)(long b0, long b1, long H, const T* R hw, const T* R xw, const T* R bn,
                       const T* R h_prev, const unsigned char* R mask, T* R act, T* R h) {
    for (long b = b0; b < b1; b++) {
        const long g3 = b * 3 * H, g1 = b * H;
        T* R a = act + b * 4 * H;
        for (long j = 0; j < 2 * H; j++) a[j] = SIG(xw[g3 + j] + hw[g3 + j]);
        for (long j = 0; j < H; j++) a[3 * H + j] = hw[g3 + 2 * H + j] + (bn ? bn[j] : 0);
        for (long j = 0; j < H; j++) a[2 * H + j] = TANH(xw[g3 + 2 * H + j] + a[j] * a[3 * H + j]);
        for (long j = 0; j < H; j++) {
            T n = a[2 * H + j];
            h[g1 + j] = n + a[H + j] * (h_prev[g1 + j] - n);
        }
        if (mask && !mask[b]) for (long j = 0; j < H; j++) h[g1 + j] = h_prev[g1 + j];
    }
}

/* e = d h' (from the output, from step t+1 through the GEMM, and the direct z * e path kept in
   carry); padded rows pass d h through to the step before (carry) and get no gate gradient. */
void NAME(gru_backward)(long b0, long b1, long H, const T* R dh_next, const T* R d_out,
                        const unsigned char* R mask, const T* R act, const T* R h_prev,
                        T* R carry, T* R dxw, T* R dhw) {
    for (long b = b0; b < b1; b++) {
        const long g3 = b * 3 * H, g1 = b * H;
        const T* R a = act + b * 4 * H;
        if (mask && !mask[b]) {
            for (long j = 0; j < H; j++) carry[g1 + j] += dh_next[g1 + j];
            for (long j = 0; j < 3 * H; j++) { dxw[g3 + j] = 0; dhw[g3 + j] = 0; }
            continue;
        }
        for (long j = 0; j < H; j++) {
            T e = dh_next[g1 + j] + d_out[g1 + j] + carry[g1 + j];
            T r = a[j], z = a[H + j], n = a[2 * H + j], hn = a[3 * H + j];
            T dn = e * (ONE - z) * (ONE - n * n);
            T dz = e * (h_prev[g1 + j] - n) * z * (ONE - z);
            T dr = dn * hn * r * (ONE - r);
            dxw[g3 + j] = dr; dxw[g3 + H + j] = dz; dxw[g3 + 2 * H + j] = dn;
            dhw[g3 + j] = dr; dhw[g3 + H + j] = dz; dhw[g3 + 2 * H + j] = dn * r;
            carry[g1 + j] = e * z;
        }
    }
}

/* SimpleGRUCell (seed 003; xw holds b_ih and b_hh): u = sigmoid(xw_u + hw_u),
   c~ = tanh(xw_c + hw_c), c' = c + u (c~ - c). act per row: u, c~ (of a 4H slot). Backward:
   d u~ = e (c~ - c) u (1 - u), d c~~ = e u (1 - c~^2), d xw = d hw = (d u~, d c~~), direct
   path e (1 - u). */
void NAME(sgru_forward)(long b0, long b1, long H, const T* R hw, const T* R xw,
                        const T* R h_prev, const unsigned char* R mask, T* R act, T* R h) {
    for (long b = b0; b < b1; b++) {
        const long g2 = b * 2 * H, g1 = b * H;
        T* R a = act + b * 4 * H;
        for (long j = 0; j < H; j++) a[j] = SIG(xw[g2 + j] + hw[g2 + j]);
        for (long j = H; j < 2 * H; j++) a[j] = TANH(xw[g2 + j] + hw[g2 + j]);
        for (long j = 0; j < H; j++)
            h[g1 + j] = h_prev[g1 + j] + a[j] * (a[H + j] - h_prev[g1 + j]);
        if (mask && !mask[b]) for (long j = 0; j < H; j++) h[g1 + j] = h_prev[g1 + j];
    }
}

void NAME(sgru_backward)(long b0, long b1, long H, const T* R dh_next, const T* R d_out,
                         const unsigned char* R mask, const T* R act, const T* R h_prev,
                         T* R carry, T* R dxw, T* R dhw) {
    for (long b = b0; b < b1; b++) {
        const long g2 = b * 2 * H, g1 = b * H;
        const T* R a = act + b * 4 * H;
        if (mask && !mask[b]) {
            for (long j = 0; j < H; j++) carry[g1 + j] += dh_next[g1 + j];
            for (long j = 0; j < 2 * H; j++) { dxw[g2 + j] = 0; dhw[g2 + j] = 0; }
            continue;
        }
        for (long j = 0; j < H; j++) {
            T e = dh_next[g1 + j] + d_out[g1 + j] + carry[g1 + j];
            T u = a[j], c = a[H + j];
            T du = e * (c - h_prev[g1 + j]) * u * (ONE - u), dc = e * u * (ONE - c * c);
            dxw[g2 + j] = du; dxw[g2 + H + j] = dc;
            dhw[g2 + j] = du; dhw[g2 + H + j] = dc;
            carry[g1 + j] = e * (ONE - u);
        }
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
/* Inside a loop each of the nt threads owns rows [b0, b1) of the gate kernels. The batch rows
   of an RNN never meet, so when every thread has at least half a register block of rows
   (split) each runs its rows' GEMMs too, over all columns, and the threads never wait;
   with fewer rows they share the GEMM's column panels, two barriers per step (ROWS_(0)
   forces that: each thread then reads only its panels of the weights, which can matter
   when all of them do not fit a core's cache). Either way every value is computed by the
   same code whatever nt is. */
#define ROWS_(own_rows) const long tid = THREAD_ID, nth = THREADS, b0 = B * tid / nth, \
    b1 = B * (tid + 1) / nth, split = (own_rows) && nth > 1 && 2 * B >= nth * NAME(block_rows);
#define ROWS ROWS_(1)
/* out = [a1 a] @ W for the B rows: this thread's rows (split), or its column panels then a
   barrier; SYNC is the barrier that only the column split needs */
#define STEP_GEMM(K1, A1, K, A, N, W, OUT) \
    if (split) NAME(gemm2_part)(b1 - b0, K1, (A1) + b0 * (K1), K, (A) + b0 * (K), N, W, \
                                (OUT) + b0 * (N), 0, 1); \
    else { NAME(gemm2_part)(B, K1, A1, K, A, N, W, OUT, tid, nth); BARRIER }
#define SYNC if (!split) { BARRIER }
#define SLOTS(t) long rd = reverse ? (t) + 1 : (t), wr = reverse ? (t) : (t) + 1, \
    ks = keep ? (t) : 0;
/* With I > 0, x (steps x B x I) is the layer's input and wp holds [W_ih; W_hh].T (I + H
   rows): each step's GEMM computes x_t @ W_ih.T + h @ W_hh.T and xw is the bias row (or 0),
   so no steps x B x 4H projection goes through memory (inference). With I = 0, xw holds the
   projected input of every step. */
void NAME(lstm_forward_loop)(long nt, long columns, long steps, long B, long H, long I,
                           long reverse, long keep, const T* R wp, const T* R x, const T* R xw,
                           const unsigned char* R mask, T* R Hb, T* R Cb, T* R A, T* R TC,
                           T* R hw) {
    const long s1 = B * H, s4 = 4 * B * H;
    TEAM(nt) {
    ROWS_(!columns)
    for (long n = 0; n < steps; n++) {
        long t = reverse ? steps - 1 - n : n;
        SLOTS(t)
        STEP_GEMM(I, I ? x + t * B * I : Hb, H, Hb + rd * s1, 4 * H, wp, hw)
        NAME(lstm_forward)(b0, b1, H, hw, I ? xw : xw + t * s4, I ? 0 : 4 * H, Hb + rd * s1,
                         Cb + rd * s1, mask ? mask + t * B : 0, A + ks * s4, TC + ks * s1,
                         Hb + wr * s1, Cb + wr * s1);
        SYNC
    }
    }
}

void NAME(lstm_backward_loop)(long nt, long steps, long B, long H, long reverse, const T* R wp,
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
        NAME(lstm_backward)(b0, b1, H, dh_next, d_out + t * s1, mask ? mask + t * B : 0, A + t * s4,
                          TC + t * s1, Cb + rd * s1, carry, dc, DA + t * s4);
        SYNC
        STEP_GEMM(0, DA, 4 * H, DA + t * s4, H, wp, dh)
    }
    }
}

void NAME(lnlstm_forward_loop)(long nt, long steps, long B, long H, long reverse, long keep,
                             double eps_ih, double eps_hh, double eps_c, const T* R wp,
                             T* R xw, const T* R gain_ih, const T* R bias_ih,
                             const T* R gain_hh, const T* R gain_c, const T* R shift_c,
                             const unsigned char* R mask, T* R Hb, T* R Cb, T* R RX, T* R NH,
                             T* R RH, T* R A, T* R CH, T* R RC, T* R TY, T* R hw) {
    const long s1 = B * H, s4 = 4 * B * H;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? steps - 1 - n : n;
        SLOTS(t)
        STEP_GEMM(0, Hb, H, Hb + rd * s1, 4 * H, wp, hw)
        NAME(lnlstm_forward)(b0, b1, H, eps_ih, eps_hh, eps_c, hw, xw + t * s4, gain_ih, bias_ih,
                           gain_hh, gain_c, shift_c, Hb + rd * s1, Cb + rd * s1,
                           mask ? mask + t * B : 0, RX + ks * B, NH + ks * s4, RH + ks * B,
                           A + ks * s4, CH + ks * s1, RC + ks * B, TY + ks * s1, Hb + wr * s1,
                           Cb + wr * s1);
        SYNC
    }
    }
}

void NAME(lnlstm_backward_loop)(long nt, long steps, long B, long H, long reverse, const T* R wp,
                              const T* R d_out, const unsigned char* R mask, const T* R gain_ih,
                              const T* R gain_hh, const T* R gain_c, const T* R NX,
                              const T* R RX, const T* R NH, const T* R RH, const T* R A,
                              const T* R CH, const T* R RC, const T* R TY, const T* R Cb,
                              T* R dh, T* R carry, T* R dc, T* R DXW, T* R DHW, T* R DY,
                              T* R scratch, T* R dh_next, T* R acc_ih, T* R acc_b,
                              T* R acc_hh, T* R acc_c, T* R acc_shift) {
    const long s1 = B * H, s4 = 4 * B * H, keep = 1;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? n : steps - 1 - n;
        SLOTS(t)
        (void)wr; (void)ks;
        memcpy(dh_next + b0 * H, dh + b0 * H, sizeof(T) * (b1 - b0) * H);
        NAME(lnlstm_backward)(b0, b1, H, dh_next, d_out + t * s1, mask ? mask + t * B : 0, gain_ih,
                            gain_hh, gain_c, NX + t * s4, RX + t * B, NH + t * s4, RH + t * B,
                            A + t * s4, CH + t * s1, RC + t * B, TY + t * s1, Cb + rd * s1,
                            carry, dc, DXW + t * s4, DHW + t * s4, DY, scratch + tid * 8 * H,
                            acc_ih, acc_b, acc_hh, acc_c, acc_shift);
        SYNC
        STEP_GEMM(0, DHW, 4 * H, DHW + t * s4, H, wp, dh)
    }
    }
}
/* simple: SimpleGRUCell (2 gates), else GRUCell (3) */
void NAME(gru_forward_loop)(long nt, long simple, long steps, long B, long H, long reverse,
                            long keep, const T* R wp, const T* R xw, const T* R bn,
                            const unsigned char* R mask, T* R Hb, T* R A, T* R hw) {
    const long G = simple ? 2 : 3, s1 = B * H, s3 = G * B * H, s4 = 4 * B * H;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? steps - 1 - n : n;
        SLOTS(t)
        STEP_GEMM(0, Hb, H, Hb + rd * s1, G * H, wp, hw)
        if (simple)
            NAME(sgru_forward)(b0, b1, H, hw, xw + t * s3, Hb + rd * s1, mask ? mask + t * B : 0,
                               A + ks * s4, Hb + wr * s1);
        else
            NAME(gru_forward)(b0, b1, H, hw, xw + t * s3, bn, Hb + rd * s1,
                              mask ? mask + t * B : 0, A + ks * s4, Hb + wr * s1);
        SYNC
    }
    }
}

void NAME(gru_backward_loop)(long nt, long simple, long steps, long B, long H, long reverse,
                             const T* R wp,
                             const T* R d_out, const unsigned char* R mask, const T* R A,
                             const T* R Hb, T* R dh, T* R carry, T* R DXW, T* R DHW,
                             T* R dh_next) {
    const long G = simple ? 2 : 3, s1 = B * H, s3 = G * B * H, s4 = 4 * B * H, keep = 1;
    TEAM(nt) {
    ROWS
    for (long n = 0; n < steps; n++) {
        long t = reverse ? n : steps - 1 - n;
        SLOTS(t)
        (void)wr; (void)ks;
        memcpy(dh_next + b0 * H, dh + b0 * H, sizeof(T) * (b1 - b0) * H);
        if (simple)
            NAME(sgru_backward)(b0, b1, H, dh_next, d_out + t * s1, mask ? mask + t * B : 0,
                                A + t * s4, Hb + rd * s1, carry, DXW + t * s3, DHW + t * s3);
        else
            NAME(gru_backward)(b0, b1, H, dh_next, d_out + t * s1, mask ? mask + t * B : 0,
                               A + t * s4, Hb + rd * s1, carry, DXW + t * s3, DHW + t * s3);
        SYNC
        STEP_GEMM(0, DHW, G * H, DHW + t * s3, H, wp, dh)
    }
    }
}
#undef SLOTS
#undef ROWS
#undef ROWS_
#undef STEP_GEMM
#undef SYNC
#undef TEAM
#undef THREAD_ID
#undef THREADS
#undef BARRIER
#undef ONE
#undef TWO
#undef SIG
#undef TANH
#undef R
