// io.c — loading and saving Hugging Face model directories (config.json + safetensors).
//
// Each architecture has a table mapping its Hugging Face tensor names to the engine's stacked
// parameters, with the layout change each needs:
//   GPT-2   Conv1D weights are stored [in, out]; the engine keeps nn.Linear's [out, in]: transpose.
//   GPT-J   q_proj, k_proj, v_proj [C, C] become the rows q | k | v of qkvw [3C, C].
//   NeoX    query_key_value [3C, C] is viewed by transformers as [head][q, k, v][head_size] rows;
//           the engine wants [q, k, v][head][head_size]: permute rows (and the bias).
// Loading accepts names with or without the model prefix ("transformer." / "gpt_neox."), ignores
// the attention-mask and rotary buffers older checkpoints carry, and refuses anything missing,
// misshapen, duplicated or unknown with one error naming the file and tensor.
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "model_internal.h"
#include "tf_safetensors.h"

enum { K_COPY, K_T, K_QKV_PART, K_NEOX_W, K_NEOX_B };
enum { D_C, D_3C, D_F, D_V, D_P };  // symbolic dimensions, resolved from the config

typedef struct {
    const char *name;   // HF name without the prefix; "%d" marks the layer index
    int param;          // TF_P_*
    int kind;           // K_*
    int part;           // K_QKV_PART: 0 q, 1 k, 2 v
    int ndim, dims[2];  // HF shape, symbolic
} slot;

static const slot GPT2_SLOTS[] = {
    {"wte.weight", TF_P_WTE, K_COPY, 0, 2, {D_V, D_C}},
    {"wpe.weight", TF_P_WPE, K_COPY, 0, 2, {D_P, D_C}},
    {"h.%d.ln_1.weight", TF_P_LN1W, K_COPY, 0, 1, {D_C}},
    {"h.%d.ln_1.bias", TF_P_LN1B, K_COPY, 0, 1, {D_C}},
    {"h.%d.attn.c_attn.weight", TF_P_QKVW, K_T, 0, 2, {D_C, D_3C}},
    {"h.%d.attn.c_attn.bias", TF_P_QKVB, K_COPY, 0, 1, {D_3C}},
    {"h.%d.attn.c_proj.weight", TF_P_ATTPROJW, K_T, 0, 2, {D_C, D_C}},
    {"h.%d.attn.c_proj.bias", TF_P_ATTPROJB, K_COPY, 0, 1, {D_C}},
    {"h.%d.ln_2.weight", TF_P_LN2W, K_COPY, 0, 1, {D_C}},
    {"h.%d.ln_2.bias", TF_P_LN2B, K_COPY, 0, 1, {D_C}},
    {"h.%d.mlp.c_fc.weight", TF_P_FCW, K_T, 0, 2, {D_C, D_F}},
    {"h.%d.mlp.c_fc.bias", TF_P_FCB, K_COPY, 0, 1, {D_F}},
    {"h.%d.mlp.c_proj.weight", TF_P_FCPROJW, K_T, 0, 2, {D_F, D_C}},
    {"h.%d.mlp.c_proj.bias", TF_P_FCPROJB, K_COPY, 0, 1, {D_C}},
    {"ln_f.weight", TF_P_LNFW, K_COPY, 0, 1, {D_C}},
    {"ln_f.bias", TF_P_LNFB, K_COPY, 0, 1, {D_C}},
    {"lm_head.weight", TF_P_LMW, K_COPY, 0, 2, {D_V, D_C}},
    {NULL, 0, 0, 0, 0, {0}}};

