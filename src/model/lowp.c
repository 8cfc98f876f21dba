// lowp.c — the model's matmul precision: fp32 straight through tf_matmul_*, or bf16 mixed precision
// with a bf16 copy of the parameter arena (remade only when the parameters changed) and bf16 operand
// scratch for the activations and gradients.
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

enum { F16_CHUNK_FLOATS = 1 << 20 };  // F16 weights are widened to fp32 this many floats at a time
// A forward product with at most this many output floats goes into a scratch that stays in cache and
// is then copied to its activation with streaming stores: the activation arena is cold after AdamW's
// pass, and writing it directly reads every line first (docs/benchmarks.md, "Measurements behind the
// code's choices", lowp.c).
enum { OUT_STREAM_MAX = 1 << 20 };

struct tf_lowp {
    uint16_t *w;       // [num_params] bf16 copy of m->params
    int stale;         // w is out of date
    size_t cap;        // elements of each scratch buffer
    uint16_t *a, *b;   // operand scratch: inputs, dout
    size_t bcap;       // elements of b in a mapped model (grown by its backward)
    float *o;          // fp32 product scratch (product_scratch; NULL until needed)
    size_t ocap;       // its floats
    int failed;
    // mapped models (tf_model_load_mapped)
    model_wview *views;   // [TF_NUM_PARAM_TENSORS * n_layer]
    void *files;
    void (*close_files)(void *);
    float *f;             // fp32 scratch: NeoX qkv in file order, then a widened F16 weight chunk
    size_t fcap;
};

int tf_dtype_parse(const char *name, tf_dtype *out) {
    if (!name) return -1;
    if (strcmp(name, "fp32") == 0 || strcmp(name, "f32") == 0 || strcmp(name, "float32") == 0) *out = TF_DTYPE_FP32;
    else if (strcmp(name, "bf16") == 0 || strcmp(name, "bfloat16") == 0) *out = TF_DTYPE_BF16;
    else return -1;
    return 0;
}

const char *tf_dtype_name(tf_dtype d) { return d == TF_DTYPE_BF16 ? "bf16" : "fp32"; }

void model_lowp_free(tf_lowp *l) {
    if (!l) return;
    tf_free(l->w);
    tf_free(l->a);
    tf_free(l->b);
    tf_free(l->o);
    tf_free(l->f);
    free(l->views);
    if (l->close_files) l->close_files(l->files);
    free(l);
}

int model_param_is_mapped(int p) {
    return p == TF_P_WTE || p == TF_P_QKVW || p == TF_P_ATTPROJW || p == TF_P_FCW || p == TF_P_FCPROJW ||
           p == TF_P_LMW;
}

int model_is_mapped(const tf_model *m) { return m->lowp && m->lowp->views; }

int model_lowp_set_mapped(tf_model *m, model_wview *views, void *files, void (*close_files)(void *),
                          tf_error *err) {
    if (!m->lowp && !(m->lowp = calloc(1, sizeof *m->lowp))) {
        free(views);
        close_files(files);
        return tf_errorf(err, TF_ENOMEM, "out of memory for the mapped model");
    }
    m->lowp->views = views;
    m->lowp->files = files;
    m->lowp->close_files = close_files;
    return TF_OK;
}

static const model_wview *view_of(const tf_model *m, int p, size_t off) {
    int L = m->cfg.n_layer;
    int layer = (p == TF_P_WTE || p == TF_P_LMW) ? 0 : (int)(off / (m->sizes[p] / (size_t)L));
    return &m->lowp->views[(size_t)p * L + layer];
}

