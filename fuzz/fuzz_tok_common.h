// fuzz_tok_common.h — what the tokenizer targets check once a fuzzed vocabulary has loaded:
// encoding a fixed text either fails cleanly (a byte without a token) or decodes back to the
// exact bytes (tf_tokenizer.h: decode(encode(x)) == x), with and without special tokens.
#ifndef TF_FUZZ_TOK_COMMON_H
#define TF_FUZZ_TOK_COMMON_H

#include "fuzz_util.h"
#include "tf_tokenizer.h"

static void fuzz_check_tokenizer(const tf_tokenizer *t) {
    static const char TEXT[] = "Hello world, it's 2023! [Calculator(400 / 1400) -> 0.29] <|endoftext|>"
                               " caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \xff\xfe\n\n  x";
    int V = tf_tokenizer_vocab_size(t);
    FUZZ_CHECK(V > 0, "empty vocabulary accepted");
    for (int special = 0; special < 2; special++) {
        int *ids = NULL, n = 0;
        tf_error err = {0};
        if (tf_tokenizer_encode(t, TEXT, sizeof TEXT - 1, special, &ids, &n, &err) != TF_OK) {
            FUZZ_CHECK(err.msg[0], "encode failed without a message");
            free(ids);
            continue;
        }
        for (int i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < V, "id %d of %d", ids[i], V);
        size_t len = 0;
        char *back = tf_tokenizer_decode(t, ids, n, &len, &err);
        FUZZ_CHECK(back, "decode failed: %s", err.msg);
        FUZZ_CHECK(len == sizeof TEXT - 1 && !memcmp(back, TEXT, len), "decode(encode(x)) != x: '%.*s'", (int)len,
                   back);
        free(back);
        free(ids);
    }
    tf_tokenizer_token_id(t, " [");
    tf_tokenizer_eos_id(t);
}

// Loads the tokenizer files written into fuzz_dir(): a tokenizer that loads must pass
// fuzz_check_tokenizer; one that does not must fail with a bad-file or I/O error.
static void fuzz_load_and_check_tokenizer(void) {
    tf_error err = {0};
    tf_tokenizer *t = tf_tokenizer_load(fuzz_dir(), &err);
    if (t) {
        fuzz_check_tokenizer(t);
        tf_tokenizer_free(t);
    } else {
        FUZZ_CHECK(err.code == TF_EBADFILE || err.code == TF_EIO, "code %d: %s", err.code, err.msg);
    }
}

#endif
