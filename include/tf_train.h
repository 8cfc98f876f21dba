// tf_train.h — training data (JSONL → token batches), the training loop with AdamW, warmup + cosine
// schedule, gradient accumulation and clipping, held-out evaluation, and checkpoints that resume
// exactly (same batches, same updates, same losses as an uninterrupted run).
#ifndef TF_TRAIN_H
#define TF_TRAIN_H

#include "tf_model.h"

// Turns text into token ids (the tokenizer, supplied by the caller); *ids is malloc'd. It may also
// set *mask (malloc'd, one loss weight per token) or leave it NULL.
typedef int (*tf_encode_fn)(void *ctx, const char *text, size_t len, int **ids, int *n, float **mask, tf_error *err);

// Documents as token ids, concatenated: document d is tokens[start[d] .. start[d+1]).
// mask (may be NULL): per-token loss weight of predicting that token (from a JSONL "loss_mask").
typedef struct {
    int *tokens;
    float *mask;
    size_t n_tokens, cap_tokens;
    size_t *start;  // [n_docs + 1]
    int n_docs, cap_docs;
} tf_dataset;

// Reads JSONL: each line an object with "ids" (array of ints) or "text" (encoded with encode; an
// error when encode is NULL), and optionally "loss_mask" (0/1 per token, same length as ids; it
// overrides a mask from encode).
// Blank lines are skipped. Errors name the file and line. vocab_size > 0 checks every id.
int tf_dataset_load_jsonl(tf_dataset *ds, const char *path, tf_encode_fn encode, void *encode_ctx,
                          int vocab_size, tf_error *err);
int tf_dataset_add(tf_dataset *ds, const int *ids, const float *mask, int n, tf_error *err);
void tf_dataset_free(tf_dataset *ds);

// Data parallelism across processes (docs/scaling.md), supplied by the caller so that training
// knows nothing of MPI (the command line fills it from tf_dist.h). world processes run tf_train
// with the same options and data; each draws the same global micro-batch of `batch` rows (the rows
// a single process would train on) and computes rows rank, rank + world, ... of it. The gradients
// are summed with sum_f32 before every update, scaled so that the sum is the single-process
// gradient; every process then applies the same AdamW step. Only rank 0 writes checkpoints, the
// model and the log, and evaluates; every rank resumes from the same checkpoint.
typedef struct {
    int rank, world;
    void *ctx;
    // Sum buf[n] over all processes in place (every process gets the sum); TF_OK or an error.
    int (*sum_f32)(void *ctx, float *buf, size_t n, tf_error *err);
    int (*sum_f64)(void *ctx, double *buf, size_t n, tf_error *err);
} tf_train_dist;

typedef struct {
    int steps;            // optimizer updates
    int batch;            // sequences per micro-batch (B)
    int seq_len;          // tokens per sequence (T)
    int grad_accum;       // micro-batches per update
    float lr, min_lr;     // peak and final learning rate
    int warmup;           // linear warmup steps, then cosine decay to min_lr
    float weight_decay, beta1, beta2, eps, grad_clip;
    uint64_t seed;
    int pack;             // 1: documents joined by eos, windows at random offsets (pretraining);
                          // 0: one document per row from its start, right-padded (fine-tuning)
    int eos_id;           // separator when packing
    int eval_every;       // evaluate on the held-out set every N steps (0: never)
    int save_every;       // write a checkpoint every N steps (0: only at the end)
    const char *out_dir;  // model directory written (the best by held-out loss when evaluating)
    int resume;           // continue from out_dir/checkpoint
    int stop_after;       // stop (with a checkpoint) after this many updates in this run (0: no limit)
    int quiet;            // no progress bar
    FILE *log;            // one JSON line per step when non-NULL
    const tf_train_dist *dist;  // NULL (or world 1): one process
} tf_train_options;

