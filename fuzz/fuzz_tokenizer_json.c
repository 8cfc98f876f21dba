// fuzz_tokenizer_json.c — the Hugging Face tokenizer.json loader (model type, vocab, merges as
// strings or pairs, added_tokens, pre-tokenizer and normalizer checks). The input is the file.
#include <stdint.h>

#include "fuzz_tok_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fuzz_write(path, sizeof path, "tokenizer.json", data, size);
    fuzz_load_and_check_tokenizer();
    return 0;
}