static const slot GPTJ_SLOTS[] = {
    {"wte.weight", TF_P_WTE, K_COPY, 0, 2, {D_V, D_C}},
    {"h.%d.ln_1.weight", TF_P_LN1W, K_COPY, 0, 1, {D_C}},
    {"h.%d.ln_1.bias", TF_P_LN1B, K_COPY, 0, 1, {D_C}},
    {"h.%d.attn.q_proj.weight", TF_P_QKVW, K_QKV_PART, 0, 2, {D_C, D_C}},
    {"h.%d.attn.k_proj.weight", TF_P_QKVW, K_QKV_PART, 1, 2, {D_C, D_C}},
    {"h.%d.attn.v_proj.weight", TF_P_QKVW, K_QKV_PART, 2, 2, {D_C, D_C}},
    {"h.%d.attn.out_proj.weight", TF_P_ATTPROJW, K_COPY, 0, 2, {D_C, D_C}},
    {"h.%d.mlp.fc_in.weight", TF_P_FCW, K_COPY, 0, 2, {D_F, D_C}},
    {"h.%d.mlp.fc_in.bias", TF_P_FCB, K_COPY, 0, 1, {D_F}},
    {"h.%d.mlp.fc_out.weight", TF_P_FCPROJW, K_COPY, 0, 2, {D_C, D_F}},
    {"h.%d.mlp.fc_out.bias", TF_P_FCPROJB, K_COPY, 0, 1, {D_C}},
    {"ln_f.weight", TF_P_LNFW, K_COPY, 0, 1, {D_C}},
    {"ln_f.bias", TF_P_LNFB, K_COPY, 0, 1, {D_C}},
    {"lm_head.weight", TF_P_LMW, K_COPY, 0, 2, {D_V, D_C}},
    {"lm_head.bias", TF_P_LMB, K_COPY, 0, 1, {D_V}},
    {NULL, 0, 0, 0, 0, {0}}};

static const slot NEOX_SLOTS[] = {
    {"embed_in.weight", TF_P_WTE, K_COPY, 0, 2, {D_V, D_C}},
    {"layers.%d.input_layernorm.weight", TF_P_LN1W, K_COPY, 0, 1, {D_C}},
    {"layers.%d.input_layernorm.bias", TF_P_LN1B, K_COPY, 0, 1, {D_C}},
    {"layers.%d.attention.query_key_value.weight", TF_P_QKVW, K_NEOX_W, 0, 2, {D_3C, D_C}},
    {"layers.%d.attention.query_key_value.bias", TF_P_QKVB, K_NEOX_B, 0, 1, {D_3C}},
    {"layers.%d.attention.dense.weight", TF_P_ATTPROJW, K_COPY, 0, 2, {D_C, D_C}},
    {"layers.%d.attention.dense.bias", TF_P_ATTPROJB, K_COPY, 0, 1, {D_C}},
    {"layers.%d.post_attention_layernorm.weight", TF_P_LN2W, K_COPY, 0, 1, {D_C}},
    {"layers.%d.post_attention_layernorm.bias", TF_P_LN2B, K_COPY, 0, 1, {D_C}},
    {"layers.%d.mlp.dense_h_to_4h.weight", TF_P_FCW, K_COPY, 0, 2, {D_F, D_C}},
    {"layers.%d.mlp.dense_h_to_4h.bias", TF_P_FCB, K_COPY, 0, 1, {D_F}},
    {"layers.%d.mlp.dense_4h_to_h.weight", TF_P_FCPROJW, K_COPY, 0, 2, {D_C, D_F}},
    {"layers.%d.mlp.dense_4h_to_h.bias", TF_P_FCPROJB, K_COPY, 0, 1, {D_C}},
    {"final_layer_norm.weight", TF_P_LNFW, K_COPY, 0, 1, {D_C}},
    {"final_layer_norm.bias", TF_P_LNFB, K_COPY, 0, 1, {D_C}},
    {"embed_out.weight", TF_P_LMW, K_COPY, 0, 2, {D_V, D_C}},
    {NULL, 0, 0, 0, 0, {0}}};

// Buffers some checkpoints carry that are not parameters (causal masks, rotary tables).
static const char *const GPT2_IGNORED[] = {"h.%d.attn.bias", "h.%d.attn.masked_bias", NULL};
static const char *const NEOX_IGNORED[] = {"layers.%d.attention.bias", "layers.%d.attention.masked_bias",
                                           "layers.%d.attention.rotary_emb.inv_freq", NULL};

static const slot *arch_slots(tf_arch a) {
    return a == TF_ARCH_GPTJ ? GPTJ_SLOTS : a == TF_ARCH_NEOX ? NEOX_SLOTS : GPT2_SLOTS;
}
static const char *arch_prefix(tf_arch a) { return a == TF_ARCH_NEOX ? "gpt_neox." : "transformer."; }
static const char *const *arch_ignored(tf_arch a) {
    return a == TF_ARCH_NEOX ? NEOX_IGNORED : GPT2_IGNORED;
}
// The LM head lives outside the base model in HF naming (no prefix).
static int is_head(const slot *s) { return s->param == TF_P_LMW || s->param == TF_P_LMB; }
static int per_layer(const slot *s) { return strstr(s->name, "%d") != NULL; }

