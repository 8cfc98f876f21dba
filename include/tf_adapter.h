// tf_adapter.h — LoRA adapters in Hugging Face PEFT's file format (adapter_config.json +
// adapter_model.safetensors), in PEFT/HF layout.
//
// LoRA (Hu et al. 2021) as PEFT computes it (peft/tuners/lora/layer.py): a targeted linear module
// W gains h = W·x + scaling · B·(A·x), A [r, in], B [out, r], scaling = lora_alpha / r
// (lora_alpha / sqrt(r) with use_rslora). PEFT initialises A Kaiming-uniform (a = sqrt 5, i.e.
// U(-1/sqrt(in), 1/sqrt(in))) and B = 0, so a new adapter leaves the model unchanged.
//
// The file names every tensor base_model.model.<module path>.lora_A.weight / .lora_B.weight, e.g.
// base_model.model.transformer.h.0.attn.q_proj.lora_A.weight. A and B are kept here exactly as the
// file stores them, whatever the base's storage: GPT-2's Conv1D (weight [in, out], PEFT's
// fan_in_fan_out) still has A [r, in] and B [out, r]; NeoX's fused query_key_value has B's rows in
// HF's per-head order (head 0 q, k, v, head 1 q, k, v, ...), the order of the base's own rows. The
// engine's layouts (q|k|v stacked, transposes) are its business, not this module's.
//
// target_modules follow PEFT's matching: a name matches a module whose path equals it or ends with
// "." + name ("c_proj" is both attn.c_proj and mlp.c_proj of GPT-2; "attn.c_proj" only the first);
// one string instead of a list is a regular expression matched against the whole path (POSIX
// extended); "all-linear" is every linear module of the blocks (not the LM head).
#ifndef TF_ADAPTER_H
#define TF_ADAPTER_H

#include "tf_model.h"

// One linear module of an architecture that LoRA can target.
typedef struct {
    const char *name;   // HF module name: "c_attn", "q_proj", "query_key_value", ...
    const char *path;   // module path with "%d" for the layer: "transformer.h.%d.attn.c_attn"
    int param;          // the engine parameter it feeds (TF_P_QKVW, TF_P_ATTPROJW, TF_P_FCW, TF_P_FCPROJW)
    int part;           // GPT-J's q_proj / k_proj / v_proj: 0 / 1 / 2 (rows of TF_P_QKVW); else 0
    int conv1d;         // GPT-2 Conv1D: the base weight is stored [in, out] (PEFT: fan_in_fan_out)
    int neox_fused;     // NeoX query_key_value: rows in the per-head [h][q, k, v][d] order
} tf_lora_module;

// The targetable modules of arch, in the order transformers lists them within a block; *n gets the count.
const tf_lora_module *tf_lora_modules(tf_arch arch, int *n);
// in and out features of module m for cfg (A is [r, in], B is [out, r]).
void tf_lora_module_dims(const tf_config *cfg, const tf_lora_module *m, int *in, int *out);

// One adapted module of one layer.
typedef struct {
    const tf_lora_module *mod;
    int layer;
    int in, out;
    float *A;  // [r, in]   fp32, row-major
    float *B;  // [out, r]
} tf_lora_site;

typedef struct {
    tf_config cfg;            // the base's config (copied)
    int r;
    float alpha;              // lora_alpha
    float scaling;            // alpha / r, or alpha / sqrt(r) with use_rslora
    int use_rslora;
    float dropout;            // lora_dropout (training only)
    int n_targets;
    char **targets;           // target_modules as given (a list of names, or one regex)
    int targets_regex;        // target_modules was one string: a regular expression
    char *base_model;         // base_model_name_or_path ("" when unknown)
    int n_sites;
    tf_lora_site *sites;      // layer by layer, modules in tf_lora_modules order
    int *site_of;             // [n_layer * n_modules]: index into sites, or -1 when not adapted
    float *arena;             // every A and B (one allocation)
} tf_adapter;

// A new adapter for a base with config cfg: rank r > 0, lora_alpha alpha, targets a comma-separated
// list of module names / suffixes ("q_proj,v_proj", "attn.c_proj") or "all-linear", dropout in
// [0, 1). A and B are zero (tf_adapter_init gives PEFT's initialisation). A target that matches no
// module of the architecture is refused naming it and the modules there are (TF_EBADARG).
tf_adapter *tf_adapter_new(const tf_config *cfg, int r, float alpha, const char *targets, float dropout,
                           tf_error *err);
// PEFT's initialisation, seeded: A ~ U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform, a = sqrt 5), B = 0.
void tf_adapter_init(tf_adapter *a, uint64_t seed);
// Reads DIR/adapter_config.json and DIR/adapter_model.safetensors (F32, F16 or BF16) for a base with
// config cfg, strictly: peft_type "LORA", r > 0, bias "none", no options this engine lacks (DoRA,
// rank/alpha patterns, layers_to_transform, modules_to_save), every target matching a module of the
// base, every tensor present with the shape cfg and r imply, no unknown tensor. Errors name the file
// and the key or tensor (TF_EBADFILE; TF_EIO when a file cannot be read).
tf_adapter *tf_adapter_load(const char *dir, const tf_config *cfg, tf_error *err);
// Writes DIR/adapter_model.safetensors (F32) then DIR/adapter_config.json, each atomically, creating
// DIR when needed; the config is written last, so a directory with a config holds a whole adapter.
int tf_adapter_save(const tf_adapter *a, const char *dir, tf_error *err);
void tf_adapter_free(tf_adapter *a);
// Sets base_model_name_or_path (what the adapter was trained on: a path or hub name) for saving.
int tf_adapter_set_base_model(tf_adapter *a, const char *name, tf_error *err);

// The site of (layer, module index in tf_lora_modules), or NULL when that module is not adapted.
tf_lora_site *tf_adapter_site(const tf_adapter *a, int layer, int module);
// The PEFT key of a site's A (which 'A') or B ('B'): base_model.model.<path>.lora_A.weight.
void tf_lora_site_key(const tf_lora_site *s, char which, char *out, size_t n);
// The HF name of the base weight a site adapts: <path>.weight.
void tf_lora_site_base_name(const tf_lora_site *s, char *out, size_t n);

#endif
