// tf_lora.h — low-rank adapters (LoRA, Hu et al. 2021) on a frozen base model, with Hugging Face
// PEFT's math: for each targeted linear layer h = W x + (alpha / r) * B (A dropout(x)), A [r, in]
// initialised Kaiming-uniform (a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))), B [out, r] zero.
//
// Once adapters are attached, the model trains only them: tf_model_zero_grad, tf_model_backward and
// tf_model_adamw_step work on the adapters' fp32 weights, gradients and AdamW moments; the base gets
// no gradient and no optimizer state, so it may be a mapped read-only checkpoint
// (tf_model_load_mapped: its BF16 matrices multiply in bf16, the adapters in fp32). Every forward
// (training path, prefill, decode) adds the adapters' products.
//
// Targets are Hugging Face module names, matched as PEFT does (tf_adapter.h: a name matches every
// module whose path ends with it): GPT-2 c_attn, c_proj (attention and MLP), c_fc; GPT-J q_proj,
// k_proj, v_proj, out_proj, fc_in, fc_out; NeoX query_key_value, dense, dense_h_to_4h, dense_4h_to_h;
// "all-linear": every linear layer but the LM head. Adapters in PEFT's files: tf_lora_load/save.
#ifndef TF_LORA_H
#define TF_LORA_H

#include "tf_adapter.h"
#include "tf_model.h"

typedef struct {
    int r;               // rank (> 0)
    float alpha;         // scaling alpha / r
    float dropout;       // probability in [0, 1) of zeroing an input of A (training forwards only)
    const char *targets; // comma-separated module names, or "all-linear" (tf_adapter.h's matching)
    uint64_t seed;       // A's initialisation and the dropout masks
    const char *base_model;  // written as base_model_name_or_path (may be NULL)
} tf_lora_options;

// Attaches fresh adapters (PEFT's initialisation: A random, B zero, so the model's outputs are
// unchanged) to every layer's targeted modules. Errors: r <= 0, a dropout outside [0, 1), a target
// that names no module of this architecture, adapters already attached.
int tf_lora_attach(tf_model *m, const tf_lora_options *o, tf_error *err);
// Attaches the adapter a (read for a base with m's config) with its weights.
int tf_lora_attach_adapter(tf_model *m, const tf_adapter *a, tf_error *err);
// Reads the PEFT adapter directory dir (tf_adapter_load, validated against m's config) and attaches it.
int tf_lora_load(tf_model *m, const char *dir, tf_error *err);
// Writes m's adapters as a PEFT adapter directory (adapter_config.json + adapter_model.safetensors).
int tf_lora_save(const tf_model *m, const char *dir, tf_error *err);
// Whether m has adapters.
int tf_lora_attached(const tf_model *m);
// Training forwards apply dropout (on by tf_lora_attach); off for evaluation (PEFT's eval mode).
void tf_lora_set_training(tf_model *m, int on);

// ---- the adapters one by one, in Hugging Face layout (for PEFT files) ------------------------------
// Adapters are numbered 0 .. tf_lora_count(m) - 1, layer-major (layer 0's modules in the order of
// tf_lora_modules, then layer 1's, ...).
typedef struct {
    const char *module;  // the module's path inside a layer, e.g. "attn.q_proj", "mlp.c_proj"
    const char *name;    // its Hugging Face name, e.g. "q_proj" (what target lists name)
    int layer;
    int r, in, out;      // A [r, in], B [out, r]
} tf_lora_info;
int tf_lora_count(const tf_model *m);
int tf_lora_rank(const tf_model *m);
int tf_lora_info_at(const tf_model *m, int i, tf_lora_info *info);
float tf_lora_alpha(const tf_model *m);
float tf_lora_dropout(const tf_model *m);
// The adapter of module path `module` ("attn.q_proj") in layer `layer`, or -1.
int tf_lora_find(const tf_model *m, const char *module, int layer);
// Copies adapter i's A [r, in] and B [out, r] out in Hugging Face's row order (NeoX's fused
// query_key_value: B's rows per head q|k|v, as PEFT stores them). Either may be NULL.
void tf_lora_read(const tf_model *m, int i, float *A, float *B);
// Sets adapter i from A and B in Hugging Face's layout (either may be NULL: left as is).
void tf_lora_write(tf_model *m, int i, const float *A, const float *B);
// The gradients of the last backward(s) for adapter i, in the same layout (either may be NULL).
void tf_lora_read_grad(const tf_model *m, int i, float *dA, float *dB);

// ---- the training state, for checkpoints ---------------------------------------------------------
// All adapters' weights (which 0) and AdamW moments (1: m, 2: v) are flat fp32 arrays of
// tf_lora_numel(m) values in the engine's layout; tf_lora_steps is the number of AdamW updates made.
size_t tf_lora_numel(const tf_model *m);
float *tf_lora_state(const tf_model *m, int which);
long tf_lora_steps(const tf_model *m);
void tf_lora_set_steps(tf_model *m, long steps);

// ---- activation checkpointing ---------------------------------------------------------------------
// on: the training forward keeps only each layer's input (and the logits) and the backward
// recomputes each layer before differentiating it: activations for one layer instead of n_layer.
// Works with or without adapters.
void tf_model_set_checkpointing(tf_model *m, int on);

#endif
