// activations.h — the forward/backward buffers of the training path (internal to src/model/).
#ifndef TF_ACTIVATIONS_H
#define TF_ACTIVATIONS_H

#include <stddef.h>
#include <stdint.h>

// Sized for cap_rows = B*T rows, cap_att = B*NH*T*T attention entries and the attention workspace of
// the longest T on every thread; reallocated when a larger batch comes. Per-layer buffers are stacked in `slots` slots: layer l's ln1 is ln1 + l*BT*C, and so
// on; with activation checkpointing there is one slot (0), the layer being computed, and only resid
// keeps every layer.
struct tf_activations {
    size_t cap_rows, cap_att;
    int slots;              // n_layer, or 1 with activation checkpointing
    int *inputs, *targets;  // [BT]
    int *pos;               // [BT] position of each row (t), for rotary
    float *dnll;            // [BT] normalised loss weights w / sum(w) (0 where target < 0)
    float *resid;           // [L+1, BT, C] the residual stream entering each layer (and leaving the last)
    float *ln1, *ln1_mean, *ln1_rstd;  // [L, BT, C], [L, BT], [L, BT]
    float *qkv;             // [L, BT, 3C] after rotary
    float *att;             // [L, B, NH, T, T] attention probabilities
    float *atty;            // [L, BT, C] attention output before the projection
    float *resid2;          // [L, BT, C] x + attn (sequential blocks only)
    float *ln2, *ln2_mean, *ln2_rstd;  // [L, BT, C], [L, BT], [L, BT] (absent with shared_ln)
    float *fch, *fch_gelu;  // [L, BT, F] (fch_gelu: not written by a bf16 forward, see in16)
    float *lnf, *lnf_mean, *lnf_rstd;  // [BT, C], [BT], [BT]
    float *logits;          // [BT, V] (overwritten by dlogits in backward)
    float *nll;             // [BT]
    float *ce_max, *ce_inv; // [BT] each row's max logit and 1 / sum exp(logit - max) (bf16 backward)
    // bf16 models: the products' inputs as the forward rounded them, for the weight gradients:
    // [slots, BT, 3C + F] (per layer ln1 | atty | mlp_in | fch_gelu), then lnf [BT, C]; sized for cap_rows.
    // in16_valid: the last forward wrote them (it ran in bf16).
    uint16_t *in16;
    int in16_valid;
    // backward scratch, reused across layers
    float *dresid, *dln, *dqkv, *datty, *dfch, *dtmp;  // [BT,C], [BT,C], [BT,3C], [BT,C], [BT,F], [BT,C]
    // the attention kernels' per-thread scratch (tf_attention_workspace_floats), forward and backward
    float *attn_work;
    size_t attn_work_floats;
};

// The kept bf16 input `slot` (0 ln1, 1 atty, 2 mlp_in, 3 fch_gelu) of activation slot s (s = slots:
// the LM head's lnf), or NULL when the forward kept none.
static inline uint16_t *model_acts_in16(const struct tf_activations *a, int BT, int C, int F, int s, int slot) {
    return a->in16_valid ? a->in16 + (size_t)s * BT * (3 * (size_t)C + F) + (size_t)slot * BT * C : NULL;
}

#endif
