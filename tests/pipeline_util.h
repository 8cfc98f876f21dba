// pipeline_util.h — a tiny language model with its own trained tokenizer, for pipeline tests.
#ifndef TF_TEST_PIPELINE_UTIL_H
#define TF_TEST_PIPELINE_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

static inline void rm_rf_dir(const char *d) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

#endif
