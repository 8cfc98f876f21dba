// config.c — Hugging Face config.json <-> tf_config for GPT-2, GPT-J and GPT-NeoX.
//
// Field names and defaults follow transformers' GPT2Config, GPTJConfig and GPTNeoXConfig. Options
// the engine does not implement (another activation, RoPE scaling, attention scaled by layer index)
// are refused with an error naming the key rather than silently computing something else.
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

typedef struct {
    const cJSON *root;
    const char *path;
    tf_error *err;
} reader;

// Required (dflt == NULL) or optional integer key; null counts as missing.
static int get_int(reader *r, const char *key, const int *dflt, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    if (!v || cJSON_IsNull(v)) {
        if (dflt) { *out = *dflt; return TF_OK; }
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" is missing", r->path, key);
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (isfinite(d) && d == floor(d) && fabs(d) > 2147483647.0)  // an integer, but no size is that large
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" is %.0f, too large for this engine (sizes fit in 32 "
                         "bits; positions at most %d, layers %d)", r->path, key, d, TF_MAX_POSITIONS, TF_MAX_LAYERS);
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != floor(d))
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" must be an integer", r->path, key);
    *out = (int)d;
    return TF_OK;
}

static int get_num(reader *r, const char *key, double dflt, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    if (!v || cJSON_IsNull(v)) { *out = dflt; return TF_OK; }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" must be a number", r->path, key);
    *out = v->valuedouble;
    return TF_OK;
}

static int get_bool(reader *r, const char *key, int dflt, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    if (!v || cJSON_IsNull(v)) { *out = dflt; return TF_OK; }
    if (!cJSON_IsBool(v))
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" must be true or false", r->path, key);
    *out = cJSON_IsTrue(v);
    return TF_OK;
}

// The activation key (optional, default dflt): the exact erf GELU ("gelu") or its tanh form
// ("gelu_new"; "gelu_pytorch_tanh" and "gelu_fast" are the same formula). Anything else is refused.
static int get_activation(reader *r, const char *key, const char *dflt, int *exact) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    const char *s = dflt;
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v))
            return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" must be a string", r->path, key);
        s = v->valuestring;
    }
    if (strcmp(s, "gelu") == 0) { *exact = 1; return TF_OK; }
    if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) {
        *exact = 0;
        return TF_OK;
    }
    return tf_errorf(r->err, TF_EBADFILE,
                     "%s: key \"%s\" is \"%.40s\"; this engine supports \"gelu\" and \"gelu_new\"",
                     r->path, key, s);
}

// A key that, when present and not null, must not be set (a feature the engine lacks).
static int refuse_key(reader *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    if (v && !cJSON_IsNull(v) && !cJSON_IsFalse(v))
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" is set; this engine does not support it",
                         r->path, key);
    return TF_OK;
}

static int ids(reader *r, int bos, int eos, tf_config *c) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(r->root, "bos_token_id");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->root, "eos_token_id");
    // eos may be a list in newer configs: take the first
    if (cJSON_IsArray(e)) e = cJSON_GetArrayItem(e, 0);
    int m1 = -1;
    c->bos_token_id = bos;
    c->eos_token_id = eos;
    if (b && cJSON_IsNull(b)) c->bos_token_id = -1;
    else if (b && get_int(r, "bos_token_id", &m1, &c->bos_token_id)) return r->err->code;
    if (c->bos_token_id < -1)  // as for eos: an id, or -1/null for none
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"bos_token_id\" must be an integer >= -1", r->path);
    if (e && cJSON_IsNull(e)) { c->eos_token_id = -1; return TF_OK; }
    if (e) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!(d >= -1 && d <= 2147483647.0) || d != floor(d))
            return tf_errorf(r->err, TF_EBADFILE, "%s: key \"eos_token_id\" must be an integer", r->path);
        c->eos_token_id = (int)d;
    }
    return TF_OK;
}

// 4 * n, the default MLP width, saturated so that an absurd n_embd cannot overflow (validation
// then refuses the size).
static int four_times(int n) { return n > INT_MAX / 4 ? INT_MAX : n < INT_MIN / 4 ? INT_MIN : 4 * n; }

