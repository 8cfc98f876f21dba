// lora.c — low-rank adapters on a frozen base (tf_lora.h): the per-architecture module table, the
// adapters' products inside every matmul with a targeted weight, their gradients, AdamW on them.
//
// PEFT (LoRA, Hu et al. 2021, eq. 3): h = W x + (alpha / r) B A dropout(x), A [r, in], B [out, r].
// With u = A x_d [BT, r] and s = alpha / r, given dh [BT, out]:
//   dB = s dh^T u,   du = s dh B,   dA = du^T x_d,   dx += dropout'(du A).
// The adapters' weights, gradients and AdamW moments are four flat fp32 arrays with the same layout:
// adapter i (layer-major, the architecture's module order within a layer) holds A then B. B's rows
// are in the engine's output order (NeoX's fused qkv is permuted from PEFT's per-head order on the way
// in and back on the way out, as io.c does for the base weight).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "tf_adapter.h"
#include "tf_kernels.h"
#include "tf_lora.h"

enum { MAX_MODULES = 8 };

struct tf_lora {
    int r;
    float alpha, scale, dropout;
    uint64_t seed;
    int training;
    char *targets, *base;              // as given (for adapter_config.json); base may be NULL
    int nmod;                          // the architecture's targetable modules (tf_lora_modules), j = 0 ..
    const tf_lora_module *mod;
    int in[MAX_MODULES], out[MAX_MODULES], row0[MAX_MODULES];
    int count;                         // adapters: (layer, module) pairs, layer-major
    int *at;                           // [n_layer * nmod] adapter of (layer, j), or -1
    int *site_layer, *site_mod;        // [count] each adapter's layer and module j
    size_t *off;                       // [count] start of adapter i in the arrays
    size_t numel;
    float *w, *g, *m, *v;              // weights, gradients, AdamW moments
    long step;                         // AdamW updates applied
    long micro;                        // training forwards since the last update (dropout masks)
    uint64_t mask_key;                 // the masks of the current forward
    // u = A x_d of each targeted module, kept by the training forward for the backward:
    // [nslots][nmod][cap_rows * r]; slot: the layer, or 0 with activation checkpointing
    float *u;
    size_t u_cap_rows;
    int u_slots;
    int keep_slot;                     // where the products store u now (-1: not kept)
    float *su, *du, *xs;               // scratch: u [rows, r], du [rows, r], x_d [rows, max in]
    size_t s_rows;
    float *lnscratch;                  // [2C]: frozen LayerNorm gradients go here
};

int tf_lora_attached(const tf_model *m) { return m->lora != NULL; }

void model_lora_free(tf_lora *l) {
    if (!l) return;
    tf_free(l->w);
    tf_free(l->g);
    tf_free(l->m);
    tf_free(l->v);
    tf_free(l->u);
    tf_free(l->su);
    tf_free(l->du);
    tf_free(l->xs);
    tf_free(l->lnscratch);
    free(l->off);
    free(l->at);
    free(l->site_layer);
    free(l->site_mod);
    free(l->targets);
    free(l->base);
    free(l);
}

