// fuzz_tokenizer_pair.c — the two-file tokenizer loaders: vocab.json + merges.txt (Hugging Face)
// and encoder.json + vocab.bpe (OpenAI's GPT-2 files). Input: the JSON vocabulary, a line
// "#=== merges ===" and the merges text; its first byte's lowest bit picks the file names.
#include <stdint.h>

#include "fuzz_tok_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int openai = data[0] & 1;
    const uint8_t *a, *b;
    size_t na, nb;
    fuzz_split(data + 1, size - 1, "\n#=== merges ===\n", &a, &na, &b, &nb);
    char path[512];
    fuzz_unlink("vocab.json");
    fuzz_unlink("merges.txt");
    fuzz_unlink("encoder.json");
    fuzz_unlink("vocab.bpe");
    fuzz_write(path, sizeof path, openai ? "encoder.json" : "vocab.json", a, na);
    fuzz_write(path, sizeof path, openai ? "vocab.bpe" : "merges.txt", b, nb);
    fuzz_load_and_check_tokenizer();
    return 0;
}
