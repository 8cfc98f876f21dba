// test_engine_grad.c — backward against central finite differences for each block shape, and the
// weighted loss definition.
#include <criterion/criterion.h>
#include <math.h>

#include "engine_util.h"

enum { B = 2, T = 7 };

static void batch(int *in, int *tg, float *w, int V) {
    tf_rng r;
    tf_rng_seed(&r, 7);
    for (int i = 0; i < B * T; i++) {
        in[i] = (int)(tf_rng_u64(&r) % V);
        tg[i] = (int)(tf_rng_u64(&r) % V);
        w[i] = 0.25f + tf_rng_uniform(&r);
    }
    tg[T - 1] = -1;  // padding at the end of the first row
    tg[T - 2] = -1;
}

static float loss_of(tf_model *m, const int *in, const int *tg, const float *w) {
    tf_error err;
    cr_assert_eq(tf_model_forward(m, in, tg, w, B, T, &err), TF_OK, "%s", err.msg);
    return m->mean_loss;
}

static void check_gradients(int kind) {
    tf_model *m = tiny_model(kind, 100 + kind);
    int V = m->cfg.vocab_size, in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, V);
    tf_error err;
    loss_of(m, in, tg, w);
    cr_assert_eq(tf_model_zero_grad(m, &err), TF_OK);
    cr_assert_eq(tf_model_backward(m, 1.0f, &err), TF_OK, "%s", err.msg);
    tf_rng r;
    tf_rng_seed(&r, 3);
    const float eps = 1e-2f;
    for (int t = 0; t < TF_NUM_PARAM_TENSORS; t++) {
        if (!m->sizes[t]) continue;
        for (int k = 0; k < 12; k++) {
            size_t i = tf_rng_u64(&r) % m->sizes[t];
            float *p = m->param[t] + i, old = *p;
            *p = old + eps;
            double lp = loss_of(m, in, tg, w);
            *p = old - eps;
            double lm = loss_of(m, in, tg, w);
            *p = old;
            double fd = (lp - lm) / (2 * eps), an = m->grad[t][i];
            cr_assert(fabs(fd - an) <= 2e-3 + 0.05 * fabs(fd),
                      "kind %d tensor %s[%zu]: analytic %.6g vs finite difference %.6g", kind,
                      tf_param_name(t), i, an, fd);
        }
    }
    tf_model_free(m);
}

Test(engine_grad, gpt2_block_matches_finite_differences) { check_gradients(0); }
Test(engine_grad, gptj_block_matches_finite_differences) { check_gradients(1); }
Test(engine_grad, neox_block_matches_finite_differences) { check_gradients(2); }

Test(engine_grad, weighted_loss_is_weighted_mean_of_token_nll) {
    tf_model *m = tiny_model(0, 5);
    int in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, m->cfg.vocab_size);
    float loss = loss_of(m, in, tg, w);
    const float *nll = tf_model_token_nll(m);
    const float *lg = tf_model_logits(m);
    double num = 0, den = 0;
    for (int i = 0; i < B * T; i++) {
        if (tg[i] < 0) {
            cr_assert_eq(nll[i], 0.0f);
            continue;
        }
        // independent log-softmax from the logits
        cr_assert_float_eq(nll[i], -tf_logprob(lg + (size_t)i * m->cfg.vocab_size, m->cfg.vocab_size, tg[i]),
                           1e-5);
        num += w[i] * nll[i];
        den += w[i];
    }
    cr_assert_float_eq(loss, num / den, 1e-5);
    tf_model_free(m);
}

Test(engine_grad, zero_weight_positions_get_no_gradient_influence) {
    // changing a target whose weight is 0 must not change the loss or the gradients
    tf_model *m = tiny_model(0, 9);
    int in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, m->cfg.vocab_size);
    w[3] = 0.0f;
    float a = loss_of(m, in, tg, w);
    tg[3] = (tg[3] + 1) % m->cfg.vocab_size;
    float b = loss_of(m, in, tg, w);
    cr_assert_eq(a, b);
    tf_model_free(m);
}
