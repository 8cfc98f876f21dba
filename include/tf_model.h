// tf_model.h — the transformer engine: configs, parameters, loading/saving Hugging Face directories,
// batched forward/backward with weighted token losses, AdamW, and KV-cache inference.
//
// One configurable block serves GPT-2, GPT-J and GPT-NeoX (see tf_config). Parameters live in one
// 64-byte aligned fp32 arena with every kind of tensor stacked over layers (llm.c layout), so the
// optimizer and gradient clipping are flat loops. Linear weights are stored PyTorch nn.Linear style,
// [out, in]; GPT-2's Conv1D weights are transposed on load and back on save.
#ifndef TF_MODEL_H
#define TF_MODEL_H

#include "tf_common.h"

typedef enum { TF_ARCH_GPT2 = 0, TF_ARCH_GPTJ = 1, TF_ARCH_NEOX = 2 } tf_arch;

typedef struct {
    tf_arch arch;
    int n_layer, n_embd, n_head;
    int n_inner;            // MLP hidden width (config null -> 4 * n_embd)
    int vocab_size;         // rows of wte (and of the LM head)
    int n_positions;        // maximum sequence length
    float layer_norm_eps;
    // block shape (GPT-2's is tf_config_gpt2's designated initialiser: the fields below 0 except
    // .rotary_base = 10000, .qkv_bias = 1, .attn_out_bias = 1, .tied_head = 1)
    int parallel_residual;  // x + attn(ln1 x) + mlp(ln2 x) instead of the sequential form
    int shared_ln;          // the MLP reads ln1's output (GPT-J: one LayerNorm per block)
    int rotary_dim;         // 0: learned absolute positions (wpe); else rotary on this many dims per head
    int rotary_interleaved; // 1: GPT-J adjacent pairs (2i, 2i+1); 0: NeoX rotate-half (i, i + rd/2)
    float rotary_base;      // 10000
    int qkv_bias;           // q/k/v projections carry a bias
    int attn_out_bias;      // attention output projection carries a bias
    int tied_head;          // LM head is wte (no separate lm_head tensor)
    int head_bias;          // untied LM head has a bias (GPT-J)
    int gelu_exact;         // 1: exact erf GELU (NeoX "gelu"); 0: tanh approximation ("gelu_new")
    int bos_token_id, eos_token_id;
} tf_config;

// Fills cfg with GPT-2's block shape and the given sizes (n_inner = 4 * n_embd).
void tf_config_gpt2(tf_config *cfg, int n_layer, int n_embd, int n_head, int vocab_size,
                    int n_positions);
// Parses a Hugging Face config.json text (model_type gpt2 | gptj | gpt_neox); path names it in errors.
int tf_config_parse(const char *json, const char *path, tf_config *cfg, tf_error *err);
// Reads DIR/config.json.
int tf_config_load(const char *model_dir, tf_config *cfg, tf_error *err);
// The largest context (n_positions, n_ctx, max_position_embeddings) and depth a config may give.
#define TF_MAX_POSITIONS (1 << 20)
#define TF_MAX_LAYERS 4096
// Checks sizes are positive, consistent (n_embd % n_head == 0, rotary_dim <= head dim, ...) and
// within the engine's limits; one line naming the size that is not.
int tf_config_validate(const tf_config *cfg, const char *what, tf_error *err);
// Writes the config as Hugging Face config.json text (malloc'd string).
char *tf_config_to_json(const tf_config *cfg);

// Parameter tensors, each stacked over layers. L = n_layer, C = n_embd, F = n_inner, V = vocab_size.
// A tensor that the architecture lacks has size 0 and a pointer equal to the next one's.
enum {
    TF_P_WTE,      // [V, C]   token embeddings
    TF_P_WPE,      // [maxT, C] learned positions (rotary_dim == 0 only)
    TF_P_LN1W,     // [L, C]
    TF_P_LN1B,     // [L, C]
    TF_P_QKVW,     // [L, 3C, C]  rows: q (C), k (C), v (C); heads contiguous within each
    TF_P_QKVB,     // [L, 3C]
    TF_P_ATTPROJW, // [L, C, C]
    TF_P_ATTPROJB, // [L, C]
    TF_P_LN2W,     // [L, C]     (absent when shared_ln)
    TF_P_LN2B,     // [L, C]
    TF_P_FCW,      // [L, F, C]
    TF_P_FCB,      // [L, F]
    TF_P_FCPROJW,  // [L, C, F]
    TF_P_FCPROJB,  // [L, C]
    TF_P_LNFW,     // [C]
    TF_P_LNFB,     // [C]
    TF_P_LMW,      // [V, C]  untied LM head (absent when tied_head)
    TF_P_LMB,      // [V]     (head_bias only)
    TF_NUM_PARAM_TENSORS
};

