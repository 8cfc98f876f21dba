// attention.c — causal multi-head self-attention over a padded batch, forward and backward.
#include <math.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"

// out[b,t,h,:] = sum_{s<=t} att[b,h,t,s] v[b,s,h,:],  att = softmax_s(q_t . k_s / sqrt(hs))
void tf_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel
    {
        float *row = att ? NULL : tf_alloc((size_t)T * sizeof(float), 0);
#pragma omp for collapse(3)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < T; t++) {
                    const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                    float *a = att ? att + (((size_t)b * NH + h) * T + t) * T : row;
                    float mx = -INFINITY;
                    for (int s = 0; s <= t; s++) {
                        const float *k = qkv + ((size_t)b * T + s) * C3 + C + h * hs;
                        float d = 0.0f;
                        for (int i = 0; i < hs; i++) d += q[i] * k[i];
                        d *= scale;
                        a[s] = d;
                        if (d > mx) mx = d;
                    }
                    float sum = 0.0f;
                    for (int s = 0; s <= t; s++) {
                        a[s] = expf(a[s] - mx);
                        sum += a[s];
                    }
                    float inv = 1.0f / sum;
                    for (int s = 0; s <= t; s++) a[s] *= inv;
                    if (att)
                        for (int s = t + 1; s < T; s++) a[s] = 0.0f;
                    float *o = out + ((size_t)b * T + t) * C + h * hs;
                    for (int i = 0; i < hs; i++) o[i] = 0.0f;
                    for (int s = 0; s <= t; s++) {
                        const float *v = qkv + ((size_t)b * T + s) * C3 + 2 * C + h * hs;
                        float w = a[s];
                        for (int i = 0; i < hs; i++) o[i] += w * v[i];
                    }
                }
        tf_free(row);
    }
}

// Backward, parallel over (b, h) so that each thread owns its dk, dv slices:
// datt[s] = dout_t . v_s; dv_s += att[t,s] dout_t; dpre = att (datt - sum_s att datt);
// dq_t += scale sum_s dpre[s] k_s; dk_s += scale dpre[s] q_t.
void tf_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B,
                           int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel
    {
        float *datt = tf_alloc((size_t)T * sizeof(float), 0);
#pragma omp for collapse(2)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < T; t++) {
                    const float *a = att + (((size_t)b * NH + h) * T + t) * T;
                    const float *dy = dout + ((size_t)b * T + t) * C + h * hs;
                    const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                    float *dq = dqkv + ((size_t)b * T + t) * C3 + h * hs;
                    float dot = 0.0f;
                    for (int s = 0; s <= t; s++) {
                        const float *v = qkv + ((size_t)b * T + s) * C3 + 2 * C + h * hs;
                        float *dv = dqkv + ((size_t)b * T + s) * C3 + 2 * C + h * hs;
                        float d = 0.0f;
                        for (int i = 0; i < hs; i++) {
                            d += dy[i] * v[i];
                            dv[i] += a[s] * dy[i];
                        }
                        datt[s] = d;
                        dot += a[s] * d;
                    }
                    for (int s = 0; s <= t; s++) {
                        float dpre = a[s] * (datt[s] - dot) * scale;
                        const float *k = qkv + ((size_t)b * T + s) * C3 + C + h * hs;
                        float *dk = dqkv + ((size_t)b * T + s) * C3 + C + h * hs;
                        for (int i = 0; i < hs; i++) {
                            dq[i] += dpre * k[i];
                            dk[i] += dpre * q[i];
                        }
                    }
                }
        tf_free(datt);
    }
}
