// model_internal.h — shared between the files of src/model/ (not part of the public API).
#ifndef TF_MODEL_INTERNAL_H
#define TF_MODEL_INTERNAL_H

#include "tf_model.h"
#include "tf_safetensors.h"

// The safetensors files of a model directory (io.c): model.safetensors, or the shards named by
// model.safetensors.index.json, each tensor the index names checked to be in its shard. Errors name
// the file; close with model_weights_close (also after a failed open).
typedef struct tf_st_file tf_st_file;
typedef struct {
    tf_st_file **files;
    int nfiles;
    char where[4096];  // the file named in "missing tensor" errors (the index when sharded)
} model_weight_set;
int model_weights_open(const char *dir, model_weight_set *w, tf_error *err);
void model_weights_close(model_weight_set *w);
// Writes a Hugging Face directory as tf_model_save and tf_adapter_save do (io.c): creates dir, writes
// dir/tensors_file (e[n], tf_st_write) and then dir/json_file (json), each atomically. The JSON goes
// last, so a directory whose JSON is there has its tensors. Takes json (frees it); NULL (making it ran
// out of memory) is TF_ENOMEM naming the file.
int model_write_dir(const char *dir, const char *tensors_file, const tf_st_entry *e, int n, const char *json_file,
                    char *json, tf_error *err);

// Allocates a model with cfg's parameter arena (zeroed) and tensor views; NULL with err set.
tf_model *model_alloc(const tf_config *cfg, tf_error *err);
// Points views[i] into base following sizes (the shared layout of params, grads, m, v).
void model_point_views(float *base, const size_t sizes[TF_NUM_PARAM_TENSORS],
                       float *views[TF_NUM_PARAM_TENSORS]);
// Frees the activation buffers (forward.c owns their layout).
void model_free_acts(tf_activations *a);


// ---- matmuls with a weight tensor, in the model's precision (lowp.c) ---------------------------
// Makes the bf16 weight copy current and the operand scratch big enough for `rows` rows; call once
// before a pass's first model_mm_* (a no-op in fp32).
int model_lowp_prepare(tf_model *m, int rows, tf_error *err);
// out[BT, OC] = inp[BT, C] @ W^T + bias with W = m->param[p] + off ([OC, C]).
void model_mm_forward(tf_model *m, int p, size_t off, float *out, const float *inp, const float *bias,
                      int BT, int C, int OC);
// model_mm_forward that, in bf16, rounds inp into keep[BT, C] (kept for the backward's weight gradient)
// instead of scratch; keep NULL: scratch. Not for mapped weights (pass NULL).
void model_mm_forward_keep(tf_model *m, int p, size_t off, float *out, const float *inp, uint16_t *keep,
                           const float *bias, int BT, int C, int OC);
// model_mm_forward of a bf16 (not mapped) model whose input the caller already rounded: inp16[BT, C].
void model_mm_forward_rounded(tf_model *m, int p, size_t off, float *out, const uint16_t *inp16, const float *bias,
                             int BT, int C, int OC);
// tf_matmul_backward_acc for W = m->param[p] + off, in the model's precision (acc: TF_ACC_* bits).
// inp16: inp already rounded to bf16 by the forward (model_mm_forward_keep), or NULL.
void model_mm_backward(tf_model *m, int p, size_t off, float *dinp, float *dweight, float *dbias,
                       const float *dout, const float *inp, const uint16_t *inp16, int BT, int C, int OC, int acc);
// The bf16 scratch a bf16 model's backward may fill with dout[BT, OC] itself (the cross-entropy writes
// its gradient there already rounded) for model_mm_backward_rounded; NULL when the model is not bf16.
uint16_t *model_lowp_dout(tf_model *m);
// model_mm_backward without dbias, dout taken from model_lowp_dout(m) (bf16 models only).
void model_mm_backward_rounded(tf_model *m, int p, size_t off, float *dinp, float *dweight, const float *inp,
                               const uint16_t *inp16, int BT, int C, int OC, int acc);
// ---- mapped weights (tf_model_load_mapped): big matrices read in place from the file mapping ----
// One stored tensor feeding output features oc0 .. oc0+noc-1 of a matmul.
typedef struct {
    const void *data;  // inside the read-only mapping
    int dtype;         // TF_ST_F32, TF_ST_BF16 or TF_ST_F16
    int trans;         // stored [in, out] (GPT-2 Conv1D) instead of [out, in]
    int oc0, noc;
} model_wpart;
typedef struct {
    model_wpart part[3];  // GPT-J's q, k, v are three tensors; otherwise one
    int nparts;
    int neox;             // rows in NeoX's per-head [h][q,k,v][d] order: permute the output columns
} model_wview;
// Whether parameter p lives in the mapping (not in the fp32 arena) in a mapped model.
int model_param_is_mapped(int p);
// Makes m a mapped model: views[p * n_layer + layer] (layer 0 for global tensors), and the open
// files, closed with close_files(files) when the model is freed. Takes ownership of both.
int model_lowp_set_mapped(tf_model *m, model_wview *views, void *files, void (*close_files)(void *),
                          tf_error *err);
