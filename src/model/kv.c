// kv.c — inference with a KV cache: prefill, batched decode of several sequences, and forking a
// cached prefix. Rows of one call may belong to different sequences; each row attends to its own
// sequence's cached keys and values up to its position.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "tf_kernels.h"
#include "kernels/vecmath.h"

enum { ATT_ROWS = 64, ATT_GEMM_MIN_ROWS = 4 };  // see cached_attention

struct tf_kv {
    int n_seq, max_len, L, C;
    int *len;        // [n_seq] tokens cached per sequence
    float *k, *v;    // [L, n_seq, max_len, C]
    // scratch for the rows of one call, grown on demand
    int cap_rows;
    int *pos;
    int *blk;             // [cap_rows + 1] first row of each attention block
    float *x, *ln, *qkv, *atty, *proj, *fch, *out;
    int att_threads;      // threads att_scratch serves
    float *att_scratch;   // [att_threads, ATT_ROWS, max_len] attention scores per thread
};

tf_kv *tf_kv_new(const tf_model *m, int n_seq, int max_len, tf_error *err) {
    if (n_seq <= 0 || max_len <= 0) {
        tf_errorf(err, TF_EBADARG, "kv cache: need n_seq > 0 and max_len > 0 (got %d, %d)", n_seq, max_len);
        return NULL;
    }
    if (max_len > m->cfg.n_positions) max_len = m->cfg.n_positions;
    tf_kv *kv = calloc(1, sizeof *kv);
    if (!kv) { tf_errorf(err, TF_ENOMEM, "out of memory for the kv cache"); return NULL; }
    kv->n_seq = n_seq;
    kv->max_len = max_len;
    kv->L = m->cfg.n_layer;
    kv->C = m->cfg.n_embd;
    size_t n = (size_t)kv->L * n_seq * max_len * kv->C;
    kv->len = calloc(n_seq, sizeof *kv->len);
    kv->k = tf_alloc(n * sizeof(float), 0);
    kv->v = tf_alloc(n * sizeof(float), 0);
    if (!kv->len || !kv->k || !kv->v) {
        tf_kv_free(kv);
        tf_errorf(err, TF_ENOMEM, "out of memory for a kv cache of %d x %d tokens", n_seq, max_len);
        return NULL;
    }
    return kv;
}

static void free_scratch(tf_kv *kv) {
    free(kv->pos);
    free(kv->blk);
    tf_free(kv->att_scratch);
    kv->blk = NULL;
    kv->att_scratch = NULL;
    float *bufs[] = {kv->x, kv->ln, kv->qkv, kv->atty, kv->proj, kv->fch, kv->out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) tf_free(bufs[i]);
    kv->pos = NULL;
    kv->x = kv->ln = kv->qkv = kv->atty = kv->proj = kv->fch = kv->out = NULL;
    kv->cap_rows = 0;
}

void tf_kv_free(tf_kv *kv) {
    if (!kv) return;
    free_scratch(kv);
    free(kv->len);
    tf_free(kv->k);
    tf_free(kv->v);
    free(kv);
}

int tf_kv_len(const tf_kv *kv, int seq) { return seq >= 0 && seq < kv->n_seq ? kv->len[seq] : -1; }

void tf_kv_truncate(tf_kv *kv, int seq, int len) {
    if (seq >= 0 && seq < kv->n_seq && len >= 0 && len < kv->len[seq]) kv->len[seq] = len;
}

static float *kv_row(const tf_kv *kv, float *base, int l, int seq, int pos) {
    return base + (((size_t)l * kv->n_seq + seq) * kv->max_len + pos) * kv->C;
}

int tf_kv_fork(tf_kv *kv, int src, int dst, int len, tf_error *err) {
    if (src < 0 || src >= kv->n_seq || dst < 0 || dst >= kv->n_seq)
        return tf_errorf(err, TF_EBADARG, "kv fork: sequence %d or %d outside [0, %d)", src, dst, kv->n_seq);
    if (len < 0 || len > kv->len[src])
        return tf_errorf(err, TF_EBADARG, "kv fork: %d tokens requested, sequence %d holds %d", len, src,
                         kv->len[src]);
    if (src != dst)
        for (int l = 0; l < kv->L; l++) {
            memcpy(kv_row(kv, kv->k, l, dst, 0), kv_row(kv, kv->k, l, src, 0), (size_t)len * kv->C * sizeof(float));
            memcpy(kv_row(kv, kv->v, l, dst, 0), kv_row(kv, kv->v, l, src, 0), (size_t)len * kv->C * sizeof(float));
        }
    kv->len[dst] = len;
    return TF_OK;
}