// Whether the config has this tensor at all (biases, LN2, wpe, the untied head).
static int slot_present(const tf_model *m, const slot *s) { return m->sizes[s->param] > 0; }

static int64_t dim_value(const tf_config *c, int d) {
    switch (d) {
    case D_C: return c->n_embd;
    case D_3C: return 3 * (int64_t)c->n_embd;
    case D_F: return c->n_inner;
    case D_V: return c->vocab_size;
    default: return c->n_positions;
    }
}

// Matches name against pattern (with an optional "%d" layer index); *layer gets it (-1 if none).
static int match(const char *pat, const char *name, int *layer) {
    const char *pd = strstr(pat, "%d");
    *layer = -1;
    if (!pd) return strcmp(pat, name) == 0;
    size_t pre = (size_t)(pd - pat);
    if (strncmp(pat, name, pre) != 0) return 0;
    const char *p = name + pre;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) return 0;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > 1000000) return 0;
    }
    if (strcmp(p, pd + 2) != 0) return 0;
    *layer = (int)v;
    return 1;
}

static void format_name(char *out, size_t n, const tf_model *m, const slot *s, int layer) {
    char base[256];
    snprintf(base, sizeof base, "%s", s->name);
    if (per_layer(s)) {
        const char *pd = strstr(s->name, "%d");
        snprintf(base, sizeof base, "%.*s%d%s", (int)(pd - s->name), s->name, layer, pd + 2);
    }
    snprintf(out, n, "%s%s", is_head(s) ? "" : arch_prefix(m->cfg.arch), base);
}

static void shape_str(char *out, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(out + k, n - k, "]");
}

// out[K, R] = in[R, K]^T, in 32x32 tiles (a plain double loop misses the cache on every store).
static void transpose(float *out, const float *in, size_t R, size_t K) {
    enum { TILE = 32 };
    long nti = (long)((R + TILE - 1) / TILE);
#pragma omp parallel for if (R * K > (1u << 16)) schedule(static)
    for (long ti = 0; ti < nti; ti++) {
        size_t i0 = (size_t)ti * TILE, i1 = i0 + TILE < R ? i0 + TILE : R;
        for (size_t j0 = 0; j0 < K; j0 += TILE) {
            size_t j1 = j0 + TILE < K ? j0 + TILE : K;
            for (size_t i = i0; i < i1; i++)
                for (size_t j = j0; j < j1; j++) out[j * R + i] = in[i * K + j];
        }
    }
}

// ---- layout transforms (engine layer slice <-> HF tensor), both directions ---------------------
// dst/src are one layer's slice. C = n_embd, H = n_head, D = C / H.
static void hf_to_engine(const tf_model *m, const slot *s, const float *hf, float *dst,
                         const int64_t *dims) {
    const tf_config *c = &m->cfg;
    size_t C = (size_t)c->n_embd, H = (size_t)c->n_head, D = C / H;
    switch (s->kind) {
    case K_T:  // hf [R, K] -> dst [K, R]
        transpose(dst, hf, (size_t)dims[0], (size_t)dims[1]);
        break;
    case K_QKV_PART:
        memcpy(dst + (size_t)s->part * C * C, hf, C * C * sizeof(float));
        break;
    case K_NEOX_W:  // hf row (h, j, d) -> engine row (j, h, d)
    case K_NEOX_B: {
        size_t cols = s->kind == K_NEOX_W ? C : 1;
        for (size_t h = 0; h < H; h++)
            for (size_t j = 0; j < 3; j++)
                memcpy(dst + (j * C + h * D) * cols, hf + ((h * 3 + j) * D) * cols, D * cols * sizeof(float));
        break;
    }
    default:
        break;
    }
}

