// vecmath.h — exp and friends written so that the compiler vectorises them (glibc's expf/tanhf are
// scalar calls unless -ffast-math). Internal to src/kernels/ (and the attention of src/model/kv.c).
//
// vm_expf: exp(x) = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in
// a high and a low part, Cody-Waite), e^r by its degree-6 Taylor polynomial (truncation error below
// 3.2e-8 relative), 2^n built in the exponent bits. Inputs are clamped to [-87.3, 88.3] so that n
// stays a normal exponent: results below ~1e-38 come out as ~1e-38 rather than 0 or denormal, which
// no softmax or sigmoid here can tell apart. Relative error ~1e-7 (two ulp).
#ifndef TF_VECMATH_H
#define TF_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

// Element count below which an O(N) kernel runs on the calling thread: an OpenMP region costs a few
// microseconds (far more when the other cores are busy), more than the work of a decode step's row.
#define TF_PAR_MIN 32768

static inline float vm_expf(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    // round to nearest with the 1.5 * 2^23 trick (|x / ln 2| < 2^22)
    float n = fmaf(x, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
    float r = fmaf(n, -0.693145751953125f, x);  // ln 2 high part (exact in n * hi)
    r = fmaf(n, -1.42860682030941723212e-6f, r);  // ln 2 low part
    float p = 1.0f / 720.0f;
    p = fmaf(p, r, 1.0f / 120.0f);
    p = fmaf(p, r, 1.0f / 24.0f);
    p = fmaf(p, r, 1.0f / 6.0f);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    // 2^n through the exponent bits, shifted as unsigned: a NaN x gives a NaN p and an arbitrary n,
    // which must not make the shift undefined (the result is p * s = NaN either way)
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

// bf16(x): round to nearest even on the upper 16 bits; NaN keeps a quiet NaN. The rounding of every
// mixed-precision kernel (tf_to_bf16 and the kernels that write bf16 themselves) and tf_f32_to_bf16.
static inline uint16_t vm_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

// s[i] = exp(s[i] - mx) for i < n; returns the sum (float lanes).
static inline float vm_exp_shift_sum(float *s, int n, float mx) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++) {
        float e = vm_expf(s[i] - mx);
        s[i] = e;
        sum += e;
    }
    return sum;
}

// max of x[0..n) (-INFINITY for n = 0)
static inline float vm_max(const float *x, int n) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

#endif
