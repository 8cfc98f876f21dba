// backward.c — gradients of the weighted mean loss of the last forward, in exact reverse order.
//
// Shapes as in forward.c (B, T, C, NH, hs, F, V, L); d(x) is the gradient of the loss with respect to x.
// Each product y = x W^T + b gives dx = dy W, dW (+)= dy^T x, db (+)= sum over rows of dy. The first
// writer of each gradient overwrites instead of adding to zeros (see tf_model_backward).
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "model_internal.h"
#include "tf_kernels.h"

static int refuse_mapped(const tf_model *m, const char *what, tf_error *err) {
    if (!model_is_mapped(m) || m->lora) return TF_OK;
    return tf_errorf(err, TF_EBADARG,
                     "%s: the model was loaded with its weights mapped in their file dtype (inference only): attach "
                     "adapters (LoRA) to train it, or load it without mapping (tf_model_load)", what);
}

// n floats of p set to 0, in parallel when large
static void zero(float *p, size_t n) {
#pragma omp parallel for schedule(static) if (n >= (1u << 20))
    for (size_t i = 0; i < n; i += 65536) memset(p + i, 0, (n - i < 65536 ? n - i : 65536) * sizeof(float));
}

int tf_model_zero_grad(tf_model *m, tf_error *err) {
    if (refuse_mapped(m, "zero_grad", err)) return err->code;
    if (m->lora) {  // a frozen base: only the adapters have gradients
        model_lora_zero_grad(m);
        return TF_OK;
    }
    if (!m->grads) {
        m->grads = tf_alloc(m->num_params * sizeof(float), 0);
        if (!m->grads) return tf_errorf(err, TF_ENOMEM, "out of memory for %zu gradients", m->num_params);
        model_point_views(m->grads, m->sizes, m->grad);
    }
    m->grads_zero_pending = 1;  // done by the next backward's first writers (or tf_model_gradients)
    model_norm_forget(m);
    return TF_OK;
}

float *tf_model_gradients(tf_model *m) {
    if (m->lora) return model_lora_grads(m);
    model_norm_forget(m);  // the caller may change them
    if (m->grads && m->grads_zero_pending) zero(m->grads, m->num_params);
    m->grads_zero_pending = 0;
    return m->grads;
}

// sum of g[n]^2: fp32 within blocks of 4096, the block sums in double. Parallel.
static double sumsq(const float *g, size_t n) {
    double s = 0.0;
    size_t nb = (n + 4095) / 4096;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n >= 32768)
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * 4096, hi = lo + 4096 < n ? lo + 4096 : n;
        float part = 0.0f;
#pragma omp simd reduction(+ : part)
        for (size_t i = lo; i < hi; i++) part += g[i] * g[i];
        s += part;
    }
    return s;
}

// sum of squares of the rows of dwte[V, C] that tokens[n] name, each row once (seen[V]: 0 on entry,
// left marked)
static double token_rows_sumsq(const float *dwte, const int *tokens, int n, int C, unsigned char *seen) {
    double s = 0.0;
    for (int r = 0; r < n; r++) {
        if (seen[tokens[r]]) continue;
        seen[tokens[r]] = 1;
        s += sumsq(dwte + (size_t)tokens[r] * C, (size_t)C);
    }
    return s;
}

// dwte[inputs[r]] += dx[r]; dwpe[t] += dx[r]. Threads own channel slices, so there are no races and
// the sums are deterministic.
static void embed_backward(tf_model *m, const float *dx, int BT) {
    const tf_activations *a = m->acts;
    int C = m->cfg.n_embd;
    float *dwte = m->grad[TF_P_WTE], *dwpe = m->cfg.rotary_dim ? NULL : m->grad[TF_P_WPE];
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int lo = C * id / nt, hi = C * (id + 1) / nt;
        for (int r = 0; r < BT; r++) {
            const float *d = dx + (size_t)r * C;
            float *e = dwte + (size_t)a->inputs[r] * C;
            for (int i = lo; i < hi; i++) e[i] += d[i];
            if (dwpe) {
                float *p = dwpe + (size_t)a->pos[r] * C;
                for (int i = lo; i < hi; i++) p[i] += d[i];
            }
        }
    }
}