void model_embed(const tf_model *m, float *x, const int *tokens, const int *pos, int n) {
    int C = m->cfg.n_embd;
    const float *wpe = m->cfg.rotary_dim ? NULL : m->param[TF_P_WPE];
    const model_wpart *w = model_is_mapped(m) ? &view_of(m, TF_P_WTE, 0)->part[0] : NULL;
#pragma omp parallel for if ((long)n * C >= 32768)
    for (int r = 0; r < n; r++) {
        float *o = x + (size_t)r * C;
        size_t row = (size_t)tokens[r] * C;
        if (!w || w->dtype == TF_ST_F32) {
            memcpy(o, (w ? (const float *)w->data : m->param[TF_P_WTE]) + row, C * sizeof(float));
        } else {
            const uint16_t *e = (const uint16_t *)w->data + row;
            for (int i = 0; i < C; i++) o[i] = w->dtype == TF_ST_BF16 ? tf_bf16_to_f32(e[i]) : tf_f16_to_f32(e[i]);
        }
        if (wpe) {
            const float *pp = wpe + (size_t)pos[r] * C;
            for (int i = 0; i < C; i++) o[i] += pp[i];
        }
    }
}

int tf_model_set_dtype(tf_model *m, tf_dtype d, tf_error *err) {
    if (d != TF_DTYPE_FP32 && d != TF_DTYPE_BF16) return tf_errorf(err, TF_EBADARG, "unknown dtype %d", (int)d);
    m->dtype = d;
    if (d == TF_DTYPE_BF16 && !m->lowp) {
        m->lowp = calloc(1, sizeof *m->lowp);
        if (!m->lowp) return tf_errorf(err, TF_ENOMEM, "out of memory for bf16 state");
        m->lowp->stale = 1;
    }
    return TF_OK;
}

void tf_model_params_changed(tf_model *m) {
    if (m->lowp) m->lowp->stale = 1;
}

uint16_t *model_lowp_copy(tf_model *m) {
    return m->dtype == TF_DTYPE_BF16 && m->lowp && !m->lowp->views ? m->lowp->w : NULL;
}

void model_lowp_copy_made(tf_model *m) {
    if (m->lowp) m->lowp->stale = 0;
}

int model_lowp_failed(const tf_model *m) { return m->lowp && m->lowp->failed; }

static size_t f16_chunk_rows(const tf_config *c) {
    size_t k = c->n_inner > c->n_embd ? (size_t)c->n_inner : (size_t)c->n_embd;
    size_t r = F16_CHUNK_FLOATS / k;
    return r < 16 ? 16 : r;
}

// Scratch of a mapped model: bf16 inputs, NeoX's file-order qkv output, an F16 weight chunk.
static int prepare_mapped(tf_model *m, int rows, tf_error *err) {
    tf_lowp *l = m->lowp;
    const tf_config *c = &m->cfg;
    l->failed = 0;
    size_t k = c->n_inner > c->n_embd ? (size_t)c->n_inner : (size_t)c->n_embd;
    size_t need = (size_t)rows * k, fneed = (size_t)rows * 3 * c->n_embd + f16_chunk_rows(c) * k;
    if (rows <= TF_FEW_ROWS_MAX && tf_few_rows_scratch(rows, (int)k) > need) need = tf_few_rows_scratch(rows, (int)k);
    if (need > l->cap) {
        tf_free(l->a);
        l->a = tf_alloc(need * sizeof(uint16_t), 0);
        l->cap = l->a ? need : 0;
        if (!l->a) return tf_errorf(err, TF_ENOMEM, "out of memory for the scratch of %d rows", rows);
    }
    if (fneed > l->fcap) {
        tf_free(l->f);
        l->f = tf_alloc(fneed * sizeof(float), 0);
        l->fcap = l->f ? fneed : 0;
        if (!l->f) return tf_errorf(err, TF_ENOMEM, "out of memory for the scratch of %d rows", rows);
    }
    return TF_OK;
}

