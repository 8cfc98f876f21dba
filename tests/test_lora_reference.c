// test_lora_reference.c — LoRA training against the PyTorch fixtures (tests/fixtures/
// make_lora_fixtures.py): a PEFT adapter directory loaded onto each tiny base (GPT-2, GPT-J, NeoX),
// the logits with the adapter, the gradient of every lora_A and lora_B with the base frozen, and a
// 10-step AdamW trajectory on the adapter (losses, gradient norms, final weights); also on the mapped
// base, and through checkpointed activations. Tolerances as tests/test_engine_reference.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"

// how: 0 loaded fp32, 1 mapped, 2 loaded with activation checkpointing
static void open_fixture(ref_fixture *f, const char *arch, int how) {
    char dir[256], p[256];
    tf_error err;
    snprintf(dir, sizeof dir, "tests/fixtures/%s-tiny", arch);
    f->m = how == 1 ? tf_model_load_mapped(dir, &err) : tf_model_load(dir, &err);
    cr_assert_not_null(f->m, "%s", err.msg);
    tf_model_set_checkpointing(f->m, how == 2);
    snprintf(p, sizeof p, "tests/fixtures/lora-%s", arch);
    cr_assert_eq(tf_lora_load(f->m, p, &err), TF_OK, "%s", err.msg);
    snprintf(p, sizeof p, "tests/fixtures/lora-%s-ref.safetensors", arch);
    cr_assert_not_null(f->ref = tf_st_open(p, &err), "%s", err.msg);
    fixture_open_batch(f, arch);
}

// The PEFT key of adapter i's A or B ("base_model.model.<path>.lora_A.weight").
static void key_of(const tf_model *m, int i, char which, char *out, size_t n) {
    tf_lora_info info;
    tf_lora_info_at(m, i, &info);
    int nm;
    const tf_lora_module *mods = tf_lora_modules(m->cfg.arch, &nm);
    for (int k = 0; k < nm; k++) {
        const char *pd = strstr(mods[k].path, "%d");
        if (strcmp(pd + 3, info.module)) continue;
        tf_lora_site s = {.mod = &mods[k], .layer = info.layer};
        tf_lora_site_key(&s, which, out, n);
        return;
    }
    cr_assert_fail("adapter %d: module %s not in the table", i, info.module);
}

static void forward(ref_fixture *f) {
    tf_error err;
    cr_assert_eq(tf_model_forward(f->m, f->inputs, f->targets, f->weights, f->B, f->T, &err), TF_OK, "%s", err.msg);
}

// Every adapter's A and B (grads: their gradients) against the reference tensors "<prefix><PEFT key>";
// returns how many tensors were compared.
static int compare_adapters(const ref_fixture *f, const char *prefix, int grads, float atol) {
    int checked = 0;
    for (int i = 0; i < tf_lora_count(f->m); i++) {
        tf_lora_info info;
        tf_lora_info_at(f->m, i, &info);
        float *A = malloc((size_t)info.r * info.in * sizeof(float)), *B = malloc((size_t)info.out * info.r * sizeof(float));
        if (grads)
            tf_lora_read_grad(f->m, i, A, B);
        else
            tf_lora_read(f->m, i, A, B);
        for (int w = 0; w < 2; w++) {
            char key[300], name[320];
            key_of(f->m, i, w ? 'B' : 'A', key, sizeof key);
            snprintf(name, sizeof name, "%s%s", prefix, key);
            size_t n;
            float *want = fixture_f32(f->ref, name, &n);
            cr_assert_eq(n, (size_t)info.r * (w ? info.out : info.in), "%s", name);
            assert_close_to_ref(w ? B : A, want, n, atol, 1e-3f, name);
            free(want);
            checked++;
        }
        free(A);
        free(B);
    }
    return checked;
}

static void check_forward(const char *arch, int how) {
    ref_fixture f;
    open_fixture(&f, arch, how);
    forward(&f);
    size_t n;
    float *logits = fixture_f32(f.ref, "logits", &n), *loss = fixture_f32(f.ref, "loss", NULL);
    cr_assert_eq(n, (size_t)f.B * f.T * f.V);
    assert_close_to_ref(tf_model_logits(f.m), logits, n, 1e-5f, 1e-4f, "logits");
    cr_assert(fabsf(f.m->mean_loss - loss[0]) <= 1e-4f * fabsf(loss[0]), "loss %.8g vs PyTorch %.8g", f.m->mean_loss,
              loss[0]);
    free(logits);
    free(loss);
    fixture_close(&f);
}