static void engine_to_hf(const tf_model *m, const slot *s, const float *src, float *hf,
                         const int64_t *dims) {
    const tf_config *c = &m->cfg;
    size_t C = (size_t)c->n_embd, H = (size_t)c->n_head, D = C / H;
    switch (s->kind) {
    case K_T:  // src [K, R] -> hf [R, K]
        transpose(hf, src, (size_t)dims[1], (size_t)dims[0]);
        break;
    case K_QKV_PART:
        memcpy(hf, src + (size_t)s->part * C * C, C * C * sizeof(float));
        break;
    case K_NEOX_W:
    case K_NEOX_B: {
        size_t cols = s->kind == K_NEOX_W ? C : 1;
        for (size_t h = 0; h < H; h++)
            for (size_t j = 0; j < 3; j++)
                memcpy(hf + ((h * 3 + j) * D) * cols, src + (j * C + h * D) * cols, D * cols * sizeof(float));
        break;
    }
    default:
        memcpy(hf, src, (size_t)(s->ndim == 2 ? dims[0] * dims[1] : dims[0]) * sizeof(float));
        break;
    }
}

// One layer's slice of parameter p (the whole tensor for global ones).
static float *layer_slice(const tf_model *m, const slot *s, int layer) {
    if (!per_layer(s)) return m->param[s->param];
    return m->param[s->param] + (m->sizes[s->param] / (size_t)m->cfg.n_layer) * (size_t)layer;
}

// ---- loading -----------------------------------------------------------------------------------
typedef model_weight_set weight_set;

static void weights_close(weight_set *w) {
    for (int i = 0; i < w->nfiles; i++) tf_st_close(w->files[i]);
    free(w->files);
    w->files = NULL;
    w->nfiles = 0;
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int add_file(weight_set *w, const char *path, tf_error *err) {
    tf_st_file **nf = realloc(w->files, (size_t)(w->nfiles + 1) * sizeof *nf);
    if (!nf) return tf_errorf(err, TF_ENOMEM, "out of memory opening %s", path);
    w->files = nf;
    if (!(w->files[w->nfiles] = tf_st_open(path, err))) return err ? err->code : TF_EBADFILE;
    w->nfiles++;
    return TF_OK;
}

// model.safetensors, or the shards named by model.safetensors.index.json's weight_map.
static int weights_open(const char *dir, weight_set *w, tf_error *err) {
    char single[4096], index[4096];
    tf_path_join(single, sizeof single, dir, "model.safetensors");
    tf_path_join(index, sizeof index, dir, "model.safetensors.index.json");
    if (file_exists(single) || !file_exists(index)) {
        snprintf(w->where, sizeof w->where, "%s", single);
        char bin[4096];
        tf_path_join(bin, sizeof bin, dir, "pytorch_model.bin");
        if (!file_exists(single) && file_exists(bin))
            return tf_errorf(err, TF_EIO,
                             "%s: not found; only safetensors weights are read (%s is a pickle: convert "
                             "it with transformers' save_pretrained(safe_serialization=True))",
                             single, bin);
        return add_file(w, single, err);
    }
    snprintf(w->where, sizeof w->where, "%s", index);
    char *text = tf_read_file(index, NULL, err);
    if (!text) return err ? err->code : TF_EIO;
    cJSON *root = cJSON_Parse(text);
    free(text);
    cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    int rc = TF_OK;
    if (!cJSON_IsObject(map)) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: not JSON with a \"weight_map\" object", index);
        goto done;
    }
    // each distinct shard once, in order of first mention
    for (cJSON *it = map->child; it && !rc; it = it->next) {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strchr(it->valuestring, '/')) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': shard must be a file name in the directory",
                           index, it->string);
            break;
        }
        int seen = 0;
        for (cJSON *p = map->child; p != it; p = p->next)
            if (strcmp(p->valuestring, it->valuestring) == 0) { seen = 1; break; }
        if (seen) continue;
        char shard[4096];
        tf_path_join(shard, sizeof shard, dir, it->valuestring);
        if (!file_exists(shard)) {
            rc = tf_errorf(err, TF_EIO, "%s: tensor '%s' is in shard %s, which does not exist", index,
                           it->string, shard);
            break;
        }
        rc = add_file(w, shard, err);
    }
    // every tensor the index names must be in its shard
    for (cJSON *it = map->child; it && !rc; it = it->next) {
        int found = 0;
        for (int i = 0; i < w->nfiles && !found; i++) {
            const char *fp = tf_st_path(w->files[i]);
            size_t lf = strlen(fp), ls = strlen(it->valuestring);
            if (lf >= ls && strcmp(fp + lf - ls, it->valuestring) == 0 &&
                tf_st_find(w->files[i], it->string))
                found = 1;
        }
        if (!found)
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is not in its shard %s", index, it->string,
                           it->valuestring);
    }
