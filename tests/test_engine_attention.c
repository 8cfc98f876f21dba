// test_engine_attention.c — the tiled attention (forward, backward, cached) against a naive
// double-precision reference, on lengths and head sizes that leave partial tiles.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "tf_kernels.h"

// Naive causal attention in double: out, att (probabilities) and, given dout, dqkv.
static void ref_attention(double *out, double *att, double *dqkv, const float *qkv, const float *dout,
                          int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)hs);
    double *dp = malloc(sizeof(double) * T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                double *a = att + (((size_t)b * NH + h) * T + t) * T, mx = -INFINITY, sum = 0;
                for (int s = 0; s < T; s++) {
                    a[s] = 0;
                    if (s > t) continue;
                    const float *k = qkv + ((size_t)b * T + s) * C3 + C + h * hs;
                    for (int i = 0; i < hs; i++) a[s] += (double)q[i] * k[i];
                    a[s] *= scale;
                    mx = a[s] > mx ? a[s] : mx;
                }
                for (int s = 0; s <= t; s++) sum += (a[s] = exp(a[s] - mx));
                for (int s = 0; s <= t; s++) a[s] /= sum;
                double *o = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) {
                    o[i] = 0;
                    for (int s = 0; s <= t; s++) o[i] += a[s] * qkv[((size_t)b * T + s) * C3 + 2 * C + h * hs + i];
                }
                if (!dqkv) continue;
                // d out_t -> d att_t[s] -> d scores -> dq_t, dk_s; and dv_s
                const float *dy = dout + ((size_t)b * T + t) * C + h * hs;
                double dot = 0;
                for (int s = 0; s <= t; s++) {
                    const float *v = qkv + ((size_t)b * T + s) * C3 + 2 * C + h * hs;
                    dp[s] = 0;
                    for (int i = 0; i < hs; i++) {
                        dp[s] += (double)dy[i] * v[i];
                        dqkv[((size_t)b * T + s) * C3 + 2 * C + h * hs + i] += a[s] * dy[i];
                    }
                    dot += a[s] * dp[s];
                }
                for (int s = 0; s <= t; s++) {
                    double g = a[s] * (dp[s] - dot) * scale;
                    for (int i = 0; i < hs; i++) {
                        dqkv[((size_t)b * T + t) * C3 + h * hs + i] += g * qkv[((size_t)b * T + s) * C3 + C + h * hs + i];
                        dqkv[((size_t)b * T + s) * C3 + C + h * hs + i] += g * q[i];
                    }
                }
            }
    free(dp);
}

static void assert_near(const float *got, const double *want, size_t n, double tol, const char *what) {
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= tol * (scale + 1e-30),
                  "%s[%zu]: %.8g vs reference %.8g (largest |reference| %.3g)", what, i, got[i], want[i], scale);
}

// One shape: forward (with and without saved probabilities) and backward (accumulating, then
// overwriting) against the reference.
static void check_shape(int B, int T, int C, int NH) {
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
    float *qkv = malloc(nq * 4), *out = malloc(no * 4), *out2 = malloc(no * 4), *att = malloc(na * 4);
    float *dout = malloc(no * 4), *dqkv = malloc(nq * 4);
    double *rout = malloc(no * 8), *ratt = malloc(na * 8), *rdqkv = malloc(nq * 8);
    tf_rng r;
    tf_rng_seed(&r, 11);
    for (size_t i = 0; i < nq; i++) qkv[i] = 1.5f * tf_rng_normal(&r);
    for (size_t i = 0; i < no; i++) dout[i] = tf_rng_normal(&r);
    for (size_t i = 0; i < nq; i++) rdqkv[i] = dqkv[i] = 0.25f * (float)(i % 7);  // backward accumulates
    memset(att, 0x7f, na * 4);  // garbage where the upper triangle must become 0
    size_t nw = tf_attention_workspace_floats(T, C, NH, omp_get_max_threads());
    float *work = tf_alloc(nw * sizeof(float), 0);
    cr_assert_not_null(work);
    tf_attention_forward(out, att, qkv, work, nw, B, T, C, NH);
    tf_attention_forward(out2, NULL, qkv, work, nw, B, T, C, NH);
    tf_attention_backward(dqkv, dout, qkv, att, work, nw, B, T, C, NH, 1);
    ref_attention(rout, ratt, rdqkv, qkv, dout, B, T, C, NH);
    assert_near(out, rout, no, 1e-5, "out");
    assert_near(att, ratt, na, 1e-5, "att");
    for (size_t i = 0; i < na; i++)
        if (ratt[i] == 0.0) cr_assert_eq(att[i], 0.0f, "att[%zu] above the diagonal is %g", i, att[i]);
    cr_assert_eq(memcmp(out, out2, no * 4), 0, "output without saved probabilities differs");
    assert_near(dqkv, rdqkv, nq, 1e-5, "dqkv");
    // accumulate 0 overwrites every element: garbage (NaN) before, the reference's increments after
    memset(dqkv, 0xff, nq * 4);
    tf_attention_backward(dqkv, dout, qkv, att, work, nw, B, T, C, NH, 0);
    for (size_t i = 0; i < nq; i++) rdqkv[i] -= 0.25f * (float)(i % 7);
    assert_near(dqkv, rdqkv, nq, 1e-5, "dqkv overwritten");
    tf_free(work);
    free(qkv); free(out); free(out2); free(att); free(dout); free(dqkv);
    free(rout); free(ratt); free(rdqkv);
}