int model_is_mapped(const tf_model *m);
// x[r] = wte[tokens[r]] (+ wpe[pos[r]]) for r < n, whatever the storage of wte.
void model_embed(const tf_model *m, float *x, const int *tokens, const int *pos, int n);
// The bf16 weight copy when the model computes in bf16 and has one (else NULL), for an optimizer
// that refreshes it while updating the parameters; then model_lowp_copy_made marks it current.
uint16_t *model_lowp_copy(tf_model *m);
void model_lowp_copy_made(tf_model *m);
// The global gradient norm collected during a bf16 backward that writes every gradient afresh (after
// zero_grad; gradnorm.c): its weight-gradient products store through cache and add their sums of
// squares (model_store_dw), the backward adds the rest (model_norm_add). begin: start collecting (bf16
// models only; a no-op otherwise); collecting: whether sums are wanted now; end: the sum covers the
// whole arena (ok) or is dropped; forget: the gradients changed by other means (an accumulating
// product, a caller); get: 1 and *sumsq when valid; stored: whether tensor p's gradient went through
// model_store_dw in this collection (so the backward does not sum it again).
void model_norm_begin(tf_model *m);
int model_norm_collecting(const tf_model *m);
void model_norm_add(tf_model *m, double sumsq);
void model_norm_end(tf_model *m, int ok);
void model_norm_forget(tf_model *m);
int model_norm_get(const tf_model *m, double *sumsq);
int model_norm_stored(const tf_model *m, int p);
void model_norm_free(tf_gradnorm *g);
// dweight[OC, C] (a slice of parameter tensor p's gradient) = dout^T @ inp (bf16 dout [BT, OC] and
// inp [BT, C]) made in scratch[n] (n: tf_gemm_tn_stream_rows(OC, C) * C floats) and stored with its sum
// of squares collected: 1 done, 0 not collecting or scratch NULL (the collection is then dropped; the
// caller stores it the plain way), -1 out of memory in the product.
int model_store_dw(tf_model *m, int p, float *dweight, const uint16_t *dout, const uint16_t *inp, int BT, int C,
                   int OC, float *scratch, size_t n);
// Whether a model_mm_* call since the last prepare failed (out of memory in a fallback).
int model_lowp_failed(const tf_model *m);
void model_lowp_free(tf_lowp *l);

// ---- low-rank adapters (lora.c) --------------------------------------------------------------------
void model_lora_free(tf_lora *l);
// Makes m's adapters, zero, on the modules sel[layer * n + j] marks (j indexes tf_lora_modules of the
// architecture, n of them); scale multiplies B A x (PEFT's scaling); seed: the dropout masks.
int model_lora_create(tf_model *m, int r, float alpha, float scale, float dropout, uint64_t seed,
                      const unsigned char *sel, tf_error *err);
// The adapter of (layer, module j), or -1.
int model_lora_site(const tf_model *m, int layer, int j);
// Records base_model_name_or_path (NULL or "": none) and the target list (NULL: unchanged) for saving.
int model_lora_set_names(tf_model *m, const char *base, const char *targets, tf_error *err);
const char *model_lora_targets(const tf_model *m);
const char *model_lora_base(const tf_model *m);
// Scratch for products of `rows` rows; slots > 0: also room to keep u = A x of every targeted module
// for `slots` layers (the training forward). A no-op without adapters.
int model_lora_prepare(tf_model *m, int rows, int slots, tf_error *err);
// Called at the start of each tf_model_forward (a new dropout mask when training).
void model_lora_begin_forward(tf_model *m);
// Where the products keep u for the backward from now on: slot (a layer, or 0 when checkpointing),
// or -1: not kept (inference).
void model_lora_keep(tf_model *m, int slot);
// out[BT, OC] += the adapters' products of weight p's slice at off, from its input inp[BT, in].
void model_lora_forward(tf_model *m, int p, size_t off, float *out, const float *inp, int BT, int OC);
// Given dout[BT, OC] of weight p's slice at off and its input inp: the adapters' gradients (+=) and
// their share of dinp[BT, in] (+=; dinp may be NULL), with u from the slot set by model_lora_keep.
void model_lora_backward(tf_model *m, int p, size_t off, float *dinp, const float *dout, const float *inp, int BT,
                         int OC);
void model_lora_zero_grad(tf_model *m);
float *model_lora_grads(tf_model *m);
float model_lora_grad_norm(const tf_model *m);
// AdamW on the adapters (decay on all of them), clipping first; returns the norm before clipping.
float model_lora_adamw(tf_model *m, const tf_adamw *o, tf_error *err);
// [2C] floats where a frozen base's LayerNorm gradients are written (and ignored).
float *model_lora_lnscratch(tf_model *m);
// The layer body of the training forward for layer l with its activations in slot s (l, or 0 when
// checkpointing); forward.c.
void model_layer_forward(tf_model *m, int l, int s);
// Activation slots per layer buffer: 1 when checkpointing, else n_layer.
int model_act_slots(const tf_model *m);

#endif