int model_lowp_prepare(tf_model *m, int rows, tf_error *err) {
    if (model_lora_prepare(m, rows, 0, err)) return err->code;
    if (model_is_mapped(m)) return prepare_mapped(m, rows, err);
    if (m->dtype != TF_DTYPE_BF16) return TF_OK;
    if (!m->lowp && tf_model_set_dtype(m, TF_DTYPE_BF16, err)) return err->code;
    tf_lowp *l = m->lowp;
    l->failed = 0;
    if (!l->w) {
        if (!(l->w = tf_alloc(m->num_params * sizeof(uint16_t), 0)))
            return tf_errorf(err, TF_ENOMEM, "out of memory for the bf16 copy of %zu parameters", m->num_params);
        l->stale = 1;
    }
    if (l->stale) {
        tf_to_bf16(l->w, m->params, m->num_params);
        l->stale = 0;
    }
    const tf_config *c = &m->cfg;
    size_t width = 3 * (size_t)c->n_embd;
    if ((size_t)c->n_inner > width) width = c->n_inner;
    if ((size_t)c->vocab_size > width) width = c->vocab_size;
    size_t need = (size_t)rows * width;
    // decode-size products take their bf16 activations in l->a (tf_matmul_bf16_few_rows' layout)
    size_t kmax = (size_t)c->n_inner > (size_t)c->n_embd ? (size_t)c->n_inner : (size_t)c->n_embd;
    if (rows <= TF_FEW_ROWS_MAX && tf_few_rows_scratch(rows, (int)kmax) > need)
        need = tf_few_rows_scratch(rows, (int)kmax);
    if (need > l->cap) {
        tf_free(l->a);
        tf_free(l->b);
        l->a = tf_alloc(need * sizeof(uint16_t), 0);
        l->b = tf_alloc(need * sizeof(uint16_t), 0);
        l->cap = l->a && l->b ? need : 0;
        if (!l->cap) return tf_errorf(err, TF_ENOMEM, "out of memory for bf16 scratch of %d rows", rows);
    }
    return TF_OK;
}

static const uint16_t *weight_bf16(const tf_model *m, int p, size_t off) {
    return m->lowp->w + (size_t)(m->param[p] - m->params) + off;
}

static void add_bias(float *o, const float *b, int rows, int n, int ld) {
#pragma omp parallel for if ((long)rows * n >= 32768)
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) o[(size_t)r * ld + j] += b[j];
}

// chunk[nc, C] = output features c0 .. c0+nc-1 of the F16 weight part w widened to fp32 ([out, in]).
static void widen_f16(float *chunk, const model_wpart *w, int c0, int nc, int C) {
    const uint16_t *h = w->data;
#pragma omp parallel for if ((long)nc * C >= 65536)
    for (int j = 0; j < nc; j++)
        for (int i = 0; i < C; i++)
            chunk[(size_t)j * C + i] = tf_f16_to_f32(w->trans ? h[(size_t)i * w->noc + c0 + j] : h[(size_t)(c0 + j) * C + i]);
}

