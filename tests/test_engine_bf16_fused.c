// test_engine_bf16_fused.c — kernels that round to bf16 in the pass that makes their values:
// - dout rounded and its columns summed (the bias gradient): the rounding against the scalar
//   reference, the sums against double sums and, bit for bit, against the fp32 bias gradient of
//   tf_matmul_backward_acc (which the bf16 path replaced);
// - the GELU written in bf16: bit for bit the rounding of the fp32 GELU (itself tested against
//   PyTorch fixtures and finite differences), both forms;
// - the GELU's backward rounded with its column sums: bit for bit the fp32 backward followed by the
//   rounding-and-sums pass it replaced, both forms.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "tf_common.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

static void check(int R, int N, int accumulate) {
    float *x = malloc((size_t)R * N * sizeof(float)), *cs = malloc(N * sizeof(float)), *ref = malloc(N * sizeof(float));
    uint16_t *o = malloc((size_t)R * N * sizeof(uint16_t));
    tf_rng r;
    tf_rng_seed(&r, (uint64_t)R * N);
    for (size_t i = 0; i < (size_t)R * N; i++) x[i] = tf_rng_normal(&r);
    for (int j = 0; j < N; j++) cs[j] = ref[j] = accumulate ? (float)j : 1e30f;  // 1e30: must be overwritten
    tf_to_bf16_colsum(o, cs, x, R, N, accumulate);
    tf_matmul_backward_acc(NULL, NULL, ref, x, NULL, NULL, R, 1, N, accumulate ? TF_ACC_DW : 0);
    for (size_t i = 0; i < (size_t)R * N; i++) cr_assert_eq(o[i], tf_f32_to_bf16(x[i]), "element %zu", i);
    for (int j = 0; j < N; j++) {
        double s = accumulate ? j : 0.0;
        for (int i = 0; i < R; i++) s += x[(size_t)i * N + j];
        cr_assert(fabs(cs[j] - s) <= 1e-5 * (R + fabs(s)), "R %d N %d column %d: %.7g vs %.7g", R, N, j, cs[j], s);
        cr_assert_eq(cs[j], ref[j], "R %d N %d column %d: %.9g vs the fp32 bias gradient %.9g", R, N, j, cs[j], ref[j]);
    }
    free(x); free(cs); free(ref); free(o);
}

Test(engine_bf16_fused, rounds_and_sums_like_the_separate_passes) {
    check(3, 5, 0);
    check(3, 5, 1);
    check(256, 2304, 0);  // parallel
    check(300, 3001, 1);
}

Test(engine_bf16_fused, gelu_in_bf16_is_the_rounded_fp32_gelu) {
    enum { N = 70001 };  // above the parallel threshold
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    uint16_t *h = malloc(N * sizeof(uint16_t));
    tf_rng r;
    tf_rng_seed(&r, 11);
    for (size_t i = 0; i < N; i++) x[i] = 3.0f * tf_rng_normal(&r);
    x[0] = 0.0f;
    x[1] = -20.0f;
    x[2] = 20.0f;
    for (int exact = 0; exact < 2; exact++) {
        tf_gelu_forward(y, x, N, exact);
        tf_gelu_forward_bf16(h, x, N, exact);
        for (size_t i = 0; i < N; i++)
            cr_assert_eq(h[i], tf_f32_to_bf16(y[i]), "exact %d, x %.9g: 0x%04x vs 0x%04x", exact, x[i], h[i],
                         tf_f32_to_bf16(y[i]));
    }
    free(x); free(y); free(h);
}

static void check_gelu_backward(int R, int N, int exact, int accumulate) {
    size_t n = (size_t)R * N;
    float *x = malloc(n * sizeof(float)), *dy = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float));
    float *cs = malloc(N * sizeof(float)), *ref = malloc(N * sizeof(float));
    uint16_t *o = malloc(n * sizeof(uint16_t)), *oref = malloc(n * sizeof(uint16_t));
    tf_rng r;
    tf_rng_seed(&r, (uint64_t)n + exact);
    for (size_t i = 0; i < n; i++) x[i] = 3.0f * tf_rng_normal(&r), dy[i] = tf_rng_normal(&r);
    x[0] = 0.0f;
    x[n - 1] = -20.0f;
    for (int j = 0; j < N; j++) cs[j] = ref[j] = accumulate ? (float)j : 1e30f;
    tf_gelu_backward_bf16_colsum(o, cs, x, dy, R, N, exact, accumulate);
    tf_gelu_backward(d, x, dy, n, exact, 0);
    tf_to_bf16_colsum(oref, ref, d, R, N, accumulate);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(o[i], oref[i], "R %d N %d exact %d element %zu: 0x%04x vs 0x%04x", R, N, exact, i, o[i], oref[i]);
    for (int j = 0; j < N; j++)
        cr_assert_eq(cs[j], ref[j], "R %d N %d exact %d column %d: %.9g vs %.9g", R, N, exact, j, cs[j], ref[j]);
    free(x); free(dy); free(d); free(cs); free(ref); free(o); free(oref);
}

Test(engine_bf16_fused, gelu_backward_in_bf16_is_the_rounded_fp32_backward) {
    for (int exact = 0; exact < 2; exact++) {
        check_gelu_backward(3, 5, exact, 0);
        check_gelu_backward(3, 5, exact, 1);
        check_gelu_backward(256, 3072, exact, 0);  // parallel
        check_gelu_backward(37, 3001, exact, 1);
    }
}
