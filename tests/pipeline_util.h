// pipeline_util.h — a tiny language model with its own trained tokenizer, for pipeline tests.
#ifndef TF_TEST_PIPELINE_UTIL_H
#define TF_TEST_PIPELINE_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tmp_util.h"
#include "toolformer.h"

// Trains a byte-level BPE on text, creates a GPT-2 of the given width with that vocabulary, and
// writes both into dir (a model directory the CLI can use). Returns the model (caller frees).
static inline tf_model *tiny_lm(const char *dir, const char *text, int n_layer, int n_embd, uint64_t seed) {
    tf_error err;
    tf_tokenizer *tok = NULL;
    const char *special[] = {"<|endoftext|>"};
    cr_assert_eq(tf_tokenizer_train(text, strlen(text), 400, special, 1, &tok, &err), TF_OK, "%s", err.msg);
    tf_config c;
    tf_config_gpt2(&c, n_layer, n_embd, 2, tf_tokenizer_vocab_size(tok), 128);
    c.bos_token_id = c.eos_token_id = tf_tokenizer_eos_id(tok);
    tf_model *m = tf_model_new(&c, seed, &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_assert_eq(tf_model_save(m, dir, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_save(tok, dir, &err), TF_OK, "%s", err.msg);
    tf_tokenizer_free(tok);
    return m;
}

// A text with a call whose stated result is WRONG (99): a model that has memorised it makes the call
// when greedy decoding starts at CALC_PROMPT, and the tool then inserts its real result, 42.
#define CALC_PROMPT "The shop sells 12 pears and 30 plums, a total of"
#define CALC_DOC CALC_PROMPT " [Calculator(12 + 30) -> 99] 42 fruits."

// tiny_lm (1 layer, width 32, seed 5) in dir, then trained on eight copies of doc until it has
// memorised it (150 steps, lr 1e-2 down to 1e-3; the loss must end below 0.1), on one thread. Returns
// the trained model and, in *tok, the tokenizer of dir (both for the caller to free). The model is
// not saved: the training's checkpoints go to dir, the model directory keeps tiny_lm's weights.
static inline tf_model *memorised_lm(const char *dir, const char *doc, tf_tokenizer **tok) {
    tf_set_threads(1);
    tf_model *m = tiny_lm(dir, doc, 1, 32, 5);
    tf_error err;
    *tok = tf_tokenizer_load(dir, &err);
    cr_assert_not_null(*tok, "%s", err.msg);
    int *ids, n;
    cr_assert_eq(tf_tokenizer_encode(*tok, doc, strlen(doc), 0, &ids, &n, &err), TF_OK);
    tf_dataset ds = {0};
    for (int k = 0; k < 8; k++) cr_assert_eq(tf_dataset_add(&ds, ids, NULL, n, &err), TF_OK);
    tf_train_options o;
    tf_train_defaults(&o);
    o.steps = 150, o.batch = 4, o.seq_len = n - 1, o.lr = 1e-2f, o.min_lr = 1e-3f, o.warmup = 5;
    o.pack = 0, o.quiet = 1, o.out_dir = dir;
    tf_train_result r;
    cr_assert_eq(tf_train(m, &ds, NULL, &o, &r, &err), TF_OK, "%s", err.msg);
    cr_assert_lt(r.last_loss, 0.1f, "the model did not memorise the text (loss %.3f)", r.last_loss);
    tf_dataset_free(&ds);
    free(ids);
    return m;
}

#endif
