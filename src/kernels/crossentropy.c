// crossentropy.c — softmax cross-entropy over the vocabulary, and its backward in place.
// Rows are independent (OpenMP over rows); within a row the max and the exponentials are vectorised
// (vecmath.h), and a row of a big vocabulary (50257 floats = 200 KB) stays in cache between passes.
#include <math.h>
#include <string.h>

#include "tf_kernels.h"
#include "vecmath.h"

// log sum_i exp(x_i - mx) with the exponentials summed in double lanes
static double log_sum_exp_shifted(const float *x, int V, float mx) {
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < V; i++) sum += (double)vm_expf(x[i] - mx);
    return log(sum);
}

void tf_crossentropy_forward(float *nll, const float *logits, const int *targets, int N, int V) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) { nll[r] = 0.0f; continue; }
        const float *x = logits + (size_t)r * V;
        float mx = vm_max(x, V);
        nll[r] = (float)(log_sum_exp_shifted(x, V, mx) - (double)(x[targets[r]] - mx));
    }
}

void tf_crossentropy_backward_inplace(float *logits, const int *targets, const float *dnll, int N, int V) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        float *x = logits + (size_t)r * V;
        if (targets[r] < 0 || dnll[r] == 0.0f) {
            memset(x, 0, (size_t)V * sizeof(float));
            continue;
        }
        float mx = vm_max(x, V);
        float sum = vm_exp_shift_sum(x, V, mx);
        float k = dnll[r] / sum;
#pragma omp simd
        for (int i = 0; i < V; i++) x[i] *= k;
        x[targets[r]] -= dnll[r];
    }
}
