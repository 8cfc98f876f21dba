// adapter_file.c — LoRA adapters in Hugging Face PEFT's format: the per-architecture module table,
// target matching, and reading/writing adapter_config.json + adapter_model.safetensors (tf_adapter.h).
//
// Reading is strict in the way the model loader is (io.c): every tensor the config calls for must be
// there with the shape the base's config and r imply, nothing else may be, and options PEFT has
// that this engine does not compute (DoRA, per-module ranks, a subset of layers, trainable extra
// modules) are refused naming the key instead of being silently ignored.
#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_internal.h"
#include "tf_adapter.h"
#include "tf_safetensors.h"

#define PEFT_PREFIX "base_model.model."

// The targetable modules of each architecture. A module's path is its block's prefix, its submodule and
// its name ("transformer.h.%d." "attn" "." "c_attn"), so each row names the submodule and the module once.
#define GPT2_MOD(sub, name, param) {name, "transformer.h.%d." sub "." name, param, 0, 1, 0}  // Conv1D
#define GPTJ_MOD(sub, name, param, part) {name, "transformer.h.%d." sub "." name, param, part, 0, 0}
#define NEOX_MOD(sub, name, param, fused) {name, "gpt_neox.layers.%d." sub "." name, param, 0, 0, fused}
static const tf_lora_module GPT2_MODULES[] = {
    GPT2_MOD("attn", "c_attn", TF_P_QKVW), GPT2_MOD("attn", "c_proj", TF_P_ATTPROJW),
    GPT2_MOD("mlp", "c_fc", TF_P_FCW), GPT2_MOD("mlp", "c_proj", TF_P_FCPROJW),
};
// transformers' GPTJAttention declares k_proj, v_proj, q_proj, out_proj in this order; part: the rows
// of TF_P_QKVW (q 0, k 1, v 2)
static const tf_lora_module GPTJ_MODULES[] = {
    GPTJ_MOD("attn", "k_proj", TF_P_QKVW, 1),      GPTJ_MOD("attn", "v_proj", TF_P_QKVW, 2),
    GPTJ_MOD("attn", "q_proj", TF_P_QKVW, 0),      GPTJ_MOD("attn", "out_proj", TF_P_ATTPROJW, 0),
    GPTJ_MOD("mlp", "fc_in", TF_P_FCW, 0),         GPTJ_MOD("mlp", "fc_out", TF_P_FCPROJW, 0),
};
// query_key_value's rows are fused per head ([h][q, k, v][d])
static const tf_lora_module NEOX_MODULES[] = {
    NEOX_MOD("attention", "query_key_value", TF_P_QKVW, 1), NEOX_MOD("attention", "dense", TF_P_ATTPROJW, 0),
    NEOX_MOD("mlp", "dense_h_to_4h", TF_P_FCW, 0),          NEOX_MOD("mlp", "dense_4h_to_h", TF_P_FCPROJW, 0),
};
#undef GPT2_MOD
#undef GPTJ_MOD
#undef NEOX_MOD

#define COUNT(a) (int)(sizeof(a) / sizeof *(a))
// Per architecture: its name in messages, its modules, and PEFT's default targets when target_modules
// is null (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING).
static const struct {
    const char *name;
    const tf_lora_module *modules;
    int n_modules;
    const char *default_targets;
} ARCHES[] = {
    [TF_ARCH_GPT2] = {"gpt2", GPT2_MODULES, COUNT(GPT2_MODULES), "c_attn"},
    [TF_ARCH_GPTJ] = {"gptj", GPTJ_MODULES, COUNT(GPTJ_MODULES), "q_proj,v_proj"},
    [TF_ARCH_NEOX] = {"gpt_neox", NEOX_MODULES, COUNT(NEOX_MODULES), "query_key_value"},
};
#undef COUNT

// an unknown value reads as GPT-2's (as the rest of the engine's per-architecture code does)
static tf_arch known(tf_arch a) { return a == TF_ARCH_GPTJ || a == TF_ARCH_NEOX ? a : TF_ARCH_GPT2; }

static const char *arch_name(tf_arch a) { return ARCHES[known(a)].name; }

const tf_lora_module *tf_lora_modules(tf_arch arch, int *n) {
    *n = ARCHES[known(arch)].n_modules;
    return ARCHES[known(arch)].modules;
}