// Element counts of each parameter tensor for cfg; returns the total.
size_t tf_param_sizes(const tf_config *cfg, size_t sizes[TF_NUM_PARAM_TENSORS]);
// The name of parameter tensor i ("wte", "qkvw", ...), for messages.
const char *tf_param_name(int i);
// Whether tensor i gets weight decay (2-D matrices: embeddings and linear weights).
int tf_param_decays(int i);

typedef struct tf_activations tf_activations;  // forward/backward buffers (src/model/)
typedef struct tf_lowp tf_lowp;                // bf16 weight copy and operand scratch (src/model/lowp.c)
typedef struct tf_gradnorm tf_gradnorm;        // the gradient norm collected by a backward (src/model/gradnorm.c)
typedef struct tf_lora tf_lora;                // low-rank adapters on a frozen base (tf_lora.h, src/model/lora.c)

// Compute precision of the matmuls with weights. fp32: everything fp32. bf16 (mixed precision):
// the inputs and weights of those matmuls are rounded to bf16 and multiplied with fp32 accumulation
// and fp32 outputs (oneDNN; AMX where present); master weights, gradients, optimizer state,
// LayerNorm, attention, softmax and losses stay fp32. The bf16 weight copy is made once after each
// change of the parameters (tf_model_adamw_step marks it stale), not once per matmul.
typedef enum { TF_DTYPE_FP32 = 0, TF_DTYPE_BF16 = 1 } tf_dtype;

typedef struct {
    tf_config cfg;
    size_t sizes[TF_NUM_PARAM_TENSORS];
    size_t num_params;
    float *params;                          // arena, num_params floats
    float *param[TF_NUM_PARAM_TENSORS];     // views into params
    float *grads;                           // lazily allocated, same layout (NULL until backward)
    int grads_zero_pending;                 // zeroing deferred by tf_model_zero_grad: grads counts as 0
    float *grad[TF_NUM_PARAM_TENSORS];
    float *adam_m, *adam_v;                 // lazily allocated AdamW moments
    long adam_step;                         // number of AdamW updates applied
    tf_activations *acts;                   // lazily (re)allocated for the largest B*T seen
    // results of the last tf_model_forward
    int B, T;
    float mean_loss;                        // weighted mean NLL over targets >= 0 (-1: no targets)
    tf_dtype dtype;                         // matmul precision (tf_model_set_dtype); fp32 by default
    tf_lowp *lowp;                          // lazily allocated for bf16 (NULL in fp32)
    tf_gradnorm *gradnorm;                  // lazily allocated by the first backward
    tf_lora *lora;                          // adapters (tf_lora_attach): the base is then frozen
    int checkpointing;                      // activation checkpointing (tf_model_set_checkpointing)
} tf_model;

// A fresh model with GPT-2's initialisation: N(0, 0.02) weights, residual projections
// N(0, 0.02/sqrt(2L)), zero biases, unit LayerNorm gains; seeded.
tf_model *tf_model_new(const tf_config *cfg, uint64_t seed, tf_error *err);
// Loads a Hugging Face directory (config.json + model.safetensors or sharded index), any of
// F32/F16/BF16, converted to fp32.
tf_model *tf_model_load(const char *dir, tf_error *err);
// Loads DIR for inference without an fp32 copy of the big matrices: the embeddings, the linear
// weights and the LM head stay in their file dtype (F32, BF16 or F16) inside the read-only mapping
// and the matmuls read them in place (BF16 in bf16 with fp32 accumulation, F32 in fp32, F16 widened
// to fp32 a chunk at a time); LayerNorms, biases and learned positions are converted to fp32. So a
// BF16 checkpoint needs about its file size in memory. tf_model_forward, prefill and decode work;
// backward and AdamW only with adapters attached (tf_lora.h: the base stays frozen, the backward
// carries the input gradients through it); saving refuses. m->param[] of a mapped tensor is NULL.
tf_model *tf_model_load_mapped(const char *dir, tf_error *err);
// Writes DIR/config.json and DIR/model.safetensors (F32, Hugging Face names and layouts) atomically.
int tf_model_save(const tf_model *m, const char *dir, tf_error *err);
void tf_model_free(tf_model *m);

