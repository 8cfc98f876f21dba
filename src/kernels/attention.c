// attention.c — causal multi-head self-attention over a padded batch, forward and backward.
//
// Each (batch row, head) pair is an independent problem on strided views of qkv: Q, K, V are
// [T, hs] with row stride 3C. The products go through tf_gemm (oneDNN, one thread per pair inside
// the OpenMP loop over pairs); only the softmax and its backward are plain loops. Causality is used
// to skip work: rows are taken in blocks of ROWS, and a block only multiplies the columns 0..end of
// the block (the upper triangle beyond the block is never computed).
#include <math.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"
#include "vecmath.h"

enum { ROWS = 64 };

// Row t of s (columns 0..t) becomes its softmax; columns t+1..n-1 become 0.
static void softmax_causal_row(float *s, int t, int n) {
    float sum = vm_exp_shift_sum(s, t + 1, vm_max(s, t + 1));
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j <= t; j++) s[j] *= inv;
    if (t + 1 < n) memset(s + t + 1, 0, (size_t)(n - t - 1) * sizeof(float));
}

// out[b,t,h,:] = sum_{s<=t} att[b,h,t,s] v[b,s,h,:],  att = softmax_s(q_t . k_s / sqrt(hs))
void tf_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel
    {
        // without a saved att, each thread works in one block of rows at a time
        float *scratch = att ? NULL : tf_alloc((size_t)ROWS * T * sizeof(float), 0);
#pragma omp for collapse(2) schedule(dynamic, 1)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
                float *a = att ? att + ((size_t)b * NH + h) * T * T : NULL;
                for (int t0 = 0; t0 < T; t0 += ROWS) {
                    int t1 = t0 + ROWS < T ? t0 + ROWS : T, m = t1 - t0;
                    float *s = a ? a + (size_t)t0 * T : scratch;
                    // s[m, t1] = scale * Q[t0:t1] K[0:t1]^T
                    tf_gemm(0, 1, m, t1, hs, scale, q + (size_t)t0 * C3, C3, k, C3, 0.0f, s, T);
                    for (int i = 0; i < m; i++) softmax_causal_row(s + (size_t)i * T, t0 + i, a ? T : t1);
                    // out[t0:t1] = P[t0:t1, 0:t1] V[0:t1]
                    tf_gemm(0, 0, m, hs, t1, 1.0f, s, T, v, C3, 0.0f,
                            out + ((size_t)b * T + t0) * C + h * hs, C);
                }
            }
        tf_free(scratch);
    }
}

// Backward per (b, h), all products through tf_gemm (the causal zeros of att keep them exact):
// dV += P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(P * dP)) * scale;  dQ += dS K;  dK += dS^T Q.
// Each (b, h) pair owns its slices of dqkv, so the pairs run in parallel without races.
void tf_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B,
                           int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel
    {
        float *dp = tf_alloc((size_t)T * T * sizeof(float), 0);
#pragma omp for collapse(2) schedule(dynamic, 1)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                size_t base = (size_t)b * T * C3 + h * hs;
                const float *q = qkv + base, *k = q + C, *v = q + 2 * C;
                float *dq = dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
                const float *a = att + ((size_t)b * NH + h) * T * T;
                const float *dy = dout + (size_t)b * T * C + h * hs;
                // dV[0:T] += P^T dO: row block [t0, t1) of P touches columns 0..t1 only
                for (int t0 = 0; t0 < T; t0 += ROWS) {
                    int t1 = t0 + ROWS < T ? t0 + ROWS : T, m = t1 - t0;
                    tf_gemm(1, 0, t1, hs, m, 1.0f, a + (size_t)t0 * T, T, dy + (size_t)t0 * C, C, 1.0f, dv, C3);
                    // dP[t0:t1, 0:t1] = dO[t0:t1] V[0:t1]^T
                    tf_gemm(0, 1, m, t1, hs, 1.0f, dy + (size_t)t0 * C, C, v, C3, 0.0f, dp + (size_t)t0 * T, T);
                    // softmax backward in place: dS = P (dP - sum P dP) scale, zero beyond t
                    for (int i = t0; i < t1; i++) {
                        const float *pr = a + (size_t)i * T;
                        float *d = dp + (size_t)i * T;
                        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                        for (int j = 0; j <= i; j++) dot += pr[j] * d[j];
#pragma omp simd
                        for (int j = 0; j <= i; j++) d[j] = pr[j] * (d[j] - dot) * scale;
                        if (i + 1 < t1) memset(d + i + 1, 0, (size_t)(t1 - i - 1) * sizeof(float));
                    }
                    // dQ[t0:t1] += dS[t0:t1, 0:t1] K[0:t1]
                    tf_gemm(0, 0, m, hs, t1, 1.0f, dp + (size_t)t0 * T, T, k, C3, 1.0f, dq + (size_t)t0 * C3, C3);
                    // dK[0:t1] += dS[t0:t1, 0:t1]^T Q[t0:t1]
                    tf_gemm(1, 0, t1, hs, m, 1.0f, dp + (size_t)t0 * T, T, q + (size_t)t0 * C3, C3, 1.0f, dk, C3);
                }
            }
        tf_free(dp);
    }
}
