// activations.h — the forward/backward buffers of the training path (internal to src/model/).
#ifndef TF_ACTIVATIONS_H
#define TF_ACTIVATIONS_H

#include <stddef.h>
#include <stdint.h>

// Every buffer, once: X(type, name, count), count in elements. The one list declares the fields,
// allocates them (ensure_acts in forward.c, where the counts are evaluated) and frees them
// (model_free_acts). The counts are written in ensure_acts's names: BT = B*T rows, L = activation
// slots (n_layer, or 1 with activation checkpointing), NL = n_layer, C, F (n_inner), V (vocabulary),
// ATT = B*NH*T*T attention entries, WORK = the attention kernels' scratch, seq (sequential blocks),
// has_ln2 (a second LayerNorm). A count of 0 is not allocated there: in16 is allocated by the first
// forward that runs in bf16 (tf_model_forward).
// Per-layer buffers are stacked in L slots: layer l's ln1 is ln1 + l*BT*C, and so on; with activation
// checkpointing there is one slot (0), the layer being computed, and only resid keeps every layer.
#define TF_ACT_BUFFERS(X)                                                                                  \
    X(int, inputs, BT)                  /* [BT] token ids */                                               \
    X(int, targets, BT)                 /* [BT] target ids (-1: no loss) */                                \
    X(int, pos, BT)                     /* [BT] position of each row (t), for rotary */                    \
    X(float, dnll, BT)                  /* [BT] normalised loss weights w / sum(w) (0 where no target) */  \
    X(float, resid, (NL + 1) * BT * C)  /* [NL+1, BT, C] the residual stream entering each layer */        \
    X(float, ln1, L * BT * C)           /* [L, BT, C] */                                                   \
    X(float, ln1_mean, L * BT)          /* [L, BT] */                                                      \
    X(float, ln1_rstd, L * BT)          /* [L, BT] */                                                      \
    X(float, qkv, L * BT * 3 * C)       /* [L, BT, 3C] after rotary */                                     \
    X(float, att, L * ATT)              /* [L, B, NH, T, T] attention probabilities */                     \
    X(float, atty, L * BT * C)          /* [L, BT, C] attention output before the projection */            \
    X(float, resid2, seq ? L * BT * C : 0)     /* [L, BT, C] x + attn (sequential blocks only) */          \
    X(float, ln2, has_ln2 ? L * BT * C : 0)    /* [L, BT, C] (absent with shared_ln) */                    \
    X(float, ln2_mean, has_ln2 ? L * BT : 0)   /* [L, BT] */                                               \
    X(float, ln2_rstd, has_ln2 ? L * BT : 0)   /* [L, BT] */                                               \
    X(float, fch, L * BT * F)           /* [L, BT, F] MLP up-projection */                                 \
    X(float, fch_gelu, L * BT * F)      /* [L, BT, F] its GELU (not written by a bf16 forward: in16) */    \
    X(float, lnf, BT * C)               /* [BT, C] final LayerNorm */                                      \
    X(float, lnf_mean, BT)              /* [BT] */                                                         \
    X(float, lnf_rstd, BT)              /* [BT] */                                                         \
    X(float, logits, BT * V)            /* [BT, V] (overwritten by dlogits in backward) */                 \
    X(float, nll, BT)                   /* [BT] */                                                         \
    X(float, ce_max, BT)                /* [BT] each row's max logit (bf16 backward) */                    \
    X(float, ce_inv, BT)                /* [BT] 1 / sum exp(logit - max) (bf16 backward) */                \
    X(uint16_t, in16, 0)                /* bf16 kept inputs, see below */                                  \
    X(float, dresid, BT * C)            /* backward scratch, reused across layers: [BT, C] */              \
    X(float, dln, BT * C)               /* [BT, C] */                                                      \
    X(float, dqkv, BT * 3 * C)          /* [BT, 3C] */                                                     \
    X(float, datty, BT * C)             /* [BT, C] */                                                      \
    X(float, dfch, BT * F)              /* [BT, F] */                                                      \
    X(float, dtmp, BT * C)              /* [BT, C] */                                                      \
    X(float, attn_work, WORK)           /* the attention kernels' per-thread scratch (tf_kernels.h) */

// Sized for cap_rows = B*T rows, cap_att = B*NH*T*T attention entries and the attention workspace of
// the longest T on every thread; reallocated when a larger batch comes.
struct tf_activations {
    size_t cap_rows, cap_att;
    size_t attn_work_floats;  // attn_work's size (tf_attention_workspace_floats)
    int slots;                // L: n_layer, or 1 with activation checkpointing
    // bf16 models: in16 holds the products' inputs as the forward rounded them, for the weight
    // gradients: [slots, BT, 3C + F] (per layer ln1 | atty | mlp_in | fch_gelu), then lnf [BT, C];
    // sized for cap_rows. in16_valid: the last forward wrote them (it ran in bf16).
    int in16_valid;
#define X(type, name, count) type *name;
    TF_ACT_BUFFERS(X)
#undef X
};

// The kept bf16 input `slot` (0 ln1, 1 atty, 2 mlp_in, 3 fch_gelu) of activation slot s (s = slots:
// the LM head's lnf), or NULL when the forward kept none.
static inline uint16_t *model_acts_in16(const struct tf_activations *a, int BT, int C, int F, int s, int slot) {
    return a->in16_valid ? a->in16 + (size_t)s * BT * (3 * (size_t)C + F) + (size_t)slot * BT * C : NULL;
}

#endif