void tf_lora_module_dims(const tf_config *cfg, const tf_lora_module *m, int *in, int *out) {
    int C = cfg->n_embd, F = cfg->n_inner;
    switch (m->param) {
    case TF_P_QKVW: *in = C; *out = cfg->arch == TF_ARCH_GPTJ ? C : 3 * C; break;
    case TF_P_FCW: *in = C; *out = F; break;
    case TF_P_FCPROJW: *in = F; *out = C; break;
    default: *in = C; *out = C; break;
    }
}

static void module_path(const tf_lora_module *m, int layer, char *out, size_t n) {
    const char *pd = strstr(m->path, "%d");
    snprintf(out, n, "%.*s%d%s", (int)(pd - m->path), m->path, layer, pd + 2);
}

void tf_lora_site_key(const tf_lora_site *s, char which, char *out, size_t n) {
    char path[256];
    module_path(s->mod, s->layer, path, sizeof path);
    snprintf(out, n, PEFT_PREFIX "%s.lora_%c.weight", path, which);
}

void tf_lora_site_base_name(const tf_lora_site *s, char *out, size_t n) {
    char path[256];
    module_path(s->mod, s->layer, path, sizeof path);
    snprintf(out, n, "%s.weight", path);
}

tf_lora_site *tf_adapter_site(const tf_adapter *a, int layer, int module) {
    int nm;
    tf_lora_modules(a->cfg.arch, &nm);
    if (layer < 0 || layer >= a->cfg.n_layer || module < 0 || module >= nm) return NULL;
    int i = a->site_of[(size_t)layer * nm + module];
    return i < 0 ? NULL : &a->sites[i];
}

// PEFT's rule for a list entry: the module's path equals it or ends with "." + it.
static int suffix_match(const char *path, const char *target) {
    size_t lp = strlen(path), lt = strlen(target);
    if (lp == lt) return strcmp(path, target) == 0;
    return lp > lt && path[lp - lt - 1] == '.' && strcmp(path + lp - lt, target) == 0;
}

static void free_targets(tf_adapter *a) {
    for (int i = 0; i < a->n_targets; i++) free(a->targets[i]);
    free(a->targets);
    a->targets = NULL;
    a->n_targets = 0;
}

void tf_adapter_free(tf_adapter *a) {
    if (!a) return;
    free_targets(a);
    free(a->base_model);
    free(a->sites);
    free(a->site_of);
    tf_free(a->arena);
    free(a);
}

int tf_adapter_set_base_model(tf_adapter *a, const char *name, tf_error *err) {
    char *c = strdup(name ? name : "");
    if (!c) return tf_errorf(err, TF_ENOMEM, "out of memory");
    free(a->base_model);
    a->base_model = c;
    return TF_OK;
}

// Lists the module names of arch (for messages): "c_attn, c_proj, c_fc".
static void module_names(tf_arch arch, char *out, size_t n) {
    int nm;
    const tf_lora_module *mods = tf_lora_modules(arch, &nm);
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < nm && k < n; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++) dup |= !strcmp(mods[j].name, mods[i].name);
        if (!dup) k += (size_t)snprintf(out + k, n - k, "%s%s", k ? ", " : "", mods[i].name);
    }
}

