// toolformer.h — the public C API of toolformer.c (Toolformer, Schick et al. 2023, in C).
//
// Link with build/libtoolformer.a. Each layer has its own header, included here:
//   tf_common.h     errors, aligned memory, files, random numbers, progress bars, threads
//   tf_model.h      transformer engine: load/save HF directories, forward/backward, AdamW, KV cache
//   tf_adapter.h    LoRA adapters in Hugging Face PEFT's format (modules, load, save)
//   tf_lora.h       low-rank adapters (LoRA, PEFT's math) trained on a frozen, possibly mapped base
//   tf_tokenizer.h  byte-level BPE (GPT-2 exact), HF tokenizer files, trainer
//   tf_tools.h      tool interface and the Calendar, Calculator, WikiSearch, QA, MT, external tools
//   tf_train.h      training loop, schedules, checkpoints that resume exactly
//   tf_dist.h       processes working together (MPI when built with it): data parallel, shards
//   tf_kernels.h    the numerical kernels (matmul through oneDNN, LayerNorm, GELU, attention, ...)
//   tf_safetensors.h  the safetensors reader/writer (mmapped, strictly validated)
//   tf_pipeline.h   the Toolformer pipeline: positions, calls, filter, merge, corpus annotation
//   tf_infer.h      decoding with tools (start a call in the top-k, execute at "->")
//   tf_eval.h       evaluation in the paper's style (math, dates, facts, perplexity)
//   tf_report.h     one HTML page with plots from a run's JSON files
//   tf_outguard.h   the output rule: no command overwrites an input or a finished output
#ifndef TOOLFORMER_H
#define TOOLFORMER_H

// The program's version (`toolformer --version`), written into the JSON summaries so that a report
// names what made a run.
#define TF_VERSION "0.1.0"

#include "tf_common.h"
#include "tf_model.h"
#include "tf_adapter.h"
#include "tf_lora.h"
#include "tf_tokenizer.h"
#include "tf_tools.h"
#include "tf_train.h"
#include "tf_dist.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"
#include "tf_pipeline.h"
#include "tf_infer.h"
#include "tf_eval.h"
#include "tf_serve.h"
#include "tf_report.h"
#include "tf_outguard.h"

#endif
