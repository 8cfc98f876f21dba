// rotary.c — rotary position embeddings (RoFormer) for GPT-J (interleaved pairs) and GPT-NeoX
// (rotate-half pairs), applied in place to the q and k parts of qkv rows.
#include <math.h>

#include "tf_kernels.h"

// For head h and pair i (0 <= i < rd/2) with theta = pos * inv_freq_i, inv_freq_i = base^(-2i/rd):
//   (a, b) -> (a cos - b sin, b cos + a sin), where (a, b) = (x[2i], x[2i+1]) for GPT-J and
//   (x[i], x[i + rd/2]) for NeoX. HF computes inv_freq and the angle in fp32; so do we.
void tf_rotary(float *qkv, const int *pos, int N, int C, int NH, int rd, int interleaved, float base,
               int inverse) {
    if (rd <= 0) return;
    int hs = C / NH, half = rd / 2;
    // a decode step's few rows are cheaper on the calling thread than a parallel region
#pragma omp parallel for schedule(static) if (N >= 16)
    for (int r = 0; r < N; r++) {
        float *row = qkv + (size_t)r * 3 * C;
        for (int i = 0; i < half; i++) {
            float inv_freq = 1.0f / powf(base, (float)(2 * i) / (float)rd);
            float ang = (float)pos[r] * inv_freq;
            float c = cosf(ang), s = inverse ? -sinf(ang) : sinf(ang);
            for (int part = 0; part < 2; part++) {  // q, then k
                for (int h = 0; h < NH; h++) {
                    float *x = row + part * C + h * hs;
                    int ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
                    float a = x[ia], b = x[ib];
                    x[ia] = a * c - b * s;
                    x[ib] = b * c + a * s;
                }
            }
        }
    }
}
