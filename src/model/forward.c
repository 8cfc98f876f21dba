// forward.c — the training-path forward pass over a padded batch, with every activation the
// backward pass needs, and weighted per-token losses.
//
// Shapes in the comments are llm.c's: B rows of T tokens, C = n_embd, NH heads of hs = C/NH, F = n_inner
// (4C in GPT-2), V = vocab_size, L = n_layer. A block (Radford et al. 2019; GPT-J and NeoX run the
// attention and the MLP in parallel from the same input):
//   sequential (GPT-2):  r2 = x + attn(ln1(x));        out = r2 + mlp(ln2(r2))
//   parallel (NeoX):     out = x + attn(ln1(x)) + mlp(ln2(x))
//   parallel, shared LN (GPT-J): out = x + attn(ln1(x)) + mlp(ln1(x))
// with attn(h) = softmax(mask(Q K^T / sqrt(hs))) V over each head and mlp(h) = W2 gelu(W1 h + b1) + b2.
// In bf16 the products' inputs are rounded once and kept for the backward (activations.h).
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "model_internal.h"
#include "tf_kernels.h"

void model_free_acts(tf_activations *a) {
    if (!a) return;
#define X(type, name, count) tf_free(a->name);
    TF_ACT_BUFFERS(X)
#undef X
    free(a);
}

int model_act_slots(const tf_model *m) { return m->checkpointing ? 1 : m->cfg.n_layer; }

// (Re)allocates the activation buffers for B*T rows when the current ones are too small (or the
// number of per-layer slots changed: activation checkpointing keeps one layer's).
static int ensure_acts(tf_model *m, int B, int T, tf_error *err) {
    const tf_config *c = &m->cfg;
    size_t BT = (size_t)B * T, L = (size_t)model_act_slots(m), NL = (size_t)c->n_layer, C = c->n_embd;
    size_t F = c->n_inner, V = c->vocab_size, ATT = (size_t)B * c->n_head * T * T;
    size_t WORK = tf_attention_workspace_floats(T, c->n_embd, c->n_head, omp_get_max_threads());
    tf_activations *a = m->acts;
    if (a && a->cap_rows >= BT && a->cap_att >= ATT && a->attn_work_floats >= WORK && a->slots == (int)L)
        return TF_OK;
    model_free_acts(a);
    a = m->acts = calloc(1, sizeof *a);
    if (!a) return tf_errorf(err, TF_ENOMEM, "out of memory for activations");
    a->cap_rows = BT;
    a->cap_att = ATT;
    a->attn_work_floats = WORK;
    a->slots = (int)L;
    int seq = !c->parallel_residual, has_ln2 = !c->shared_ln;  // (names the list's counts use)
    int ok = 1;
#define X(type, name, count) ok &= (count) == 0 || (a->name = tf_alloc((count) * sizeof(type), 0)) != NULL;
    TF_ACT_BUFFERS(X)
#undef X
    if (!ok) {
        model_free_acts(a);
        m->acts = NULL;
        return tf_errorf(err, TF_ENOMEM, "out of memory for activations of a %dx%d batch", B, T);
    }
    return TF_OK;
}

// out[N] = a[N] + b[N] (+ c[N] when c is not NULL)
static void add3(float *out, const float *a, const float *b, const float *c, size_t N) {
#pragma omp parallel for simd
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i] + (c ? c[i] : 0.0f);
}

