// test_lora.c — low-rank adapters on a frozen base: the adapters' gradients against central finite
// differences for each block shape, the forward against the merged weight W + (alpha/r) B A, the
// base left untouched by training, activation checkpointing against the stored activations, and a
// mapped base (F32, BF16 and F16 files) against the same checkpoint loaded.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"

#define FIX "tests/fixtures/"

enum { B = 2, T = 7 };

static void batch(int *in, int *tg, float *w, int V) {
    tf_rng r;
    tf_rng_seed(&r, 11);
    for (int i = 0; i < B * T; i++) {
        in[i] = (int)(tf_rng_u64(&r) % V);
        tg[i] = (int)(tf_rng_u64(&r) % V);
        w[i] = 0.25f + tf_rng_uniform(&r);
    }
    tg[T - 1] = -1;
}

static void attach(tf_model *m, int r, float alpha, const char *targets) {
    tf_error err;
    tf_lora_options o = {.r = r, .alpha = alpha, .dropout = 0, .targets = targets, .seed = 5};
    cr_assert_eq(tf_lora_attach(m, &o, &err), TF_OK, "%s", err.msg);
}

// Gives every B random values (fresh adapters have B = 0, which would leave dA zero).
static void randomise_B(tf_model *m, uint64_t seed) {
    for (int i = 0; i < tf_lora_count(m); i++) {
        tf_lora_info in;
        tf_lora_info_at(m, i, &in);
        float *b = malloc((size_t)in.out * in.r * sizeof(float));
        fill_normal(b, (size_t)in.out * in.r, seed + (uint64_t)i);
        for (int k = 0; k < in.out * in.r; k++) b[k] *= 0.3f;
        tf_lora_write(m, i, NULL, b);
        free(b);
    }
}

static float loss_of(tf_model *m, const int *in, const int *tg, const float *w) {
    tf_error err;
    cr_assert_eq(tf_model_forward(m, in, tg, w, B, T, &err), TF_OK, "%s", err.msg);
    return m->mean_loss;
}

static void grads(tf_model *m, const int *in, const int *tg, const float *w) {
    tf_error err;
    cr_assert_eq(tf_model_zero_grad(m, &err), TF_OK, "%s", err.msg);
    loss_of(m, in, tg, w);
    cr_assert_eq(tf_model_backward(m, 1.0f, &err), TF_OK, "%s", err.msg);
}

static void check_fd(int kind, const char *targets) {
    tf_model *m = tiny_model(kind, 200 + kind);
    attach(m, 3, 5.0f, targets);
    randomise_B(m, 40);
    int V = m->cfg.vocab_size, in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, V);
    grads(m, in, tg, w);
    size_t n = tf_lora_numel(m);
    float *g = malloc(n * sizeof(float)), *p = tf_lora_state(m, 0);
    memcpy(g, tf_model_gradients(m), n * sizeof(float));
    tf_rng r;
    tf_rng_seed(&r, 9);
    const float eps = 1e-2f;
    double gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    cr_assert(gmax > 1e-3, "kind %d: the adapters get a gradient (max %g)", kind, gmax);
    // every adapter: entries of A and of B
    for (int a = 0; a < tf_lora_count(m); a++) {
        tf_lora_info info;
        tf_lora_info_at(m, a, &info);
        size_t base = 0;
        for (int k = 0; k < a; k++) {
            tf_lora_info o;
            tf_lora_info_at(m, k, &o);
            base += (size_t)o.r * (o.in + o.out);
        }
        for (int k = 0; k < 6; k++) {
            size_t na = (size_t)info.r * info.in, i = base + tf_rng_u64(&r) % (k < 3 ? na : (size_t)info.r * info.out) +
                                                   (k < 3 ? 0 : na);
            float old = p[i];
            p[i] = old + eps;
            double lp = loss_of(m, in, tg, w);
            p[i] = old - eps;
            double lm = loss_of(m, in, tg, w);
            p[i] = old;
            double fd = (lp - lm) / (2 * eps);
            cr_assert(fabs(fd - g[i]) <= 2e-3 + 0.05 * fabs(fd),
                      "kind %d layer %d %s %s[%zu]: analytic %.6g vs finite difference %.6g", kind, info.layer,
                      info.module, k < 3 ? "A" : "B", i - base, g[i], fd);
        }
    }
    free(g);
    tf_model_free(m);
}

Test(lora, gpt2_adapter_gradients_match_finite_differences) { check_fd(0, "all-linear"); }
Test(lora, gptj_adapter_gradients_match_finite_differences) { check_fd(1, "all-linear"); }
Test(lora, neox_adapter_gradients_match_finite_differences) { check_fd(2, "all-linear"); }
Test(lora, gptj_q_and_v_only_match_finite_differences) { check_fd(1, "q_proj,v_proj"); }

