// tf_convert.h — rewriting a Hugging Face model directory tensor by tensor: another dtype
// (`toolformer convert`), a LoRA adapter merged into the weights (`toolformer merge-adapter`), new
// shards.
//
// The input is read through its read-only mapping one tensor at a time and the output written one
// tensor at a time, so memory holds at most one tensor (in fp32 while it is converted), never the
// model: a 24 GB fp32 GPT-J becomes a 12 GB BF16 one on a 24 GB machine. Narrowing rounds to nearest
// even (F32 -> BF16 -> F32 is bit-exact for values that are bf16). The output directory is built
// under OUT.tmp.PID and renamed to OUT when complete, so OUT is either absent or whole.
#ifndef TF_CONVERT_H
#define TF_CONVERT_H

#include "tf_adapter.h"
#include "tf_safetensors.h"

typedef struct {
    // Floating-point tensors (F32, F16, BF16, F64) are written as this: TF_ST_F32, TF_ST_F16 or
    // TF_ST_BF16; TF_ST_NUM_DTYPES keeps each tensor's own dtype. Other tensors are copied unchanged.
    tf_st_dtype dtype;
    // Largest shard in bytes of tensor data (0: one file). A tensor larger than this gets a shard of
    // its own. More than one shard writes model-0000K-of-0000N.safetensors and
    // model.safetensors.index.json, as transformers' save_pretrained does.
    uint64_t shard_bytes;
    // Merged into the weights when not NULL: W += scaling * B @ A in HF layout (transposed for
    // GPT-2's Conv1D, whose weight is [in, out]); its config must be the input's.
    const tf_adapter *adapter;
    int progress;  // draw a progress bar (on a terminal)
} tf_convert_opts;

typedef struct {
    int tensors, shards, merged;  // tensors written, output files, adapted weights merged
    uint64_t bytes;               // tensor data written
} tf_convert_stats;

// Rewrites in_dir into out_dir (which must not exist, TF_EBADARG): the weights as o says,
// config.json copied with "torch_dtype" set to the output dtype, and the tokenizer files
// (tokenizer.json, tokenizer_config.json, vocab.json, merges.txt, special_tokens_map.json,
// added_tokens.json, generation_config.json) copied. stats may be NULL.
int tf_model_convert(const char *in_dir, const char *out_dir, const tf_convert_opts *o, tf_convert_stats *stats,
                     tf_error *err);

// Parses a size such as "4GB", "500MB", "2GiB", "1000000" (bytes) into *bytes; -1 when malformed.
int tf_parse_size(const char *s, uint64_t *bytes);

#endif
