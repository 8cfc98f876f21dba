// fuzz_jsonl.c — the JSONL readers: the corpus reader of annotate (tf_corpus: {"id", "text",
// "date"} lines, or blank-line separated plain text) and the training data loader
// (tf_dataset_load_jsonl: "ids" arrays, "text" through a tokenizer, "loss_mask"), and the shard
// joiner of annotate's outputs (tf_merge_shards: "doc_index" lines, progress files). The input is
// the file; for the joiner it is cut at "\n#=== shard ===\n" into two shards, and an optional
// "\n#=== progress ===\n" part is the first shard's progress file. Properties: every document is a
// NUL-terminated string with an id; an error names the file and line; a loaded dataset's ids are
// inside the vocabulary and its documents tile it; a join writes every non-blank line once, in
// doc_index order.
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

// Non-blank lines of text[n]; -1 when a line lacks its newline.
static long count_lines(const uint8_t *t, size_t n) {
    long lines = 0;
    for (size_t i = 0; i < n;) {
        const uint8_t *nl = memchr(t + i, '\n', n - i);
        if (!nl) return -1;
        size_t e = (size_t)(nl - t);
        int blank = 1;
        for (size_t k = i; k < e; k++) blank &= t[k] == ' ' || t[k] == '\t' || t[k] == '\r';
        lines += !blank;
        i = e + 1;
    }
    return lines;
}

static void check_merge(const uint8_t *data, size_t size) {
    const uint8_t *a, *rest, *b, *p;
    size_t na, nrest, nb, np;
    fuzz_split(data, size, "\n#=== shard ===\n", &a, &na, &rest, &nrest);
    fuzz_split(rest, nrest, "\n#=== progress ===\n", &b, &nb, &p, &np);
    if (na < size) na++;  // the first shard keeps the separator's newline
    char pa[512], pb[512], pp[512], out[512];
    fuzz_write(pa, sizeof pa, "shard-a.jsonl", a, na);
    fuzz_write(pb, sizeof pb, "shard-b.jsonl", b, nb);
    int with_progress = b + nb < data + size;
    if (with_progress) fuzz_write(pp, sizeof pp, "shard-a.jsonl.progress", p, np);
    else fuzz_unlink("shard-a.jsonl.progress");
    fuzz_path(out, sizeof out, "merged.jsonl");
    unlink(out);
    const char *shards[2] = {pa, pb};
    long lines = -1;
    tf_error err = {0};
    int rc = tf_merge_shards(out, shards, 2, !with_progress, &lines, &err);
    if (rc == TF_OK) {
        long la = count_lines(a, na), lb = count_lines(b, nb);
        FUZZ_CHECK(la >= 0 && lb >= 0 && lines == la + lb, "%ld lines written from %ld + %ld", lines, la, lb);
        size_t n;
        char *m = tf_read_file(out, &n, &err);
        FUZZ_CHECK(m && count_lines((const uint8_t *)m, n) == lines, "the joined file's lines");
        free(m);
    } else {
        FUZZ_CHECK(err.msg[0] && rc != TF_EINTERNAL, "rc %d: %s", rc, err.msg);
        FUZZ_CHECK(access(out, F_OK) != 0, "a failed join left %s", out);
    }
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
    check_merge(data, size);
    return 0;
}
