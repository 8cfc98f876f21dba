// layernorm.c — LayerNorm forward and backward (biased variance, as torch.nn.LayerNorm).
#include <math.h>
#include <omp.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"
#include "vecmath.h"

void tf_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= TF_PAR_MIN)
    for (int r = 0; r < N; r++) {
        const float *x = inp + (size_t)r * C;
        float *o = out + (size_t)r * C;
        float m = 0.0f;
#pragma omp simd reduction(+ : m)
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int i = 0; i < C; i++) {
            float d = x[i] - m;
            v += d * d;
        }
        v /= C;
        float s = 1.0f / sqrtf(v + eps);
#pragma omp simd
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * weight[i] + bias[i];
        if (mean) mean[r] = m;
        if (rstd) rstd[r] = s;
    }
}

// y = xhat * w + b with xhat = (x - mean) * rstd:
// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * w.
void tf_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean, const float *rstd,
                           int N, int C) {
    tf_layernorm_backward_acc(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, 1);
}

// One row's dinp (accumulated), and its terms of dweight and dbias added to dw[C], db[C].
static inline void backward_row(float *dx, float *dw, float *db, const float *dy, const float *x, const float *weight,
                                float m, float s, int C) {
    float sum_d = 0.0f, sum_dx = 0.0f;
#pragma omp simd reduction(+ : sum_d, sum_dx)
    for (int i = 0; i < C; i++) {
        float xh = (x[i] - m) * s, dxh = dy[i] * weight[i];
        sum_d += dxh;
        sum_dx += dxh * xh;
        dw[i] += dy[i] * xh;
        db[i] += dy[i];
    }
    sum_d /= C;
    sum_dx /= C;
#pragma omp simd
    for (int i = 0; i < C; i++) {
        float xh = (x[i] - m) * s, dxh = dy[i] * weight[i];
        dx[i] += s * (dxh - sum_d - xh * sum_dx);
    }
}

void tf_layernorm_backward_acc(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean, const float *rstd,
                               int N, int C, int acc_dw) {
    // Per-thread partial sums of dweight/dbias, reduced at the end in thread order (deterministic).
    // They are allocated here, outside the parallel region, and checked: without the memory the rows
    // are summed on this thread straight into dweight/dbias (slower, same math) rather than crashing.
    int max_threads = omp_get_max_threads();
    float *partial = tf_alloc((size_t)max_threads * 2 * C * sizeof(float), 1);
    if (!partial) {
        if (!acc_dw) {
            memset(dweight, 0, (size_t)C * sizeof(float));
            memset(dbias, 0, (size_t)C * sizeof(float));
        }
        for (int r = 0; r < N; r++)
            backward_row(dinp + (size_t)r * C, dweight, dbias, dout + (size_t)r * C, inp + (size_t)r * C, weight,
                         mean[r], rstd[r], C);
        return;
    }
#pragma omp parallel num_threads(max_threads)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        float *dw = partial + (size_t)id * 2 * C, *db = dw + C;
#pragma omp for
        for (int r = 0; r < N; r++)
            backward_row(dinp + (size_t)r * C, dw, db, dout + (size_t)r * C, inp + (size_t)r * C, weight, mean[r],
                         rstd[r], C);
        for (int k = 0; k < nt; k++) {  // ordered reduction: deterministic results
#pragma omp barrier
            if (k == id && (acc_dw || k > 0)) {
#pragma omp simd
                for (int i = 0; i < C; i++) {
                    dweight[i] += dw[i];
                    dbias[i] += db[i];
                }
            } else if (k == id) {  // the first thread's partial sums overwrite
                memcpy(dweight, dw, (size_t)C * sizeof(float));
                memcpy(dbias, db, (size_t)C * sizeof(float));
            }
        }
    }
    tf_free(partial);
}