// out[BT, OC] = inp[BT, C] @ W^T + bias with W read from the mapping in its file dtype.
static void mapped_forward(tf_model *m, const model_wview *v, float *out, const float *inp, const float *bias,
                           int BT, int C, int OC) {
    tf_lowp *l = m->lowp;
    float *dst = v->neox ? l->f : out;  // NeoX: file-order columns first, permuted below
    float *chunk = l->f + (size_t)BT * 3 * m->cfg.n_embd;
    int rounded = 0;
    for (int k = 0; k < v->nparts; k++) {
        const model_wpart *w = &v->part[k];
        float *o = dst + w->oc0;
        const float *b = bias && !v->neox ? bias + w->oc0 : NULL;
        int ldb = w->trans ? w->noc : C;
        if (w->dtype == TF_ST_BF16) {
            if (!w->trans && BT <= TF_FEW_ROWS_MAX && !rounded &&
                tf_matmul_bf16_few_rows(o, OC, inp, C, w->data, C, b, BT, C, w->noc, l->a) == 0)
                continue;
            if (!rounded) tf_to_bf16(l->a, inp, (size_t)BT * C);
            rounded = 1;
            if (tf_gemm_bf16(0, !w->trans, BT, w->noc, C, 1.0f, l->a, C, w->data, ldb, b, 0.0f, o, OC))
                l->failed = 1;
            continue;
        }
        if (w->dtype == TF_ST_F32) {
            tf_gemm(0, !w->trans, BT, w->noc, C, 1.0f, inp, C, w->data, ldb, 0.0f, o, OC);
        } else {  // F16: widen a chunk of output features at a time to [nc, C] fp32
            int rows = (int)f16_chunk_rows(&m->cfg);
            for (int c0 = 0; c0 < w->noc; c0 += rows) {
                int nc = w->noc - c0 < rows ? w->noc - c0 : rows;
                widen_f16(chunk, w, c0, nc, C);
                tf_gemm(0, 1, BT, nc, C, 1.0f, inp, C, chunk, C, 0.0f, o + c0, OC);
            }
        }
        if (b) add_bias(o, b, BT, w->noc, OC);
    }
    if (v->neox) {
        // file column (h, j, d) -> engine column (j, h, d), adding the (engine-order) bias
        int E = m->cfg.n_embd, H = m->cfg.n_head, D = E / H;
#pragma omp parallel for if ((long)BT * OC >= 32768)
        for (int r = 0; r < BT; r++)
            for (int h = 0; h < H; h++)
                for (int j = 0; j < 3; j++) {
                    const float *s = dst + (size_t)r * OC + (size_t)(h * 3 + j) * D;
                    float *o = out + (size_t)r * OC + (size_t)j * E + (size_t)h * D;
                    const float *b = bias ? bias + (size_t)j * E + (size_t)h * D : NULL;
                    for (int d = 0; d < D; d++) o[d] = s[d] + (b ? b[d] : 0.0f);
                }
    }
}

// The fp32 scratch where a product is made in cache before its streaming store: a forward output on
// its way to the activations, or a weight gradient on its way to the arena (model_store_dw). Grown to
// the largest n asked; NULL when out of memory (the caller then writes directly).
static float *product_scratch(tf_lowp *l, size_t n) {
    if (n > l->ocap) {
        tf_free(l->o);
        l->o = tf_alloc(n * sizeof(float), 0);
        l->ocap = l->o ? n : 0;
    }
    return l->o;
}

// out[BT, OC] = inp16 @ W^T (+ bias) for a trained (not mapped) bf16 model; small outputs through cache
static void forward_bf16(tf_model *m, int p, size_t off, float *out, const uint16_t *inp16, const float *bias, int BT,
                         int C, int OC) {
    tf_lowp *l = m->lowp;
    size_t n = (size_t)BT * OC;
    float *dst = n <= OUT_STREAM_MAX ? product_scratch(l, n) : NULL;
    if (!dst) dst = out;
    if (tf_gemm_bf16(0, 1, BT, OC, C, 1.0f, inp16, C, weight_bf16(m, p, off), C, bias, 0.0f, dst, OC))
        l->failed = 1;
    else if (dst != out)
        tf_store_stream(out, dst, n);
}

void model_mm_forward(tf_model *m, int p, size_t off, float *out, const float *inp, const float *bias,
                      int BT, int C, int OC) {
    model_mm_forward_keep(m, p, off, out, inp, NULL, bias, BT, C, OC);
}

// The base product of model_mm_forward_keep.
static void base_forward(tf_model *m, int p, size_t off, float *out, const float *inp, uint16_t *keep,
                         const float *bias, int BT, int C, int OC) {
    if (model_is_mapped(m) && model_param_is_mapped(p)) {
        mapped_forward(m, view_of(m, p, off), out, inp, bias, BT, C, OC);
        return;
    }
    if (m->dtype != TF_DTYPE_BF16) {
        tf_matmul_forward(out, inp, m->param[p] + off, bias, BT, C, OC);
        return;
    }
    tf_lowp *l = m->lowp;
    // a decode step's few rows: the AMX kernel streams the weights at the memory's speed
    if (!keep && BT <= TF_FEW_ROWS_MAX &&
        tf_matmul_bf16_few_rows(out, OC, inp, C, weight_bf16(m, p, off), C, bias, BT, C, OC, l->a) == 0)
        return;
    uint16_t *a16 = keep ? keep : l->a;
    tf_to_bf16(a16, inp, (size_t)BT * C);
    forward_bf16(m, p, off, out, a16, bias, BT, C, OC);
}