// Decides the sites from a->targets, allocates them and the zeroed arena. where names the source
// (a file, or "--lora-targets") in errors; code is the error code for an unmatched target.
static int build_sites(tf_adapter *a, const char *where, int code, tf_error *err) {
    const tf_config *c = &a->cfg;
    int nm, L = c->n_layer;
    const tf_lora_module *mods = tf_lora_modules(c->arch, &nm);
    char names[256];
    module_names(c->arch, names, sizeof names);
    a->site_of = malloc((size_t)L * nm * sizeof *a->site_of);
    if (!a->site_of) return tf_errorf(err, TF_ENOMEM, "out of memory");
    regex_t re;
    int all = a->n_targets == 1 && !strcmp(a->targets[0], "all-linear");
    if (a->targets_regex && !all) {
        char pat[1100];
        snprintf(pat, sizeof pat, "^(%s)$", a->targets[0]);
        if (strlen(a->targets[0]) > 1000 || regcomp(&re, pat, REG_EXTENDED | REG_NOSUB))
            return tf_errorf(err, code, "%s: target_modules \"%.100s\" is not a regular expression this "
                             "engine reads (POSIX extended)", where, a->targets[0]);
    }
    int n = 0;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < nm; k++) {
            char path[256];
            module_path(&mods[k], l, path, sizeof path);
            int hit = all;
            if (!all && a->targets_regex) hit = regexec(&re, path, 0, NULL, 0) == 0;
            for (int t = 0; !all && !a->targets_regex && t < a->n_targets && !hit; t++)
                hit = suffix_match(path, a->targets[t]);
            a->site_of[(size_t)l * nm + k] = hit ? n++ : -1;
        }
    if (a->targets_regex && !all) regfree(&re);
    // every listed target must name something (PEFT's error for a wrong name, per name here)
    for (int t = 0; !all && !a->targets_regex && t < a->n_targets; t++) {
        int hit = 0;
        for (int k = 0; k < nm && !hit; k++) {
            char path[256];
            module_path(&mods[k], 0, path, sizeof path);
            hit = suffix_match(path, a->targets[t]);
        }
        if (!hit)
            return tf_errorf(err, code, "%s: target module '%s' is not a linear module of a %s model (%s, or "
                             "all-linear)", where, a->targets[t], arch_name(c->arch), names);
    }
    if (n == 0)
        return tf_errorf(err, code, "%s: target_modules match no module of the %s model (%s)", where,
                         arch_name(c->arch), names);
    a->n_sites = n;
    a->sites = calloc((size_t)n, sizeof *a->sites);
    if (!a->sites) return tf_errorf(err, TF_ENOMEM, "out of memory");
    size_t total = 0;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < nm; k++) {
            int i = a->site_of[(size_t)l * nm + k];
            if (i < 0) continue;
            tf_lora_site *s = &a->sites[i];
            s->mod = &mods[k];
            s->layer = l;
            tf_lora_module_dims(c, s->mod, &s->in, &s->out);
            total += (size_t)a->r * ((size_t)s->in + (size_t)s->out);
        }
    if (!(a->arena = tf_alloc(total * sizeof(float), 1)))
        return tf_errorf(err, TF_ENOMEM, "out of memory for an adapter of %zu parameters", total);
    float *p = a->arena;
    for (int i = 0; i < n; i++) {
        a->sites[i].A = p;
        p += (size_t)a->r * a->sites[i].in;
        a->sites[i].B = p;
        p += (size_t)a->r * a->sites[i].out;
    }
    return TF_OK;
}

// Splits a comma-separated list into a->targets (empty items skipped).
static int split_targets(tf_adapter *a, const char *list, tf_error *err) {
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && p[0] == ' ') { p++; len--; }
        while (len && p[len - 1] == ' ') len--;
        if (len) {
            char **nt = realloc(a->targets, (size_t)(a->n_targets + 1) * sizeof *nt);
            if (!nt) return tf_errorf(err, TF_ENOMEM, "out of memory");
            a->targets = nt;
            if (!(a->targets[a->n_targets] = strndup(p, len))) return tf_errorf(err, TF_ENOMEM, "out of memory");
            a->n_targets++;
        }
        p = e ? e + 1 : p + strlen(p);
    }
    return TF_OK;
}

static tf_adapter *adapter_alloc(const tf_config *cfg, tf_error *err) {
    tf_adapter *a = calloc(1, sizeof *a);
    if (!a || !(a->base_model = strdup(""))) {
        free(a);
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    return a;
}

static void set_scaling(tf_adapter *a) {
    a->scaling = a->use_rslora ? a->alpha / sqrtf((float)a->r) : a->alpha / (float)a->r;
}

tf_adapter *tf_adapter_new(const tf_config *cfg, int r, float alpha, const char *targets, float dropout,
                           tf_error *err) {
    if (r <= 0) {
        tf_errorf(err, TF_EBADARG, "--lora: the rank must be a positive integer (got %d)", r);
        return NULL;
    }
    if (!(alpha > 0) || !isfinite(alpha)) {
        tf_errorf(err, TF_EBADARG, "--lora-alpha must be a positive number (got %g)", alpha);
        return NULL;
    }
    if (!(dropout >= 0 && dropout < 1)) {
        tf_errorf(err, TF_EBADARG, "--lora-dropout must be in [0, 1) (got %g)", dropout);
        return NULL;
    }
    tf_adapter *a = adapter_alloc(cfg, err);
    if (!a) return NULL;
    a->r = r;
    a->alpha = alpha;
    a->dropout = dropout;
    set_scaling(a);
    if (!targets || !*targets) targets = ARCHES[known(cfg->arch)].default_targets;
    if (split_targets(a, targets, err) || build_sites(a, "--lora-targets", TF_EBADARG, err)) {
        tf_adapter_free(a);
        return NULL;
    }
    return a;
}

void tf_adapter_init(tf_adapter *a, uint64_t seed) {
    tf_rng rng;
    tf_rng_seed(&rng, seed);
    for (int i = 0; i < a->n_sites; i++) {
        tf_lora_site *s = &a->sites[i];
        float bound = 1.0f / sqrtf((float)s->in);  // kaiming_uniform_(a=sqrt(5)): sqrt(1/3) * sqrt(3/in)
        for (size_t j = 0; j < (size_t)a->r * s->in; j++) s->A[j] = (2.0f * tf_rng_uniform(&rng) - 1.0f) * bound;
        memset(s->B, 0, (size_t)a->r * s->out * sizeof(float));
    }
}

// ---- adapter_config.json ------------------------------------------------------------------------
// A key that must be absent, null, false or empty ({} / []) — an option this engine does not compute.
static int refuse(const cJSON *root, const char *key, const char *path, const char *what, tf_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return TF_OK;
    if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child) return TF_OK;
    return tf_errorf(err, TF_EBADFILE, "%s: key \"%s\" is set (%s); this engine does not support it", path, key,
                     what);
}