// the engine row of HF output row o of module `module` (NeoX's qkv is per head in HF)
static size_t engine_row(const tf_model *m, const char *module, int o) {
    int C = m->cfg.n_embd, D = C / m->cfg.n_head;
    if (strstr(module, "query_key_value")) {
        int h = o / (3 * D), j = (o / D) % 3, d = o % D;
        return (size_t)j * C + (size_t)h * D + d;
    }
    if (strstr(module, "k_proj")) return (size_t)C + o;
    if (strstr(module, "v_proj")) return 2 * (size_t)C + o;
    return (size_t)o;
}

static int module_param(const char *module) {
    if (strstr(module, "c_attn") || strstr(module, "q_proj") || strstr(module, "k_proj") ||
        strstr(module, "v_proj") || strstr(module, "query_key_value"))
        return TF_P_QKVW;
    if (strstr(module, "attn.c_proj") || strstr(module, "out_proj") || strstr(module, "attention.dense")) return TF_P_ATTPROJW;
    if (strstr(module, "c_fc") || strstr(module, "fc_in") || strstr(module, "h_to_4h")) return TF_P_FCW;
    return TF_P_FCPROJW;
}

static void check_merged(int kind) {
    tf_model *m = tiny_model(kind, 300 + kind), *ref = tiny_model(kind, 300 + kind);
    attach(m, 2, 3.0f, "all-linear");
    randomise_B(m, 70);
    // the reference: W_engine += (alpha / r) B A, rows placed as the HF layout says
    float s = 3.0f / 2.0f;
    for (int i = 0; i < tf_lora_count(m); i++) {
        tf_lora_info in;
        tf_lora_info_at(m, i, &in);
        float *A = malloc((size_t)in.r * in.in * sizeof(float)), *Bm = malloc((size_t)in.out * in.r * sizeof(float));
        tf_lora_read(m, i, A, Bm);
        int p = module_param(in.module);
        size_t per = ref->sizes[p] / (size_t)ref->cfg.n_layer;
        float *W = ref->param[p] + per * (size_t)in.layer;
        for (int o = 0; o < in.out; o++)
            for (int c = 0; c < in.in; c++) {
                double acc = 0;
                for (int k = 0; k < in.r; k++) acc += (double)Bm[(size_t)o * in.r + k] * A[(size_t)k * in.in + c];
                W[engine_row(m, in.module, o) * in.in + c] += (float)(s * acc);
            }
        free(A);
        free(Bm);
    }
    int V = m->cfg.vocab_size, in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, V);
    float la = loss_of(m, in, tg, w);
    size_t n = (size_t)B * T * V;
    float *lg = malloc(n * sizeof(float));
    memcpy(lg, tf_model_logits(m), n * sizeof(float));
    float lb = loss_of(ref, in, tg, w);
    const float *lr = tf_model_logits(ref);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(lg[i] - lr[i]) <= 1e-4f + 1e-4f * fabsf(lr[i]), "kind %d logit %zu: %g vs merged %g", kind, i,
                  lg[i], lr[i]);
    cr_assert(fabsf(la - lb) <= 1e-4f * lb);
    // the KV cache path adds the adapters too
    tf_error err;
    tf_kv *kv = tf_kv_new(m, 1, T, &err);
    float *c = malloc((size_t)T * V * sizeof(float));
    cr_assert_eq(tf_model_prefill(m, kv, 0, in, T, c, 1, &err), TF_OK, "%s", err.msg);
    for (size_t i = 0; i < (size_t)T * V; i++)
        cr_assert(fabsf(c[i] - lr[i]) <= 1e-4f + 1e-4f * fabsf(lr[i]), "kind %d cached logit %zu: %g vs %g", kind, i,
                  c[i], lr[i]);
    tf_kv_free(kv);
    free(c);
    free(lg);
    tf_model_free(m);
    tf_model_free(ref);
}

Test(lora, gpt2_forward_equals_the_merged_weights) { check_merged(0); }
Test(lora, gptj_forward_equals_the_merged_weights) { check_merged(1); }
Test(lora, neox_forward_equals_the_merged_weights) { check_merged(2); }

