// adamw.c — the AdamW update (decoupled weight decay), elementwise over a flat arena.
#include <math.h>

#include "tf_kernels.h"

void tf_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                     float b2, float eps, float wd, float grad_scale, long t) {
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
#pragma omp parallel for simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mh = m[i] / c1, vh = v[i] / c2;
        // PyTorch's AdamW: decay first (p *= 1 - lr wd), then the Adam step
        p[i] -= lr * wd * p[i];
        p[i] -= lr * mh / (sqrtf(vh) + eps);
    }
}