static int parse_config(tf_adapter *a, const char *path, tf_error *err) {
    char *text = tf_read_file(path, NULL, err);
    if (!text) return err ? err->code : TF_EIO;
    cJSON *root = cJSON_Parse(text);
    free(text);
    int rc = TF_OK;
    if (!cJSON_IsObject(root)) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: not a JSON object", path);
        goto done;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "peft_type");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "LORA")) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: key \"peft_type\" must be \"LORA\" (a LoRA adapter)", path);
        goto done;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "task_type");
    if (v && !cJSON_IsNull(v) && (!cJSON_IsString(v) || strcmp(v->valuestring, "CAUSAL_LM"))) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: key \"task_type\" must be \"CAUSAL_LM\" (a language model's adapter)",
                       path);
        goto done;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "r");
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > 65536) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: key \"r\" must be a positive integer (the LoRA rank)", path);
        goto done;
    }
    a->r = (int)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    a->alpha = 8;  // PEFT's default
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: key \"lora_alpha\" must be a positive number", path);
            goto done;
        }
        a->alpha = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "lora_dropout");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1)) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: key \"lora_dropout\" must be a number in [0, 1)", path);
            goto done;
        }
        a->dropout = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "bias");
    if (v && !cJSON_IsNull(v) && (!cJSON_IsString(v) || strcmp(v->valuestring, "none"))) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: key \"bias\" must be \"none\"; trained biases are not supported",
                       path);
        goto done;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "use_rslora");
    a->use_rslora = cJSON_IsTrue(v);
    if ((rc = refuse(root, "use_dora", path, "DoRA", err)) ||
        (rc = refuse(root, "rank_pattern", path, "per-module ranks", err)) ||
        (rc = refuse(root, "alpha_pattern", path, "per-module alphas", err)) ||
        (rc = refuse(root, "layers_to_transform", path, "a subset of layers", err)) ||
        (rc = refuse(root, "modules_to_save", path, "extra trained modules", err)) ||
        (rc = refuse(root, "layer_replication", path, "replicated layers", err)))
        goto done;
    v = cJSON_GetObjectItemCaseSensitive(root, "base_model_name_or_path");
    if (cJSON_IsString(v) && (rc = tf_adapter_set_base_model(a, v->valuestring, err))) goto done;
    v = cJSON_GetObjectItemCaseSensitive(root, "target_modules");
    if (!v || cJSON_IsNull(v)) {
        rc = split_targets(a, ARCHES[known(a->cfg.arch)].default_targets, err);
    } else if (cJSON_IsString(v)) {
        rc = split_targets(a, "x", err);  // one slot, replaced by the expression itself
        if (!rc) {
            free(a->targets[0]);
            if (!(a->targets[0] = strdup(v->valuestring))) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
            a->targets_regex = strcmp(v->valuestring, "all-linear") != 0;
        }
    } else if (cJSON_IsArray(v)) {
        for (const cJSON *it = v->child; it && !rc; it = it->next) {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strchr(it->valuestring, ',')) {
                rc = tf_errorf(err, TF_EBADFILE, "%s: key \"target_modules\" must list module names", path);
                break;
            }
            rc = split_targets(a, it->valuestring, err);
        }
        if (!rc && a->n_targets == 0)
            rc = tf_errorf(err, TF_EBADFILE, "%s: key \"target_modules\" is empty", path);
    } else {
        rc = tf_errorf(err, TF_EBADFILE, "%s: key \"target_modules\" must be a list of module names or a string",
                       path);
    }
    set_scaling(a);
