// test_engine_bf16.c — bf16 mixed precision: the bf16 GEMM against a double product of the rounded
// operands, the array rounding against the scalar reference of tf_safetensors.h, and a bf16 model
// against the same model in fp32 (logits, gradients, a short training run, the KV cache).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

Test(engine_bf16, array_rounding_matches_scalar_reference) {
    enum { N = 100003 };  // above the parallel threshold
    float *x = malloc(N * sizeof(float));
    uint16_t *got = malloc(N * sizeof(uint16_t));
    fill_normal(x, N, 1);
    x[0] = 1.0f + 1.0f / 256;  // a tie: rounds to even (1.0)
    x[1] = 1.0f + 3.0f / 256;  // a tie: rounds up to even
    x[2] = INFINITY;
    x[3] = -0.0f;
    x[4] = 3.4e38f;  // rounds to infinity
    tf_to_bf16(got, x, N);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(got[i], tf_f32_to_bf16(x[i]), "element %zu (%.9g): 0x%04x vs 0x%04x", i, x[i], got[i],
                     tf_f32_to_bf16(x[i]));
    x[5] = NAN;
    tf_to_bf16(got, x, 8);
    cr_assert(isnan(tf_bf16_to_f32(got[5])), "NaN stays NaN");
    // transposed: out[K, R] = in[R, K]^T
    enum { R = 37, K = 70 };
    uint16_t t[R * K];
    tf_to_bf16_transposed(t, x + 8, R, K);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < K; j++) cr_assert_eq(t[j * R + i], tf_f32_to_bf16(x[8 + i * K + j]));
    free(x);
    free(got);
}

// C = alpha op(A) op(B) + bias + beta C in double on the bf16 values, against tf_gemm_bf16
static void check_gemm(int ta, int tb, int M, int N, int K, float alpha, float beta, int with_bias) {
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    int ra = ta ? K : M, rb = tb ? N : K;
    float *af = malloc((size_t)ra * lda * sizeof(float)), *bf = malloc((size_t)rb * ldb * sizeof(float));
    uint16_t *A = malloc((size_t)ra * lda * 2), *B = malloc((size_t)rb * ldb * 2);
    float *C = malloc((size_t)M * ldc * sizeof(float)), *bias = malloc(N * sizeof(float));
    fill_normal(af, (size_t)ra * lda, 2);
    fill_normal(bf, (size_t)rb * ldb, 3);
    fill_normal(C, (size_t)M * ldc, 4);
    fill_normal(bias, N, 5);
    for (size_t i = 0; i < (size_t)ra * lda; i++) A[i] = tf_f32_to_bf16(af[i]);
    for (size_t i = 0; i < (size_t)rb * ldb; i++) B[i] = tf_f32_to_bf16(bf[i]);
    double *want = malloc((size_t)M * N * sizeof(double));
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)tf_bf16_to_f32(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     tf_bf16_to_f32(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            want[(size_t)i * N + j] = alpha * s + (with_bias ? bias[j] : 0.0) + beta * C[(size_t)i * ldc + j];
        }
    cr_assert_eq(tf_gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, with_bias ? bias : NULL, beta, C, ldc), 0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double w = want[(size_t)i * N + j], g = C[(size_t)i * ldc + j];
            cr_assert(fabs(g - w) <= 1e-4 * (1 + sqrt(K)) * (1 + fabs(w)),
                      "ta %d tb %d %dx%dx%d [%d,%d]: %.7g vs %.7g", ta, tb, M, N, K, i, j, g, w);
        }
    free(af); free(bf); free(A); free(B); free(C); free(bias); free(want);
}

Test(engine_bf16, gemm_matches_double_product_of_rounded_operands) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm(ta, tb, 5, 7, 3, 1.0f, 0.0f, 0);
            check_gemm(ta, tb, 64, 96, 80, 0.5f, 1.0f, 0);
            check_gemm(ta, tb, 33, 130, 64, 1.0f, 0.0f, 1);
        }
    check_gemm(0, 1, 256, 768, 192, 1.0f, 1.0f, 0);
}

