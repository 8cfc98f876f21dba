// toolformer.h — the public C API of toolformer.c (Toolformer, Schick et al. 2023, in C).
//
// Link with build/libtoolformer.a. Each layer has its own header, included here:
//   tf_common.h     errors, aligned memory, files, random numbers, progress bars, threads
//   tf_model.h      transformer engine: load/save HF directories, forward/backward, AdamW, KV cache
//   tf_tokenizer.h  byte-level BPE (GPT-2 exact), HF tokenizer files, trainer
//   tf_tools.h      tool interface and the Calendar, Calculator, WikiSearch, QA, MT, external tools
//   tf_train.h      training loop, schedules, checkpoints that resume exactly
//   tf_dist.h       processes working together (MPI when built with it): data parallel, shards
#ifndef TOOLFORMER_H
#define TOOLFORMER_H

#include "tf_common.h"
#include "tf_model.h"
#include "tf_tokenizer.h"
#include "tf_tools.h"
#include "tf_train.h"
#include "tf_dist.h"

#endif
