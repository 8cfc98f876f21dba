// test_engine_bf16_kept.c — the bf16 forward keeps its rounded product inputs for the backward's
// weight gradients; these tests pin that the kept copy always belongs to the last forward.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"

enum { B = 2, T = 8 };

// gradients of model kind after: [fp32 forward of `other` first when stale] then the given sequence
static float *grads_after(int kind, int stale, int dtype_switch) {
    tf_model *m = tiny_model(kind, 90 + kind);
    tf_error err;
    int V = m->cfg.vocab_size, x[B * T], tx[B * T], y[B * T], ty[B * T];
    random_batch(x, tx, B * T, V, 1);
    random_batch(y, ty, B * T, V, 2);
    cr_assert_eq(tf_model_set_dtype(m, TF_DTYPE_BF16, &err), TF_OK);
    if (stale) cr_assert_eq(tf_model_forward(m, x, tx, NULL, B, T, &err), TF_OK);  // keeps x's inputs
    if (dtype_switch) cr_assert_eq(tf_model_set_dtype(m, TF_DTYPE_FP32, &err), TF_OK);
    cr_assert_eq(tf_model_forward(m, y, ty, NULL, B, T, &err), TF_OK);
    if (dtype_switch) cr_assert_eq(tf_model_set_dtype(m, TF_DTYPE_BF16, &err), TF_OK);
    cr_assert_eq(tf_model_zero_grad(m, &err), TF_OK);
    cr_assert_eq(tf_model_backward(m, 1.0f, &err), TF_OK, "%s", err.msg);
    float *g = malloc(m->num_params * sizeof(float));
    memcpy(g, tf_model_gradients(m), m->num_params * sizeof(float));
    tf_model_free(m);
    return g;
}

static void check(int kind, int dtype_switch) {
    tf_config c;
    tiny_config(&c, kind);
    size_t s[TF_NUM_PARAM_TENSORS], n = tf_param_sizes(&c, s);
    float *fresh = grads_after(kind, 0, dtype_switch), *after = grads_after(kind, 1, dtype_switch);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fresh[i], after[i], "kind %d switch %d: gradient %zu depends on an earlier forward", kind,
                     dtype_switch, i);
    free(fresh);
    free(after);
}

Test(engine_bf16_kept, backward_uses_the_last_forwards_inputs) {
    for (int kind = 0; kind < 3; kind++) check(kind, 0);
}

Test(engine_bf16_kept, fp32_forward_in_between_is_not_mistaken_for_kept_inputs) {
    for (int kind = 0; kind < 3; kind++) check(kind, 1);
}

Test(engine_bf16_kept, fp32_backward_after_a_bf16_forward_has_every_activation) {
    // a bf16 forward writes some inputs only in bf16; a backward run in fp32 must still see fp32 values
    for (int kind = 0; kind < 3; kind++) {
        tf_model *h = tiny_model(kind, 70 + kind), *f = tiny_model(kind, 70 + kind);
        tf_error err;
        int V = h->cfg.vocab_size, y[B * T], ty[B * T];
        random_batch(y, ty, B * T, V, 3);
        cr_assert_eq(tf_model_set_dtype(h, TF_DTYPE_BF16, &err), TF_OK);
        cr_assert_eq(tf_model_forward(h, y, ty, NULL, B, T, &err), TF_OK);
        cr_assert_eq(tf_model_set_dtype(h, TF_DTYPE_FP32, &err), TF_OK);
        cr_assert_eq(tf_model_forward(f, y, ty, NULL, B, T, &err), TF_OK);
        cr_assert_eq(tf_model_zero_grad(h, &err), TF_OK);
        cr_assert_eq(tf_model_zero_grad(f, &err), TF_OK);
        cr_assert_eq(tf_model_backward(h, 1.0f, &err), TF_OK, "%s", err.msg);
        cr_assert_eq(tf_model_backward(f, 1.0f, &err), TF_OK, "%s", err.msg);
        for (int t = 0; t < TF_NUM_PARAM_TENSORS; t++) {
            double d = 0, s = 0;
            for (size_t i = 0; i < f->sizes[t]; i++) {
                d += pow((double)h->grad[t][i] - f->grad[t][i], 2);
                s += pow(f->grad[t][i], 2);
            }
            cr_assert(d <= 1e-3 * (s > 0 ? s : 1), "kind %d: gradient of %s differs (relative L2^2 %.3g)", kind,
                      tf_param_name(t), d / (s > 0 ? s : 1));
        }
        tf_model_free(h);
        tf_model_free(f);
    }
}
