// train_run.h — the work of `toolformer train` and `finetune` between their command line and their
// summary (internal to src/cli/): the output check, the model (loaded, or fresh from a config; with
// LoRA adapters), the data (with results masked for --mask-results), the log, tf_train, and the
// tokenizer saved beside the model; on one process or data parallel under mpirun.
#ifndef TF_TRAIN_RUN_H
#define TF_TRAIN_RUN_H

#include <stdio.h>

#include "cli.h"

// The command line of `train` / `finetune`, parsed and checked (cmd_train.c).
typedef struct {
    const char *cmd;        // "train" or "finetune", for messages
    tf_train_options o;     // the loop's options (out_dir, steps, batch, lr, resume, ...)
    const char *data, *model_dir, *config, *eval_path, *tok_dir, *log_path;  // unset ones NULL
    long threads;           // 0: the physical cores (under mpirun: shared by the processes on a machine)
    int json, force, mask_results;
    tf_dtype dtype;
    int lora_r, alpha_set;  // --lora R (0: full training), --lora-alpha given
    tf_lora_options lora;   // alpha, targets, dropout
    int mapped;             // 1: --mmap, 2: --mmap-copy (with --lora)
    int checkpointing;      // --checkpoint-activations
} train_args;

// How --mask-results reaches the data's encoder.
typedef struct {
    const char *dir;   // the tokenizer's directory
    int mask_results;  // weight 0 on the tokens of call results ("-> result")
} train_encode_ctx;

// What a run leaves for its summary; free with train_done.
typedef struct {
    tf_model *m;
    tf_dataset train, eval;
    FILE *log;
    tf_outguard guard;
    tf_train_dist dist;      // rank and world (1 without mpirun)
    train_encode_ctx ectx;
    tf_train_result res;
    int lead;                // this process writes and prints (rank 0)
} train_outcome;

// Runs a (tf_dist_init already called). Returns the exit code (a failure already printed).
int train_execute(train_args *a, train_outcome *o);
// Closes the log (a failure to write it turns an ok rc into a failure, printed), frees o, and on a
// failure stops the other processes; ends MPI. Returns the final exit code.
int train_done(const train_args *a, train_outcome *o, int rc);

#endif
