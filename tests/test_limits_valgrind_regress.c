// test_limits_valgrind_regress.c — defects found by `make valgrind`, pinned so that they stay fixed on
// machines and builds where valgrind is not run.
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tf_kernels.h"

// The bf16 product's fallback (taken when oneDNN refuses a bf16 primitive, as on CPUs without
// AVX-512, or inside an OpenMP region) computed C = beta * C + bias with beta 0, reading the
// uninitialised output: 0 * NaN made the whole row NaN. beta 0 must not read C.
Test(valgrind_regress, gemm_with_beta_zero_never_reads_the_output) {
    enum { M = 3, N = 5, K = 4 };
    float C[M * N], bias[N], a32[M * K], b32[K * N];
    uint16_t a[M * K], b[K * N];
    for (int j = 0; j < N; j++) bias[j] = 0.5f * (float)j - 1.0f;
    for (int i = 0; i < M * K; i++) a32[i] = (float)(i % 5) - 2.0f;  // exact in bf16
    for (int i = 0; i < K * N; i++) b32[i] = 0.25f * (float)(i % 7);
    tf_to_bf16(a, a32, M * K);
    tf_to_bf16(b, b32, K * N);
    // K = 0: the fallback's bias path (C = bias), and tf_gemm's own K = 0 path (C = 0)
    for (int i = 0; i < M * N; i++) C[i] = NAN;
    cr_assert_eq(tf_gemm_bf16(0, 0, M, N, 0, 1.0f, a, K, b, N, bias, 0.0f, C, N), 0);
    for (int i = 0; i < M * N; i++) cr_assert_eq(C[i], bias[i % N], "K = 0, bias: C[%d] = %g", i, C[i]);
    for (int i = 0; i < M * N; i++) C[i] = NAN;
    tf_gemm(0, 0, M, N, 0, 1.0f, a32, K, b32, N, 0.0f, C, N);
    for (int i = 0; i < M * N; i++) cr_assert_eq(C[i], 0.0f, "K = 0: C[%d] = %g", i, C[i]);
    // inside an OpenMP region the bf16 product takes the fallback: the exact product, no NaN
    int rc = -1;
#pragma omp parallel num_threads(1)
    {
        for (int i = 0; i < M * N; i++) C[i] = NAN;
        rc = tf_gemm_bf16(0, 0, M, N, K, 1.0f, a, K, b, N, bias, 0.0f, C, N);
    }
    cr_assert_eq(rc, 0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = bias[j];
            for (int k = 0; k < K; k++) want += (double)a32[i * K + k] * b32[k * N + j];
            cr_assert_float_eq(C[i * N + j], want, 1e-5, "C[%d][%d] = %g, want %g", i, j, C[i * N + j], want);
        }
}