static int parse_gpt2(reader *r, tf_config *c) {
    c->arch = TF_ARCH_GPT2;
    int minus1 = -1, ctx = 0;
    if (get_int(r, "n_layer", NULL, &c->n_layer) || get_int(r, "n_embd", NULL, &c->n_embd) ||
        get_int(r, "n_head", NULL, &c->n_head) || get_int(r, "vocab_size", NULL, &c->vocab_size) ||
        get_int(r, "n_ctx", &minus1, &ctx))
        return r->err->code;
    if (get_int(r, "n_positions", ctx > 0 ? &ctx : NULL, &c->n_positions)) return r->err->code;
    int inner_default = four_times(c->n_embd);
    if (get_int(r, "n_inner", &inner_default, &c->n_inner)) return r->err->code;
    double eps = 0;  // set by get_num (initialised for -Wmaybe-uninitialized)
    int scale = 1, tie = 1;
    if (get_num(r, "layer_norm_epsilon", 1e-5, &eps) ||
        get_activation(r, "activation_function", "gelu_new", &c->gelu_exact) ||
        get_bool(r, "scale_attn_weights", 1, &scale) || refuse_key(r, "scale_attn_by_inverse_layer_idx") ||
        get_bool(r, "tie_word_embeddings", 1, &tie) || ids(r, 50256, 50256, c))
        return r->err->code;
    if (!scale)
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"scale_attn_weights\" false is not supported",
                         r->path);
    c->layer_norm_eps = (float)eps;
    c->rotary_base = 10000.0f;
    c->qkv_bias = c->attn_out_bias = 1;
    c->tied_head = tie;
    return TF_OK;
}

static int parse_gptj(reader *r, tf_config *c) {
    c->arch = TF_ARCH_GPTJ;
    if (get_int(r, "n_layer", NULL, &c->n_layer) || get_int(r, "n_embd", NULL, &c->n_embd) ||
        get_int(r, "n_head", NULL, &c->n_head) || get_int(r, "vocab_size", NULL, &c->vocab_size) ||
        get_int(r, "n_positions", NULL, &c->n_positions))
        return r->err->code;
    int inner_default = four_times(c->n_embd), rd_default = c->n_head > 0 ? c->n_embd / c->n_head : 0, tie = 0;
    double eps = 0;  // set by get_num (initialised for -Wmaybe-uninitialized)
    if (get_int(r, "n_inner", &inner_default, &c->n_inner) ||
        get_int(r, "rotary_dim", &rd_default, &c->rotary_dim) ||
        get_num(r, "layer_norm_epsilon", 1e-5, &eps) ||
        get_activation(r, "activation_function", "gelu_new", &c->gelu_exact) ||
        get_bool(r, "tie_word_embeddings", 0, &tie) || ids(r, 50256, 50256, c))
        return r->err->code;
    if (tie)
        return tf_errorf(r->err, TF_EBADFILE,
                         "%s: key \"tie_word_embeddings\" true is not supported for gptj (lm_head has a bias)",
                         r->path);
    if (c->rotary_dim <= 0)
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"rotary_dim\" must be positive", r->path);
    c->layer_norm_eps = (float)eps;
    c->parallel_residual = 1;
    c->shared_ln = 1;
    c->rotary_interleaved = 1;
    c->rotary_base = 10000.0f;
    c->head_bias = 1;
    return TF_OK;
}