void model_mm_forward_keep(tf_model *m, int p, size_t off, float *out, const float *inp, uint16_t *keep,
                           const float *bias, int BT, int C, int OC) {
    base_forward(m, p, off, out, inp, keep, bias, BT, C, OC);
    if (m->lora) model_lora_forward(m, p, off, out, inp, BT, OC);  // the adapters' products, in fp32
}

void model_mm_forward_rounded(tf_model *m, int p, size_t off, float *out, const uint16_t *inp16, const float *bias,
                             int BT, int C, int OC) {
    forward_bf16(m, p, off, out, inp16, bias, BT, C, OC);
}

// dinp[BT, C] (+)= dout[BT, OC] @ W for W read from the mapping in its file dtype (a frozen base: no
// weight gradient). BF16 parts multiply in bf16 (dout rounded once), F32 in fp32, F16 widened a
// chunk of output features at a time.
static void mapped_backward(tf_model *m, const model_wview *v, float *dinp, const float *dout, int BT, int C, int OC,
                            int acc) {
    tf_lowp *l = m->lowp;
    const float *d = dout;
    if (v->neox) {  // engine column (j, h, d) -> file column (h, j, d)
        int E = m->cfg.n_embd, H = m->cfg.n_head, D = E / H;
        float *f = l->f;
#pragma omp parallel for if ((long)BT * OC >= 32768)
        for (int r = 0; r < BT; r++)
            for (int h = 0; h < H; h++)
                for (int j = 0; j < 3; j++)
                    memcpy(f + (size_t)r * OC + (size_t)(h * 3 + j) * D, dout + (size_t)r * OC + (size_t)j * E + (size_t)h * D,
                           (size_t)D * sizeof(float));
        d = f;
    }
    int has_bf16 = 0;
    for (int k = 0; k < v->nparts; k++) has_bf16 |= v->part[k].dtype == TF_ST_BF16;
    size_t n = (size_t)BT * OC;
    if (has_bf16 && n > l->bcap) {
        tf_free(l->b);
        l->b = tf_alloc(n * sizeof(uint16_t), 0);
        l->bcap = l->b ? n : 0;
        if (!l->b) {
            l->failed = 1;
            return;
        }
    }
    if (has_bf16) tf_to_bf16(l->b, d, n);
    float beta = acc & TF_ACC_DINP ? 1.0f : 0.0f;
    float *chunk = l->f + (size_t)BT * 3 * m->cfg.n_embd;
    for (int k = 0; k < v->nparts; k++, beta = 1.0f) {
        const model_wpart *w = &v->part[k];
        int ldb = w->trans ? w->noc : C;  // W stored [noc, C], or [C, noc] (Conv1D): dinp += d W or d W^T
        if (w->dtype == TF_ST_BF16) {
            if (tf_gemm_bf16(0, w->trans, BT, C, w->noc, 1.0f, l->b + w->oc0, OC, w->data, ldb, NULL, beta, dinp, C))
                l->failed = 1;
        } else if (w->dtype == TF_ST_F32) {
            tf_gemm(0, w->trans, BT, C, w->noc, 1.0f, d + w->oc0, OC, w->data, ldb, beta, dinp, C);
        } else {
            int rows = (int)f16_chunk_rows(&m->cfg);
            for (int c0 = 0; c0 < w->noc; c0 += rows, beta = 1.0f) {
                int nc = w->noc - c0 < rows ? w->noc - c0 : rows;
                widen_f16(chunk, w, c0, nc, C);
                tf_gemm(0, 0, BT, C, nc, 1.0f, d + w->oc0 + c0, OC, chunk, C, beta, dinp, C);
            }
        }
    }
}

