// test_engine_gemm.c — tf_gemm and tf_matmul_forward/backward against naive double products, on
// shapes big enough for the cached oneDNN primitive and small enough for sgemm, with transposes,
// padded strides, alpha and beta, and repeated calls that reuse a cached primitive.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "tf_common.h"
#include "tf_kernels.h"

static float *randn(size_t n, uint64_t seed) {
    float *x = malloc(n * sizeof(float));
    tf_rng r;
    tf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = tf_rng_normal(&r);
    return x;
}

// C = alpha op(A) op(B) + beta C in double, then compared with tf_gemm's result
static void check_gemm(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    float *A = randn((size_t)(ta ? K : M) * lda, 1), *B = randn((size_t)(tb ? N : K) * ldb, 2);
    float *C = randn((size_t)M * ldc, 3);
    double *want = malloc(sizeof(double) * M * N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            want[(size_t)i * N + j] = alpha * s + beta * (double)C[(size_t)i * ldc + j];
        }
    for (int rep = 0; rep < 2; rep++) {  // the second call reuses the cached primitive
        float *got = malloc(sizeof(float) * M * ldc);
        for (size_t i = 0; i < (size_t)M * ldc; i++) got[i] = C[i];
        tf_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, got, ldc);
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++)
                cr_assert(fabs(got[(size_t)i * ldc + j] - want[(size_t)i * N + j]) <= 1e-4 * (1 + sqrt(K)),
                          "gemm %c%c %dx%dx%d alpha %g beta %g: C[%d,%d] = %g, want %g", ta ? 'T' : 'N',
                          tb ? 'T' : 'N', M, N, K, alpha, beta, i, j, got[(size_t)i * ldc + j],
                          want[(size_t)i * N + j]);
            for (int j = N; j < ldc; j++)
                cr_assert_eq(got[(size_t)i * ldc + j], C[(size_t)i * ldc + j], "padding column %d changed", j);
        }
        free(got);
    }
    free(A);
    free(B);
    free(C);
    free(want);
}

Test(engine_gemm, every_transpose_matches_naive_product_on_big_and_small_shapes) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm(ta, tb, 128, 130, 136, 1.0f, 0.0f, 0);   // cached primitive
            check_gemm(ta, tb, 128, 130, 136, 0.5f, 1.0f, 3);   // with alpha, beta and padded strides
            check_gemm(ta, tb, 7, 9, 5, 2.0f, -1.0f, 1);        // sgemm
        }
}

Test(engine_gemm, matmul_forward_with_bias_matches_naive_product) {
    enum { BT = 96, C = 160, OC = 200 };
    float *inp = randn((size_t)BT * C, 4), *w = randn((size_t)OC * C, 5), *b = randn(OC, 6);
    float *out = malloc(sizeof(float) * BT * OC);
    for (int pass = 0; pass < 2; pass++) {
        tf_matmul_forward(out, inp, w, pass ? NULL : b, BT, C, OC);
        for (int r = 0; r < BT; r++)
            for (int o = 0; o < OC; o++) {
                double s = pass ? 0 : b[o];
                for (int k = 0; k < C; k++) s += (double)inp[(size_t)r * C + k] * w[(size_t)o * C + k];
                cr_assert(fabs(out[(size_t)r * OC + o] - s) <= 1e-3, "%s bias: out[%d,%d] = %g, want %g",
                          pass ? "without" : "with", r, o, out[(size_t)r * OC + o], s);
            }
    }
    free(inp);
    free(w);
    free(b);
    free(out);
}

Test(engine_gemm, matmul_backward_accumulates_all_three_gradients) {
    enum { BT = 100, C = 140, OC = 180 };
    float *inp = randn((size_t)BT * C, 7), *w = randn((size_t)OC * C, 8), *dout = randn((size_t)BT * OC, 9);
    float *dinp = randn((size_t)BT * C, 10), *dw = randn((size_t)OC * C, 11), *db = randn(OC, 12);
    float *dinp0 = randn((size_t)BT * C, 10), *dw0 = randn((size_t)OC * C, 11), *db0 = randn(OC, 12);
    tf_matmul_backward(dinp, dw, db, dout, inp, w, BT, C, OC);
    for (int r = 0; r < BT; r++)
        for (int k = 0; k < C; k++) {
            double s = dinp0[(size_t)r * C + k];
            for (int o = 0; o < OC; o++) s += (double)dout[(size_t)r * OC + o] * w[(size_t)o * C + k];
            cr_assert(fabs(dinp[(size_t)r * C + k] - s) <= 1e-3, "dinp[%d,%d] = %g, want %g", r, k,
                      dinp[(size_t)r * C + k], s);
        }
    for (int o = 0; o < OC; o++) {
        double sb = db0[o];
        for (int r = 0; r < BT; r++) sb += dout[(size_t)r * OC + o];
        cr_assert(fabs(db[o] - sb) <= 1e-3, "dbias[%d] = %g, want %g", o, db[o], sb);
        for (int k = 0; k < C; k++) {
            double s = dw0[(size_t)o * C + k];
            for (int r = 0; r < BT; r++) s += (double)dout[(size_t)r * OC + o] * inp[(size_t)r * C + k];
            cr_assert(fabs(dw[(size_t)o * C + k] - s) <= 1e-3, "dweight[%d,%d] = %g, want %g", o, k,
                      dw[(size_t)o * C + k], s);
        }
    }
    free(inp); free(w); free(dout); free(dinp); free(dw); free(db); free(dinp0); free(dw0); free(db0);
}