static int parse_neox(reader *r, tf_config *c) {
    c->arch = TF_ARCH_NEOX;
    if (get_int(r, "num_hidden_layers", NULL, &c->n_layer) ||
        get_int(r, "hidden_size", NULL, &c->n_embd) ||
        get_int(r, "num_attention_heads", NULL, &c->n_head) ||
        get_int(r, "intermediate_size", NULL, &c->n_inner) ||
        get_int(r, "vocab_size", NULL, &c->vocab_size))
        return r->err->code;
    int maxpos = 2048, par = 1, tie = 0, bias = 1;
    double pct = 0, base = 0, eps = 0;  // set by get_num (initialised for -Wmaybe-uninitialized)
    // newer transformers call rotary_pct partial_rotary_factor and rotary_emb_base rope_theta
    const char *pct_key = cJSON_GetObjectItemCaseSensitive(r->root, "rotary_pct") ? "rotary_pct"
                                                                                  : "partial_rotary_factor";
    const char *base_key = cJSON_GetObjectItemCaseSensitive(r->root, "rotary_emb_base") ? "rotary_emb_base"
                                                                                        : "rope_theta";
    if (get_int(r, "max_position_embeddings", &maxpos, &c->n_positions) ||
        get_num(r, pct_key, 0.25, &pct) || get_num(r, base_key, 10000.0, &base) ||
        get_num(r, "layer_norm_eps", 1e-5, &eps) || get_bool(r, "use_parallel_residual", 1, &par) ||
        get_bool(r, "tie_word_embeddings", 0, &tie) || get_bool(r, "attention_bias", 1, &bias) ||
        get_activation(r, "hidden_act", "gelu", &c->gelu_exact) || refuse_key(r, "rope_scaling") || ids(r, 0, 2, c))
        return r->err->code;
    if (c->n_head <= 0 || c->n_embd % c->n_head)
        return tf_errorf(r->err, TF_EBADFILE,
                         "%s: key \"hidden_size\" (%d) must be a multiple of \"num_attention_heads\" (%d)",
                         r->path, c->n_embd, c->n_head);
    if (!(pct > 0 && pct <= 1))
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" must be in (0, 1]", r->path, pct_key);
    // the engine keeps it as a float: the check is on that float, so that what is written back
    // (tidy) reads again (1.000000000000615 is 1.0f; found by fuzz_config)
    if (!((float)base > 1.0f) || !isfinite((float)base))
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" must be greater than 1 and within float range",
                         r->path, base_key);
    // transformers: rotary_ndims = int(head_size * rotary_pct)
    c->rotary_dim = (int)((double)(c->n_embd / c->n_head) * pct);
    if (c->rotary_dim <= 0)
        return tf_errorf(r->err, TF_EBADFILE, "%s: key \"%s\" %g leaves no rotary dimensions", r->path,
                         pct_key, pct);
    c->layer_norm_eps = (float)eps;
    c->rotary_base = (float)base;
    c->parallel_residual = par;
    c->rotary_interleaved = 0;
    c->qkv_bias = c->attn_out_bias = bias;
    c->tied_head = tie;
    return TF_OK;
}

int tf_config_parse(const char *json, const char *path, tf_config *cfg, tf_error *err) {
    memset(cfg, 0, sizeof *cfg);
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json ? (long)(at - json) : -1;
        return tf_errorf(err, TF_EBADFILE, "%s: not valid JSON (near byte %ld)", path, off);
    }
    reader r = {root, path, err};
    int rc;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsObject(root)) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: not a JSON object", path);
    } else if (!cJSON_IsString(mt)) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: key \"model_type\" is missing or not a string", path);
    } else if (strcmp(mt->valuestring, "gpt2") == 0) {
        rc = parse_gpt2(&r, cfg);
    } else if (strcmp(mt->valuestring, "gptj") == 0) {
        rc = parse_gptj(&r, cfg);
    } else if (strcmp(mt->valuestring, "gpt_neox") == 0) {
        rc = parse_neox(&r, cfg);
    } else {
        rc = tf_errorf(err, TF_EBADFILE,
                       "%s: key \"model_type\" is \"%.40s\"; supported: gpt2, gptj, gpt_neox", path,
                       mt->valuestring);
    }
    cJSON_Delete(root);
    if (rc) return rc;
    return tf_config_validate(cfg, path, err);
}

int tf_config_load(const char *model_dir, tf_config *cfg, tf_error *err) {
    char path[4096];
    tf_path_join(path, sizeof path, model_dir, "config.json");
    char *text = tf_read_file_ex(path, (size_t)16 << 20, 0, NULL, err);  // a config is a few KB
    if (!text) return err ? err->code : TF_EIO;
    int rc = tf_config_parse(text, path, cfg, err);
    free(text);
    return rc;
}

// A float as the shortest decimal that reads back to it (1e-5f -> 1e-05, not 9.99999974737875e-06).
static double tidy(float x) {
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        if ((float)strtod(buf, NULL) == x) break;
    }
    return strtod(buf, NULL);
}