int model_lora_create(tf_model *m, int r, float alpha, float scale, float dropout, uint64_t seed,
                      const unsigned char *sel, tf_error *err) {
    const tf_config *c = &m->cfg;
    if (m->lora) return tf_errorf(err, TF_EBADARG, "lora: the model already has adapters");
    if (r <= 0 || r > 65536) return tf_errorf(err, TF_EBADARG, "lora: the rank must be positive (got %d)", r);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return tf_errorf(err, TF_EBADARG, "lora: dropout %g is outside [0, 1)", (double)dropout);
    if (!isfinite(alpha) || !isfinite(scale)) return tf_errorf(err, TF_EBADARG, "lora: alpha must be a finite number");
    tf_lora *l = calloc(1, sizeof *l);
    if (!l) return tf_errorf(err, TF_ENOMEM, "lora: out of memory");
    l->r = r;
    l->alpha = alpha;
    l->scale = scale;
    l->dropout = dropout;
    l->seed = seed;
    l->training = 1;
    l->keep_slot = -1;
    int C = c->n_embd, L = c->n_layer, nmod;
    l->mod = tf_lora_modules(c->arch, &nmod);
    for (int j = 0; j < nmod; j++) {
        tf_lora_module_dims(c, &l->mod[j], &l->in[j], &l->out[j]);
        l->row0[j] = l->mod[j].part * C;  // GPT-J's k_proj, v_proj: rows C.., 2C.. of qkvw
    }
    l->nmod = nmod;
    l->at = malloc(sizeof *l->at * (size_t)L * nmod + 1);
    l->site_layer = malloc(sizeof(int) * (size_t)L * nmod + 1);
    l->site_mod = malloc(sizeof(int) * (size_t)L * nmod + 1);
    l->off = malloc(sizeof *l->off * (size_t)L * nmod + 1);
    if (!l->at || !l->site_layer || !l->site_mod || !l->off) {
        model_lora_free(l);
        return tf_errorf(err, TF_ENOMEM, "lora: out of memory");
    }
    for (int layer = 0; layer < L; layer++)
        for (int j = 0; j < nmod; j++) {
            int on = sel[layer * nmod + j] != 0;
            l->at[layer * nmod + j] = on ? l->count : -1;
            if (!on) continue;
            l->site_layer[l->count] = layer;
            l->site_mod[l->count] = j;
            l->off[l->count++] = l->numel;
            l->numel += (size_t)r * (l->in[j] + l->out[j]);
        }
    l->w = tf_alloc((l->numel + 1) * sizeof(float), 1);
    l->g = tf_alloc((l->numel + 1) * sizeof(float), 1);
    l->m = tf_alloc((l->numel + 1) * sizeof(float), 1);
    l->v = tf_alloc((l->numel + 1) * sizeof(float), 1);
    l->lnscratch = tf_alloc(2 * (size_t)C * sizeof(float), 1);
    if (!l->w || !l->g || !l->m || !l->v || !l->lnscratch) {
        size_t n = l->numel;
        model_lora_free(l);
        return tf_errorf(err, TF_ENOMEM, "lora: out of memory for %zu adapter weights", n);
    }
    m->lora = l;
    return TF_OK;
}

int model_lora_site(const tf_model *m, int layer, int j) {
    const tf_lora *l = m->lora;
    if (!l || layer < 0 || layer >= m->cfg.n_layer || j < 0 || j >= l->nmod) return -1;
    return l->at[layer * l->nmod + j];
}

int model_lora_set_names(tf_model *m, const char *base, const char *targets, tf_error *err) {
    tf_lora *l = m->lora;
    char *b = base && *base ? strdup(base) : NULL, *t = targets ? strdup(targets) : NULL;
    if ((base && *base && !b) || (targets && !t)) {
        free(b);
        free(t);
        return tf_errorf(err, TF_ENOMEM, "lora: out of memory");
    }
    free(l->base);
    l->base = b;
    if (targets) {
        free(l->targets);
        l->targets = t;
    }
    return TF_OK;
}

const char *model_lora_targets(const tf_model *m) { return m->lora ? m->lora->targets : NULL; }
const char *model_lora_base(const tf_model *m) { return m->lora ? m->lora->base : NULL; }

// The module's path inside a layer: "attn.q_proj" of "transformer.h.%d.attn.q_proj".
static const char *in_layer(const tf_lora_module *md) {
    const char *pd = strstr(md->path, "%d");
    return pd ? pd + 3 : md->path;
}

void tf_lora_set_training(tf_model *m, int on) {
    if (m->lora) m->lora->training = on;
}