static int ensure_scratch(tf_kv *kv, const tf_config *c, int n, tf_error *err) {
    if (n <= kv->cap_rows) return TF_OK;
    free_scratch(kv);
    size_t C = c->n_embd, F = c->n_inner;
    kv->pos = malloc(n * sizeof(int));
    kv->blk = malloc((n + 1) * sizeof(int));
    kv->att_threads = omp_get_max_threads();
    kv->att_scratch = tf_alloc((size_t)kv->att_threads * ATT_ROWS * kv->max_len * sizeof(float), 0);
    kv->x = tf_alloc(n * C * sizeof(float), 0);
    kv->ln = tf_alloc(n * C * sizeof(float), 0);
    kv->qkv = tf_alloc(n * 3 * C * sizeof(float), 0);
    kv->atty = tf_alloc(n * C * sizeof(float), 0);
    kv->proj = tf_alloc(n * C * sizeof(float), 0);
    kv->fch = tf_alloc(n * F * sizeof(float), 0);
    kv->out = tf_alloc(n * C * sizeof(float), 0);
    if (!kv->pos || !kv->blk || !kv->att_scratch || !kv->x || !kv->ln || !kv->qkv || !kv->atty || !kv->proj || !kv->fch || !kv->out) {
        free_scratch(kv);
        return tf_errorf(err, TF_ENOMEM, "out of memory for %d inference rows", n);
    }
    kv->cap_rows = n;
    return TF_OK;
}

// ---- cached attention ----------------------------------------------------------------------------
// Rows of one call are cut into blocks of up to ATT_ROWS consecutive positions of one sequence (a
// prefill is a few long blocks, a batched decode one block per sequence). A block of m >= 4 rows and
// one head is two GEMMs on strided views of the cache, S = scale Q K[0:n]^T and out = softmax(S) V,
// with the causal limit applied in the softmax; shorter blocks use vectorised dot products.
// Row i of s (columns 0..t) becomes its softmax; columns t+1..n-1 become 0.
static void softmax_causal_row(float *s, int t, int n) {
    float sum = vm_exp_shift_sum(s, t + 1, vm_max(s, t + 1));
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j <= t; j++) s[j] *= inv;
    for (int j = t + 1; j < n; j++) s[j] = 0.0f;
}

// Rows q[0..m) (row stride 3C) at positions p0..p0+m-1 of sequence sq attend, in head h, to the
// cached keys/values 0..p0+i; out rows have stride C. s: scratch of m * (p0 + m) floats.
static void attend_block(const tf_kv *kv, int l, int sq, int p0, int m, int h, int hs, float scale,
                         const float *q, float *out, float *s) {
    int C = kv->C, n = p0 + m;
    const float *K = kv_row(kv, kv->k, l, sq, 0) + h * hs, *V = kv_row(kv, kv->v, l, sq, 0) + h * hs;
    q += h * hs;
    out += h * hs;
    if (m >= ATT_GEMM_MIN_ROWS) {
        tf_gemm(0, 1, m, n, hs, scale, q, 3 * C, K, C, 0.0f, s, n);
        for (int i = 0; i < m; i++) softmax_causal_row(s + (size_t)i * n, p0 + i, n);
        tf_gemm(0, 0, m, hs, n, 1.0f, s, n, V, C, 0.0f, out, C);
        return;
    }
    for (int i = 0; i < m; i++) {
        const float *qi = q + (size_t)i * 3 * C;
        float *o = out + (size_t)i * C;
        int t = p0 + i;
        for (int j = 0; j <= t; j++) {
            const float *k = K + (size_t)j * C;
            float d = 0.0f;
#pragma omp simd reduction(+ : d)
            for (int e = 0; e < hs; e++) d += qi[e] * k[e];
            s[j] = d * scale;
        }
        float inv = 1.0f / vm_exp_shift_sum(s, t + 1, vm_max(s, t + 1));
#pragma omp simd
        for (int e = 0; e < hs; e++) o[e] = 0.0f;
        for (int j = 0; j <= t; j++) {
            const float *v = V + (size_t)j * C;
            float w = s[j] * inv;
#pragma omp simd
            for (int e = 0; e < hs; e++) o[e] += w * v[e];
        }
    }
}

