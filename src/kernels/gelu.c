// gelu.c — GELU with the tanh approximation (HF "gelu_new", used by GPT-2 and GPT-J).
#include <math.h>

#include "tf_kernels.h"

#define GELU_K 0.7978845608028654f  // sqrt(2 / pi)

void tf_gelu_forward(float *out, const float *inp, size_t N) {
#pragma omp parallel for simd
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
    }
}

// d/dx = 0.5 (1 + tanh u) + 0.5 x sech^2(u) du/dx, u = k (x + 0.044715 x^3)
void tf_gelu_backward(float *dinp, const float *inp, const float *dout, size_t N, int accumulate) {
#pragma omp parallel for simd
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        float th = tanhf(u);
        float sech2 = 1.0f - th * th;
        float g = 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        float d = g * dout[i];
        dinp[i] = accumulate ? dinp[i] + d : d;
    }
}
