// crossentropy.c — softmax cross-entropy over the vocabulary, fused with its backward.
#include <math.h>

#include "tf_kernels.h"

void tf_crossentropy_forward(float *nll, const float *logits, const int *targets, int N, int V) {
#pragma omp parallel for
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) { nll[r] = 0.0f; continue; }
        const float *x = logits + (size_t)r * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += expf(x[i] - mx);
        nll[r] = (float)(log(sum) - (double)(x[targets[r]] - mx));
    }
}

void tf_crossentropy_backward_inplace(float *logits, const int *targets, const float *dnll, int N, int V) {
#pragma omp parallel for
    for (int r = 0; r < N; r++) {
        float *x = logits + (size_t)r * V;
        if (targets[r] < 0 || dnll[r] == 0.0f) {
            for (int i = 0; i < V; i++) x[i] = 0.0f;
            continue;
        }
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
        float sum = 0.0f;
        for (int i = 0; i < V; i++) {
            x[i] = expf(x[i] - mx);
            sum += x[i];
        }
        float k = dnll[r] / sum;
        for (int i = 0; i < V; i++) x[i] *= k;
        x[targets[r]] -= dnll[r];
    }
}