int tf_lora_count(const tf_model *m) { return m->lora ? m->lora->count : 0; }
int tf_lora_rank(const tf_model *m) { return m->lora ? m->lora->r : 0; }
float tf_lora_alpha(const tf_model *m) { return m->lora ? m->lora->alpha : 0.0f; }
float tf_lora_dropout(const tf_model *m) { return m->lora ? m->lora->dropout : 0.0f; }
size_t tf_lora_numel(const tf_model *m) { return m->lora ? m->lora->numel : 0; }
long tf_lora_steps(const tf_model *m) { return m->lora ? m->lora->step : 0; }

void tf_lora_set_steps(tf_model *m, long steps) {
    if (m->lora) {
        m->lora->step = steps;
        m->lora->micro = 0;
    }
}

float *tf_lora_state(const tf_model *m, int which) {
    const tf_lora *l = m->lora;
    return !l ? NULL : which == 0 ? l->w : which == 1 ? l->m : l->v;
}

int tf_lora_info_at(const tf_model *m, int i, tf_lora_info *info) {
    const tf_lora *l = m->lora;
    if (!l || i < 0 || i >= l->count) return -1;
    int j = l->site_mod[i];
    *info = (tf_lora_info){in_layer(&l->mod[j]), l->mod[j].name, l->site_layer[i], l->r, l->in[j], l->out[j]};
    return 0;
}

int tf_lora_find(const tf_model *m, const char *module, int layer) {
    const tf_lora *l = m->lora;
    if (!l || layer < 0 || layer >= m->cfg.n_layer) return -1;
    for (int j = 0; j < l->nmod; j++)
        if (strcmp(in_layer(&l->mod[j]), module) == 0) return l->at[layer * l->nmod + j];
    return -1;
}

// B [out, r] between the engine's row order and HF's: NeoX's qkv rows (h, j, d) <-> (j, h, d).
static void copy_B(const tf_model *m, int j, float *dst, const float *src, int to_hf) {
    const tf_lora *l = m->lora;
    size_t r = (size_t)l->r, n = (size_t)l->out[j] * r;
    if (!l->mod[j].neox_fused) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    size_t C = (size_t)m->cfg.n_embd, H = (size_t)m->cfg.n_head, D = C / H;
    for (size_t h = 0; h < H; h++)
        for (size_t k = 0; k < 3; k++) {
            size_t hf = (h * 3 + k) * D * r, en = (k * C + h * D) * r;
            memcpy(dst + (to_hf ? hf : en), src + (to_hf ? en : hf), D * r * sizeof(float));
        }
}

static void read_pair(const tf_model *m, const float *base, int i, float *A, float *B) {
    const tf_lora *l = m->lora;
    if (!l || i < 0 || i >= l->count) return;
    int j = l->site_mod[i];
    const float *a = base + l->off[i];
    if (A) memcpy(A, a, (size_t)l->r * l->in[j] * sizeof(float));
    if (B) copy_B(m, j, B, a + (size_t)l->r * l->in[j], 1);
}

void tf_lora_read(const tf_model *m, int i, float *A, float *B) {
    if (m->lora) read_pair(m, m->lora->w, i, A, B);
}
void tf_lora_read_grad(const tf_model *m, int i, float *dA, float *dB) {
    if (m->lora) read_pair(m, m->lora->g, i, dA, dB);
}

void tf_lora_write(tf_model *m, int i, const float *A, const float *B) {
    tf_lora *l = m->lora;
    if (!l || i < 0 || i >= l->count) return;
    int j = l->site_mod[i];
    float *a = l->w + l->off[i];
    if (A) memcpy(a, A, (size_t)l->r * l->in[j] * sizeof(float));
    if (B) copy_B(m, j, a + (size_t)l->r * l->in[j], B, 0);
}

void tf_model_set_checkpointing(tf_model *m, int on) { m->checkpointing = on != 0; }