done:
    cJSON_Delete(root);
    return rc;
}

int model_weights_open(const char *dir, model_weight_set *w, tf_error *err) { return weights_open(dir, w, err); }
void model_weights_close(model_weight_set *w) { weights_close(w); }

// Records tensor t as the mapped source of slot s, layer li (tf_model_load_mapped).
static int map_tensor(const tf_model *m, model_wview *views, const slot *s, int li, const tf_st_tensor *t,
                      const char *fpath, tf_error *err) {
    if (t->dtype != TF_ST_F32 && t->dtype != TF_ST_BF16 && t->dtype != TF_ST_F16)
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is %s; mapped loading reads F32, BF16 or F16", fpath,
                         t->name, tf_st_dtype_name(t->dtype));
    if ((uintptr_t)t->data % tf_st_dtype_size(t->dtype))
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is not aligned to its element size in the file; "
                         "load it without mapping", fpath, t->name);
    int C = m->cfg.n_embd;
    model_wview *v = &views[(size_t)s->param * m->cfg.n_layer + li];
    int k = s->kind == K_QKV_PART ? s->part : 0;
    model_wpart *pt = &v->part[k];
    pt->data = t->data;
    pt->dtype = t->dtype;
    pt->trans = s->kind == K_T;
    pt->oc0 = s->kind == K_QKV_PART ? s->part * C : 0;
    pt->noc = (int)(s->kind == K_T ? t->shape[1] : t->shape[0]);
    if (v->nparts < k + 1) v->nparts = k + 1;
    v->neox = s->kind == K_NEOX_W;
    return TF_OK;
}

