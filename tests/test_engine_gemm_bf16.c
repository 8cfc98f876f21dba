// test_engine_gemm_bf16.c — the AVX512-BF16 product of many rows (tf_gemm_bf16_avx512) against a plain
// double-precision product of the same bf16 operands, over shapes that exercise every part of it:
// both layouts of B, row tiles of every height (M 1 .. 40, 64, 130), panels past the last full one
// (N % 32), panel groups cut short, K past one packed block (KC = 512), odd K, K below one pair of
// sixteen, padded strides, alpha, beta (0 must not read C), bias, one thread and two, and a call from
// inside an OpenMP region. Where the CPU lacks AVX512-BF16 it must refuse and leave C alone.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "tf_common.h"
#include "tf_kernels.h"

static int have(void) {
    if (tf_have_avx512_bf16()) return 1;
    uint16_t a[4] = {0}, b[4] = {0};
    float c[4] = {7, 7, 7, 7};
    cr_assert_eq(tf_gemm_bf16_avx512(1, 2, 2, 1, 1.0f, a, 1, b, 1, NULL, 0.0f, c, 2), -1);
    for (int i = 0; i < 4; i++) cr_assert_eq(c[i], 7.0f, "element %d written by a refused call", i);
    return 0;
}

// C = alpha * A @ op(B) + bias + beta * C0, checked element by element; the padding of C's rows stays.
static void check(int trans_b, int M, int N, int K, float alpha, float beta, int with_bias) {
    int lda = K + 3, ldb = (trans_b ? K : N) + 5, ldc = N + 2, brows = trans_b ? N : K;
    float *af = malloc((size_t)M * lda * 4), *bf = malloc((size_t)brows * ldb * 4), *bias = malloc((size_t)N * 4);
    float *c = malloc((size_t)M * ldc * 4), *c0 = malloc((size_t)M * ldc * 4);
    uint16_t *A = malloc((size_t)M * lda * 2), *B = malloc((size_t)brows * ldb * 2);
    fill_normal(af, (size_t)M * lda, 10 + M);
    fill_normal(bf, (size_t)brows * ldb, 20 + K);
    fill_normal(bias, N, 30 + N);
    fill_normal(c0, (size_t)M * ldc, 40);
    for (size_t i = 0; i < (size_t)M * lda; i++) A[i] = tf_f32_to_bf16(af[i]);
    for (size_t i = 0; i < (size_t)brows * ldb; i++) B[i] = tf_f32_to_bf16(bf[i]);
    if (beta == 0.0f)  // beta 0 must not read C: NaN there would show
        for (size_t i = 0; i < (size_t)M * ldc; i++) c0[i] = NAN;
    for (int m = 0; m < M; m++) c0[(size_t)m * ldc + N] = c0[(size_t)m * ldc + N + 1] = -12345.0f;
    memcpy(c, c0, (size_t)M * ldc * 4);
    cr_assert_eq(tf_gemm_bf16_avx512(trans_b, M, N, K, alpha, A, lda, B, ldb, with_bias ? bias : NULL, beta, c, ldc), 0,
                 "tB %d M %d N %d K %d: refused", trans_b, M, N, K);
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)tf_bf16_to_f32(A[(size_t)m * lda + k]) *
                     tf_bf16_to_f32(trans_b ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n]);
            s = alpha * s + (with_bias ? bias[n] : 0.0) + (beta != 0.0f ? beta * (double)c0[(size_t)m * ldc + n] : 0.0);
            double g = c[(size_t)m * ldc + n];
            cr_assert(fabs(g - s) <= 1e-4 * (1 + sqrt(K)) * (1 + fabs(s)),
                      "tB %d M %d N %d K %d alpha %g beta %g bias %d [%d,%d]: %.7g vs %.7g", trans_b, M, N, K, alpha, beta,
                      with_bias, m, n, g, s);
        }
        cr_assert_eq(c[(size_t)m * ldc + N], -12345.0f, "tB %d M %d N %d K %d: wrote past row %d", trans_b, M, N, K, m);
        cr_assert_eq(c[(size_t)m * ldc + N + 1], -12345.0f);
    }
    free(af); free(bf); free(bias); free(c); free(c0); free(A); free(B);
}

