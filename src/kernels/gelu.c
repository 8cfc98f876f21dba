// gelu.c — GELU: the tanh approximation (HF "gelu_new": GPT-2, GPT-J) and the exact erf form
// (HF "gelu": GPT-NeoX / Pythia).
#include <math.h>
#include <omp.h>

#include "tf_kernels.h"
#include "vecmath.h"

#define GELU_K 0.7978845608028654f     // sqrt(2 / pi)
#define INV_SQRT2 0.7071067811865476f  // 1 / sqrt(2)
#define INV_SQRT_2PI 0.3989422804014327f

void tf_gelu_forward(float *out, const float *inp, size_t N, int exact) {
    if (exact) {
#pragma omp parallel for simd schedule(static) if (N >= TF_PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2));
        return;
    }
    // 0.5 x (1 + tanh u) = x sigmoid(2u): one vectorised exp instead of a scalar tanhf
#pragma omp parallel for simd schedule(static) if (N >= TF_PAR_MIN)
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        out[i] = x / (1.0f + vm_expf(-2.0f * u));
    }
}

void tf_gelu_forward_bf16(uint16_t *out, const float *inp, size_t N, int exact) {
    if (exact) {
#pragma omp parallel for simd schedule(static) if (N >= TF_PAR_MIN)
        for (size_t i = 0; i < N; i++) out[i] = vm_bf16(0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2)));
        return;
    }
#pragma omp parallel for simd schedule(static) if (N >= TF_PAR_MIN)
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        out[i] = vm_bf16(x / (1.0f + vm_expf(-2.0f * u)));
    }
}

// tanh form: d/dx = 0.5 (1 + tanh u) + 0.5 x sech^2(u) du/dx, u = k (x + 0.044715 x^3); with
//   s = sigmoid(2u) = 0.5 (1 + tanh u) and sech^2 u = 4 s (1 - s): d/dx = s + 2 x s (1 - s) du/dx.
// erf form:  d/dx = Phi(x) + x phi(x)
static inline float gelu_grad(float x, int exact) {
    if (exact) return 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * INV_SQRT_2PI * vm_expf(-0.5f * x * x);
    float u = GELU_K * (x + 0.044715f * x * x * x);
    float s = 1.0f / (1.0f + vm_expf(-2.0f * u));
    return s + 2.0f * x * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
}

void tf_gelu_backward(float *dinp, const float *inp, const float *dout, size_t N, int exact, int accumulate) {
    if (exact) {
#pragma omp parallel for simd schedule(static) if (N >= TF_PAR_MIN)
        for (size_t i = 0; i < N; i++) {
            float d = gelu_grad(inp[i], 1) * dout[i];
            dinp[i] = accumulate ? dinp[i] + d : d;
        }
        return;
    }
#pragma omp parallel for simd schedule(static) if (N >= TF_PAR_MIN)
    for (size_t i = 0; i < N; i++) {
        float d = gelu_grad(inp[i], 0) * dout[i];
        dinp[i] = accumulate ? dinp[i] + d : d;
    }
}

void tf_gelu_backward_bf16_colsum(uint16_t *out, float *colsum, const float *inp, const float *dout, int R, int N,
                                  int exact, int accumulate) {
    // each thread owns a slice of the columns and walks the rows in order (the sums' order does not
    // depend on the thread count), as tf_to_bf16_colsum
#pragma omp parallel if ((long)R * N >= TF_PAR_MIN)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int lo = (int)((long)N * id / nt), hi = (int)((long)N * (id + 1) / nt);
        if (!accumulate)
            for (int j = lo; j < hi; j++) colsum[j] = 0.0f;
        for (int r = 0; r < R; r++) {
            const float *x = inp + (size_t)r * N, *g = dout + (size_t)r * N;
            uint16_t *o = out + (size_t)r * N;
            if (exact) {
#pragma omp simd
                for (int j = lo; j < hi; j++) {
                    float d = gelu_grad(x[j], 1) * g[j];
                    colsum[j] += d;
                    o[j] = vm_bf16(d);
                }
            } else {
#pragma omp simd
                for (int j = lo; j < hi; j++) {
                    float d = gelu_grad(x[j], 0) * g[j];
                    colsum[j] += d;
                    o[j] = vm_bf16(d);
                }
            }
        }
    }
}