// embed_backward, finishing the norm the backward collected: the weight-gradient products summed their
// own squares (model_store_dw); here the rest. The embedding rows the tokens touched change after the
// LM head's (tied) product, so their sums are taken before and after embed_backward.
static void embed_backward_collect(tf_model *m, const float *dx, int BT) {
    const tf_config *c = &m->cfg;
    unsigned char *seen = model_norm_collecting(m) ? calloc((size_t)c->vocab_size, 1) : NULL;
    if (!seen) {
        model_norm_end(m, 0);  // not collecting, or no memory to: the optimizer sums the arena
        embed_backward(m, dx, BT);
        return;
    }
    const int *tok = m->acts->inputs;
    double before = token_rows_sumsq(m->grad[TF_P_WTE], tok, BT, c->n_embd, seen);
    embed_backward(m, dx, BT);
    memset(seen, 0, (size_t)c->vocab_size);
    double after = token_rows_sumsq(m->grad[TF_P_WTE], tok, BT, c->n_embd, seen);
    free(seen);
    double rest = 0.0;
    for (int p = 0; p < TF_NUM_PARAM_TENSORS; p++)
        if (p != TF_P_WTE && !model_norm_stored(m, p)) rest += sumsq(m->grad[p], m->sizes[p]);
    // untied: the embedding's gradient was zeroed, so its touched rows are all of it
    model_norm_add(m, rest + after - before);
    model_norm_end(m, !model_lowp_failed(m));
}