// One block of the training forward: layer l reads resid[l] and writes resid[l + 1], its other
// activations go to slot s of the per-layer buffers (s = l, or 0 with activation checkpointing, where
// the backward calls this again to recompute them). m->B, m->T and the batch rows are set.
void model_layer_forward(tf_model *m, int l, int s) {
    const tf_config *c = &m->cfg;
    tf_activations *a = m->acts;
    int B = m->B, T = m->T, BT = B * T, C = c->n_embd, F = c->n_inner, NH = c->n_head;
    model_lora_keep(m, s);
    const float *x = a->resid + (size_t)l * BT * C;
    float *xo = a->resid + (size_t)(l + 1) * BT * C;
    float *ln1 = a->ln1 + (size_t)s * BT * C, *qkv = a->qkv + (size_t)s * BT * 3 * C;
    float *att = a->att + (size_t)s * a->cap_att, *atty = a->atty + (size_t)s * BT * C;
    float *fch = a->fch + (size_t)s * BT * F, *fchg = a->fch_gelu + (size_t)s * BT * F;
    float *proj = a->dtmp;  // scratch: attention projection output
    // ln1 = LayerNorm(x): (B,T,C) -> (B,T,C), with each row's mean and 1/std (B,T) for the backward
    tf_layernorm_forward(ln1, a->ln1_mean + (size_t)s * BT, a->ln1_rstd + (size_t)s * BT, x,
                         m->param[TF_P_LN1W] + (size_t)l * C, m->param[TF_P_LN1B] + (size_t)l * C,
                         BT, C, c->layer_norm_eps);
    // qkv = ln1 Wqkv^T + bqkv: (B,T,C) -> (B,T,3C), each row q | k | v
    model_mm_forward_keep(m, TF_P_QKVW, (size_t)l * 3 * C * C, qkv, ln1, model_kept_input(m, s, MODEL_KEPT_LN1),
                      c->qkv_bias ? m->param[TF_P_QKVB] + (size_t)l * 3 * C : NULL, BT, C, 3 * C);
    // rotary (GPT-J, NeoX): q and k rotated by their position, in place: (B,T,3C) -> (B,T,3C)
    tf_rotary(qkv, a->pos, BT, C, NH, c->rotary_dim, c->rotary_interleaved, c->rotary_base, 0);
    // causal attention per head: att = softmax(q k^T / sqrt(hs)) (B,NH,T,T), atty = att v:
    // (B,T,3C) -> (B,T,C)
    tf_attention_forward(atty, att, qkv, a->attn_work, a->attn_work_floats, B, T, C, NH);
    // proj = atty Wo^T + bo: (B,T,C) -> (B,T,C)
    model_mm_forward_keep(m, TF_P_ATTPROJW, (size_t)l * C * C, proj, atty, model_kept_input(m, s, MODEL_KEPT_ATTY),
                      c->attn_out_bias ? m->param[TF_P_ATTPROJB] + (size_t)l * C : NULL, BT, C, C);
    // the MLP's input: ln1 itself (parallel), or r2 = x + proj (sequential): (B,T,C)
    const float *mlp_in;
    if (c->parallel_residual) {
        mlp_in = ln1;
    } else {
        float *r2 = a->resid2 + (size_t)s * BT * C;
        add3(r2, x, proj, NULL, (size_t)BT * C);
        mlp_in = r2;
    }
    if (!c->shared_ln) {  // ln2 = LayerNorm(r2 or x): (B,T,C) -> (B,T,C)
        float *ln2 = a->ln2 + (size_t)s * BT * C;
        tf_layernorm_forward(ln2, a->ln2_mean + (size_t)s * BT, a->ln2_rstd + (size_t)s * BT,
                             c->parallel_residual ? x : mlp_in,
                             m->param[TF_P_LN2W] + (size_t)l * C, m->param[TF_P_LN2B] + (size_t)l * C,
                             BT, C, c->layer_norm_eps);
        mlp_in = ln2;
    }
    // fch = mlp_in W1^T + b1: (B,T,C) -> (B,T,F)
    model_mm_forward_keep(m, TF_P_FCW, (size_t)l * F * C, fch, mlp_in, model_kept_input(m, s, MODEL_KEPT_MLP_IN),
                      m->param[TF_P_FCB] + (size_t)l * F, BT, C, F);
    // fch_gelu = gelu(fch): (B,T,F) -> (B,T,F); xo = fch_gelu W2^T + b2: (B,T,F) -> (B,T,C)
    if (a->kept_valid) {
        // bf16: the GELU's output only feeds the product; it is written rounded, straight into
        // the kept inputs (fch_gelu's fp32 values are then not made: the backward reads fch)
        tf_gelu_forward_bf16(model_kept_input(m, s, MODEL_KEPT_FCH_GELU), fch, (size_t)BT * F, c->gelu_exact);
        model_mm_forward_rounded(m, TF_P_FCPROJW, (size_t)l * C * F, xo, model_kept_input(m, s, MODEL_KEPT_FCH_GELU),
                                 m->param[TF_P_FCPROJB] + (size_t)l * C, BT, F, C);
    } else {
        tf_gelu_forward(fchg, fch, (size_t)BT * F, c->gelu_exact);
        model_mm_forward(m, TF_P_FCPROJW, (size_t)l * C * F, xo, fchg, m->param[TF_P_FCPROJB] + (size_t)l * C,
                         BT, F, C);
    }
    // residual: sequential xo = r2 + mlp; parallel xo = x + attn + mlp: (B,T,C)
    if (c->parallel_residual)
        add3(xo, xo, x, proj, (size_t)BT * C);
    else
        add3(xo, xo, a->resid2 + (size_t)s * BT * C, NULL, (size_t)BT * C);
}

