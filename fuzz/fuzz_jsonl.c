// fuzz_jsonl.c — the JSONL readers: the corpus reader of annotate (tf_corpus: {"id", "text",
// "date"} lines, or blank-line separated plain text) and the training data loader
// (tf_dataset_load_jsonl: "ids" arrays, "text" through a tokenizer, "loss_mask"). The input is
// the file. Properties: every document is a NUL-terminated string with an id; an error names the
// file and line; a loaded dataset's ids are inside the vocabulary and its documents tile it.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_pipeline.h"
#include "tf_train.h"

#define VOCAB 300

// A stand-in tokenizer: one id per byte (so ids stay below 256 < VOCAB).
static int byte_encode(void *ctx, const char *text, size_t len, int **ids, int *n, float **mask, tf_error *err) {
    (void)ctx;
    (void)err;
    *ids = malloc((len ? len : 1) * sizeof **ids);
    if (!*ids) return TF_ENOMEM;
    for (size_t i = 0; i < len; i++) (*ids)[i] = (unsigned char)text[i];
    *n = (int)len;
    *mask = NULL;
    return TF_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fuzz_write(path, sizeof path, "corpus.jsonl", data, size);
    tf_error err = {0};
    tf_corpus *c = tf_corpus_open(path, &err);
    FUZZ_CHECK(c, "%s", err.msg);
    tf_document doc;
    long index, expect = 0;
    int rc;
    while ((rc = tf_corpus_next(c, &doc, &index, &err)) == 1) {
        FUZZ_CHECK(index == expect++, "index %ld", index);
        FUZZ_CHECK(doc.text && doc.id, "document without text or id");
        (void)strlen(doc.text);
        if (doc.date) (void)strlen(doc.date);
    }
    if (rc < 0) FUZZ_CHECK(err.code == TF_EBADFILE && strstr(err.msg, "corpus.jsonl:"), "%s", err.msg);
    tf_corpus_close(c);

    for (int vocab = 0; vocab <= VOCAB; vocab += VOCAB) {
        tf_dataset ds = {0};
        tf_error e2 = {0};
        rc = tf_dataset_load_jsonl(&ds, path, byte_encode, NULL, vocab, &e2);
        if (rc == TF_OK) {
            FUZZ_CHECK(ds.n_docs == 0 || ds.start, "no document starts");
            for (int d = 0; d < ds.n_docs; d++)
                FUZZ_CHECK(ds.start[d] <= ds.start[d + 1] && ds.start[d + 1] <= ds.n_tokens, "document %d", d);
            for (size_t i = 0; i < ds.n_tokens; i++)
                FUZZ_CHECK(ds.tokens[i] >= 0 && (vocab == 0 || ds.tokens[i] < vocab), "token %d", ds.tokens[i]);
        } else {
            FUZZ_CHECK(e2.msg[0] && (rc == TF_EBADFILE || rc == TF_ENOMEM), "rc %d: %s", rc, e2.msg);
        }
        tf_dataset_free(&ds);
    }
    return 0;
}
