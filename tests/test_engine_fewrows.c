// test_engine_fewrows.c — the decode-size bf16 product (tf_matmul_bf16_few_rows), on AMX and on its
// AVX512-BF16 path, against a plain double-precision product of the same bf16-rounded operands, over
// shapes that exercise every part of each: groups of four tiles, single tiles, weight rows past the
// last full tile or panel, K past the last full tile, K below one tile, odd K, padded strides, with
// and without bias, one thread and two.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "tf_common.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

// out = bf16(inp) @ W^T + bias by tf_matmul_bf16_few_rows, against the double product of the
// rounded values; tolerance as the bf16 GEMM's test (test_engine_bf16.c): fp32 sums of K terms.
static void check(int M, int K, int N, int with_bias) {
    int ldi = K + 3, ldw = K + 5, ldo = N + 2;
    float *inp = malloc((size_t)M * ldi * sizeof(float)), *wf = malloc((size_t)N * ldw * sizeof(float));
    float *bias = malloc((size_t)N * sizeof(float)), *out = malloc((size_t)M * ldo * sizeof(float));
    uint16_t *W = malloc((size_t)N * ldw * 2), *scr = malloc(tf_few_rows_scratch(M, K) * 2);
    fill_normal(inp, (size_t)M * ldi, 100 + M);
    fill_normal(wf, (size_t)N * ldw, 200 + K);
    fill_normal(bias, N, 300 + N);
    for (size_t i = 0; i < (size_t)N * ldw; i++) W[i] = tf_f32_to_bf16(wf[i]);
    for (size_t i = 0; i < (size_t)M * ldo; i++) out[i] = -12345.0f;  // must be overwritten
    cr_assert_eq(tf_matmul_bf16_few_rows(out, ldo, inp, ldi, W, ldw, with_bias ? bias : NULL, M, K, N, scr), 0,
                 "M %d K %d N %d: kernel refused", M, K, N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = with_bias ? bias[n] : 0.0;
            for (int k = 0; k < K; k++)
                s += (double)tf_bf16_to_f32(tf_f32_to_bf16(inp[(size_t)m * ldi + k])) *
                     tf_bf16_to_f32(W[(size_t)n * ldw + k]);
            double g = out[(size_t)m * ldo + n];
            cr_assert(fabs(g - s) <= 1e-4 * (1 + sqrt(K)) * (1 + fabs(s)), "M %d K %d N %d bias %d [%d,%d]: %.7g vs %.7g",
                      M, K, N, with_bias, m, n, g, s);
        }
    for (int m = 0; m < M; m++)  // the padding between rows is left alone
        cr_assert_eq(out[(size_t)m * ldo + N], -12345.0f, "M %d K %d N %d: wrote past row %d", M, K, N, m);
    free(inp); free(wf); free(bias); free(out); free(W); free(scr);
}

// On a CPU/OS with neither AMX-BF16 nor AVX512-BF16 the kernel must refuse (callers then take the
// oneDNN path) and leave the output alone: that is what the tests below check there instead.
static int refused_here(void) {
    if (tf_have_amx_bf16() || tf_have_avx512_bf16()) return 0;
    float inp[64] = {0}, out[16];
    uint16_t W[16 * 64] = {0}, scr[512];
    for (int i = 0; i < 16; i++) out[i] = 7.0f;
    cr_assert_eq(tf_matmul_bf16_few_rows(out, 16, inp, 64, W, 64, NULL, 1, 64, 16, scr), -1);
    for (int i = 0; i < 16; i++) cr_assert_eq(out[i], 7.0f, "element %d written", i);
    return 1;
}

static void check_all_shapes(void) {
    const int Ms[] = {1, 2, 3, 4, 5, 8, 16};
    // K: one tile, tiles + tail, below a tile, odd; N: 4-tile groups + single tiles + rows past them
    // (and for the dot path: whole 6-row panels, ragged last panels)
    const int shapes[][2] = {{32, 16}, {64, 64}, {96, 200}, {100, 131}, {7, 40}, {33, 70}, {768, 53}, {65, 5}};
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check(Ms[mi], shapes[s][0], shapes[s][1], (int)((mi + s) & 1));
}

static void check_thread_splits(void) {
    // big enough for the parallel path (>= 128 KB of weights), with a ragged last group and tail rows
    omp_set_num_threads(2);
    check(4, 768, 2304 + 16 * 3 + 7, 1);
    check(16, 320, 1000, 0);
    check(1, 4096 + 17, 301, 1);
    omp_set_num_threads(1);
    check(3, 768, 2304 + 9, 1);
}

Test(engine_fewrows, matches_double_product_of_rounded_operands) {
    if (refused_here()) return;
    check_all_shapes();
}

Test(engine_fewrows, threads_split_big_products_consistently) {
    if (refused_here()) return;
    check_thread_splits();
}

// The AVX512-BF16 path itself (the default on CPUs without AMX; forced here with TF_NO_AMX, read once
// per process, and each test runs in its own).
Test(engine_fewrows, avx512_bf16_path_matches_double_product) {
    setenv("TF_NO_AMX", "1", 1);
    if (refused_here()) return;
    cr_assert(tf_have_avx512_bf16());
    check_all_shapes();
    check_thread_splits();
}

Test(engine_fewrows, refuses_without_amx_or_avx512_bf16_and_leaves_output_alone) {
    // TF_NO_AMX and TF_NO_AVX512BF16 are read once, when the kernel is first asked (each test runs in
    // its own process)
    setenv("TF_NO_AMX", "1", 1);
    setenv("TF_NO_AVX512BF16", "1", 1);
    float inp[64], out[4 * 16], bias[16] = {0};
    uint16_t W[16 * 64], scr[512];
    memset(inp, 0, sizeof inp);
    memset(W, 0, sizeof W);
    for (int i = 0; i < 64; i++) out[i] = 7.0f;
    cr_assert_eq(tf_have_amx_bf16(), 0);
    cr_assert_eq(tf_have_avx512_bf16(), 0);
    cr_assert_eq(tf_matmul_bf16_few_rows(out, 16, inp, 64, W, 64, bias, 1, 64, 16, scr), -1);
    for (int i = 0; i < 64; i++) cr_assert_eq(out[i], 7.0f, "element %d written", i);
}

Test(engine_fewrows, rejects_row_counts_outside_its_range) {
    float inp[32] = {0}, out[32] = {0};
    uint16_t W[32] = {0}, scr[256];
    cr_assert_eq(tf_matmul_bf16_few_rows(out, 1, inp, 32, W, 32, NULL, 0, 32, 1, scr), -1);
    cr_assert_eq(tf_matmul_bf16_few_rows(out, 1, inp, 32, W, 32, NULL, TF_FEW_ROWS_MAX + 1, 32, 1, scr), -1);
}