// ---- the products -------------------------------------------------------------------------------
int model_lora_prepare(tf_model *m, int rows, int slots, tf_error *err) {
    tf_lora *l = m->lora;
    if (!l) return TF_OK;
    size_t r = (size_t)l->r;
    if ((size_t)rows > l->s_rows) {
        int maxin = 0;
        for (int j = 0; j < l->nmod; j++) maxin = l->in[j] > maxin ? l->in[j] : maxin;
        tf_free(l->su);
        tf_free(l->du);
        tf_free(l->xs);
        l->su = tf_alloc((size_t)rows * r * sizeof(float), 0);
        l->du = tf_alloc((size_t)rows * r * sizeof(float), 0);
        l->xs = l->dropout > 0 ? tf_alloc((size_t)rows * maxin * sizeof(float), 0) : NULL;
        l->s_rows = l->su && l->du && (l->xs || l->dropout == 0) ? (size_t)rows : 0;
        if (!l->s_rows) return tf_errorf(err, TF_ENOMEM, "lora: out of memory for the scratch of %d rows", rows);
    }
    if (slots > 0 && ((size_t)rows > l->u_cap_rows || slots != l->u_slots)) {
        tf_free(l->u);
        l->u = tf_alloc((size_t)slots * l->nmod * rows * r * sizeof(float), 0);
        l->u_cap_rows = l->u ? (size_t)rows : 0;
        l->u_slots = l->u ? slots : 0;
        if (!l->u) return tf_errorf(err, TF_ENOMEM, "lora: out of memory for the products of %d rows", rows);
    }
    return TF_OK;
}

void model_lora_begin_forward(tf_model *m) {
    tf_lora *l = m->lora;
    if (!l) return;
    // a distinct mask per training forward, reproducible from the step (exact resume)
    l->mask_key = l->seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)l->step << 20) ^ (uint64_t)l->micro;
    if (l->training) l->micro++;
}

void model_lora_keep(tf_model *m, int slot) {
    if (m->lora) m->lora->keep_slot = slot;
}

float *model_lora_lnscratch(tf_model *m) { return m->lora ? m->lora->lnscratch : NULL; }

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Inverted dropout, as torch.nn.Dropout: out[BT, in] = x * keep / (1 - p), keep ~ Bernoulli(1 - p)
// from a hash of (the forward's key, the adapter, the element), so the backward (and a recomputing
// backward) regenerates the same mask. mul: out = x * mask instead of writing masked x (x = dy).
static void dropout_apply(const tf_lora *l, int i, float *out, const float *x, int BT, int in, int add) {
    uint64_t key = mix64(l->mask_key ^ mix64((uint64_t)i + 1));
    float keep = 1.0f / (1.0f - l->dropout);
    uint32_t thresh = (uint32_t)(l->dropout * 16777216.0f);
    size_t n = (size_t)BT * in;
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t e = 0; e < n; e++) {
        uint32_t h = (uint32_t)(mix64(key + e * 0x9e3779b97f4a7c15ULL) >> 40);
        float v = h >= thresh ? x[e] * keep : 0.0f;
        if (add) out[e] += v;
        else out[e] = v;
    }
}

static int dropping(const tf_lora *l) { return l->dropout > 0 && l->training && l->xs; }

// The adapter of weight p's slice at `off` feeding output rows of module j, or -1 (none).
static int adapter_of(const tf_model *m, int p, size_t off, int j) {
    const tf_lora *l = m->lora;
    if (l->mod[j].param != p) return -1;
    int layer = (int)(off / (m->sizes[p] / (size_t)m->cfg.n_layer));
    return l->at[layer * l->nmod + j];
}

static float *u_buf(const tf_lora *l, int j, int BT) {
    if (l->keep_slot < 0 || !l->u || (size_t)BT > l->u_cap_rows || l->keep_slot >= l->u_slots) return l->su;
    return l->u + ((size_t)l->keep_slot * l->nmod + j) * l->u_cap_rows * l->r;
}