static void check_shapes(int trans_b) {
    // K: below 32, odd, one block, past one block (512), odd past a block
    const int Ks[] = {1, 7, 33, 64, 512, 515, 1100};
    // N: one column, a panel's tail, exactly one panel, panels + tail, a group of four + tail (trans_b 0)
    const int Ns[] = {1, 17, 32, 95, 160, 200};
    for (int M = 1; M <= 40; M += 3)
        for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k += 2) check(trans_b, M, Ns[M % 6], Ks[k], 1.0f, 0.0f, M & 1);
    for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++)
        for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++) check(trans_b, 13, Ns[n], Ks[k], 1.0f, 0.0f, 1);
    check(trans_b, 64, 200, 515, 1.0f, 0.0f, 1);
    check(trans_b, 130, 95, 64, 1.0f, 0.0f, 0);
    check(trans_b, 25, 160, 1100, 0.5f, 1.0f, 0);   // beta 1: accumulates (the backward's dinp +=)
    check(trans_b, 12, 33, 515, -2.0f, 0.25f, 1);   // alpha and beta with bias
}

Test(engine_gemm_bf16, matches_the_double_product_b_stored_n_by_k) {
    if (!have()) return;
    check_shapes(1);
}

Test(engine_gemm_bf16, matches_the_double_product_b_stored_k_by_n) {
    if (!have()) return;
    check_shapes(0);
}

Test(engine_gemm_bf16, one_thread_and_inside_an_openmp_region) {
    if (!have()) return;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    check(1, 40, 200, 515, 1.0f, 0.0f, 1);
    check(0, 40, 200, 515, 1.0f, 0.0f, 1);
    omp_set_num_threads(threads);
    int failed = 0;
#pragma omp parallel num_threads(2) reduction(+ : failed)
    {
        // each thread its own product, serially inside the region
        int M = 20, N = 70, K = 100, id = omp_get_thread_num();
        uint16_t *A = malloc((size_t)M * K * 2), *B = malloc((size_t)N * K * 2);
        float *c = malloc((size_t)M * N * 4);
        for (int i = 0; i < M * K; i++) A[i] = tf_f32_to_bf16((float)((i * 7 + id) % 13) - 6.0f);
        for (int i = 0; i < N * K; i++) B[i] = tf_f32_to_bf16((float)((i * 5) % 11) - 5.0f);
        if (tf_gemm_bf16_avx512(1, M, N, K, 1.0f, A, K, B, K, NULL, 0.0f, c, N)) failed++;
        for (int m = 0; m < M && !failed; m++)
            for (int n = 0; n < N; n++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += (double)tf_bf16_to_f32(A[m * K + k]) * tf_bf16_to_f32(B[n * K + k]);
                if (c[m * N + n] != (float)s) failed++;  // small integers: exact
            }
        free(A); free(B); free(c);
    }
    cr_assert_eq(failed, 0);
}

// tf_gemm_bf16 (which takes this kernel where there is no AMX) agrees with oneDNN's primitive
Test(engine_gemm_bf16, tf_gemm_bf16_agrees_with_onednn) {
    int M = 70, N = 150, K = 600;
    uint16_t *A = malloc((size_t)M * K * 2), *B = malloc((size_t)K * N * 2);
    float *c1 = malloc((size_t)M * N * 4), *c2 = malloc((size_t)M * N * 4), *f = malloc((size_t)K * N * 4);
    fill_normal(f, (size_t)M * K, 5);
    for (int i = 0; i < M * K; i++) A[i] = tf_f32_to_bf16(f[i]);
    fill_normal(f, (size_t)K * N, 6);
    for (int i = 0; i < K * N; i++) B[i] = tf_f32_to_bf16(f[i]);
    for (int tb = 0; tb < 2; tb++) {
        cr_assert_eq(tf_gemm_bf16(0, tb, M, N, K, 1.0f, A, K, B, tb ? K : N, NULL, 0.0f, c1, N), 0);
        cr_assert_eq(tf_gemm_bf16_onednn(0, tb, M, N, K, 1.0f, A, K, B, tb ? K : N, NULL, 0.0f, c2, N), 0);
        for (int i = 0; i < M * N; i++)
            cr_assert(fabsf(c1[i] - c2[i]) <= 1e-4f * (1 + sqrtf((float)K)) * (1 + fabsf(c2[i])), "tB %d [%d]: %g vs %g",
                      tb, i, c1[i], c2[i]);
    }
    free(A); free(B); free(c1); free(c2); free(f);
}