done:
    cJSON_Delete(root);
    return rc;
}

// ---- adapter_model.safetensors ------------------------------------------------------------------
static void shape_str(char *out, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(out + k, n - k, "]");
}

// Finds the module and layer of a module path ("transformer.h.3.attn.q_proj"): 0 when none.
static int find_module(const tf_config *c, const char *path, int *module, int *layer) {
    int nm;
    const tf_lora_module *mods = tf_lora_modules(c->arch, &nm);
    for (int k = 0; k < nm; k++) {
        const char *pd = strstr(mods[k].path, "%d");
        size_t pre = (size_t)(pd - mods[k].path);
        if (strncmp(path, mods[k].path, pre)) continue;
        const char *p = path + pre;
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) continue;
        long v = 0;
        while (*p >= '0' && *p <= '9' && v <= 1000000) v = v * 10 + (*p++ - '0');
        if (strcmp(p, pd + 2)) continue;
        *module = k;
        *layer = (int)v;
        return 1;
    }
    return 0;
}

static int read_tensors(tf_adapter *a, const char *path, tf_error *err) {
    const tf_config *c = &a->cfg;
    tf_st_file *f = tf_st_open(path, err);
    if (!f) return err ? err->code : TF_EBADFILE;
    int nm, rc = TF_OK;
    tf_lora_modules(c->arch, &nm);
    unsigned char *seen = calloc((size_t)a->n_sites * 2, 1);
    if (!seen) {
        tf_st_close(f);
        return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    size_t plen = strlen(PEFT_PREFIX);
    for (int i = 0; i < tf_st_count(f) && !rc; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        // base_model.model.<module path>.lora_A.weight  (the suffix is 14 characters)
        size_t len = strlen(t->name);
        const char *suffix = len > 14 ? t->name + len - 14 : "";
        int which = !strcmp(suffix, ".lora_A.weight") ? 0 : !strcmp(suffix, ".lora_B.weight") ? 1 : -1;
        char mpath[256];
        int module = -1, layer = -1;
        if (which >= 0 && len > plen + 14 && !strncmp(t->name, PEFT_PREFIX, plen) &&
            len - 14 - plen < sizeof mpath) {
            memcpy(mpath, t->name + plen, len - 14 - plen);
            mpath[len - 14 - plen] = '\0';
            if (!find_module(c, mpath, &module, &layer)) module = -1;
        }
        if (which < 0 || module < 0) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: unexpected tensor '%s': not a LoRA weight of a %s model's "
                           "linear modules (an adapter for another base?)", path, t->name, arch_name(c->arch));
            break;
        }
        if (layer >= c->n_layer) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is for layer %d, but the base has %d layers (an "
                           "adapter for another base?)", path, t->name, layer, c->n_layer);
            break;
        }
        tf_lora_site *s = tf_adapter_site(a, layer, module);
        if (!s) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is for a module that adapter_config.json's "
                           "target_modules does not name", path, t->name);
            break;
        }
        int64_t want[2] = {which ? s->out : a->r, which ? a->r : s->in};
        if (t->ndim != 2 || t->shape[0] != want[0] || t->shape[1] != want[1]) {
            char got[128], exp[128];
            shape_str(got, sizeof got, t->ndim, t->shape);
            shape_str(exp, sizeof exp, 2, want);
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' has shape %s, but r %d and the base (n_embd %d, "
                           "n_inner %d) imply %s (an adapter for another base?)", path, t->name, got, a->r,
                           c->n_embd, c->n_inner, exp);
            break;
        }
        if (t->dtype != TF_ST_F32 && t->dtype != TF_ST_F16 && t->dtype != TF_ST_BF16) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is %s; adapters are read as F32, F16 or BF16", path,
                           t->name, tf_st_dtype_name(t->dtype));
            break;
        }
        seen[(size_t)(s - a->sites) * 2 + (size_t)which] = 1;
        rc = tf_st_to_f32(f, t, which ? s->B : s->A, err);
    }
    for (int i = 0; i < a->n_sites * 2 && !rc; i++)
        if (!seen[i]) {
            char key[320];
            tf_lora_site_key(&a->sites[i / 2], i % 2 ? 'B' : 'A', key, sizeof key);
            rc = tf_errorf(err, TF_EBADFILE, "%s: missing tensor '%s'", path, key);
        }
    free(seen);
    tf_st_close(f);
    return rc;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