// Each row attends to its sequence's cached positions 0..pos (its own k/v already written).
static void cached_attention(tf_kv *kv, int l, const int *seq, const int *pos, const float *qkv, float *out,
                             int n, int NH, int max_pos) {
    int C = kv->C, hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    int nb = 0;  // blocks: rows blk[i]..blk[i+1]-1
    for (int r = 0; r < n;) {
        int e = r + 1;
        while (e < n && e - r < ATT_ROWS && seq[e] == seq[r] && pos[e] == pos[e - 1] + 1) e++;
        kv->blk[nb++] = r;
        r = e;
    }
    kv->blk[nb] = n;
    // a decode step of a few short sequences (~1M multiply-adds or less) is less work than waking
    // the other threads
    size_t work = (size_t)n * (max_pos + 1) * C;
    int nthr = omp_get_max_threads() < kv->att_threads ? omp_get_max_threads() : kv->att_threads;
#pragma omp parallel num_threads(nthr) if (work >= (1 << 19))
    {
        float *s = kv->att_scratch + (size_t)omp_get_thread_num() * ATT_ROWS * kv->max_len;
#pragma omp for collapse(2) schedule(dynamic, 1)
        for (int b = 0; b < nb; b++)
            for (int h = 0; h < NH; h++) {
                int r0 = kv->blk[b];
                attend_block(kv, l, seq[r0], pos[r0], kv->blk[b + 1] - r0, h, hs, scale,
                             qkv + (size_t)r0 * 3 * C, out + (size_t)r0 * C, s);
            }
    }
}