Test(lora, fresh_adapters_leave_the_outputs_unchanged_and_the_base_frozen) {
    tf_model *m = tiny_model(1, 17), *ref = tiny_model(1, 17);
    attach(m, 4, 8.0f, "all-linear");
    int V = m->cfg.vocab_size, in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, V);
    cr_assert_eq(loss_of(m, in, tg, w), loss_of(ref, in, tg, w), "B = 0: the same loss");
    tf_adamw opt = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    tf_error err;
    float first = -1;
    for (int step = 0; step < 8; step++) {
        grads(m, in, tg, w);
        if (step == 0) first = m->mean_loss;
        cr_assert(tf_model_adamw_step(m, &opt, &err) >= 0, "%s", err.msg);
    }
    cr_assert(loss_of(m, in, tg, w) < first - 0.01f, "training lowers the loss (%g -> %g)", first, m->mean_loss);
    cr_assert_null(m->grads, "no gradient arena for a frozen base");
    cr_assert_null(m->adam_m, "no optimizer state for a frozen base");
    cr_assert_eq(memcmp(m->params, ref->params, m->num_params * sizeof(float)), 0, "the base is unchanged");
    cr_assert_eq(tf_lora_steps(m), 8);
    tf_model_free(m);
    tf_model_free(ref);
}

Test(lora, targets_match_by_name_suffix_and_bad_ones_are_refused) {
    tf_model *m = tiny_model(0, 3);
    attach(m, 2, 4.0f, "c_proj");  // PEFT matches both attn.c_proj and mlp.c_proj
    cr_assert_eq(tf_lora_count(m), 2 * m->cfg.n_layer);
    cr_assert_geq(tf_lora_find(m, "attn.c_proj", 1), 0);
    cr_assert_geq(tf_lora_find(m, "mlp.c_proj", 1), 0);
    cr_assert_lt(tf_lora_find(m, "attn.c_attn", 0), 0);
    tf_model_free(m);
    tf_error err;
    const char *bad[] = {"q_proj", "c_attn,nope"};
    for (int i = 0; i < 2; i++) {
        m = tiny_model(0, 3);
        tf_lora_options o = {.r = 2, .alpha = 4, .targets = bad[i], .seed = 1};
        cr_assert_neq(tf_lora_attach(m, &o, &err), TF_OK, "target list '%s' is refused", bad[i]);
        cr_assert_null(m->lora);
        tf_model_free(m);
    }
    m = tiny_model(0, 3);
    attach(m, 2, 4.0f, "");  // none given: PEFT's default for the model type (GPT-2: c_attn)
    cr_assert_eq(tf_lora_count(m), m->cfg.n_layer);
    cr_assert_geq(tf_lora_find(m, "attn.c_attn", 0), 0);
    tf_model_free(m);
    m = tiny_model(2, 3);
    tf_lora_options o = {.r = 0, .alpha = 4, .targets = "dense", .seed = 1};
    cr_assert_neq(tf_lora_attach(m, &o, &err), TF_OK, "r = 0 is refused");
    cr_assert(strstr(err.msg, "rank"), "%s", err.msg);
    tf_model_free(m);
}

// gradients with activation checkpointing (one layer's activations, recomputed in the backward)
// equal those from the stored activations; dropout masks are regenerated identically
static void check_checkpointing(int kind, float dropout, tf_dtype dtype) {
    tf_model *ms[2];
    float *g[2];
    float loss[2];
    int V = 0, in[B * T], tg[B * T];
    float w[B * T];
    for (int k = 0; k < 2; k++) {
        ms[k] = tiny_model(kind, 400 + kind);
        tf_error err;
        cr_assert_eq(tf_model_set_dtype(ms[k], dtype, &err), TF_OK);
        tf_lora_options o = {.r = 2, .alpha = 4, .dropout = dropout, .targets = "all-linear", .seed = 8};
        cr_assert_eq(tf_lora_attach(ms[k], &o, &err), TF_OK, "%s", err.msg);
        randomise_B(ms[k], 90);
        tf_model_set_checkpointing(ms[k], k);
        V = ms[k]->cfg.vocab_size;
        batch(in, tg, w, V);
        grads(ms[k], in, tg, w);
        loss[k] = ms[k]->mean_loss;
        g[k] = tf_model_gradients(ms[k]);
    }
    cr_assert_eq(loss[0], loss[1]);
    size_t n = tf_lora_numel(ms[0]);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(g[0][i] - g[1][i]) <= 1e-6f + 1e-5f * fabsf(g[0][i]), "kind %d grad %zu: %g vs checkpointed %g",
                  kind, i, g[0][i], g[1][i]);
    tf_model_free(ms[0]);
    tf_model_free(ms[1]);
}

Test(lora, checkpointed_activations_give_the_same_gradients) {
    for (int kind = 0; kind < 3; kind++) check_checkpointing(kind, 0.0f, TF_DTYPE_FP32);
    check_checkpointing(0, 0.0f, TF_DTYPE_BF16);
    check_checkpointing(2, 0.25f, TF_DTYPE_FP32);
}