tf_adapter *tf_adapter_load(const char *dir, const tf_config *cfg, tf_error *err) {
    char cpath[4096], wpath[4096];
    tf_path_join(cpath, sizeof cpath, dir, "adapter_config.json");
    tf_path_join(wpath, sizeof wpath, dir, "adapter_model.safetensors");
    tf_adapter *a = adapter_alloc(cfg, err);
    if (!a) return NULL;
    int rc = parse_config(a, cpath, err);
    if (!rc) rc = build_sites(a, cpath, TF_EBADFILE, err);
    if (!rc && !exists(wpath)) {
        char bin[4096];
        tf_path_join(bin, sizeof bin, dir, "adapter_model.bin");
        rc = exists(bin) ? tf_errorf(err, TF_EIO, "%s: not found; only safetensors adapters are read (%s is a "
                                     "pickle: save it with PEFT's save_pretrained(safe_serialization=True))",
                                     wpath, bin)
                         : tf_errorf(err, TF_EIO, "%s: not found", wpath);
    }
    if (!rc) rc = read_tensors(a, wpath, err);
    if (rc) {
        tf_adapter_free(a);
        return NULL;
    }
    return a;
}

// ---- saving -------------------------------------------------------------------------------------
static char *config_json(const tf_adapter *a) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    // the fields PEFT's LoraConfig has had since 0.6, so that older PEFT versions load it too
    cJSON_AddItemToObject(j, "alpha_pattern", cJSON_CreateObject());
    cJSON_AddNullToObject(j, "auto_mapping");
    cJSON_AddStringToObject(j, "base_model_name_or_path", a->base_model);
    cJSON_AddStringToObject(j, "bias", "none");
    cJSON_AddBoolToObject(j, "fan_in_fan_out", a->cfg.arch == TF_ARCH_GPT2);
    cJSON_AddTrueToObject(j, "inference_mode");
    cJSON_AddTrueToObject(j, "init_lora_weights");
    cJSON_AddNullToObject(j, "layers_pattern");
    cJSON_AddNullToObject(j, "layers_to_transform");
    cJSON_AddNumberToObject(j, "lora_alpha", a->alpha);
    cJSON_AddNumberToObject(j, "lora_dropout", a->dropout);
    cJSON_AddNullToObject(j, "modules_to_save");
    cJSON_AddStringToObject(j, "peft_type", "LORA");
    cJSON_AddNumberToObject(j, "r", a->r);
    cJSON_AddItemToObject(j, "rank_pattern", cJSON_CreateObject());
    cJSON_AddNullToObject(j, "revision");
    if (a->targets_regex || (a->n_targets == 1 && !strcmp(a->targets[0], "all-linear"))) {
        cJSON_AddStringToObject(j, "target_modules", a->targets[0]);
    } else {
        cJSON *t = cJSON_AddArrayToObject(j, "target_modules");
        for (int i = 0; t && i < a->n_targets; i++) cJSON_AddItemToArray(t, cJSON_CreateString(a->targets[i]));
    }
    cJSON_AddStringToObject(j, "task_type", "CAUSAL_LM");
    if (a->use_rslora) cJSON_AddTrueToObject(j, "use_rslora");
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) return NULL;
    size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (!out) {
        free(s);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    return out;
}

int tf_adapter_save(const tf_adapter *a, const char *dir, tf_error *err) {
    tf_st_entry *e = calloc((size_t)a->n_sites * 2, sizeof *e);
    char (*names)[320] = calloc((size_t)a->n_sites * 2, sizeof *names);
    int rc = TF_OK;
    if (!e || !names) {
        rc = tf_errorf(err, TF_ENOMEM, "%s: out of memory saving the adapter", dir);
        goto done;
    }
    for (int i = 0; i < a->n_sites * 2; i++) {
        const tf_lora_site *s = &a->sites[i / 2];
        int b = i % 2;
        tf_lora_site_key(s, b ? 'B' : 'A', names[i], sizeof names[i]);
        e[i].name = names[i];
        e[i].dtype = TF_ST_F32;
        e[i].ndim = 2;
        e[i].shape[0] = b ? s->out : a->r;
        e[i].shape[1] = b ? a->r : s->in;
        e[i].data = b ? s->B : s->A;
    }
    rc = model_write_dir(dir, "adapter_model.safetensors", e, a->n_sites * 2, "adapter_config.json", config_json(a),
                         err);
done:
    free(e);
    free(names);
    return rc;
}