// Loads every tensor of w into m; exactly one source per (slot, layer). With views (a mapped
// load), the tensors model_param_is_mapped names are recorded there instead of converted.
static int load_tensors(tf_model *m, weight_set *w, model_wview *views, tf_error *err) {
    const tf_config *c = &m->cfg;
    const slot *slots = arch_slots(c->arch);
    const char *prefix = arch_prefix(c->arch);
    size_t plen = strlen(prefix);
    int nslots = 0;
    while (slots[nslots].name) nslots++;
    // seen[s * L + l]: index+1 of the file that supplied it, for duplicate detection
    int L = c->n_layer;
    const char **seen = calloc((size_t)nslots * (size_t)L, sizeof *seen);
    float *tmp = NULL;
    size_t tmp_cap = 0;
    int rc = TF_OK;
    if (!seen) return tf_errorf(err, TF_ENOMEM, "out of memory loading %s", w->where);
    for (int fi = 0; fi < w->nfiles && !rc; fi++) {
        const tf_st_file *f = w->files[fi];
        const char *fpath = tf_st_path(f);
        for (int ti = 0; ti < tf_st_count(f) && !rc; ti++) {
            const tf_st_tensor *t = tf_st_at(f, ti);
            const char *name = t->name;
            if (strncmp(name, prefix, plen) == 0) name += plen;
            int layer = -1, si = -1, ignored = 0;
            for (int k = 0; arch_ignored(c->arch)[k]; k++)
                if (match(arch_ignored(c->arch)[k], name, &layer)) ignored = 1;
            if (ignored) continue;
            for (int k = 0; k < nslots && si < 0; k++)
                if (match(slots[k].name, name, &layer)) si = k;
            const slot *s = si >= 0 ? &slots[si] : NULL;
            if (s && is_head(s) && name != t->name) s = NULL;  // "transformer.lm_head.weight"
            if (s && !slot_present(m, s)) {
                // a tied GPT-2 file may still carry lm_head.weight: transformers ties it to wte
                if (s->param == TF_P_LMW && c->tied_head) continue;
                rc = tf_errorf(err, TF_EBADFILE,
                               "%s: tensor '%s' is not part of this model (config.json: %s)", fpath,
                               t->name,
                               s->param == TF_P_LMW || s->param == TF_P_LMB ? "tied LM head"
                                                                            : "no such parameter");
                break;
            }
            if (!s) {
                rc = tf_errorf(err, TF_EBADFILE, "%s: unexpected tensor '%s' for model_type %s", fpath,
                               t->name,
                               c->arch == TF_ARCH_GPT2 ? "gpt2" : c->arch == TF_ARCH_GPTJ ? "gptj" : "gpt_neox");
                break;
            }
            if (per_layer(s) && layer >= L) {
                rc = tf_errorf(err, TF_EBADFILE,
                               "%s: tensor '%s' is for layer %d, but config.json has n_layer %d", fpath,
                               t->name, layer, L);
                break;
            }
            int li = per_layer(s) ? layer : 0;
            const char **slot_seen = &seen[(size_t)si * (size_t)L + (size_t)li];
            if (*slot_seen) {
                rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is given twice (also as '%s')", fpath,
                               t->name, *slot_seen);
                break;
            }
            *slot_seen = t->name;
            int64_t want[2] = {dim_value(c, s->dims[0]), s->ndim > 1 ? dim_value(c, s->dims[1]) : 0};
            int ok = t->ndim == s->ndim;
            for (int d = 0; ok && d < s->ndim; d++) ok = t->shape[d] == want[d];
            if (!ok) {
                char got[128], exp[128];
                shape_str(got, sizeof got, t->ndim, t->shape);
                shape_str(exp, sizeof exp, s->ndim, want);
                rc = tf_errorf(err, TF_EBADFILE,
                               "%s: tensor '%s' has shape %s, but config.json implies %s (n_embd %d, "
                               "n_inner %d, vocab_size %d, n_positions %d)",
                               fpath, t->name, got, exp, c->n_embd, c->n_inner, c->vocab_size,
                               c->n_positions);
                break;
            }
            if (views && model_param_is_mapped(s->param)) {
                rc = map_tensor(m, views, s, li, t, fpath, err);
                continue;
            }
            float *dst = layer_slice(m, s, li);
            if (s->kind == K_COPY) {
                rc = tf_st_to_f32(f, t, dst, err);
                continue;
            }
            if (t->numel > tmp_cap) {
                tf_free(tmp);
                tmp_cap = t->numel;
                if (!(tmp = tf_alloc(tmp_cap * sizeof(float), 0))) {
                    rc = tf_errorf(err, TF_ENOMEM, "%s: out of memory converting tensor '%s'", fpath, t->name);
                    break;
                }
            }
            if ((rc = tf_st_to_f32(f, t, tmp, err))) break;
            hf_to_engine(m, s, tmp, dst, want);
        }
    }
    // every tensor the config calls for must have been supplied
    for (int si = 0; si < nslots && !rc; si++) {
        if (!slot_present(m, &slots[si])) continue;
        for (int l = 0; l < (per_layer(&slots[si]) ? L : 1); l++)
            if (!seen[(size_t)si * (size_t)L + (size_t)l]) {
                char want[300];
                format_name(want, sizeof want, m, &slots[si], l);
                rc = tf_errorf(err, TF_EBADFILE, "%s: missing tensor '%s'", w->where, want);
                break;
            }
    }
    tf_free(tmp);
    free(seen);
    return rc;
}

tf_model *tf_model_load(const char *dir, tf_error *err) {
    assert(err != NULL);
    tf_config cfg;
    if (tf_config_load(dir, &cfg, err)) return NULL;
    weight_set w = {0};
    if (weights_open(dir, &w, err)) {
        weights_close(&w);
        return NULL;
    }
    tf_model *m = model_alloc(&cfg, err);
    if (m && load_tensors(m, &w, NULL, err)) {
        tf_model_free(m);
        m = NULL;
    }
    weights_close(&w);
    return m;
}

static void close_weight_set(void *p) {
    weights_close(p);
    free(p);
}

tf_model *tf_model_load_mapped(const char *dir, tf_error *err) {
    tf_config cfg;
    if (tf_config_load(dir, &cfg, err) || tf_config_validate(&cfg, "config", err)) return NULL;
    weight_set *w = calloc(1, sizeof *w);
    tf_model *m = calloc(1, sizeof *m);
    model_wview *views = calloc((size_t)TF_NUM_PARAM_TENSORS * (size_t)cfg.n_layer, sizeof *views);
    if (!w || !m || !views) {
        free(w);
        free(m);
        free(views);
        tf_errorf(err, TF_ENOMEM, "%s: out of memory", dir);
        return NULL;
    }
    // the fp32 arena holds only the small tensors; the big ones stay NULL (read through views)
    m->cfg = cfg;
    m->num_params = tf_param_sizes(&cfg, m->sizes);
    m->mean_loss = -1.0f;
    size_t small = 0;
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++)
        if (!model_param_is_mapped(i)) small += m->sizes[i];
    m->params = tf_alloc((small ? small : 1) * sizeof(float), 1);
    if (!m->params) {
        tf_errorf(err, TF_ENOMEM, "%s: out of memory for %zu small parameters", dir, small);
        free(views);
        free(w);
        tf_model_free(m);
        return NULL;
    }
    float *base = m->params;
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++) {
        if (model_param_is_mapped(i)) continue;
        m->param[i] = base;
        base += m->sizes[i];
    }
    if (weights_open(dir, w, err) || load_tensors(m, w, views, err)) {
        close_weight_set(w);
        free(views);
        tf_model_free(m);
        return NULL;
    }
    if (model_lowp_set_mapped(m, views, w, close_weight_set, err)) {
        tf_model_free(m);
        return NULL;
    }
    return m;
}

