// test_engine_gradnorm.c — a bf16 backward that writes the gradients afresh stores its weight
// gradients through cache with streaming stores and collects the global gradient norm on the way
// (tf_gemm_bf16_tn_stream): the stored gradients are the product of the operands, and the collected
// norm is the one a pass over the arena gives, for each block shape (the tied embedding's rows change
// after the head's product); it is not used when the gradients were accumulated or handed out, nor in
// fp32.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "model/model_internal.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

static double sumsq_double(const float *x, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

Test(engine_gradnorm, store_copies_exactly_and_sums_squares) {
    enum { N = 100003 };  // above the parallel threshold; odd length
    // dst: 3 floats before the copy (an unaligned start) and one after it (must stay 0)
    float *src = malloc(N * sizeof(float)), *dst = malloc((N + 4) * sizeof(float));
    fill_normal(src, N, 11);
    size_t lens[] = {N, 1000, 17, 0};
    for (int k = 0; k < 4; k++) {
        size_t n = lens[k];
        memset(dst, 0, (N + 4) * sizeof(float));
        double s = tf_store_sumsq(dst + 3, src, n);
        cr_assert_eq(memcmp(dst + 3, src, n * sizeof(float)), 0, "n %zu: copy differs", n);
        cr_assert_eq(dst[3 + n], 0.0f, "n %zu: wrote past the end", n);
        double want = sumsq_double(src, n);
        cr_assert(fabs(s - want) <= 1e-6 * want, "n %zu: sum of squares %.9g, want %.9g", n, s, want);
    }
    free(src);
    free(dst);
}

// C[M, N] = A^T B through the streaming store, against the product in double of the same bf16 values
// (a tolerance, not bit equality with tf_gemm_bf16: oneDNN may pick another kernel, with another
// summation order, for a block of a few rows than for the whole product on CPUs without AMX), and its
// sum of squares against that of the stored values
static void check_tn(int M, int N, int K, size_t scratch_rows) {
    int lda = M + 5, ldb = N + 3;
    float *af = malloc((size_t)K * lda * sizeof(float)), *bf = malloc((size_t)K * ldb * sizeof(float));
    uint16_t *A = malloc((size_t)K * lda * 2), *B = malloc((size_t)K * ldb * 2);
    fill_normal(af, (size_t)K * lda, 21);
    fill_normal(bf, (size_t)K * ldb, 22);
    for (size_t i = 0; i < (size_t)K * lda; i++) A[i] = tf_f32_to_bf16(af[i]);
    for (size_t i = 0; i < (size_t)K * ldb; i++) B[i] = tf_f32_to_bf16(bf[i]);
    float *got = malloc((size_t)M * N * sizeof(float)), *scratch = malloc(scratch_rows * N * sizeof(float));
    double s;
    cr_assert_eq(tf_gemm_bf16_tn_stream(M, N, K, A, lda, B, ldb, got, scratch, scratch_rows * N, &s), 0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                double x = (double)tf_bf16_to_f32(A[(size_t)k * lda + i]) * tf_bf16_to_f32(B[(size_t)k * ldb + j]);
                want += x;
                mag += fabs(x);
            }
            float g = got[(size_t)i * N + j];
            cr_assert(fabs(g - want) <= 1e-6 * mag + 1e-30,
                      "M %d N %d K %d scratch %zu rows: C[%d, %d] %.9g, want %.9g", M, N, K, scratch_rows, i, j, g,
                      want);
        }
    double ws = sumsq_double(got, (size_t)M * N);
    cr_assert(fabs(s - ws) <= 1e-6 * ws, "sum of squares %.9g, want %.9g", s, ws);
    free(A);
    free(B);
    free(af);
    free(bf);
    free(got);
    free(scratch);
}

Test(engine_gradnorm, streamed_product_is_the_plain_product) {
    check_tn(1100, 96, 64, (size_t)tf_gemm_tn_stream_rows(1100, 96));      // one block
    check_tn(1100, 96, 64, 100);                                           // cut to the scratch, a tail
    check_tn(4100, 1100, 16, (size_t)tf_gemm_tn_stream_rows(4100, 1100));  // above the cap: 512-row blocks
    check_tn(300, 40, 33, 7);                                              // odd K, small blocks
    double s;
    float c[4], scratch[2];
    uint16_t a[4] = {0}, b[4] = {0};
    cr_assert_eq(tf_gemm_bf16_tn_stream(2, 2, 2, a, 2, b, 2, c, scratch, 1, &s), -1, "scratch below one row");
}

enum { B = 3, T = 8 };

// tf_model_adamw_step's norm against tf_model_grad_norm's pass, after the given backwards
static void check_norm(tf_dtype dt, int kind, int backwards, int hand_out) {
    tf_model *m = tiny_model(kind, 40 + kind);
    tf_error err;
    int V = m->cfg.vocab_size, x[B * T], y[B * T];
    random_batch(x, y, B * T, V, 7 + kind);  // 24 tokens over 23 ids: rows repeat
    cr_assert_eq(tf_model_set_dtype(m, dt, &err), TF_OK);
    cr_assert_eq(tf_model_zero_grad(m, &err), TF_OK);
    for (int i = 0; i < backwards; i++) {
        cr_assert_eq(tf_model_forward(m, x, y, NULL, B, T, &err), TF_OK);
        cr_assert_eq(tf_model_backward(m, 0.5f, &err), TF_OK, "%s", err.msg);
    }
    double ss;
    int collected = model_norm_get(m, &ss);
    cr_assert_eq(collected, backwards == 1 && dt == TF_DTYPE_BF16, "%s kind %d, %d backwards: collected %d",
                 tf_dtype_name(dt), kind, backwards, collected);
    if (hand_out) {  // a caller changes the gradients (an all-reduce would)
        float *g = tf_model_gradients(m);
        for (size_t i = 0; i < m->num_params; i++) g[i] *= 3.0f;
        cr_assert_eq(model_norm_get(m, &ss), 0, "handing the gradients out drops the collected norm");
    }
    float want = tf_model_grad_norm(m);
    tf_adamw o = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f, .grad_clip = 1.0f};
    float got = tf_model_adamw_step(m, &o, &err);
    cr_assert(want > 0.0f && fabsf(got - want) <= 1e-5f * want,
              "%s kind %d, %d backwards, hand out %d: norm %.9g, want %.9g", tf_dtype_name(dt), kind, backwards,
              hand_out, got, want);
    tf_model_free(m);
}

Test(engine_gradnorm, collected_norm_is_the_arenas_norm) {
    for (int kind = 0; kind < 3; kind++) {
        check_norm(TF_DTYPE_FP32, kind, 1, 0);
        check_norm(TF_DTYPE_BF16, kind, 1, 0);
    }
}

Test(engine_gradnorm, accumulated_or_handed_out_gradients_are_summed_again) {
    for (int kind = 0; kind < 3; kind++) {
        for (tf_dtype dt = TF_DTYPE_FP32; dt <= TF_DTYPE_BF16; dt++) {
            check_norm(dt, kind, 2, 0);
            check_norm(dt, kind, 1, 1);
        }
    }
}
