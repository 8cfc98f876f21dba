// test_engine_reference.c — the engine against PyTorch fixtures (tests/fixtures/make_fixtures.py):
// logits, per-token NLL, weighted loss, every gradient, and a 10-step AdamW trajectory, for GPT-2,
// GPT-J and GPT-NeoX tiny random models in Hugging Face layout.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_util.h"

static void open_fixture(ref_fixture *f, const char *arch) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fixtures/%s-tiny", arch);
    tf_error err;
    f->m = tf_model_load(dir, &err);
    cr_assert_not_null(f->m, "%s", err.msg);
    fixture_open_batch(f, arch);
    f->ref = f->batch;  // the reference tensors sit beside the batch
}

static void check_forward(const char *arch) {
    ref_fixture f;
    open_fixture(&f, arch);
    tf_error err;
    cr_assert_eq(tf_model_forward(f.m, f.inputs, f.targets, f.weights, f.B, f.T, &err), TF_OK, "%s", err.msg);
    size_t n;
    float *logits = fixture_f32(f.ref, "logits", &n);
    cr_assert_eq(n, (size_t)f.B * f.T * f.V);
    assert_close_to_ref(tf_model_logits(f.m), logits, n, 1e-5f, 1e-4f, "logits");
    float *nll = fixture_f32(f.ref, "token_nll", &n);
    assert_close_to_ref(tf_model_token_nll(f.m), nll, n, 1e-5f, 1e-4f, "token_nll");
    float *loss = fixture_f32(f.ref, "loss", NULL);
    cr_assert(fabsf(f.m->mean_loss - loss[0]) <= 1e-4f * fabsf(loss[0]), "loss %.8g vs PyTorch %.8g", f.m->mean_loss,
              loss[0]);
    free(logits);
    free(nll);
    free(loss);
    fixture_close(&f);
}

// The reference gradients are stored under "grad.<HF name>" in HF layout: write them as a model
// directory of their own and load it, so the loader's name mapping and transposes put them in the
// engine's layout.
static tf_model *load_reference_grads(ref_fixture *f, const char *arch) {
    char dir[] = "/tmp/tf_grads_XXXXXX", src[256], dst[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(src, sizeof src, "tests/fixtures/%s-tiny/config.json", arch);
    tf_error err;
    size_t len;
    char *cfg = tf_read_file(src, &len, &err);
    cr_assert_not_null(cfg);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    cr_assert_eq(tf_write_file_atomic(dst, cfg, len, &err), TF_OK);
    free(cfg);
    int n = 0, count = tf_st_count(f->ref);
    tf_st_entry *e = calloc(count, sizeof *e);
    for (int i = 0; i < count; i++) {
        const tf_st_tensor *t = tf_st_at(f->ref, i);
        if (strncmp(t->name, "grad.", 5)) continue;
        e[n] = (tf_st_entry){.name = t->name + 5, .dtype = t->dtype, .ndim = t->ndim, .data = t->data};
        memcpy(e[n].shape, t->shape, sizeof t->shape);
        n++;
    }
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    cr_assert_eq(tf_st_write(dst, e, n, &err), TF_OK, "%s", err.msg);
    free(e);
    tf_model *g = tf_model_load(dir, &err);
    cr_assert_not_null(g, "%s", err.msg);
    unlink(dst);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    unlink(dst);
    rmdir(dir);
    return g;
}

static void check_backward(const char *arch) {
    ref_fixture f;
    open_fixture(&f, arch);
    tf_error err;
    cr_assert_eq(tf_model_forward(f.m, f.inputs, f.targets, f.weights, f.B, f.T, &err), TF_OK);
    cr_assert_eq(tf_model_zero_grad(f.m, &err), TF_OK);
    cr_assert_eq(tf_model_backward(f.m, 1.0f, &err), TF_OK, "%s", err.msg);
    tf_model *g = load_reference_grads(&f, arch);
    cr_assert_eq(g->num_params, f.m->num_params);
    float gmax = 0.0f;
    for (size_t i = 0; i < g->num_params; i++) gmax = fmaxf(gmax, fabsf(g->params[i]));
    for (int t = 0; t < TF_NUM_PARAM_TENSORS; t++)
        assert_close_to_ref(f.m->grad[t], g->param[t], f.m->sizes[t], 1e-5f * gmax, 1e-3f, tf_param_name(t));
    tf_model_free(g);
    fixture_close(&f);
}

static void check_adamw(const char *arch) {
    ref_fixture f;
    open_fixture(&f, arch);
    float *losses = fixture_f32(f.ref, "adamw_losses", NULL), *norms = fixture_f32(f.ref, "adamw_grad_norms", NULL);
    tf_adamw opt = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    tf_error err;
    for (int step = 0; step < 10; step++) {
        cr_assert_eq(tf_model_forward(f.m, f.inputs, f.targets, f.weights, f.B, f.T, &err), TF_OK);
        cr_assert(fabsf(f.m->mean_loss - losses[step]) <= 2e-4f * fabsf(losses[step]),
                  "%s step %d: loss %.7g vs PyTorch %.7g", arch, step, f.m->mean_loss, losses[step]);
        cr_assert_eq(tf_model_zero_grad(f.m, &err), TF_OK);
        cr_assert_eq(tf_model_backward(f.m, 1.0f, &err), TF_OK);
        float norm = tf_model_adamw_step(f.m, &opt, &err);
        cr_assert(fabsf(norm - norms[step]) <= 1e-3f * norms[step], "%s step %d: grad norm %.7g vs PyTorch %.7g",
                  arch, step, norm, norms[step]);
    }
    free(losses);
    free(norms);
    fixture_close(&f);
}

Test(engine_reference, gpt2_forward_matches_pytorch) { check_forward("gpt2"); }
Test(engine_reference, gpt2_gradients_match_pytorch) { check_backward("gpt2"); }
Test(engine_reference, gpt2_adamw_trajectory_matches_pytorch) { check_adamw("gpt2"); }
Test(engine_reference, gptj_forward_matches_pytorch) { check_forward("gptj"); }
Test(engine_reference, gptj_gradients_match_pytorch) { check_backward("gptj"); }
Test(engine_reference, gptj_adamw_trajectory_matches_pytorch) { check_adamw("gptj"); }
Test(engine_reference, neox_forward_matches_pytorch) { check_forward("neox"); }
Test(engine_reference, neox_gradients_match_pytorch) { check_backward("neox"); }
Test(engine_reference, neox_adamw_trajectory_matches_pytorch) { check_adamw("neox"); }