// ---- saving ------------------------------------------------------------------------------------
typedef struct {
    const tf_model *m;
    const slot *s;
    int layer;
    int64_t dims[2];
} save_ctx;

static void fill_tensor(const void *ctx, void *out) {
    const save_ctx *sc = ctx;
    engine_to_hf(sc->m, sc->s, layer_slice(sc->m, sc->s, sc->layer), out, sc->dims);
}

// Save order: embeddings (pass 0), then layer by layer (1), then the final LayerNorm and head (2).
static int save_pass(const slot *s) {
    if (per_layer(s)) return 1;
    return is_head(s) || s->param == TF_P_LNFW || s->param == TF_P_LNFB ? 2 : 0;
}

int model_write_dir(const char *dir, const char *tensors_file, const tf_st_entry *e, int n, const char *json_file,
                    char *json, tf_error *err) {
    char path[4096];
    int rc = tf_mkdir_p(dir, err);
    if (!rc) {
        tf_path_join(path, sizeof path, dir, tensors_file);
        rc = tf_st_write(path, e, n, err);
    }
    if (!rc) {
        tf_path_join(path, sizeof path, dir, json_file);
        rc = json ? tf_write_file_atomic(path, json, strlen(json), err)
                  : tf_errorf(err, TF_ENOMEM, "%s: out of memory writing %s", dir, json_file);
    }
    free(json);
    return rc;
}

int tf_model_save(const tf_model *m, const char *dir, tf_error *err) {
    const tf_config *c = &m->cfg;
    const slot *slots = arch_slots(c->arch);
    if (model_is_mapped(m))
        return tf_errorf(err, TF_EBADARG, "%s: a model with mapped weights (inference only) cannot be saved", dir);
    int cap = 0;
    for (int si = 0; slots[si].name; si++) cap += per_layer(&slots[si]) ? c->n_layer : 1;
    tf_st_entry *e = calloc((size_t)cap, sizeof *e);
    save_ctx *ctx = calloc((size_t)cap, sizeof *ctx);
    char (*names)[300] = calloc((size_t)cap, sizeof *names);
    int n = 0, rc;
    if (!e || !ctx || !names) {
        rc = tf_errorf(err, TF_ENOMEM, "%s: out of memory saving the model", dir);
        goto done;
    }
    for (int pass = 0; pass < 3; pass++) {
        for (int l = 0; l < (pass == 1 ? c->n_layer : 1); l++) {
            for (int si = 0; slots[si].name; si++) {
                const slot *s = &slots[si];
                if (save_pass(s) != pass || !slot_present(m, s)) continue;
                save_ctx *x = &ctx[n];
                x->m = m;
                x->s = s;
                x->layer = l;
                x->dims[0] = dim_value(c, s->dims[0]);
                x->dims[1] = s->ndim > 1 ? dim_value(c, s->dims[1]) : 0;
                format_name(names[n], sizeof names[n], m, s, l);
                e[n].name = names[n];
                e[n].dtype = TF_ST_F32;
                e[n].ndim = s->ndim;
                e[n].shape[0] = x->dims[0];
                e[n].shape[1] = x->dims[1];
                if (s->kind == K_COPY) e[n].data = layer_slice(m, s, l);
                else { e[n].fill = fill_tensor; e[n].ctx = x; }
                n++;
            }
        }
    }
    rc = model_write_dir(dir, "model.safetensors", e, n, "config.json", tf_config_to_json(c), err);
done:
    free(e);
    free(ctx);
    free(names);
    return rc;
}