Test(engine_attention, tiled_forward_and_backward_match_naive_reference) {
    // head sizes 8 (no full 32-column tile), 64 (two full tiles) and 80 (two tiles and a tail);
    // lengths that are not multiples of the 8-row tiles nor of the 32-column chunks, short and long
    check_shape(2, 150, 24, 3);
    check_shape(1, 37, 128, 2);
    check_shape(2, 70, 240, 3);
    check_shape(3, 1, 64, 1);
    check_shape(1, 520, 128, 2);  // long enough for the backward's transposed path, partial 16-blocks
}

// The kernels use as many threads as the caller's workspace holds: a workspace for one thread (exactly
// its size) gives the same bits as one for every thread, forward and backward, tiled and blocked.
static void check_workspace_threads(int B, int T, int C, int NH) {
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
    float *qkv = malloc(nq * 4), *dout = malloc(no * 4), *out[2], *att[2], *dqkv[2];
    tf_rng r;
    tf_rng_seed(&r, 12);
    for (size_t i = 0; i < nq; i++) qkv[i] = 1.5f * tf_rng_normal(&r);
    for (size_t i = 0; i < no; i++) dout[i] = tf_rng_normal(&r);
    for (int k = 0; k < 2; k++) {
        size_t nw = tf_attention_workspace_floats(T, C, NH, k ? 1 : omp_get_max_threads());
        float *work = tf_alloc(nw * sizeof(float), 0);
        cr_assert_not_null(work);
        out[k] = malloc(no * 4), att[k] = malloc(na * 4), dqkv[k] = malloc(nq * 4);
        tf_attention_forward(out[k], att[k], qkv, work, nw, B, T, C, NH);
        tf_attention_backward(dqkv[k], dout, qkv, att[k], work, nw, B, T, C, NH, 0);
        tf_free(work);
    }
    cr_assert_eq(memcmp(out[0], out[1], no * 4), 0, "T=%d: forward output depends on the workspace's threads", T);
    cr_assert_eq(memcmp(att[0], att[1], na * 4), 0, "T=%d: probabilities depend on the workspace's threads", T);
    cr_assert_eq(memcmp(dqkv[0], dqkv[1], nq * 4), 0, "T=%d: dqkv depends on the workspace's threads", T);
    for (int k = 0; k < 2; k++) free(out[k]), free(att[k]), free(dqkv[k]);
    free(qkv); free(dout);
}

Test(engine_attention, one_thread_workspace_gives_the_same_bits) {
    check_workspace_threads(2, 70, 96, 3);   // tiled backward
    check_workspace_threads(1, 400, 64, 2);  // past TILED_BACKWARD_MAX_T: sgemm blocks
}

static tf_model *model_with_positions(int npos) {
    tf_config c;
    tf_config_gpt2(&c, 2, 16, 2, 23, npos);
    tf_error err;
    tf_model *m = tf_model_new(&c, 77, &err);
    cr_assert_not_null(m, "%s", err.msg);
    tf_rng r;
    tf_rng_seed(&r, 78);
    for (size_t i = 0; i < m->num_params; i++) m->params[i] += 0.1f * tf_rng_normal(&r);
    return m;
}

static void assert_close(const float *a, const float *b, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(a[i] - b[i]) <= 1e-4f + 1e-4f * fabsf(b[i]), "%s[%zu]: %g vs %g", what, i, a[i], b[i]);
}

Test(engine_attention, cached_blocks_equal_full_forward_past_one_block) {
    // prefill 70 (blocks of 64 + 6), prefill 50 more (a block starting at position 70), then one
    // decode call holding 5 consecutive rows of sequence 0 and one row of sequence 1
    enum { N = 126 };
    tf_model *m = model_with_positions(N);
    int V = m->cfg.vocab_size, ids[N];
    for (int i = 0; i < N; i++) ids[i] = (i * 5 + 2) % V;
    tf_error err;
    cr_assert_eq(tf_model_forward(m, ids, NULL, NULL, 1, N, &err), TF_OK, "%s", err.msg);
    float *ref = malloc(sizeof(float) * N * V), *got = malloc(sizeof(float) * N * V);
    memcpy(ref, tf_model_logits(m), sizeof(float) * N * V);
    tf_kv *kv = tf_kv_new(m, 2, N, &err);
    cr_assert_not_null(kv, "%s", err.msg);
    cr_assert_eq(tf_model_prefill(m, kv, 0, ids, 70, got, 1, &err), TF_OK, "%s", err.msg);
    assert_close(got, ref, (size_t)70 * V, "prefill 70");
    cr_assert_eq(tf_model_prefill(m, kv, 0, ids + 70, 50, got, 1, &err), TF_OK, "%s", err.msg);
    assert_close(got, ref + (size_t)70 * V, (size_t)50 * V, "prefill 50 more");
    cr_assert_eq(tf_kv_fork(kv, 0, 1, 100, &err), TF_OK, "%s", err.msg);
    int seqs[6] = {0, 0, 0, 0, 0, 1}, toks[6] = {ids[120], ids[121], ids[122], ids[123], ids[124], ids[100]};
    cr_assert_eq(tf_model_decode(m, kv, seqs, toks, 6, got, &err), TF_OK, "%s", err.msg);
    assert_close(got, ref + (size_t)120 * V, (size_t)5 * V, "5 rows of sequence 0");
    assert_close(got + (size_t)5 * V, ref + (size_t)100 * V, V, "forked sequence 1");
    cr_assert_eq(tf_kv_len(kv, 0), 125);
    cr_assert_eq(tf_kv_len(kv, 1), 101);
    tf_kv_free(kv);
    free(ref);
    free(got);
    tf_model_free(m);
}