char *tf_config_to_json(const tf_config *c) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    int hs = c->n_head > 0 ? c->n_embd / c->n_head : 0;
    switch (c->arch) {
    case TF_ARCH_GPTJ:
    case TF_ARCH_GPT2: {
        int gptj = c->arch == TF_ARCH_GPTJ;
        cJSON_AddItemToArray(arch, cJSON_CreateString(gptj ? "GPTJForCausalLM" : "GPT2LMHeadModel"));
        cJSON_AddStringToObject(j, "model_type", gptj ? "gptj" : "gpt2");
        cJSON_AddStringToObject(j, "activation_function", c->gelu_exact ? "gelu" : "gelu_new");
        cJSON_AddNumberToObject(j, "n_layer", c->n_layer);
        cJSON_AddNumberToObject(j, "n_embd", c->n_embd);
        cJSON_AddNumberToObject(j, "n_head", c->n_head);
        if (c->n_inner == 4 * c->n_embd) cJSON_AddNullToObject(j, "n_inner");
        else cJSON_AddNumberToObject(j, "n_inner", c->n_inner);
        if (gptj) cJSON_AddNumberToObject(j, "rotary_dim", c->rotary_dim);
        cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
        cJSON_AddNumberToObject(j, "n_positions", c->n_positions);
        if (!gptj) cJSON_AddNumberToObject(j, "n_ctx", c->n_positions);
        cJSON_AddNumberToObject(j, "layer_norm_epsilon", tidy(c->layer_norm_eps));
        if (!gptj) {
            cJSON_AddTrueToObject(j, "scale_attn_weights");
            cJSON_AddFalseToObject(j, "scale_attn_by_inverse_layer_idx");
            cJSON_AddFalseToObject(j, "reorder_and_upcast_attn");
        }
        cJSON_AddBoolToObject(j, "tie_word_embeddings", c->tied_head);
        break;
    }
    case TF_ARCH_NEOX: {
        cJSON_AddItemToArray(arch, cJSON_CreateString("GPTNeoXForCausalLM"));
        cJSON_AddStringToObject(j, "model_type", "gpt_neox");
        cJSON_AddStringToObject(j, "hidden_act", c->gelu_exact ? "gelu" : "gelu_new");
        cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_layer);
        cJSON_AddNumberToObject(j, "hidden_size", c->n_embd);
        cJSON_AddNumberToObject(j, "num_attention_heads", c->n_head);
        cJSON_AddNumberToObject(j, "intermediate_size", c->n_inner);
        // rotary_pct such that int(head_size * rotary_pct) == rotary_dim, as transformers computes it
        double pct = hs ? (double)c->rotary_dim / hs : 0;
        while (hs && (int)(hs * pct) < c->rotary_dim) pct = nextafter(pct, 2.0);
        // cJSON writes 15 significant digits when they read back within a few ulps, which can make
        // int(head_size * rotary_pct) one less: keep the 15-digit value only when it still gives
        // rotary_dim, else take the middle of the interval (rotary_dim + 0.5) / head_size.
        char p15[32];
        snprintf(p15, sizeof p15, "%.15g", pct);
        if (hs && (int)(hs * strtod(p15, NULL)) == c->rotary_dim) pct = strtod(p15, NULL);
        else if (hs) pct = (c->rotary_dim + 0.5) / hs;
        cJSON_AddNumberToObject(j, "rotary_pct", pct);
        cJSON_AddNumberToObject(j, "rotary_emb_base", tidy(c->rotary_base));
        cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
        cJSON_AddNumberToObject(j, "max_position_embeddings", c->n_positions);
        cJSON_AddNumberToObject(j, "layer_norm_eps", tidy(c->layer_norm_eps));
        cJSON_AddBoolToObject(j, "use_parallel_residual", c->parallel_residual);
        cJSON_AddBoolToObject(j, "attention_bias", c->qkv_bias);
        cJSON_AddBoolToObject(j, "tie_word_embeddings", c->tied_head);
        cJSON_AddNullToObject(j, "rope_scaling");
        break;
    }
    }
    if (c->bos_token_id >= 0) cJSON_AddNumberToObject(j, "bos_token_id", c->bos_token_id);
    else cJSON_AddNullToObject(j, "bos_token_id");
    if (c->eos_token_id >= 0) cJSON_AddNumberToObject(j, "eos_token_id", c->eos_token_id);
    else cJSON_AddNullToObject(j, "eos_token_id");
    cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    cJSON_AddStringToObject(j, "torch_dtype", "float32");
    cJSON_AddBoolToObject(j, "use_cache", 1);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) return NULL;
    // cJSON indents with tabs; add a final newline like transformers does
    size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (!out) { free(s); return NULL; }
    out[n] = '\n';
    out[n + 1] = '\0';
    return out;
}
