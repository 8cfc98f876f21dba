// test_engine_overwrite.c — the deferred zero_grad: the first writer of each gradient overwrites
// instead of adding to zeros. Kernels against naive double-precision loops; the model's overwrite
// path against its accumulate-into-zeros path, for every block shape; stale values never leak.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "tf_kernels.h"

static float frand(tf_rng *r) { return 2.0f * tf_rng_uniform(r) - 1.0f; }

static void fill(float *x, size_t n, tf_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = frand(r);
}

Test(engine_overwrite, matmul_backward_overwrites_stale_outputs) {
    enum { BT = 37, C = 24, OC = 53 };
    tf_rng r;
    tf_rng_seed(&r, 11);
    static float dout[BT * OC], inp[BT * C], w[OC * C], dinp[BT * C], dw[OC * C], db[OC];
    fill(dout, BT * OC, &r), fill(inp, BT * C, &r), fill(w, OC * C, &r);
    for (int acc = 0; acc < 4; acc++) {
        // stale values: kept where the bit says accumulate, replaced otherwise
        fill(dinp, BT * C, &r), fill(dw, OC * C, &r), fill(db, OC, &r);
        static float dinp0[BT * C], dw0[OC * C], db0[OC];
        memcpy(dinp0, dinp, sizeof dinp), memcpy(dw0, dw, sizeof dw), memcpy(db0, db, sizeof db);
        tf_matmul_backward_acc(dinp, dw, db, dout, inp, w, BT, C, OC, acc);
        for (int i = 0; i < BT; i++)
            for (int j = 0; j < C; j++) {
                double s = (acc & TF_ACC_DINP) ? dinp0[i * C + j] : 0.0;
                for (int o = 0; o < OC; o++) s += (double)dout[i * OC + o] * w[o * C + j];
                cr_assert_float_eq(dinp[i * C + j], s, 1e-4, "acc %d dinp[%d,%d]", acc, i, j);
            }
        for (int o = 0; o < OC; o++) {
            double sb = (acc & TF_ACC_DW) ? db0[o] : 0.0;
            for (int i = 0; i < BT; i++) sb += dout[i * OC + o];
            cr_assert_float_eq(db[o], sb, 1e-4, "acc %d dbias[%d]", acc, o);
            for (int j = 0; j < C; j++) {
                double s = (acc & TF_ACC_DW) ? dw0[o * C + j] : 0.0;
                for (int i = 0; i < BT; i++) s += (double)dout[i * OC + o] * inp[i * C + j];
                cr_assert_float_eq(dw[o * C + j], s, 1e-4, "acc %d dweight[%d,%d]", acc, o, j);
            }
        }
    }
}

Test(engine_overwrite, layernorm_backward_overwrites_stale_weight_gradients) {
    enum { N = 300, C = 40 };  // enough rows for both threads to hold partial sums
    tf_rng r;
    tf_rng_seed(&r, 12);
    static float x[N * C], dy[N * C], w[C], mean[N], rstd[N], y[N * C], dx[N * C], dw[C], db[C];
    fill(x, N * C, &r), fill(dy, N * C, &r), fill(w, C, &r);
    float b[C] = {0};
    tf_layernorm_forward(y, mean, rstd, x, w, b, N, C, 1e-5f);
    for (int acc = 0; acc < 2; acc++) {
        fill(dw, C, &r), fill(db, C, &r);
        float dw0[C], db0[C];
        memcpy(dw0, dw, sizeof dw), memcpy(db0, db, sizeof db);
        memset(dx, 0, sizeof dx);
        tf_layernorm_backward_acc(dx, dw, db, dy, x, w, mean, rstd, N, C, acc);
        for (int i = 0; i < C; i++) {
            double sw = acc ? dw0[i] : 0.0, sb = acc ? db0[i] : 0.0;
            for (int n = 0; n < N; n++) {
                double xh = ((double)x[n * C + i] - mean[n]) * rstd[n];
                sw += dy[n * C + i] * xh;
                sb += dy[n * C + i];
            }
            cr_assert_float_eq(dw[i], sw, 1e-3, "acc %d dweight[%d]", acc, i);
            cr_assert_float_eq(db[i], sb, 1e-3, "acc %d dbias[%d]", acc, i);
        }
    }
}

