// crossentropy.c — softmax cross-entropy over the vocabulary, and its backward in place.
// Rows are independent (OpenMP over rows); within a row the max and the exponentials are vectorised
// (vecmath.h), and a row of a big vocabulary (50257 floats = 200 KB) stays in cache between passes.
#include <math.h>
#include <string.h>

#include "tf_kernels.h"
#include "vecmath.h"

// log sum_i exp(x_i - mx): the exponentials summed in float lanes over blocks of 1024 (each term is at
// most 1), the blocks' sums added in double (double lanes throughout ran at half the speed)
static double log_sum_exp_shifted(const float *x, int V, float mx) {
    enum { BLK = 1024 };
    double sum = 0.0;
    for (int b = 0; b < V; b += BLK) {
        int e = b + BLK < V ? b + BLK : V;
        float part = 0.0f;
#pragma omp simd reduction(+ : part)
        for (int i = b; i < e; i++) part += vm_expf(x[i] - mx);
        sum += part;
    }
    return log(sum);
}

// nll[N] from logits[N, V] (tf_kernels.h): the row's statistics are not kept
void tf_crossentropy_forward(float *nll, const float *logits, const int *targets, int N, int V) {
    tf_crossentropy_forward_keep(nll, NULL, NULL, logits, targets, N, V);
}

// nll_r = -log softmax(x_r)[t_r] = log sum_i exp(x_ri - m_r) - (x_r,t_r - m_r), m_r = max_i x_ri;
// logits[N, V] -> nll[N] (and rowmax[N], rowinv[N] = 1 / sum_i exp(x_ri - m_r) when kept)
void tf_crossentropy_forward_keep(float *nll, float *rowmax, float *rowinv, const float *logits, const int *targets,
                                  int N, int V) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) {
            nll[r] = 0.0f;
            if (rowmax) rowmax[r] = rowinv[r] = 0.0f;
            continue;
        }
        const float *x = logits + (size_t)r * V;
        float mx = vm_max(x, V);
        double lse = log_sum_exp_shifted(x, V, mx);
        nll[r] = (float)(lse - (double)(x[targets[r]] - mx));
        if (rowmax) {
            rowmax[r] = mx;
            rowinv[r] = (float)exp(-lse);
        }
    }
}

// d(x_ri) = dnll_r (softmax(x_r)_i - [i == t_r]): logits[N, V] -> dout[N, V] rounded to bf16, from the
// forward's rowmax and rowinv (no pass for the max or the sum)
void tf_crossentropy_backward_bf16(uint16_t *dout, const float *logits, const float *rowmax, const float *rowinv,
                                   const int *targets, const float *dnll, int N, int V) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        uint16_t *d = dout + (size_t)r * V;
        if (targets[r] < 0 || dnll[r] == 0.0f) {
            memset(d, 0, (size_t)V * sizeof(uint16_t));
            continue;
        }
        const float *x = logits + (size_t)r * V;
        // softmax(x)_i dnll = exp(x_i - max) (dnll / sum): one pass, the row's statistics from the forward
        float mx = rowmax[r], k = rowinv[r] * dnll[r];
#pragma omp simd
        for (int i = 0; i < V; i++) d[i] = vm_bf16(vm_expf(x[i] - mx) * k);
        int t = targets[r];
        d[t] = vm_bf16(vm_expf(x[t] - mx) * k - dnll[r]);
    }
}

// d(x_ri) = dnll_r (softmax(x_r)_i - [i == t_r]), written over logits[N, V]; rows without a target
// (or with weight 0) become 0
void tf_crossentropy_backward_inplace(float *logits, const int *targets, const float *dnll, int N, int V) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        float *x = logits + (size_t)r * V;
        if (targets[r] < 0 || dnll[r] == 0.0f) {
            memset(x, 0, (size_t)V * sizeof(float));
            continue;
        }
        float mx = vm_max(x, V);
        float sum = vm_exp_shift_sum(x, V, mx);  // x_i becomes exp(x_i - mx); sum = their sum
        float k = dnll[r] / sum;
#pragma omp simd
        for (int i = 0; i < V; i++) x[i] *= k;
        x[targets[r]] -= dnll[r];
    }
}