// "fp32" | "bf16" -> *out; -1 for anything else.
int tf_dtype_parse(const char *name, tf_dtype *out);
const char *tf_dtype_name(tf_dtype d);
// Selects the matmul precision for every later forward, backward and KV-cache call.
int tf_model_set_dtype(tf_model *m, tf_dtype d, tf_error *err);
// Tells the model its fp32 parameters were changed outside tf_model_adamw_step (the bf16 copy is
// remade before the next use). Cheap; a no-op in fp32.
void tf_model_params_changed(tf_model *m);

// ---- training-path forward/backward over a padded batch --------------------------------------
// inputs[B*T]: token ids (every id in [0, V)). targets[B*T] (may be NULL): the next token, or -1
// to ignore the position (padding, masks). weights[B*T] (may be NULL = 1): per-token loss weights.
// Sequences of different lengths are right-padded: causal attention keeps padding from touching
// earlier positions. Computes logits and per-token NLLs; returns the weighted mean NLL
// sum(w * nll) / sum(w) over targets >= 0 in m->mean_loss (-1 when there are none).
int tf_model_forward(tf_model *m, const int *inputs, const int *targets, const float *weights,
                     int B, int T, tf_error *err);
// After tf_model_forward: per-position NLL -log p(targets[b,t]) [B, T] (0 where target < 0),
// and logits [B, T, V].
const float *tf_model_token_nll(const tf_model *m);
const float *tf_model_logits(const tf_model *m);
// Zeroes the gradient arena (allocating it on first use). The zeroing is deferred: the next
// backward's first writer of each gradient overwrites it instead of adding to zeros (a pass over
// the whole arena saved). Read or write m->grads directly only through tf_model_gradients.
int tf_model_zero_grad(tf_model *m, tf_error *err);
// The gradient arena (NULL before the first zero_grad or backward) with any deferred zeroing done,
// for code that reads or changes it directly (an all-reduce across processes).
float *tf_model_gradients(tf_model *m);
// Accumulates (+=) d(scale * mean_loss)/d(params) into m->grads, for the last forward.
int tf_model_backward(tf_model *m, float scale, tf_error *err);
// Global L2 norm of the gradients.
float tf_model_grad_norm(const tf_model *m);

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    float grad_clip;  // clip the global gradient norm to this (0: no clipping)
} tf_adamw;
// One AdamW update with decoupled weight decay on 2-D weights only (tf_param_decays); clips first
// when grad_clip > 0. Returns the gradient norm before clipping.
float tf_model_adamw_step(tf_model *m, const tf_adamw *opt, tf_error *err);

// ---- inference with a KV cache -----------------------------------------------------------------
typedef struct tf_kv tf_kv;  // keys/values for n_seq independent sequences of up to max_len tokens
tf_kv *tf_kv_new(const tf_model *m, int n_seq, int max_len, tf_error *err);
void tf_kv_free(tf_kv *kv);
int tf_kv_len(const tf_kv *kv, int seq);             // tokens cached in seq
void tf_kv_truncate(tf_kv *kv, int seq, int len);    // forget tokens at positions >= len
// Copies the first len tokens cached in src into dst (a shared prefix, forked without recompute).
int tf_kv_fork(tf_kv *kv, int src, int dst, int len, tf_error *err);
// Appends tokens[n] to sequence seq. logits (may be NULL) receives [n, V] when all_logits, else
// the last position's [V].
int tf_model_prefill(tf_model *m, tf_kv *kv, int seq, const int *tokens, int n, float *logits,
                     int all_logits, tf_error *err);
// One decode step for nb sequences at once: appends tokens[i] to seqs[i]; logits [nb, V].
int tf_model_decode(tf_model *m, tf_kv *kv, const int *seqs, const int *tokens, int nb,
                    float *logits, tf_error *err);

// ---- sampling ----------------------------------------------------------------------------------
typedef struct {
    float temperature;  // 0: greedy (argmax)
    int top_k;          // 0: off
    float top_p;        // 1 or 0: off
} tf_sampler;
// Picks a token from logits[V] (not modified). Greedy ties go to the lowest id.
int tf_sample(const float *logits, int V, const tf_sampler *s, tf_rng *rng);
// log-softmax of logits[V] at index id, computed in double.
float tf_logprob(const float *logits, int V, int id);

#endif