// The base's part of model_mm_backward.
static void base_backward(tf_model *m, int p, size_t off, float *dinp, float *dweight, float *dbias,
                          const float *dout, const float *inp, const uint16_t *inp16, int BT, int C, int OC, int acc) {
    if (model_is_mapped(m) && model_param_is_mapped(p)) {
        if (dinp) mapped_backward(m, view_of(m, p, off), dinp, dout, BT, C, OC, acc);
        return;
    }
    if (m->dtype != TF_DTYPE_BF16) {
        tf_matmul_backward_acc(dinp, dweight, dbias, dout, inp, m->param[p] + off, BT, C, OC, acc);
        return;
    }
    // dout is rounded once and serves both products. (Rounding it a second time transposed, to feed
    // the weight gradient two row-major operands, cost more than the product itself: docs/
    // benchmarks.md, "Measurements behind the code's choices", lowp.c.)
    // the bias gradient (the column sums of dout) in the same pass as the rounding
    if (dbias)
        tf_to_bf16_colsum(m->lowp->b, dbias, dout, BT, OC, acc & TF_ACC_DW);
    else
        tf_to_bf16(m->lowp->b, dout, (size_t)BT * OC);
    model_mm_backward_rounded(m, p, off, dinp, dweight, inp, inp16, BT, C, OC, acc);
}

void model_mm_backward(tf_model *m, int p, size_t off, float *dinp, float *dweight, float *dbias,
                       const float *dout, const float *inp, const uint16_t *inp16, int BT, int C, int OC, int acc) {
    base_backward(m, p, off, dinp, dweight, dbias, dout, inp, inp16, BT, C, OC, acc);
    if (m->lora) model_lora_backward(m, p, off, dinp, dout, inp, BT, OC);  // adds to dinp after the base
}

uint16_t *model_lowp_dout(tf_model *m) {
    return m->dtype == TF_DTYPE_BF16 && m->lowp && !m->lowp->views ? m->lowp->b : NULL;
}

void model_mm_backward_rounded(tf_model *m, int p, size_t off, float *dinp, float *dweight, const float *inp,
                               const uint16_t *inp16, int BT, int C, int OC, int acc) {
    float beta_dinp = (acc & TF_ACC_DINP) ? 1.0f : 0.0f, beta_dw = (acc & TF_ACC_DW) ? 1.0f : 0.0f;
    tf_lowp *l = m->lowp;
    if (dinp) {
        // dinp[BT, C] += dout[BT, OC] @ W[OC, C]
        if (tf_gemm_bf16(0, 0, BT, C, OC, 1.0f, l->b, OC, weight_bf16(m, p, off), C, NULL, beta_dinp, dinp, C))
            l->failed = 1;
    }
    if (dweight) {
        // dW[OC, C] += dout^T[OC, BT] @ inp[BT, C]
        if (!inp16) {  // the forward did not keep its rounding of inp
            tf_to_bf16(l->a, inp, (size_t)BT * C);
            inp16 = l->a;
        }
        // a first write goes through cache, its sum of squares on the way (gradnorm.c); an
        // accumulation is not collected
        int stored = 0;
        if (beta_dw != 0.0f) {
            model_norm_forget(m);
        } else if (model_norm_collecting(m)) {
            size_t n = (size_t)tf_gemm_tn_stream_rows(OC, C) * C;
            if ((stored = model_store_dw(m, p, dweight, l->b, inp16, BT, C, OC, product_scratch(l, n), n)) < 0)
                l->failed = 1;
        }
        if (!stored && tf_gemm_bf16(1, 0, OC, C, BT, 1.0f, l->b, OC, inp16, C, NULL, beta_dw, dweight, C))
            l->failed = 1;
    }
}
