// adamw.c — the AdamW update (decoupled weight decay), elementwise over a flat arena.
#include <math.h>
#include <string.h>

#include "tf_kernels.h"

// PyTorch's AdamW, in its order: p *= 1 - lr wd; p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps).
// One pass over p, g, m, v (memory bound: 28 bytes per parameter), no division by c1 or c2 inside.
// Updates m[i], v[i] and returns the new p[i]; both loops below share it.
static inline float adamw_one(float p, float g, float *m, float *v, float b1, float b2, float eps, float step,
                              float inv_sqrt_c2, float decay) {
    float mi = b1 * *m + (1.0f - b1) * g;
    float vi = b2 * *v + (1.0f - b2) * g * g;
    *m = mi;
    *v = vi;
    return p * decay - step * mi / (sqrtf(vi) * inv_sqrt_c2 + eps);
}

void tf_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                     float b2, float eps, float wd, float grad_scale, long t) {
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    float step = lr / c1, inv_sqrt_c2 = 1.0f / sqrtf(c2), decay = 1.0f - lr * wd;
#pragma omp parallel for simd schedule(static) if (n >= 32768)
    for (size_t i = 0; i < n; i++)
        p[i] = adamw_one(p[i], g[i] * grad_scale, &m[i], &v[i], b1, b2, eps, step, inv_sqrt_c2, decay);
}

void tf_adamw_update_bf16(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr,
                          float b1, float b2, float eps, float wd, float grad_scale, long t) {
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    float step = lr / c1, inv_sqrt_c2 = 1.0f / sqrtf(c2), decay = 1.0f - lr * wd;
#pragma omp parallel for simd schedule(static) if (n >= 32768)
    for (size_t i = 0; i < n; i++) {
        float pi = adamw_one(p[i], g[i] * grad_scale, &m[i], &v[i], b1, b2, eps, step, inv_sqrt_c2, decay);
        p[i] = pi;
        // bf16 round to nearest even (as tf_to_bf16; NaN keeps a quiet NaN)
        uint32_t u;
        memcpy(&u, &pi, 4);
        pb[i] = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40)
                                                : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}