int tf_model_forward(tf_model *m, const int *inputs, const int *targets, const float *weights, int B,
                     int T, tf_error *err) {
    const tf_config *c = &m->cfg;
    if (B <= 0 || T <= 0) return tf_errorf(err, TF_EBADARG, "forward: empty batch (%d x %d)", B, T);
    if (T > c->n_positions)
        return tf_errorf(err, TF_EBADARG, "forward: sequence length %d exceeds n_positions %d", T,
                         c->n_positions);
    int V = c->vocab_size;
    for (int i = 0; i < B * T; i++) {
        if (inputs[i] < 0 || inputs[i] >= V)
            return tf_errorf(err, TF_EBADARG, "forward: token id %d at row %d, position %d is outside "
                             "the vocabulary [0, %d)", inputs[i], i / T, i % T, V);
        if (targets && targets[i] >= V)
            return tf_errorf(err, TF_EBADARG, "forward: target id %d at row %d, position %d is outside "
                             "the vocabulary [0, %d)", targets[i], i / T, i % T, V);
    }
    if (ensure_acts(m, B, T, err) || model_lowp_prepare(m, B * T, err)) return err->code;
    tf_activations *a = m->acts;
    m->B = B;
    m->T = T;
    int BT = B * T, L = c->n_layer, C = c->n_embd, F = c->n_inner;
    // bf16: keep the rounded product inputs for the backward's weight gradients (it then does not
    // round them again); a frozen base (adapters) has none to make
    a->kept_valid = m->dtype == TF_DTYPE_BF16 && !model_is_mapped(m) && !m->lora;
    if (a->kept_valid && !a->kept &&
        !(a->kept = tf_alloc(model_kept_count(a->cap_rows, a->slots, C, F) * sizeof(uint16_t), 0)))
        return tf_errorf(err, TF_ENOMEM, "out of memory for the bf16 inputs of a %dx%d batch", B, T);
    if (model_lora_prepare(m, BT, model_act_slots(m), err)) return err->code;
    // loss weights: dnll = w / sum(w) over the rows with a target, so that the loss below is the
    // weighted mean sum_i dnll_i nll_i and the backward starts from dnll
    memcpy(a->inputs, inputs, BT * sizeof(int));
    double wsum = 0.0;
    for (int i = 0; i < BT; i++) {
        a->targets[i] = targets ? targets[i] : -1;
        a->pos[i] = i % T;
        float w = (a->targets[i] >= 0) ? (weights ? weights[i] : 1.0f) : 0.0f;
        a->dnll[i] = w;
        wsum += w;
    }
    for (int i = 0; i < BT; i++) a->dnll[i] = wsum > 0 ? (float)(a->dnll[i] / wsum) : 0.0f;

    // x0 = wte[inputs] (+ wpe[t] with learned positions): (B,T) ids -> (B,T,C)
    model_embed(m, a->resid, inputs, a->pos, BT);
    model_lora_begin_forward(m);
    // L blocks: resid[l] (B,T,C) -> resid[l+1] (B,T,C)
    for (int l = 0; l < L; l++) model_layer_forward(m, l, m->checkpointing ? 0 : l);
    model_lora_keep(m, -1);
    // lnf = LayerNorm(resid[L]): (B,T,C) -> (B,T,C)
    tf_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, a->resid + (size_t)L * BT * C,
                         m->param[TF_P_LNFW], m->param[TF_P_LNFB], BT, C, c->layer_norm_eps);
    // logits = lnf Wlm^T (+ b; Wlm = wte when tied): (B,T,C) -> (B,T,V)
    model_mm_forward_keep(m, c->tied_head ? TF_P_WTE : TF_P_LMW, 0, a->logits, a->lnf,
                          model_kept_input(m, a->slots, MODEL_KEPT_LNF),
                     c->head_bias && !c->tied_head ? m->param[TF_P_LMB] : NULL, BT, C, V);
    if (model_lowp_failed(m)) return tf_errorf(err, TF_ENOMEM, "forward: out of memory in a bf16 matmul");
    // nll = -log softmax(logits)[target]: (B,T,V) -> (B,T); loss = sum dnll * nll: (B,T) -> scalar
    tf_crossentropy_forward_keep(a->nll, a->ce_max, a->ce_inv, a->logits, a->targets, BT, V);
    double loss = 0.0;
    for (int i = 0; i < BT; i++) loss += (double)a->dnll[i] * a->nll[i];
    m->mean_loss = wsum > 0 ? (float)loss : -1.0f;
    return TF_OK;
}

const float *tf_model_token_nll(const tf_model *m) { return m->acts ? m->acts->nll : NULL; }
const float *tf_model_logits(const tf_model *m) { return m->acts ? m->acts->logits : NULL; }