int tf_model_backward(tf_model *m, float scale, tf_error *err) {
    tf_activations *a = m->acts;
    if (refuse_mapped(m, "backward", err)) return err->code;
    if (!a || m->B <= 0) return tf_errorf(err, TF_EBADARG, "backward: no forward pass to differentiate");
    // adapters: the base is frozen (no gradient, its products give only the input gradients)
    int frozen = m->lora != NULL;
    if (!frozen && !m->grads && tf_model_zero_grad(m, err)) return err->code;
    if (m->mean_loss < 0) return TF_OK;  // no targets: the loss is constant (a deferred zero stays)
    // After zero_grad, every parameter gradient's first writer below overwrites (W: the first
    // layer-l product; acc_w 0) instead of adding to zeros. The activation gradients dfch, dln,
    // datty are overwritten by the product that first writes them in each layer, too.
    int first = !frozen && m->grads_zero_pending;
    if (!frozen) m->grads_zero_pending = 0;
    int acc_w = first || frozen ? 0 : TF_ACC_DW;  // (frozen: the LayerNorms' scratch is overwritten)
    const tf_config *c = &m->cfg;
    int B = m->B, T = m->T, BT = B * T, L = c->n_layer, C = c->n_embd, F = c->n_inner, NH = c->n_head;
    int V = c->vocab_size;
    float *const *p = m->param;
    // G(q, off): the gradient of parameter q at off, NULL for a frozen base; LN(q, l): a LayerNorm's
    // gradient (a frozen one goes to scratch, the kernel wants somewhere to put it)
    float *lnscr = model_lora_lnscratch(m);
#define G(q, off) (frozen ? NULL : m->grad[q] + (off))
#define LN(q, l) (frozen ? lnscr + ((q) == TF_P_LN1B || (q) == TF_P_LN2B || (q) == TF_P_LNFB ? C : 0) : m->grad[q] + (size_t)(l) * C)

    if (model_lowp_prepare(m, BT, err)) return err->code;
    if (first)
        model_norm_begin(m);  // the norm is collected on the way
    else if (!frozen)
        model_norm_forget(m);
    // d(logits) = scale * dnll * (softmax(logits) - onehot(target)): (B,T) -> (B,T,V)
    for (int i = 0; i < BT; i++) a->dnll[i] *= scale;
    // bf16 without a head bias: the cross-entropy's gradient goes straight to bf16 in the products'
    // operand scratch, one pass over the logits (no fp32 dlogits, no separate rounding pass)
    uint16_t *dl16 = c->tied_head || !c->head_bias ? model_lowp_dout(m) : NULL;
    if (dl16)
        tf_crossentropy_backward_bf16(dl16, a->logits, a->ce_max, a->ce_inv, a->targets, a->dnll, BT, V);
    else
        tf_crossentropy_backward_inplace(a->logits, a->targets, a->dnll, BT, V);
    for (int i = 0; i < BT; i++) a->dnll[i] /= scale;  // keep the stored weights reusable
    float *dlogits = a->logits;
    int S = a->slots;  // the LM head's kept input follows the layers' slots
    // LM head: d(lnf) = d(logits) Wlm: (B,T,V) -> (B,T,C) into dln; d(Wlm) (+)= d(logits)^T lnf (V,C)
    if (dl16) {
        int head = c->tied_head ? TF_P_WTE : TF_P_LMW;
        model_mm_backward_rounded(m, head, 0, a->dln, G(head, 0), a->lnf, model_kept_input(m, S, MODEL_KEPT_LNF), BT,
                                  C, V, acc_w);
        if (!c->tied_head && first) zero(m->grad[TF_P_WTE], m->sizes[TF_P_WTE]);
    } else if (c->tied_head) {
        model_mm_backward(m, TF_P_WTE, 0, a->dln, G(TF_P_WTE, 0), NULL, dlogits, a->lnf,
                          model_kept_input(m, S, MODEL_KEPT_LNF), BT, C, V, acc_w);
    } else {
        model_mm_backward(m, TF_P_LMW, 0, a->dln, G(TF_P_LMW, 0), c->head_bias ? G(TF_P_LMB, 0) : NULL, dlogits,
                          a->lnf, model_kept_input(m, S, MODEL_KEPT_LNF), BT, C, V, acc_w);
        if (first) zero(m->grad[TF_P_WTE], m->sizes[TF_P_WTE]);  // the embedding backward only adds rows
    }
    if (first && m->sizes[TF_P_WPE]) zero(m->grad[TF_P_WPE], m->sizes[TF_P_WPE]);
    // final LayerNorm: d(resid[L]) = LN'(d(lnf)): (B,T,C) -> (B,T,C); d(lnfw), d(lnfb) (C)
    zero(a->dresid, (size_t)BT * C);
    tf_layernorm_backward_acc(a->dresid, LN(TF_P_LNFW, 0), LN(TF_P_LNFB, 0), a->dln, a->resid + (size_t)L * BT * C,
                              p[TF_P_LNFW], a->lnf_mean, a->lnf_rstd, BT, C, acc_w);

    for (int l = L - 1; l >= 0; l--) {
        // s: the layer's activation slot; checkpointing recomputes the layer's activations there first
        int s = S == L ? l : 0;
        if (S != L) model_layer_forward(m, l, s);
        model_lora_keep(m, s);  // the adapters' u of this layer
        const float *x = a->resid + (size_t)l * BT * C;
        const float *ln1 = a->ln1 + (size_t)s * BT * C, *qkv = a->qkv + (size_t)s * BT * 3 * C;
        const float *att = a->att + (size_t)s * a->cap_att, *atty = a->atty + (size_t)s * BT * C;
        const float *fch = a->fch + (size_t)s * BT * F, *fchg = a->fch_gelu + (size_t)s * BT * F;
        if (a->kept_valid && m->dtype != TF_DTYPE_BF16)  // a bf16 forward kept only the rounded GELU output
            tf_gelu_forward(a->fch_gelu + (size_t)s * BT * F, fch, (size_t)BT * F, c->gelu_exact);
        const float *r2 = c->parallel_residual ? NULL : a->resid2 + (size_t)s * BT * C;
        const float *ln2 = c->shared_ln ? NULL : a->ln2 + (size_t)s * BT * C;
        const float *mlp_in = ln2 ? ln2 : (c->parallel_residual ? ln1 : r2);
        float *dx = a->dresid;  // holds d(block output); becomes d(block input)
        float *dproj = dx;      // gradient reaching the attention projection's output
        if (c->parallel_residual) {
            memcpy(a->dtmp, dx, (size_t)BT * C * sizeof(float));
            dproj = a->dtmp;
        }
        // MLP: xo = mlp_res + fcproj(gelu(fc(mlp_in))); dfch and dln are overwritten (acc_w only)
        // d(fch_gelu) = d(xo) W2: (B,T,C) -> (B,T,F); d(W2) (+)= d(xo)^T fch_gelu (C,F); d(b2) (C)
        model_mm_backward(m, TF_P_FCPROJW, (size_t)l * C * F, a->dfch, G(TF_P_FCPROJW, (size_t)l * C * F),
                          G(TF_P_FCPROJB, (size_t)l * C), dx, fchg, model_kept_input(m, s, MODEL_KEPT_FCH_GELU), BT, F,
                          C, acc_w);
        // (the adapters take fp32 gradients: a frozen base keeps dfch in fp32)
        uint16_t *dfch16 = frozen ? NULL : model_lowp_dout(m);
        // d(fch) = gelu'(fch) * d(fch_gelu): (B,T,F) -> (B,T,F); then
        // d(mlp_in) = d(fch) W1: (B,T,F) -> (B,T,C) into dln; d(W1) (+)= d(fch)^T mlp_in (F,C); d(b1) (F)
        if (dfch16) {  // bf16: the GELU's gradient goes straight to the product's rounded operand
            tf_gelu_backward_bf16_colsum(dfch16, m->grad[TF_P_FCB] + (size_t)l * F, fch, a->dfch, BT, F,
                                         c->gelu_exact, acc_w & TF_ACC_DW);
            model_mm_backward_rounded(m, TF_P_FCW, (size_t)l * F * C, a->dln, m->grad[TF_P_FCW] + (size_t)l * F * C,
                                      mlp_in, model_kept_input(m, s, MODEL_KEPT_MLP_IN), BT, C, F, acc_w);
        } else {
            tf_gelu_backward(a->dfch, fch, a->dfch, (size_t)BT * F, c->gelu_exact, 0);
            model_mm_backward(m, TF_P_FCW, (size_t)l * F * C, a->dln, G(TF_P_FCW, (size_t)l * F * C),
                              G(TF_P_FCB, (size_t)l * F), a->dfch, mlp_in, model_kept_input(m, s, MODEL_KEPT_MLP_IN),
                              BT, C, F, acc_w);
        }
        // whether dln is free for the QKV product to overwrite (else it holds GPT-J's d(ln1) from the MLP)
        int dln_free = 1;
        if (ln2) {
            // LayerNorm 2 reads r2 (sequential) or x (parallel); both gradients land in dx:
            // d(ln2) (B,T,C) -> (B,T,C) added to dx; d(ln2w), d(ln2b) (C)
            tf_layernorm_backward_acc(dx, LN(TF_P_LN2W, l), LN(TF_P_LN2B, l), a->dln,
                                      c->parallel_residual ? x : r2, p[TF_P_LN2W] + (size_t)l * C,
                                      a->ln2_mean + (size_t)s * BT, a->ln2_rstd + (size_t)s * BT, BT, C, acc_w);
        } else if (!c->parallel_residual) {
            size_t n = (size_t)BT * C;
#pragma omp parallel for simd schedule(static) if (n >= 32768)
            for (size_t i = 0; i < n; i++) dx[i] += a->dln[i];  // the MLP read r2 itself
        } else {
            dln_free = 0;  // GPT-J: attention adds its part of d(ln1) below
        }
        // attention: proj = attproj(attention(rotary(qkv(ln1))))
        // d(atty) = d(proj) Wo: (B,T,C) -> (B,T,C); d(Wo) (+)= d(proj)^T atty (C,C); d(bo) (C)
        model_mm_backward(m, TF_P_ATTPROJW, (size_t)l * C * C, a->datty, G(TF_P_ATTPROJW, (size_t)l * C * C),
                          c->attn_out_bias ? G(TF_P_ATTPROJB, (size_t)l * C) : NULL, dproj, atty,
                          model_kept_input(m, s, MODEL_KEPT_ATTY), BT, C, C, acc_w);
        // through softmax(q k^T / sqrt(hs)) v per head, with the saved att (B,NH,T,T):
        // d(atty) (B,T,C) -> d(qkv) (B,T,3C)
        tf_attention_backward(a->dqkv, a->datty, qkv, att, a->attn_work, a->attn_work_floats, B, T, C, NH, 0);
        // the rotation's backward is the inverse rotation: (B,T,3C) -> (B,T,3C) in place
        tf_rotary(a->dqkv, a->pos, BT, C, NH, c->rotary_dim, c->rotary_interleaved, c->rotary_base, 1);
        // d(ln1) = d(qkv) Wqkv: (B,T,3C) -> (B,T,C) into dln (GPT-J: added to the MLP's);
        // d(Wqkv) (+)= d(qkv)^T ln1 (3C,C); d(bqkv) (3C)
        model_mm_backward(m, TF_P_QKVW, (size_t)l * 3 * C * C, a->dln, G(TF_P_QKVW, (size_t)l * 3 * C * C),
                          c->qkv_bias ? G(TF_P_QKVB, (size_t)l * 3 * C) : NULL, a->dqkv, ln1,
                          model_kept_input(m, s, MODEL_KEPT_LN1), BT, C, 3 * C, acc_w | (dln_free ? 0 : TF_ACC_DINP));
        // LayerNorm 1: d(x) += LN'(d(ln1)): (B,T,C) -> (B,T,C); d(ln1w), d(ln1b) (C). dx, which held
        // d(xo) and the residual's identity path, is now d(resid[l]), the next layer down's d(xo)
        tf_layernorm_backward_acc(dx, LN(TF_P_LN1W, l), LN(TF_P_LN1B, l), a->dln, x,
                                  p[TF_P_LN1W] + (size_t)l * C, a->ln1_mean + (size_t)s * BT,
                                  a->ln1_rstd + (size_t)s * BT, BT, C, acc_w);
    }
#undef G
#undef LN
    model_lora_keep(m, -1);
    // embedding: d(wte[inputs[r]]) += d(x0)[r], d(wpe[t]) += d(x0)[r]: (B,T,C) -> (V,C), (n_positions,C)
    if (!frozen) embed_backward_collect(m, a->dresid, BT);
    m->B = 0;  // logits were consumed; a second backward needs a new forward
    if (model_lowp_failed(m)) return tf_errorf(err, TF_ENOMEM, "backward: out of memory in a bf16 matmul");
    return TF_OK;
}

float tf_model_grad_norm(const tf_model *m) {
    if (m->lora) return model_lora_grad_norm(m);
    if (!m->grads || m->grads_zero_pending) return 0.0f;
    return (float)sqrt(sumsq(m->grads, m->num_params));
}