Test(engine_bf16, gemm_inside_openmp_falls_back_and_agrees) {
    // inside a parallel region the primitive is not used; the widened sgemm path must agree
    int ok = 1;
#pragma omp parallel num_threads(2) reduction(& : ok)
    {
        float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, -1, 2, 0.5f, 1}, c[4] = {0};
        uint16_t A[6], B[6];
        for (int i = 0; i < 6; i++) {
            A[i] = tf_f32_to_bf16(a[i]);
            B[i] = tf_f32_to_bf16(b[i]);
        }
        // [2,3] @ [3,2]
        ok &= tf_gemm_bf16(0, 0, 2, 2, 3, 1.0f, A, 3, B, 2, NULL, 0.0f, c, 2) == 0;
        ok &= c[0] == 1 * 1 + 2 * -1 + 3 * 0.5f && c[1] == 1 * 0 + 2 * 2 + 3 * 1;
        ok &= c[2] == 4 * 1 + 5 * -1 + 6 * 0.5f && c[3] == 4 * 0 + 5 * 2 + 6 * 1;
    }
    cr_assert(ok);
}

Test(engine_bf16, dtype_names_parse) {
    tf_dtype d;
    cr_assert_eq(tf_dtype_parse("bf16", &d), 0);
    cr_assert_eq(d, TF_DTYPE_BF16);
    cr_assert_eq(tf_dtype_parse("fp32", &d), 0);
    cr_assert_eq(d, TF_DTYPE_FP32);
    cr_assert_eq(tf_dtype_parse("fp8", &d), -1);
    cr_assert_str_eq(tf_dtype_name(TF_DTYPE_BF16), "bf16");
}

// ---- whole model: bf16 against fp32 ------------------------------------------------------------
// A model a little wider than tiny_model so the matmuls have real reductions (C 64, F 256).
static tf_model *small_model(int kind, uint64_t seed) {
    tf_config c;
    tiny_config(&c, kind);
    c.n_embd = 64;
    c.n_inner = 256;
    c.n_head = 4;
    c.n_positions = 32;
    c.vocab_size = 53;
    c.rotary_dim = kind ? 8 : 0;
    tf_error err;
    tf_model *m = tf_model_new(&c, seed, &err);
    cr_assert_not_null(m, "%s", err.msg);
    tf_rng r;
    tf_rng_seed(&r, seed + 1);
    for (size_t i = 0; i < m->num_params; i++) m->params[i] += 0.05f * tf_rng_normal(&r);
    return m;
}

enum { B = 3, T = 16 };

// a random batch whose first row ends in an ignored target (-1)
static void batch(int *in, int *tg, int V, uint64_t seed) {
    random_batch(in, tg, B * T, V, seed);
    tg[T - 1] = -1;
}

static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return sqrt(d / (s > 0 ? s : 1));
}