void model_lora_forward(tf_model *m, int p, size_t off, float *out, const float *inp, int BT, int OC) {
    tf_lora *l = m->lora;
    if (!l || (size_t)BT > l->s_rows) return;
    for (int j = 0; j < l->nmod; j++) {
        int i = adapter_of(m, p, off, j);
        if (i < 0) continue;
        int in = l->in[j], r = l->r;
        const float *A = l->w + l->off[i], *B = A + (size_t)r * in, *x = inp;
        if (dropping(l)) {
            dropout_apply(l, i, l->xs, inp, BT, in, 0);
            x = l->xs;
        }
        float *u = u_buf(l, j, BT);
        // u[BT, r] = x_d[BT, in] @ A[r, in]^T;  out[:, row0 ..] += s u @ B[out, r]^T
        tf_gemm(0, 1, BT, r, in, 1.0f, x, in, A, in, 0.0f, u, r);
        tf_gemm(0, 1, BT, l->out[j], r, l->scale, u, r, B, r, 1.0f, out + l->row0[j], OC);
    }
}

void model_lora_backward(tf_model *m, int p, size_t off, float *dinp, const float *dout, const float *inp, int BT,
                         int OC) {
    tf_lora *l = m->lora;
    if (!l || (size_t)BT > l->s_rows) return;
    for (int j = 0; j < l->nmod; j++) {
        int i = adapter_of(m, p, off, j);
        if (i < 0) continue;
        int in = l->in[j], r = l->r, out = l->out[j];
        const float *A = l->w + l->off[i], *B = A + (size_t)r * in, *x = inp;
        float *dA = l->g + l->off[i], *dB = dA + (size_t)r * in;
        const float *dh = dout + l->row0[j], *u = u_buf(l, j, BT);
        int drop = dropping(l);
        if (drop) {
            dropout_apply(l, i, l->xs, inp, BT, in, 0);
            x = l->xs;
        }
        // dB[out, r] += s dh^T u;  du[BT, r] = s dh @ B;  dA[r, in] += du^T x_d
        tf_gemm(1, 0, out, r, BT, l->scale, dh, OC, u, r, 1.0f, dB, r);
        tf_gemm(0, 0, BT, r, out, l->scale, dh, OC, B, r, 0.0f, l->du, r);
        tf_gemm(1, 0, r, in, BT, 1.0f, l->du, r, x, in, 1.0f, dA, in);
        if (!dinp) continue;
        if (!drop) {  // dinp[BT, in] += du @ A
            tf_gemm(0, 0, BT, in, r, 1.0f, l->du, r, A, in, 1.0f, dinp, in);
        } else {      // through the mask: dinp += dropout(du @ A) with the forward's mask
            tf_gemm(0, 0, BT, in, r, 1.0f, l->du, r, A, in, 0.0f, l->xs, in);
            dropout_apply(l, i, dinp, l->xs, BT, in, 1);
        }
    }
}

// ---- the optimizer ------------------------------------------------------------------------------
void model_lora_zero_grad(tf_model *m) {
    if (m->lora) memset(m->lora->g, 0, m->lora->numel * sizeof(float));
}

float *model_lora_grads(tf_model *m) { return m->lora ? m->lora->g : NULL; }

float model_lora_grad_norm(const tf_model *m) {
    const tf_lora *l = m->lora;
    double s = 0.0;
    for (size_t e = 0; e < l->numel; e++) s += (double)l->g[e] * l->g[e];
    return (float)sqrt(s);
}

float model_lora_adamw(tf_model *m, const tf_adamw *o, tf_error *err) {
    (void)err;
    tf_lora *l = m->lora;
    float norm = model_lora_grad_norm(m);
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
    float scale = 1.0f;
    if (o->grad_clip > 0 && norm > o->grad_clip) scale = o->grad_clip / (norm + 1e-6f);
    l->step++;
    l->micro = 0;
    // every adapter tensor decays (PEFT's trainable parameters are all 2-D)
    tf_adamw_update(l->w, l->g, l->m, l->v, l->numel, o->lr, o->beta1, o->beta2, o->eps, o->weight_decay, scale,
                    l->step);
    return norm;
}
