// matmul.c — every oneDNN call of the project lives here (Debian 12 ships oneDNN 2.6; its 3.x API
// differs). dnnl_sgemm dispatches to oneDNN's JIT GEMM (AVX-512 here, ~300 GFLOP/s on 2 cores) and
// runs on the same libgomp threads as the rest of the engine.
#include <dnnl.h>
#include <omp.h>
#include <string.h>

#include "tf_kernels.h"

void tf_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        // C = beta * C; oneDNN rejects K = 0
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] *= beta;
        return;
    }
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void tf_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int BT,
                       int C, int OC) {
    if (bias) {
#pragma omp parallel for
        for (int r = 0; r < BT; r++) memcpy(out + (size_t)r * OC, bias, OC * sizeof(float));
    }
    tf_gemm(0, 1, BT, OC, C, 1.0f, inp, C, weight, C, bias ? 1.0f : 0.0f, out, OC);
}

void tf_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int BT, int C, int OC) {
    if (dinp) tf_gemm(0, 0, BT, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
    if (dweight) tf_gemm(1, 0, OC, C, BT, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias) {
        // each thread owns a slice of the columns and walks the rows contiguously
#pragma omp parallel
        {
            int nt = omp_get_num_threads(), id = omp_get_thread_num();
            int lo = (int)((long)OC * id / nt), hi = (int)((long)OC * (id + 1) / nt);
            for (int r = 0; r < BT; r++) {
                const float *d = dout + (size_t)r * OC;
                for (int o = lo; o < hi; o++) dbias[o] += d[o];
            }
        }
    }
}