static void check_against_fp32(int kind) {
    tf_model *f = small_model(kind, 40 + kind), *h = small_model(kind, 40 + kind);
    tf_error err;
    cr_assert_eq(tf_model_set_dtype(h, TF_DTYPE_BF16, &err), TF_OK);
    int V = f->cfg.vocab_size, in[B * T], tg[B * T];
    batch(in, tg, V, 9);
    cr_assert_eq(tf_model_forward(f, in, tg, NULL, B, T, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_forward(h, in, tg, NULL, B, T, &err), TF_OK, "%s", err.msg);
    const float *lf = tf_model_logits(f), *lh = tf_model_logits(h);
    double maxabs = 0;
    for (size_t i = 0; i < (size_t)B * T * V; i++) maxabs = fmax(maxabs, fabs(lf[i]));
    double worst = 0, differs = 0;
    for (size_t i = 0; i < (size_t)B * T * V; i++) {
        worst = fmax(worst, fabs(lf[i] - lh[i]));
        differs += lf[i] != lh[i];
    }
    cr_assert(worst <= 2e-2 * maxabs, "kind %d: logits differ by %g (max |logit| %g)", kind, worst, maxabs);
    cr_assert(differs > 0, "kind %d: bf16 logits equal fp32 exactly: bf16 path not taken", kind);
    cr_assert(fabs(f->mean_loss - h->mean_loss) <= 1e-2 * f->mean_loss, "kind %d: loss %g vs %g", kind,
              f->mean_loss, h->mean_loss);
    // gradients: each tensor within bf16 precision of fp32 (relative L2 error)
    cr_assert_eq(tf_model_zero_grad(f, &err), TF_OK);
    cr_assert_eq(tf_model_zero_grad(h, &err), TF_OK);
    cr_assert_eq(tf_model_backward(f, 1.0f, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_backward(h, 1.0f, &err), TF_OK, "%s", err.msg);
    for (int t = 0; t < TF_NUM_PARAM_TENSORS; t++) {
        if (!f->sizes[t]) continue;
        double rd = rel_diff(h->grad[t], f->grad[t], f->sizes[t]);
        cr_assert(rd <= 3e-2, "kind %d: gradient of %s differs by %.3g (relative L2)", kind, tf_param_name(t), rd);
    }
    tf_model_free(f);
    tf_model_free(h);
}

Test(engine_bf16, gpt2_logits_and_gradients_track_fp32) { check_against_fp32(0); }
Test(engine_bf16, gptj_logits_and_gradients_track_fp32) { check_against_fp32(1); }
Test(engine_bf16, neox_logits_and_gradients_track_fp32) { check_against_fp32(2); }

// 40 AdamW steps on a learnable sequence task, once in each precision: the criterion is a
// final loss within 2% of fp32's.
static float train_run(tf_dtype dt, int kind) {
    tf_model *m = small_model(kind, 77);
    tf_error err;
    cr_assert_eq(tf_model_set_dtype(m, dt, &err), TF_OK);
    int V = m->cfg.vocab_size, in[B * T], tg[B * T];
    tf_adamw opt = {.lr = 3e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f, .grad_clip = 1.0f};
    float last = 0;
    for (int step = 0; step < 40; step++) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                int s = (step * 7 + b * 5) % V;
                in[b * T + t] = (s + 3 * t) % V;  // arithmetic progressions: next = cur + 3 mod V
                tg[b * T + t] = (s + 3 * t + 3) % V;
            }
        cr_assert_eq(tf_model_forward(m, in, tg, NULL, B, T, &err), TF_OK, "%s", err.msg);
        last = m->mean_loss;
        cr_assert_eq(tf_model_zero_grad(m, &err), TF_OK);
        cr_assert_eq(tf_model_backward(m, 1.0f, &err), TF_OK, "%s", err.msg);
        cr_assert(tf_model_adamw_step(m, &opt, &err) >= 0, "%s", err.msg);
    }
    tf_model_free(m);
    return last;
}

Test(engine_bf16, training_loss_tracks_fp32_within_two_percent) {
    for (int kind = 0; kind < 3; kind += 2) {
        float lf = train_run(TF_DTYPE_FP32, kind), lh = train_run(TF_DTYPE_BF16, kind);
        cr_assert(lf < 0.8f * logf(53.0f), "kind %d: fp32 run did not learn (final loss %g)", kind, lf);
        cr_assert(fabsf(lh - lf) <= 0.02f * lf, "kind %d: bf16 final loss %g vs fp32 %g", kind, lh, lf);
    }
}