// One batch's gradients through the overwrite path (zero_grad deferred, stale gradients from an
// earlier batch in the arena) against the accumulate path (zeros written first, then +=).
static void check_model(int kind, tf_dtype dt) {
    enum { B = 2, T = 6 };
    tf_error err;
    tf_model *a = tiny_model(kind, 40 + kind), *b = tiny_model(kind, 40 + kind);
    cr_assert_eq(tf_model_set_dtype(a, dt, &err), TF_OK);
    cr_assert_eq(tf_model_set_dtype(b, dt, &err), TF_OK);
    // bf16: both paths round the same operands; only the products' summation order may differ
    float rel = dt == TF_DTYPE_BF16 ? 1e-3f : 1e-5f;
    int V = a->cfg.vocab_size, in[B * T], tg[B * T], in2[B * T];
    tf_rng r;
    tf_rng_seed(&r, 13);
    for (int i = 0; i < B * T; i++) {
        in[i] = (int)(tf_rng_u64(&r) % V), tg[i] = (int)(tf_rng_u64(&r) % V), in2[i] = (int)(tf_rng_u64(&r) % V);
    }
    // a: an earlier batch leaves its gradients; zero_grad defers; the next backward overwrites
    cr_assert_eq(tf_model_forward(a, in2, tg, NULL, B, T, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_backward(a, 1.0f, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_zero_grad(a, &err), TF_OK);
    cr_assert_eq(tf_model_grad_norm(a), 0.0f, "gradients count as zero after zero_grad");
    cr_assert_eq(tf_model_forward(a, in, tg, NULL, B, T, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_backward(a, 1.0f, &err), TF_OK, "%s", err.msg);
    // b: the zeros are written (tf_model_gradients), then backward accumulates into them
    cr_assert_eq(tf_model_zero_grad(b, &err), TF_OK);
    const float *gb = tf_model_gradients(b);
    for (size_t i = 0; i < b->num_params; i++) cr_assert_eq(gb[i], 0.0f, "gradient %zu not zeroed", i);
    cr_assert_eq(tf_model_forward(b, in, tg, NULL, B, T, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_backward(b, 1.0f, &err), TF_OK, "%s", err.msg);
    for (int t = 0; t < TF_NUM_PARAM_TENSORS; t++)
        for (size_t i = 0; i < a->sizes[t]; i++)
            cr_assert(fabsf(a->grad[t][i] - b->grad[t][i]) <= 1e-6f + rel * fabsf(b->grad[t][i]),
                      "kind %d %s[%zu]: overwrite %.8g, accumulate %.8g", kind, tf_param_name(t), i,
                      a->grad[t][i], b->grad[t][i]);
    tf_model_free(a);
    tf_model_free(b);
}

Test(engine_overwrite, gpt2_gradients_equal_the_accumulate_path) { check_model(0, TF_DTYPE_FP32); }
Test(engine_overwrite, gptj_gradients_equal_the_accumulate_path) { check_model(1, TF_DTYPE_FP32); }
Test(engine_overwrite, neox_gradients_equal_the_accumulate_path) { check_model(2, TF_DTYPE_FP32); }
Test(engine_overwrite, bf16_gradients_equal_the_accumulate_path) {
    for (int kind = 0; kind < 3; kind++) check_model(kind, TF_DTYPE_BF16);
}

// An optimizer step with no backward since zero_grad sees zero gradients, not the stale ones.
Test(engine_overwrite, adamw_after_zero_grad_alone_sees_zero_gradients) {
    tf_error err;
    tf_model *m = tiny_model(0, 5);
    int in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, tg[8] = {2, 3, 4, 5, 6, 7, 8, 9};
    cr_assert_eq(tf_model_forward(m, in, tg, NULL, 1, 8, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_backward(m, 1.0f, &err), TF_OK, "%s", err.msg);
    cr_assert_gt(tf_model_grad_norm(m), 0.0f);
    cr_assert_eq(tf_model_zero_grad(m, &err), TF_OK);
    float *p0 = malloc(m->num_params * sizeof(float));
    memcpy(p0, m->params, m->num_params * sizeof(float));
    tf_adamw o = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.0f, 1.0f};
    cr_assert_eq(tf_model_adamw_step(m, &o, &err), 0.0f, "the norm of zero gradients");
    // first step, zero gradient, no decay: m = v = 0, so the update is exactly 0
    for (size_t i = 0; i < m->num_params; i++) cr_assert_eq(m->params[i], p0[i], "parameter %zu moved", i);
    free(p0);
    tf_model_free(m);
}
