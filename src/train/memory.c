// memory.c — what full training of a model needs in memory, checked against what the machine has
// before anything is allocated (tf_train.h: tf_train_memory_need, tf_train_memory_check).
//
// Full training keeps, per parameter, the fp32 weight, its fp32 gradient and AdamW's two fp32
// moments (16 bytes; a bf16 run adds a 2-byte weight copy), plus the activations the backward
// reads, whose sizes follow src/model/forward.c (ensure_acts) and activations.h. A 6B model needs
// ~97 GB for the parameters alone: on a 24 GB machine the run must refuse at once with the figure,
// not die half-way in an allocation or in swap.
#include <string.h>

#include "tf_train.h"

double tf_train_memory_need(const tf_config *c, int B, int T, tf_dtype dtype, double *params_bytes) {
    size_t sizes[TF_NUM_PARAM_TENSORS];
    double N = (double)tf_param_sizes(c, sizes);
    double p = N * (16.0 + (dtype == TF_DTYPE_BF16 ? 2.0 : 0.0));
    double BT = (double)B * T, L = c->n_layer, C = c->n_embd, F = c->n_inner, V = c->vocab_size;
    double seq = !c->parallel_residual, ln2 = !c->shared_ln;
    // per layer and row: ln1 (C + 2), qkv 3C, atty C, resid2 C (sequential), ln2 C + 2, fch and its GELU 2F
    double per_row_layer = C + 2 + 3 * C + C + seq * C + ln2 * (C + 2) + 2 * F;
    double floats = BT * ((L + 1) * C + L * per_row_layer)        // residual stream, layer buffers
                    + L * B * (double)c->n_head * T * T           // attention probabilities
                    + BT * (C + 3 + V + 4)                        // final LayerNorm, logits, loss rows
                    + BT * (C + C + 3 * C + C + F + C)            // backward scratch
                    + BT * 4;                                     // inputs, targets, positions, weights
    double acts = floats * 4.0;
    if (dtype == TF_DTYPE_BF16) acts += 2.0 * BT * (L * (3 * C + F) + C);  // the products' bf16 inputs
    if (params_bytes) *params_bytes = p;
    return p + acts;
}

int tf_train_memory_check(const tf_config *c, int B, int T, tf_dtype dtype, int procs, const char *what,
                          tf_error *err) {
    double avail = tf_mem_available();
    if (avail < 0) return TF_OK;  // not Linux: nothing to compare with
    size_t sizes[TF_NUM_PARAM_TENSORS];
    double N = (double)tf_param_sizes(c, sizes), params, k = procs > 1 ? procs : 1;
    double need = tf_train_memory_need(c, B, T, dtype, &params) * k;
    if (need <= avail) return TF_OK;
    return tf_errorf(err, TF_ENOMEM,
                     "%s: full training of %.2f B parameters needs %.1f GB (%.1f GB of fp32 weights, gradients "
                     "and AdamW moments + %.1f GB of activations at batch %d x %d%s), but this machine has %.1f GB "
                     "available; fine-tune a LoRA adapter on the frozen, mapped base instead (--lora 16 --mmap)",
                     what, N / 1e9, need / 1e9, params * k / 1e9, (need - params * k) / 1e9, B, T,
                     k > 1 ? ", all processes on this machine" : "", avail / 1e9);
}