Test(engine_bf16, weight_copy_follows_parameter_changes) {
    // after an optimizer step or tf_model_params_changed, bf16 results follow the new parameters:
    // compare with a fresh bf16 model holding the same parameters
    tf_model *a = small_model(0, 5), *b = small_model(0, 5);
    tf_error err;
    tf_model_set_dtype(a, TF_DTYPE_BF16, &err);
    tf_model_set_dtype(b, TF_DTYPE_BF16, &err);
    int V = a->cfg.vocab_size, in[B * T], tg[B * T];
    batch(in, tg, V, 11);
    cr_assert_eq(tf_model_forward(a, in, tg, NULL, B, T, &err), TF_OK);
    float before = a->mean_loss;
    for (size_t i = 0; i < a->num_params; i++) a->params[i] *= 0.5f;
    tf_model_params_changed(a);
    cr_assert_eq(tf_model_forward(a, in, tg, NULL, B, T, &err), TF_OK);
    tf_model *c = small_model(0, 5);
    for (size_t i = 0; i < c->num_params; i++) c->params[i] *= 0.5f;
    tf_model_set_dtype(c, TF_DTYPE_BF16, &err);
    cr_assert_eq(tf_model_forward(c, in, tg, NULL, B, T, &err), TF_OK);
    cr_assert_neq(before, a->mean_loss);
    cr_assert_eq(a->mean_loss, c->mean_loss, "%g vs %g", a->mean_loss, c->mean_loss);
    // an AdamW step marks the copy stale by itself
    tf_adamw opt = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f};
    cr_assert_eq(tf_model_forward(b, in, tg, NULL, B, T, &err), TF_OK);
    tf_model_zero_grad(b, &err);
    cr_assert_eq(tf_model_backward(b, 1.0f, &err), TF_OK);
    tf_model_adamw_step(b, &opt, &err);
    cr_assert_eq(tf_model_forward(b, in, tg, NULL, B, T, &err), TF_OK);
    tf_model *d = small_model(0, 5);
    memcpy(d->params, b->params, d->num_params * sizeof(float));
    tf_model_set_dtype(d, TF_DTYPE_BF16, &err);
    cr_assert_eq(tf_model_forward(d, in, tg, NULL, B, T, &err), TF_OK);
    cr_assert_eq(b->mean_loss, d->mean_loss, "%g vs %g", b->mean_loss, d->mean_loss);
    tf_model_free(a);
    tf_model_free(b);
    tf_model_free(c);
    tf_model_free(d);
}

Test(engine_bf16, kv_cache_in_bf16_matches_bf16_forward) {
    for (int kind = 0; kind < 3; kind++) {
        tf_model *m = small_model(kind, 60 + kind);
        tf_error err;
        tf_model_set_dtype(m, TF_DTYPE_BF16, &err);
        int V = m->cfg.vocab_size, in[B * T], tg[B * T];
        batch(in, tg, V, 13);
        cr_assert_eq(tf_model_forward(m, in, NULL, NULL, 1, T, &err), TF_OK);
        const float *full = tf_model_logits(m);
        tf_kv *kv = tf_kv_new(m, 1, T, &err);
        float *lg = malloc((size_t)T * V * sizeof(float));
        cr_assert_eq(tf_model_prefill(m, kv, 0, in, T - 4, lg, 1, &err), TF_OK, "%s", err.msg);
        for (int t = T - 4; t < T; t++) {
            int seq = 0;
            cr_assert_eq(tf_model_decode(m, kv, &seq, &in[t], 1, lg + (size_t)t * V, &err), TF_OK);
        }
        for (size_t i = 0; i < (size_t)T * V; i++)
            cr_assert(fabsf(lg[i] - full[i]) <= 1e-3f * (1 + fabsf(full[i])), "kind %d [%zu]: %g vs %g", kind, i,
                      lg[i], full[i]);
        free(lg);
        tf_kv_free(kv);
        tf_model_free(m);
    }
}

Test(engine_bf16, fused_adamw_writes_the_rounded_update) {
    enum { N = 70001 };
    float *p = malloc(N * 4), *g = malloc(N * 4), *m = malloc(N * 4), *v = malloc(N * 4);
    float *p2 = malloc(N * 4), *m2 = malloc(N * 4), *v2 = malloc(N * 4);
    uint16_t *pb = malloc(N * 2);
    fill_normal(p, N, 21);
    fill_normal(g, N, 22);
    fill_normal(m, N, 23);
    for (size_t i = 0; i < N; i++) v[i] = fabsf(m[i]);
    memcpy(p2, p, N * 4);
    memcpy(m2, m, N * 4);
    memcpy(v2, v, N * 4);
    tf_adamw_update(p, g, m, v, N, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, 3);
    tf_adamw_update_bf16(p2, g, m2, v2, pb, N, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, 3);
    for (size_t i = 0; i < N; i++) {
        cr_assert(p[i] == p2[i] && m[i] == m2[i] && v[i] == v2[i], "element %zu", i);
        cr_assert_eq(pb[i], tf_f32_to_bf16(p[i]), "element %zu", i);
    }
    free(p); free(g); free(m); free(v); free(p2); free(m2); free(v2); free(pb);
}