// Runs n rows (tokens[i] appended to seq[i], in order) through the model. logits_rows lists which
// rows want logits (n_logits of them), written consecutively to logits.
static int run_rows(tf_model *m, tf_kv *kv, const int *seq, const int *tokens, int n, const int *logit_rows,
                    int n_logits, float *logits, tf_error *err) {
    const tf_config *c = &m->cfg;
    int C = c->n_embd, F = c->n_inner, NH = c->n_head, V = c->vocab_size;
    if (n <= 0) return TF_OK;
    if (ensure_scratch(kv, c, n, err) || model_lowp_prepare(m, n, err)) return err->code;
    int max_pos = 0;
    for (int i = 0; i < n; i++) {
        if (seq[i] < 0 || seq[i] >= kv->n_seq)
            return tf_errorf(err, TF_EBADARG, "kv: sequence %d outside [0, %d)", seq[i], kv->n_seq);
        if (tokens[i] < 0 || tokens[i] >= V)
            return tf_errorf(err, TF_EBADARG, "kv: token id %d outside the vocabulary [0, %d)", tokens[i], V);
    }
    for (int i = 0; i < n; i++) {
        int p = kv->len[seq[i]];
        for (int j = 0; j < i; j++) p += seq[j] == seq[i];
        if (p >= kv->max_len)
            return tf_errorf(err, TF_EBADARG, "kv: sequence %d would exceed its %d-token context", seq[i],
                             kv->max_len);
        kv->pos[i] = p;
        if (p > max_pos) max_pos = p;
    }
    model_embed(m, kv->x, tokens, kv->pos, n);
    for (int l = 0; l < c->n_layer; l++) {
        tf_layernorm_forward(kv->ln, NULL, NULL, kv->x, m->param[TF_P_LN1W] + (size_t)l * C,
                             m->param[TF_P_LN1B] + (size_t)l * C, n, C, c->layer_norm_eps);
        model_mm_forward(m, TF_P_QKVW, (size_t)l * 3 * C * C, kv->qkv, kv->ln,
                          c->qkv_bias ? m->param[TF_P_QKVB] + (size_t)l * 3 * C : NULL, n, C, 3 * C);
        tf_rotary(kv->qkv, kv->pos, n, C, NH, c->rotary_dim, c->rotary_interleaved, c->rotary_base, 0);
        for (int r = 0; r < n; r++) {
            memcpy(kv_row(kv, kv->k, l, seq[r], kv->pos[r]), kv->qkv + (size_t)r * 3 * C + C, C * sizeof(float));
            memcpy(kv_row(kv, kv->v, l, seq[r], kv->pos[r]), kv->qkv + (size_t)r * 3 * C + 2 * C, C * sizeof(float));
        }
        cached_attention(kv, l, seq, kv->pos, kv->qkv, kv->atty, n, NH, max_pos);
        model_mm_forward(m, TF_P_ATTPROJW, (size_t)l * C * C, kv->proj, kv->atty,
                          c->attn_out_bias ? m->param[TF_P_ATTPROJB] + (size_t)l * C : NULL, n, C, C);
        size_t nc = (size_t)n * C;
        const float *mlp_in = kv->ln;
        if (!c->parallel_residual) {
            for (size_t i = 0; i < nc; i++) kv->x[i] += kv->proj[i];  // x is now r2
            mlp_in = kv->x;
        }
        if (!c->shared_ln) {
            // ln2 reads r2 (sequential) or the block input x (parallel); ln1 is no longer needed
            tf_layernorm_forward(kv->ln, NULL, NULL, kv->x, m->param[TF_P_LN2W] + (size_t)l * C,
                                 m->param[TF_P_LN2B] + (size_t)l * C, n, C, c->layer_norm_eps);
            mlp_in = kv->ln;
        }
        model_mm_forward(m, TF_P_FCW, (size_t)l * F * C, kv->fch, mlp_in,
                          m->param[TF_P_FCB] + (size_t)l * F, n, C, F);
        tf_gelu_forward(kv->fch, kv->fch, (size_t)n * F, c->gelu_exact);
        model_mm_forward(m, TF_P_FCPROJW, (size_t)l * C * F, kv->out, kv->fch,
                          m->param[TF_P_FCPROJB] + (size_t)l * C, n, F, C);
        for (size_t i = 0; i < nc; i++)
            kv->x[i] += kv->out[i] + (c->parallel_residual ? kv->proj[i] : 0.0f);
    }
    for (int i = 0; i < n; i++) kv->len[seq[i]] = kv->pos[i] + 1 > kv->len[seq[i]] ? kv->pos[i] + 1 : kv->len[seq[i]];
    if (!logits || n_logits == 0) return TF_OK;
    // gather the wanted rows, final LayerNorm, LM head
    for (int j = 0; j < n_logits; j++)
        memcpy(kv->out + (size_t)j * C, kv->x + (size_t)logit_rows[j] * C, C * sizeof(float));
    tf_layernorm_forward(kv->ln, NULL, NULL, kv->out, m->param[TF_P_LNFW], m->param[TF_P_LNFB], n_logits, C,
                         c->layer_norm_eps);
    model_mm_forward(m, c->tied_head ? TF_P_WTE : TF_P_LMW, 0, logits, kv->ln,
                     c->head_bias && !c->tied_head ? m->param[TF_P_LMB] : NULL, n_logits, C, V);
    if (model_lowp_failed(m)) return tf_errorf(err, TF_ENOMEM, "kv: out of memory in a bf16 matmul");
    return TF_OK;
}

int tf_model_prefill(tf_model *m, tf_kv *kv, int seq, const int *tokens, int n, float *logits,
                     int all_logits, tf_error *err) {
    if (n <= 0) return tf_errorf(err, TF_EBADARG, "prefill: no tokens");
    int *seqs = malloc((size_t)n * sizeof(int)), *rows = malloc((size_t)n * sizeof(int));
    if (!seqs || !rows) {
        free(seqs);
        free(rows);
        return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        seqs[i] = seq;
        rows[i] = i;
    }
    int rc = all_logits ? run_rows(m, kv, seqs, tokens, n, rows, n, logits, err)
                        : run_rows(m, kv, seqs, tokens, n, rows + n - 1, 1, logits, err);
    free(seqs);
    free(rows);
    return rc;
}

int tf_model_decode(tf_model *m, tf_kv *kv, const int *seqs, const int *tokens, int nb, float *logits,
                    tf_error *err) {
    if (nb <= 0) return tf_errorf(err, TF_EBADARG, "decode: no sequences");
    int *rows = malloc((size_t)nb * sizeof(int));
    if (!rows) return tf_errorf(err, TF_ENOMEM, "out of memory");
    for (int i = 0; i < nb; i++) rows[i] = i;
    int rc = run_rows(m, kv, seqs, tokens, nb, rows, nb, logits, err);
    free(rows);
    return rc;
}