// Fills o with defaults: lr 3e-4, min_lr 3e-5, warmup 100, weight_decay 0.1, betas (0.9, 0.95),
// eps 1e-8, clip 1.0, batch 8, seq_len 256, grad_accum 1, pack 1, seed 1.
void tf_train_defaults(tf_train_options *o);
// The learning rate at update step (0-based): linear warmup, then cosine to min_lr at o->steps.
float tf_train_lr(const tf_train_options *o, int step);

typedef struct {
    int steps_done;  // updates made in all (a resumed run counts the earlier ones)
    int steps_run;   // updates made by this call (0: a resumed run that was already complete)
    float last_loss, best_eval_loss, last_eval_loss;  // -1: no update in this call / no held-out set
    double tokens_per_s;
} tf_train_result;

// Trains m on train (eval may be NULL). Writes out_dir/checkpoint/ every save_every steps and at the
// end, and the model (HF layout) in out_dir. With resume, restores m's weights, the optimizer, the
// step and the data order from out_dir/checkpoint/ first, and cuts o->log back to its length at that
// checkpoint; when out_dir holds no checkpoint yet (a run killed before its first one), training starts
// from the beginning and o->log is emptied. So a run killed at any moment and resumed ends with the
// same model, checkpoint and log lines as an uninterrupted one (o->log must be opened for appending).
int tf_train(tf_model *m, const tf_dataset *train, const tf_dataset *eval, const tf_train_options *o,
             tf_train_result *res, tf_error *err);
// Bytes full training of a model with config c needs at micro-batch B x T (the fp32 weights, their
// gradients and AdamW moments, the bf16 weight copy for dtype bf16, and the activations);
// *params_bytes (may be NULL) gets the parameters' share.
double tf_train_memory_need(const tf_config *c, int B, int T, tf_dtype dtype, double *params_bytes);
// Refuses (TF_ENOMEM, one line naming what, the need and the machine's MemAvailable, suggesting
// --lora) when procs processes of full training at B x T do not fit in the memory available now.
// Call it before loading or creating the model. TF_OK where the available memory cannot be read.
int tf_train_memory_check(const tf_config *c, int B, int T, tf_dtype dtype, int procs, const char *what,
                          tf_error *err);

// Mean NLL over the held-out documents, in fixed rows of seq_len (deterministic).
float tf_eval_loss(tf_model *m, const tf_dataset *ds, int batch, int seq_len, tf_error *err);

// Checkpoint = model + AdamW moments + trainer state, written to dir/checkpoint/ by writing a new
// directory and swapping it in, so a crash leaves the previous checkpoint whole.
typedef struct {
    int step;
    uint64_t rng[4];
    int epoch;
    long cursor;
    float best_eval_loss;
    long log_bytes;  // length of the training log when the checkpoint was taken (-1: no log / unknown);
                     // a resumed run cuts the log back to it, so no step's line appears twice
    char run[1024];  // the run's identity (tf_train_identity; "" in checkpoints of older versions)
} tf_train_state;
// The run's identity as text, "key value; key value; ...": the training data (documents, tokens and
// a checksum of the ids and loss weights), batch, seq-len, grad-accum, lr, min-lr, warmup,
// weight-decay, grad-clip, seed, packing and steps. A checkpoint records it; resuming compares it.
void tf_train_identity(const tf_train_options *o, const tf_dataset *train, char *out, size_t n);
// TF_OK when the identity recorded in a checkpoint (was; "" = not recorded) is now's, else a
// TF_EBADARG naming the first item that differs ("--resume: DIR/checkpoint was written by a
// different run: its batch was 8, now 4; ...").
int tf_train_identity_check(const char *was, const char *now, const char *dir, tf_error *err);
int tf_checkpoint_save(const tf_model *m, const tf_train_state *st, const char *dir, tf_error *err);
// Loads dir/checkpoint/ into m (same config) and st.
int tf_checkpoint_load(tf_model *m, tf_train_state *st, const char *dir, tf_error *err);
// 1 when dir holds a checkpoint to resume from (dir/checkpoint/, or dir/checkpoint.old/ left by a crash
// between the two renames of tf_checkpoint_save).
int tf_checkpoint_exists(const char *dir);

#endif