static void check_gradients(const char *arch, int how) {
    ref_fixture f;
    open_fixture(&f, arch, how);
    tf_error err;
    cr_assert_eq(tf_model_zero_grad(f.m, &err), TF_OK);
    forward(&f);
    cr_assert_eq(tf_model_backward(f.m, 1.0f, &err), TF_OK, "%s", err.msg);
    int count = tf_lora_count(f.m);
    cr_assert_gt(count, 0);
    // the largest reference gradient sets the absolute tolerance, as for the base's gradients
    float gmax = 0.0f;
    for (int i = 0; i < tf_st_count(f.ref); i++) {
        const tf_st_tensor *t = tf_st_at(f.ref, i);
        if (strncmp(t->name, "grad.", 5)) continue;
        float *g = fixture_f32(f.ref, t->name, NULL);
        for (size_t k = 0; k < t->numel; k++) gmax = fmaxf(gmax, fabsf(g[k]));
        free(g);
    }
    int checked = compare_adapters(&f, "grad.", 1, 1e-5f * gmax);
    int in_file = 0;
    for (int i = 0; i < tf_st_count(f.ref); i++) in_file += !strncmp(tf_st_at(f.ref, i)->name, "grad.", 5);
    cr_assert_eq(checked, in_file, "every reference gradient has its adapter (%d of %d)", checked, in_file);
    fixture_close(&f);
}

static void check_adamw(const char *arch, int how) {
    ref_fixture f;
    open_fixture(&f, arch, how);
    float *losses = fixture_f32(f.ref, "adamw_losses", NULL), *norms = fixture_f32(f.ref, "adamw_grad_norms", NULL);
    tf_adamw opt = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    tf_error err;
    for (int step = 0; step < 10; step++) {
        cr_assert_eq(tf_model_zero_grad(f.m, &err), TF_OK);
        forward(&f);
        cr_assert(fabsf(f.m->mean_loss - losses[step]) <= 2e-4f * fabsf(losses[step]),
                  "%s step %d: loss %.7g vs PyTorch %.7g", arch, step, f.m->mean_loss, losses[step]);
        cr_assert_eq(tf_model_backward(f.m, 1.0f, &err), TF_OK);
        float norm = tf_model_adamw_step(f.m, &opt, &err);
        cr_assert(fabsf(norm - norms[step]) <= 1e-3f * norms[step], "%s step %d: grad norm %.7g vs PyTorch %.7g",
                  arch, step, norm, norms[step]);
    }
    compare_adapters(&f, "final.", 0, 1e-5f);
    free(losses);
    free(norms);
    fixture_close(&f);
}

Test(lora_reference, gpt2_forward_matches_pytorch) { check_forward("gpt2", 0); }
Test(lora_reference, gpt2_gradients_match_pytorch) { check_gradients("gpt2", 0); }
Test(lora_reference, gpt2_adamw_trajectory_matches_pytorch) { check_adamw("gpt2", 0); }
Test(lora_reference, gptj_forward_matches_pytorch) { check_forward("gptj", 0); }
Test(lora_reference, gptj_gradients_match_pytorch) { check_gradients("gptj", 0); }
Test(lora_reference, gptj_adamw_trajectory_matches_pytorch) { check_adamw("gptj", 0); }
Test(lora_reference, neox_forward_matches_pytorch) { check_forward("neox", 0); }
Test(lora_reference, neox_gradients_match_pytorch) { check_gradients("neox", 0); }
Test(lora_reference, neox_adamw_trajectory_matches_pytorch) { check_adamw("neox", 0); }
// the mapped (F32) base and checkpointed activations give the same numbers
Test(lora_reference, mapped_bases_match_pytorch) {
    const char *arch[] = {"gpt2", "gptj", "neox"};
    for (int k = 0; k < 3; k++) {
        check_forward(arch[k], 1);
        check_gradients(arch[k], 1);
        check_adamw(arch[k], 1);
    }
}
Test(lora_reference, checkpointed_activations_match_pytorch) {
    const char *arch[] = {"gpt2", "gptj", "neox"};
    for (int k = 0; k < 3; k++) {
        check_gradients(arch[k], 2);
        check_adamw(arch[k], 2);
    }
}
