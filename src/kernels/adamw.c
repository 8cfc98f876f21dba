// adamw.c — the AdamW update (decoupled weight decay), elementwise over a flat arena.
#include <math.h>
#include <string.h>

#include "tf_kernels.h"

void tf_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                     float b2, float eps, float wd, float grad_scale, long t) {
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    // PyTorch's AdamW, in its order: p *= 1 - lr wd; p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps).
    // One pass over p, g, m, v (memory bound: 28 bytes per parameter), no division by c1 or c2 inside.
    float step = lr / c1, inv_sqrt_c2 = 1.0f / sqrtf(c2), decay = 1.0f - lr * wd;
#pragma omp parallel for simd schedule(static) if (n >= 32768)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / (sqrtf(vi) * inv_sqrt_c2 + eps);
    }
}

void tf_adamw_update_bf16(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr,
                          float b1, float b2, float eps, float wd, float grad_scale, long t) {
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    float step = lr / c1, inv_sqrt_c2 = 1.0f / sqrtf(c2), decay = 1.0f - lr * wd;
#pragma omp parallel for simd schedule(static) if (n >= 32768)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] * decay - step * mi / (sqrtf(vi) * inv_sqrt_c2 + eps);
        p[i] = pi;
        // bf16 round to nearest even (as tf_to_bf16; NaN keeps a quiet NaN)
        uint32_t u;
        memcpy(&u, &pi, 4);
        pb[i] = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40)
                                                : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}
