// activations.h — the forward/backward buffers of the training path (internal to src/model/).
#ifndef TF_ACTIVATIONS_H
#define TF_ACTIVATIONS_H

#include <stddef.h>
#include <stdint.h>

#include "tf_model.h"

// Every buffer, once: X(type, name, count), count in elements. The one list declares the fields,
// allocates them (ensure_acts in forward.c, where the counts are evaluated) and frees them
// (model_free_acts). The counts are written in ensure_acts's names: BT = B*T rows, L = activation
// slots (n_layer, or 1 with activation checkpointing), NL = n_layer, C, F (n_inner), V (vocabulary),
// ATT = B*NH*T*T attention entries, WORK = the attention kernels' scratch, seq (sequential blocks),
// has_ln2 (a second LayerNorm). A count of 0 is not allocated there: kept is allocated by the first
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
    X(float, fch_gelu, L * BT * F)      /* [L, BT, F] its GELU (not written by a bf16 forward: kept) */    \
    X(float, lnf, BT * C)               /* [BT, C] final LayerNorm */                                      \
    X(float, lnf_mean, BT)              /* [BT] */                                                         \
    X(float, lnf_rstd, BT)              /* [BT] */                                                         \
    X(float, logits, BT * V)            /* [BT, V] (overwritten by dlogits in backward) */                 \
    X(float, nll, BT)                   /* [BT] */                                                         \
    X(float, ce_max, BT)                /* [BT] each row's max logit (bf16 backward) */                    \
    X(float, ce_inv, BT)                /* [BT] 1 / sum exp(logit - max) (bf16 backward) */                \
    X(uint16_t, kept, 0)                /* the kept inputs (bf16), see model_kept_input */                 \
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
    int kept_valid;           // the last forward wrote the kept inputs (it ran in bf16)
#define X(type, name, count) type *name;
    TF_ACT_BUFFERS(X)
#undef X
};

// The kept inputs. A bf16 forward rounds the input of each product with a weight to bf16 once and
// keeps it for the backward, whose weight gradient then reads it instead of rounding again. They sit in
// `kept`: per activation slot [BT, 3C + F] (ln1 | atty | mlp_in | fch_gelu, in enum order), then the
// LM head's input lnf [BT, C] as slot `slots`; sized for cap_rows rows.
enum model_kept {
    MODEL_KEPT_LN1,       // [BT, C]  input of the QKV product
    MODEL_KEPT_ATTY,      // [BT, C]  input of the attention projection
    MODEL_KEPT_MLP_IN,    // [BT, C]  input of the MLP's up-projection
    MODEL_KEPT_FCH_GELU,  // [BT, F]  input of the MLP's down-projection (the GELU's output)
    MODEL_KEPT_LNF = 0    // [BT, C]  in slot `slots`: the LM head's input
};

// Elements of `kept` for `rows` rows and `slots` activation slots.
static inline size_t model_kept_count(size_t rows, int slots, int C, int F) {
    return rows * ((size_t)slots * (3 * (size_t)C + F) + (size_t)C);
}

// Kept input `which` of activation slot s (s = acts->slots with MODEL_KEPT_LNF: the LM head's) for the
// batch of the current forward/backward (m->B x m->T rows), or NULL when the forward kept none (fp32,
// mapped weights, adapters): the product then rounds its input itself.
static inline uint16_t *model_kept_input(const tf_model *m, int s, enum model_kept which) {
    const struct tf_activations *a = m->acts;
    size_t BT = (size_t)m->B * m->T, C = (size_t)m->cfg.n_embd, F = (size_t)m->cfg.n_inner;
    return a->kept_valid ? a->kept + (size_t)s * BT * (3 * C + F) + (size_t)which * BT * C : NULL;
}

#endif
