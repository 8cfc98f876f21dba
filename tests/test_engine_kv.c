// test_engine_kv.c — KV-cache decoding equals the full forward; forks equal recomputation; samplers.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"

enum { N = 9 };

static void full_logits(tf_model *m, const int *ids, int n, float *out) {
    tf_error err;
    cr_assert_eq(tf_model_forward(m, ids, NULL, NULL, 1, n, &err), TF_OK, "%s", err.msg);
    memcpy(out, tf_model_logits(m), (size_t)n * m->cfg.vocab_size * sizeof(float));
}

static void assert_close(const float *a, const float *b, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(a[i] - b[i]) <= 1e-4f + 1e-4f * fabsf(b[i]), "%s[%zu]: %g vs %g", what, i, a[i], b[i]);
}

static void check_cache(int kind) {
    tf_model *m = tiny_model(kind, 40 + kind);
    int V = m->cfg.vocab_size, ids[N];
    for (int i = 0; i < N; i++) ids[i] = (i * 7 + 3) % V;
    float *ref = malloc(sizeof(float) * N * V), *got = malloc(sizeof(float) * N * V);
    full_logits(m, ids, N, ref);
    tf_error err;
    tf_kv *kv = tf_kv_new(m, 3, 16, &err);
    cr_assert_not_null(kv);
    // prefill all at once, all logits
    cr_assert_eq(tf_model_prefill(m, kv, 0, ids, N, got, 1, &err), TF_OK, "%s", err.msg);
    assert_close(got, ref, (size_t)N * V, "prefill");
    // prefill 4 then decode one at a time
    cr_assert_eq(tf_model_prefill(m, kv, 1, ids, 4, got, 0, &err), TF_OK);
    assert_close(got, ref + 3 * V, V, "prefill last");
    for (int t = 4; t < N; t++) {
        int s = 1;
        cr_assert_eq(tf_model_decode(m, kv, &s, ids + t, 1, got, &err), TF_OK);
        assert_close(got, ref + (size_t)t * V, V, "decode");
    }
    cr_assert_eq(tf_kv_len(kv, 1), N);
    // fork the first 5 tokens of seq 0 into seq 2, then batched decode of seqs 1 (diverged) and 2
    cr_assert_eq(tf_kv_fork(kv, 0, 2, 5, &err), TF_OK);
    tf_kv_truncate(kv, 1, 5);
    int seqs[2] = {1, 2}, toks[2] = {ids[5], ids[5]};
    float both[2 * 64];
    cr_assert_eq(tf_model_decode(m, kv, seqs, toks, 2, both, &err), TF_OK);
    assert_close(both, ref + 5 * V, V, "batched decode seq 1");
    assert_close(both + V, ref + 5 * V, V, "batched decode forked seq 2");
    tf_kv_free(kv);
    free(ref);
    free(got);
    tf_model_free(m);
}

Test(engine_kv, gpt2_cache_equals_full_forward) { check_cache(0); }
Test(engine_kv, gptj_cache_equals_full_forward) { check_cache(1); }
Test(engine_kv, neox_cache_equals_full_forward) { check_cache(2); }

Test(engine_kv, padded_batch_rows_equal_single_rows) {
    // a short sequence right-padded in a batch gives the same logits as alone
    tf_model *m = tiny_model(0, 77);
    int V = m->cfg.vocab_size;
    int in[2 * 6] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0};
    float *ref = malloc(sizeof(float) * 3 * V);
    full_logits(m, in + 6, 3, ref);
    tf_error err;
    cr_assert_eq(tf_model_forward(m, in, NULL, NULL, 2, 6, &err), TF_OK);
    assert_close(tf_model_logits(m) + 6 * V, ref, 3 * (size_t)V, "padded row");
    free(ref);
    tf_model_free(m);
}

Test(engine_kv, cache_overflow_is_an_error_not_a_crash) {
    tf_model *m = tiny_model(0, 1);
    tf_error err;
    tf_kv *kv = tf_kv_new(m, 1, 4, &err);
    int ids[5] = {1, 2, 3, 4, 5};
    cr_assert_eq(tf_model_prefill(m, kv, 0, ids, 5, NULL, 0, &err), TF_EBADARG);
    cr_assert(strstr(err.msg, "context") != NULL, "%s", err.msg);
    int bad = 999;
    cr_assert_eq(tf_model_prefill(m, kv, 0, &bad, 1, NULL, 0, &err), TF_EBADARG);
    tf_kv_free(kv);
    tf_model_free(m);
}

Test(sampler, greedy_takes_argmax_and_top_k_1_is_greedy) {
    float lg[5] = {0.1f, 2.0f, 1.9f, -1.0f, 2.0f};
    tf_sampler g = {0};
    cr_assert_eq(tf_sample(lg, 5, &g, NULL), 1);
    tf_rng r;
    tf_rng_seed(&r, 1);
    tf_sampler k1 = {.temperature = 1.0f, .top_k = 1};
    for (int i = 0; i < 20; i++) cr_assert_eq(tf_sample(lg, 5, &k1, &r), 1);
}

Test(sampler, temperature_sampling_follows_softmax_and_top_p_truncates) {
    float lg[3] = {0.0f, logf(2.0f), logf(7.0f)};  // probabilities 0.1, 0.2, 0.7
    tf_rng r;
    tf_rng_seed(&r, 123);
    tf_sampler s = {.temperature = 1.0f};
    int count[3] = {0};
    for (int i = 0; i < 20000; i++) count[tf_sample(lg, 3, &s, &r)]++;
    cr_assert(fabs(count[0] / 20000.0 - 0.1) < 0.015, "p0 %d", count[0]);
    cr_assert(fabs(count[2] / 20000.0 - 0.7) < 0.015, "p2 %d", count[2]);
    tf_sampler p = {.temperature = 1.0f, .top_p = 0.75f};  // keeps {0.7, 0.2}
    for (int i = 0; i < 2000; i++) cr_assert_neq(tf_sample(lg, 3, &p, &r), 0);
    // same seed, same draws
    tf_rng a, b;
    tf_rng_seed(&a, 9);
    tf_rng_seed(&b, 9);
    for (int i = 0; i < 50; i++) cr_assert_eq(tf_sample(lg, 3, &s, &a), tf_sample(lg, 3, &s, &b));
}
