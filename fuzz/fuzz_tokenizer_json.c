// fuzz_tokenizer_json.c — the Hugging Face tokenizer.json loader (model type, vocab, merges as
// strings or pairs, added_tokens, pre-tokenizer and normalizer checks). The input is the file.
#include <stdint.h>

#include "fuzz_tok_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fuzz_write(path, sizeof path, "tokenizer.json", data, size);
    tf_error err = {0};
    tf_tokenizer *t = tf_tokenizer_load(fuzz_dir(), &err);
    if (t) {
        fuzz_check_tokenizer(t);
        tf_tokenizer_free(t);
    } else {
        FUZZ_CHECK(err.code == TF_EBADFILE || err.code == TF_EIO, "code %d: %s", err.code, err.msg);
    }
    return 0;
}