Test(lora, checkpointing_also_serves_full_training) {
    // without adapters: every parameter's gradient, fp32 and bf16 (kept bf16 inputs in one slot)
    for (int dt = 0; dt < 2; dt++) {
        tf_model *a = tiny_model(1, 21), *b = tiny_model(1, 21);
        tf_error err;
        tf_model_set_dtype(a, (tf_dtype)dt, &err);
        tf_model_set_dtype(b, (tf_dtype)dt, &err);
        tf_model_set_checkpointing(b, 1);
        int in[B * T], tg[B * T];
        float w[B * T];
        batch(in, tg, w, a->cfg.vocab_size);
        grads(a, in, tg, w);
        grads(b, in, tg, w);
        float *ga = tf_model_gradients(a), *gb = tf_model_gradients(b);
        for (size_t i = 0; i < a->num_params; i++)
            cr_assert(fabsf(ga[i] - gb[i]) <= 1e-6f + 1e-5f * fabsf(ga[i]), "dtype %d grad %zu: %g vs %g", dt, i, ga[i],
                      gb[i]);
        tf_model_free(a);
        tf_model_free(b);
    }
}

Test(lora, dropout_zeroes_inputs_in_training_only) {
    tf_model *m = tiny_model(0, 31);
    tf_error err;
    tf_lora_options o = {.r = 2, .alpha = 4, .dropout = 0.5f, .targets = "c_attn", .seed = 2};
    cr_assert_eq(tf_lora_attach(m, &o, &err), TF_OK);
    randomise_B(m, 3);
    int in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, m->cfg.vocab_size);
    float l1 = loss_of(m, in, tg, w), l2 = loss_of(m, in, tg, w);
    cr_assert_neq(l1, l2, "a new mask each training forward");
    tf_lora_set_training(m, 0);
    float e1 = loss_of(m, in, tg, w), e2 = loss_of(m, in, tg, w);
    cr_assert_eq(e1, e2, "no dropout in evaluation");
    cr_assert_neq(e1, l1);
    tf_model_free(m);
}

// Training a mapped base against the same checkpoint loaded: gradients of every adapter and the loss
// after a few AdamW steps. tol: relative, against the largest gradient.
static void check_mapped(const char *dir, tf_dtype loaded_dtype, double tol) {
    tf_error err;
    tf_model *ref = tf_model_load(dir, &err);
    cr_assert_not_null(ref, "%s", err.msg);
    cr_assert_eq(tf_model_set_dtype(ref, loaded_dtype, &err), TF_OK);
    tf_model *mm = tf_model_load_mapped(dir, &err);
    cr_assert_not_null(mm, "%s", err.msg);
    tf_model *ms[2] = {ref, mm};
    int in[B * T], tg[B * T];
    float w[B * T];
    batch(in, tg, w, ref->cfg.vocab_size);
    for (int k = 0; k < 2; k++) {
        attach(ms[k], 2, 4.0f, "all-linear");
        randomise_B(ms[k], 55);
        grads(ms[k], in, tg, w);
    }
    size_t n = tf_lora_numel(ref);
    float *ga = tf_model_gradients(ref), *gb = tf_model_gradients(mm);
    double gmax = 0, worst = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(ga[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ga[i] - gb[i]));
    cr_assert(gmax > 0 && worst <= tol * gmax, "%s: mapped gradients differ by %g (max %g)", dir, worst, gmax);
    tf_adamw opt = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    for (int step = 0; step < 4; step++)
        for (int k = 0; k < 2; k++) {
            grads(ms[k], in, tg, w);
            cr_assert(tf_model_adamw_step(ms[k], &opt, &err) >= 0, "%s", err.msg);
        }
    float la = loss_of(ref, in, tg, w), lb = loss_of(mm, in, tg, w);
    cr_assert(fabsf(la - lb) <= 10 * tol * la, "%s: loss after training %g vs mapped %g", dir, la, lb);
    tf_model_free(ref);
    tf_model_free(mm);
}

Test(lora, mapped_f32_base_trains_as_the_loaded_one) {
    // the input gradients through the mapped layouts: Conv1D transposed, GPT-J's three q/k/v
    // tensors, NeoX's per-head rows
    check_mapped(FIX "gpt2-tiny", TF_DTYPE_FP32, 1e-5);
    check_mapped(FIX "gptj-tiny", TF_DTYPE_FP32, 1e-5);
    check_mapped(FIX "neox-tiny", TF_DTYPE_FP32, 1e-5);
}

Test(lora, mapped_bf16_and_f16_bases_train_as_the_loaded_ones) {
    check_mapped(FIX "gpt2-tiny-bf16", TF_DTYPE_BF16, 2e-2);
    check_mapped(FIX "gpt2-tiny-f16", TF_DTYPE_FP32, 1e-5);  // F16 widened to fp32: exact products
}
