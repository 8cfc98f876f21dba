// tf_eval.h — evaluation in the paper's style (Toolformer §4.2, Appendix C): zero-shot prompts,
// greedy decoding with the k = 10 call rule and at most one call, lenient metrics, call rates; and
// perplexity with calls disabled.
#ifndef TF_EVAL_H
#define TF_EVAL_H

#include "tf_infer.h"

typedef enum { TF_TASK_MATH = 0, TF_TASK_DATES, TF_TASK_FACTS, TF_TASK_PPL } tf_task;
// "math", "dates", "facts", "ppl" -> task; -1 for an unknown name.
int tf_task_parse(const char *name);
const char *tf_task_name(tf_task t);

// Math (footnote 7): the first number of the generation; when it holds an equation ("5+3=8"), the
// first number after "=". Calls are removed first. Numbers may carry thousands separators.
int tf_eval_math_correct(const char *generated, const char *answer);
// Facts and dates (LAMA rule): the answer (case-insensitive) within the first n_words words.
int tf_eval_words_contain(const char *generated, const char *answer, int n_words);

typedef struct {
    tf_task task;
    tf_toolgen_options gen;  // decoding (tools on, disabled, or none)
    long max_examples;       // 0: all
    int n_words;             // facts/dates window (default 5)
    int seq_len, batch;      // perplexity windows (default min(256, n_positions), 4)
    FILE *details;           // one JSON line per example when non-NULL
    int quiet;
} tf_eval_options;
void tf_eval_defaults(tf_eval_options *o);

typedef struct {
    long n, correct;
    double accuracy;
    long with_call[TF_MAX_TOOLS];    // examples where the tool was called
    long any_call;
    long too_long;           // prompts that leave no room in the model's context: not scored, not in n
    double mean_nll, ppl;    // perplexity task
    long tokens;
    double seconds;
} tf_eval_result;

// Runs a task on JSONL data: {"prompt", "answer", "date"} lines (math, dates, facts) or {"text"}
// lines (ppl).
int tf_eval_run(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const char *data,
                const tf_eval_options *o, tf_eval_result *res, tf_error *err);

#endif
