// params.c — configs, the parameter layout (stacked over layers) and GPT-2 initialisation.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

void tf_config_gpt2(tf_config *cfg, int n_layer, int n_embd, int n_head, int vocab_size,
                    int n_positions) {
    *cfg = (tf_config){
        .arch = TF_ARCH_GPT2,
        .n_layer = n_layer,
        .n_embd = n_embd,
        .n_head = n_head,
        .n_inner = 4 * n_embd,
        .vocab_size = vocab_size,
        .n_positions = n_positions,
        .layer_norm_eps = 1e-5f,
        // GPT-2's block: sequential residual, two LayerNorms, learned positions (rotary_dim 0), biases
        // on every projection, the LM head tied to wte, the tanh GELU (gelu_exact 0)
        .rotary_base = 10000.0f,
        .qkv_bias = 1,
        .attn_out_bias = 1,
        .tied_head = 1,
        .bos_token_id = vocab_size - 1,
        .eos_token_id = vocab_size - 1,
    };
}

int tf_config_validate(const tf_config *c, const char *what, tf_error *err) {
    if (c->n_layer <= 0 || c->n_embd <= 0 || c->n_head <= 0 || c->n_inner <= 0 ||
        c->vocab_size <= 0 || c->n_positions <= 0)
        return tf_errorf(err, TF_EBADFILE,
                         "%s: sizes must be positive (n_layer %d, n_embd %d, n_head %d, n_inner %d, "
                         "vocab_size %d, n_positions %d)",
                         what, c->n_layer, c->n_embd, c->n_head, c->n_inner, c->vocab_size,
                         c->n_positions);
    if (c->n_embd % c->n_head)
        return tf_errorf(err, TF_EBADFILE, "%s: n_embd %d is not a multiple of n_head %d", what,
                         c->n_embd, c->n_head);
    int hs = c->n_embd / c->n_head;
    if (c->rotary_dim < 0 || c->rotary_dim > hs || c->rotary_dim % 2)
        return tf_errorf(err, TF_EBADFILE, "%s: rotary_dim %d must be even and at most the head size %d",
                         what, c->rotary_dim, hs);
    const struct { const char *name; int v, max; } big[] = {
        {"n_layer (num_hidden_layers)", c->n_layer, TF_MAX_LAYERS}, {"n_embd (hidden_size)", c->n_embd, 65536},
        {"n_inner (intermediate_size)", c->n_inner, 1 << 20},       {"vocab_size", c->vocab_size, 1 << 24},
        {"n_positions (n_ctx, max_position_embeddings)", c->n_positions, TF_MAX_POSITIONS}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        if (big[i].v > big[i].max)
            return tf_errorf(err, TF_EBADFILE, "%s: implausibly large sizes: %s is %d, over this engine's limit "
                             "of %d", what, big[i].name, big[i].v, big[i].max);
    if (!(c->layer_norm_eps > 0 && c->layer_norm_eps < 1))
        return tf_errorf(err, TF_EBADFILE, "%s: layer_norm_epsilon %g out of range", what,
                         (double)c->layer_norm_eps);
    return TF_OK;
}

size_t tf_param_sizes(const tf_config *c, size_t s[TF_NUM_PARAM_TENSORS]) {
    size_t L = c->n_layer, C = c->n_embd, F = c->n_inner, V = c->vocab_size;
    s[TF_P_WTE] = V * C;
    s[TF_P_WPE] = c->rotary_dim ? 0 : (size_t)c->n_positions * C;
    s[TF_P_LN1W] = L * C;
    s[TF_P_LN1B] = L * C;
    s[TF_P_QKVW] = L * 3 * C * C;
    s[TF_P_QKVB] = c->qkv_bias ? L * 3 * C : 0;
    s[TF_P_ATTPROJW] = L * C * C;
    s[TF_P_ATTPROJB] = c->attn_out_bias ? L * C : 0;
    s[TF_P_LN2W] = c->shared_ln ? 0 : L * C;
    s[TF_P_LN2B] = c->shared_ln ? 0 : L * C;
    s[TF_P_FCW] = L * F * C;
    s[TF_P_FCB] = L * F;
    s[TF_P_FCPROJW] = L * C * F;
    s[TF_P_FCPROJB] = L * C;
    s[TF_P_LNFW] = C;
    s[TF_P_LNFB] = C;
    s[TF_P_LMW] = c->tied_head ? 0 : V * C;
    s[TF_P_LMB] = (!c->tied_head && c->head_bias) ? V : 0;
    size_t total = 0;
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++) total += s[i];
    return total;
}

static const char *const PARAM_NAMES[TF_NUM_PARAM_TENSORS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w",
    "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb", "lmw", "lmb"};

const char *tf_param_name(int i) {
    return i >= 0 && i < TF_NUM_PARAM_TENSORS ? PARAM_NAMES[i] : "?";
}

int tf_param_decays(int i) {
    return i == TF_P_WTE || i == TF_P_WPE || i == TF_P_QKVW || i == TF_P_ATTPROJW || i == TF_P_FCW ||
           i == TF_P_FCPROJW || i == TF_P_LMW;
}

void model_point_views(float *base, const size_t sizes[TF_NUM_PARAM_TENSORS],
                       float *views[TF_NUM_PARAM_TENSORS]) {
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++) {
        views[i] = base;
        base += sizes[i];
    }
}

tf_model *model_alloc(const tf_config *cfg, tf_error *err) {
    if (tf_config_validate(cfg, "config", err)) return NULL;
    tf_model *m = calloc(1, sizeof *m);
    if (!m) { tf_errorf(err, TF_ENOMEM, "out of memory allocating the model"); return NULL; }
    m->cfg = *cfg;
    m->num_params = tf_param_sizes(cfg, m->sizes);
    m->params = tf_alloc(m->num_params * sizeof(float), 1);
    if (!m->params) {
        tf_errorf(err, TF_ENOMEM, "out of memory allocating %zu parameters", m->num_params);
        free(m);
        return NULL;
    }
    model_point_views(m->params, m->sizes, m->param);
    m->mean_loss = -1.0f;
    return m;
}

tf_model *tf_model_new(const tf_config *cfg, uint64_t seed, tf_error *err) {
    tf_model *m = model_alloc(cfg, err);
    if (!m) return NULL;
    tf_rng rng;
    tf_rng_seed(&rng, seed);
    float resid_std = 0.02f / sqrtf(2.0f * cfg->n_layer);
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++) {
        float *p = m->param[i];
        size_t n = m->sizes[i];
        if (i == TF_P_LN1W || i == TF_P_LN2W || i == TF_P_LNFW) {
            for (size_t j = 0; j < n; j++) p[j] = 1.0f;
        } else if (tf_param_decays(i)) {
            float std = (i == TF_P_ATTPROJW || i == TF_P_FCPROJW) ? resid_std : 0.02f;
            for (size_t j = 0; j < n; j++) p[j] = std * tf_rng_normal(&rng);
        }  // biases and LayerNorm shifts stay zero
    }
    return m;
}

void tf_model_free(tf_model *m) {
    if (!m) return;
    tf_free(m->params);
    tf_free(m->grads);
    tf_free(m->adam_m);
    tf_free(m->adam_v);
    model_free_acts(m->acts);
    model_lowp_free(m->lowp);
    model_norm_free(m->gradnorm);
    model_lora_free(m->lora);
    free(m);
}
