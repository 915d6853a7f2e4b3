/* The compiled backend's LSTM and LayerNorm-LSTM time loops (see seqlab/nn/lstm_loop.py for
   the equations). The body, lstm_loop_body.h, is included once per dtype: float (entry points
   *_f32) and double (*_f64).

   The GEMM's vector width and register blocking follow the ISA the compiler targets
   (SEQLAB_CPU_ISA picks it, see seqlab/nn/cbuild.py): 64-byte vectors with AVX-512, 32 with
   AVX/AVX2, 16 otherwise (SSE2, ARM NEON, ...). -DSEQLAB_VEC_BYTES=, -DSEQLAB_NV= (vectors per
   panel) and -DSEQLAB_MR= (rows per register block) override them. */
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GLIBC__)
/* glibc's libmvec: vectorized exp for the double gate loops (x86-64 only; elsewhere exp is
   scalar); float uses seqlab_expf below on every target */
extern double exp(double) __attribute__((simd("notinbranch")));
#endif

#ifndef SEQLAB_VEC_BYTES
#if defined(__AVX512F__)
#define SEQLAB_VEC_BYTES 64
#elif defined(__AVX__)
#define SEQLAB_VEC_BYTES 32
#else
#define SEQLAB_VEC_BYTES 16
#endif
#endif

/* Register blocking MR x (NV vectors): MR * NV accumulators + NV weight vectors must fit the
   register file (32 vector registers with AVX-512 and on ARM, 16 with AVX2/SSE). */
#ifndef SEQLAB_NV
#define SEQLAB_NV 2
#endif
#ifndef SEQLAB_MR
#if defined(__AVX512F__) || defined(__aarch64__)
#define SEQLAB_MR 12
#else
#define SEQLAB_MR 6
#endif
#endif

#if defined(__AVX512F__)
#define SEQLAB_ISA "avx512"
#elif defined(__AVX2__)
#define SEQLAB_ISA "avx2"
#elif defined(__AVX__)
#define SEQLAB_ISA "avx"
#elif defined(__aarch64__)
#define SEQLAB_ISA "neon"
#elif defined(__SSE2__)
#define SEQLAB_ISA "sse2"
#else
#define SEQLAB_ISA "scalar"
#endif

/* "avx512 64-byte vectors, 2 x 12 blocks": what this build targets, for the benchmarks */
const char* seqlab_kernel_target(void) {
#define STR_(x) #x
#define STR(x) STR_(x)
    return SEQLAB_ISA " " STR(SEQLAB_VEC_BYTES) "-byte vectors, " STR(SEQLAB_MR) " x "
        STR(SEQLAB_NV) " register blocks";
#undef STR
#undef STR_
}

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define NAME(name) CAT(name, SUF)

/* exp for the float gate loops: 2^n e^r with n = round(x / ln 2), |r| <= ln 2 / 2, e^r by
   Cephes' degree-6 polynomial (about 1 ulp), 2^n through the exponent bits. Branch-free and
   written lane by lane, so GCC/Clang inline and vectorize it at the loops' vector width (a
   call to libmvec's expf per vector cost more). x is clamped to [-87.3, 88] (exp(88) ~ 1.7e38
   keeps 1 / (1 + exp) and the tanh form finite; inf is clamped too); NaN stays NaN. The clamp
   selects bits: written as `x < lo ? lo : x`, GCC computes the clamped lanes' constant result
   as a separate masked path, dividing twice. */
static inline float seqlab_expf(float x) {
    const float lo = -87.33654f, hi = 88.0f;
    int xi, loi, hii;
    memcpy(&xi, &x, sizeof xi);
    memcpy(&loi, &lo, sizeof loi);
    memcpy(&hii, &hi, sizeof hii);
    const int below = -(x < lo), above = -(x > hi);  /* all ones where true; false for NaN */
    xi = (xi & ~below) | (loi & below);
    xi = (xi & ~above) | (hii & above);
    memcpy(&x, &xi, sizeof x);
    float n = x * 1.44269504088896341f + 12582912.0f;  /* 1.5 * 2^23: rounds to an integer */
    n -= 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int bits = ((int)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#define T float
#define SUF f32
#define EXP seqlab_expf
#define SQRT sqrtf
#include "lstm_loop_body.h"
#undef T
#undef SUF
#undef EXP
#undef SQRT

#define T double
#define SUF f64
#define EXP exp
#define SQRT sqrt
#include "lstm_loop_body.h"
#undef T
#undef SUF
#undef EXP
#undef SQRT
