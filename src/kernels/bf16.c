// bf16.c — fp32 -> bf16 rounding of whole arrays (the operands of the mixed-precision matmuls).
#include <omp.h>

#include "tf_kernels.h"
#include "vecmath.h"

// out[n] = bf16(in[n]), rounded to nearest even (vm_bf16)
void tf_to_bf16(uint16_t *out, const float *in, size_t n) {
#pragma omp parallel for simd if (n >= 65536) schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = vm_bf16(in[i]);
}

// out[R, N] = bf16(in[R, N]); colsum[N] (+)= sum over rows of in (unrounded): a bias gradient taken in
// the same pass as its rounding
void tf_to_bf16_colsum(uint16_t *out, float *colsum, const float *in, int R, int N, int accumulate) {
    // each thread owns a slice of the columns and walks the rows in order (the sums' order does not
    // depend on the thread count)
#pragma omp parallel if ((long)R * N >= 65536)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int lo = (int)((long)N * id / nt), hi = (int)((long)N * (id + 1) / nt);
        if (!accumulate)
            for (int j = lo; j < hi; j++) colsum[j] = 0.0f;
        for (int r = 0; r < R; r++) {
            const float *x = in + (size_t)r * N;
            uint16_t *o = out + (size_t)r * N;
#pragma omp simd
            for (int j = lo; j < hi; j++) {
                colsum[j] += x[j];
                o[j] = vm_bf16(x[j]);
            }
        }
    }
}

// out[K, R] = bf16(in[R, K])^T, in 32 x 32 tiles so that both the reads and the writes stay in cache
void tf_to_bf16_transposed(uint16_t *out, const float *in, int R, int K) {
    enum { TILE = 32 };
    int nti = (R + TILE - 1) / TILE;
#pragma omp parallel for if ((long)R * K >= 65536) schedule(static)
    for (int ti = 0; ti < nti; ti++) {
        int i0 = ti * TILE, i1 = i0 + TILE < R ? i0 + TILE : R;
        for (int j0 = 0; j0 < K; j0 += TILE) {
            int j1 = j0 + TILE < K ? j0 + TILE : K;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) out[(size_t)j * R + i] = vm_bf16(in[(size_t)i * K + j]);
        }
    }
}
