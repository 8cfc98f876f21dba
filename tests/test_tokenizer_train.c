// test_tokenizer_train.c — the BPE trainer against an independent naive trainer
// (tests/fixtures/tokenizer/make_train_vectors.py), a hand-worked example, the call markers,
// reloading, Hugging Face loading, and bad arguments.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolformer.h"

static char *read_fixture(const char *name, size_t *len) {
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/tokenizer/%s", name);
    tf_error err = {0};
    char *s = tf_read_file(path, len, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

static tf_tokenizer *train(const char *text, size_t len, int vocab, const char *const *special, int ns) {
    tf_error err = {0};
    tf_tokenizer *t = NULL;
    int rc = tf_tokenizer_train(text, len, vocab, special, ns, &t, &err);
    cr_assert_eq(rc, TF_OK, "training failed: %s", err.msg);
    return t;
}

static int *enc(const tf_tokenizer *t, const char *s, int special, int *n) {
    tf_error err = {0};
    int *ids = NULL;
    cr_assert_eq(tf_tokenizer_encode(t, s, strlen(s), special, &ids, n, &err), TF_OK, "%s", err.msg);
    return ids;
}

static void assert_token(const tf_tokenizer *t, int id, const char *want, size_t wl) {
    size_t len;
    const char *b = tf_tokenizer_token_bytes(t, id, &len);
    cr_assert_not_null(b, "token %d missing", id);
    cr_assert(len == wl && !memcmp(b, want, wl), "token %d is '%.*s', expected '%.*s'", id, (int)len, b, (int)wl,
              want);
}

Test(tokenizer_train, matches_independent_naive_trainer) {
    size_t len;
    char *corpus = read_fixture("train_corpus.txt", &len);
    char *exp = read_fixture("train_expected.json", NULL);
    cJSON *cases = cJSON_Parse(exp);
    cr_assert_eq(cJSON_GetArraySize(cases), 2);
    for (cJSON *c = cases->child; c; c = c->next) {
        int vocab = cJSON_GetObjectItem(c, "vocab_size")->valueint;
        const char *special[] = {"<|endoftext|>"};
        tf_tokenizer *t = train(corpus, len, vocab, special, 1);
        cJSON *toks = cJSON_GetObjectItem(c, "tokens_hex");
        cr_assert_eq(tf_tokenizer_vocab_size(t), cJSON_GetArraySize(toks), "vocabulary %d: %d tokens, expected %d",
                     vocab, tf_tokenizer_vocab_size(t), cJSON_GetArraySize(toks));
        int id = 0;
        for (cJSON *h = toks->child; h; h = h->next, id++) {
            char want[256];
            size_t wl = strlen(h->valuestring) / 2;
            for (size_t i = 0; i < wl; i++) sscanf(h->valuestring + 2 * i, "%2hhx", (unsigned char *)&want[i]);
            assert_token(t, id, want, wl);
        }
        cr_assert_eq(tf_tokenizer_eos_id(t), tf_tokenizer_vocab_size(t) - 1);
        tf_tokenizer_free(t);
    }
    cJSON_Delete(cases);
    free(exp);
    free(corpus);
}

// "ab ab ab cd": pieces "ab" x1, " ab" x2, " cd" x1. After the three call-marker merges (256-258),
// (a, b) occurs 3 times -> 259 "ab"; then (" ", ab) twice -> 260 " ab"; every other pair occurs
// once, so training stops with 261 ids.
Test(tokenizer_train, hand_worked_example_stops_early) {
    const char *text = "ab ab ab cd";
    tf_tokenizer *t = train(text, strlen(text), 300, NULL, 0);
    cr_assert_eq(tf_tokenizer_vocab_size(t), 261);
    assert_token(t, 256, " [", 2);
    assert_token(t, 257, " -", 2);
    assert_token(t, 258, " ->", 3);
    assert_token(t, 259, "ab", 2);
    assert_token(t, 260, " ab", 3);
    cr_assert_eq(tf_tokenizer_eos_id(t), -1);
    int n;
    int *ids = enc(t, "ab ab cd", 0, &n);
    cr_assert_eq(n, 5);
    cr_assert_eq(ids[0], 259);
    cr_assert_eq(ids[1], 260);
    cr_assert_eq(ids[2], ' ');
    cr_assert_eq(ids[3], 'c');
    free(ids);
    tf_tokenizer_free(t);
}

Test(tokenizer_train, call_markers_are_single_tokens) {
    size_t len;
    char *corpus = read_fixture("train_corpus.txt", &len);
    const char *special[] = {"<|endoftext|>"};
    tf_tokenizer *t = train(corpus, len, 300, special, 1);
    const char *markers[] = {" [", "]", " ->"};
    for (int i = 0; i < 3; i++) {
        int n;
        int *ids = enc(t, markers[i], 0, &n);
        cr_assert_eq(n, 1, "'%s' is %d tokens", markers[i], n);
        cr_assert_eq(ids[0], tf_tokenizer_token_id(t, markers[i]));
        free(ids);
    }
    tf_tokenizer_free(t);
    free(corpus);
}

Test(tokenizer_train, specials_are_last_and_only_matched_when_allowed) {
    size_t len;
    char *corpus = read_fixture("train_corpus.txt", &len);
    const char *special[] = {"<|endoftext|>", "<|pad|>"};
    tf_tokenizer *t = train(corpus, len, 400, special, 2);
    cr_assert_eq(tf_tokenizer_vocab_size(t), 400);
    cr_assert_eq(tf_tokenizer_token_id(t, "<|endoftext|>"), 398);
    cr_assert_eq(tf_tokenizer_token_id(t, "<|pad|>"), 399);
    cr_assert_eq(tf_tokenizer_eos_id(t), 398);
    int n;
    int *ids = enc(t, "x<|pad|>", 1, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[1], 399);
    free(ids);
    ids = enc(t, "x<|pad|>", 0, &n);
    cr_assert_gt(n, 2);
    free(ids);
    tf_tokenizer_free(t);
    free(corpus);
}

static const char *PROBE = "The small model uses the tool [Calculator(12 + 30) -> 42]. Café 東京 😀 it's 2023!\n\n"
                           "  unseen wordz QQQ <|endoftext|> tail";

Test(tokenizer_train, saved_vocabulary_reloads_to_same_encodings) {
    size_t len;
    char *corpus = read_fixture("train_corpus.txt", &len);
    const char *special[] = {"<|endoftext|>"};
    tf_tokenizer *t = train(corpus, len, 450, special, 1);
    char dir[] = "/tmp/tf_tok_train_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    tf_error err = {0};
    cr_assert_eq(tf_tokenizer_save(t, dir, &err), TF_OK, "%s", err.msg);
    tf_tokenizer *r = tf_tokenizer_load(dir, &err);
    cr_assert_not_null(r, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_vocab_size(r), 450);
    cr_assert_eq(tf_tokenizer_eos_id(r), 449);
    for (int special_ok = 0; special_ok < 2; special_ok++) {
        int na, nb;
        int *a = enc(t, PROBE, special_ok, &na), *b = enc(r, PROBE, special_ok, &nb);
        cr_assert_eq(na, nb);
        cr_assert(!memcmp(a, b, (size_t)na * sizeof(int)));
        size_t dl;
        char *back = tf_tokenizer_decode(r, b, nb, &dl, &err);
        cr_assert_str_eq(back, PROBE);
        free(back);
        free(a);
        free(b);
    }
    tf_tokenizer_free(r);
    tf_tokenizer_free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    free(corpus);
}

// Hugging Face's tokenizers (Node binding) encodes with our trained tokenizer.json as we do.
Test(tokenizer_train, hugging_face_encodes_trained_vocabulary_alike) {
    size_t len;
    char *corpus = read_fixture("train_corpus.txt", &len);
    const char *special[] = {"<|endoftext|>"};
    tf_tokenizer *t = train(corpus, len, 450, special, 1);
    char dir[] = "/tmp/tf_tok_train_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    tf_error err = {0};
    cr_assert_eq(tf_tokenizer_save(t, dir, &err), TF_OK, "%s", err.msg);
    char path[256], cmd[512];
    snprintf(path, sizeof path, "%s/in.txt", dir);
    // the probe without the special token (Hugging Face would match it; we only do when asked)
    const char *texts = "The small model uses the tool [Calculator(12 + 30) -> 42]. Café 東京 😀 it's 2023!\n\n"
                        "  unseen wordz QQQ\x1e";
    cr_assert_eq(tf_write_file_atomic(path, texts, strlen(texts), &err), TF_OK);
    snprintf(cmd, sizeof cmd, "node tests/fixtures/tokenizer/hf_encode.js %s/tokenizer.json < %s", dir, path);
    FILE *p = popen(cmd, "r");
    char line[8192] = "";
    cr_assert_not_null(fgets(line, sizeof line, p), "no output from Hugging Face tokenizers (run .ci/setup-extra)");
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "node failed");
    char probe[256];
    snprintf(probe, sizeof probe, "%.*s", (int)(strlen(texts) - 1), texts);
    int n;
    int *ids = enc(t, probe, 0, &n);
    cJSON *j = cJSON_Parse(line);
    cr_assert_eq(cJSON_GetArraySize(j), n, "Hugging Face: %s", line);
    int k = 0;
    for (cJSON *e = j->child; e; e = e->next, k++) cr_assert_eq(e->valueint, ids[k], "id %d: %s", k, line);
    cJSON_Delete(j);
    free(ids);
    tf_tokenizer_free(t);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    free(corpus);
}

Test(tokenizer_train, rejects_bad_arguments) {
    tf_error err = {0};
    tf_tokenizer *t = NULL;
    cr_assert_eq(tf_tokenizer_train("abc", 3, 200, NULL, 0, &t, &err), TF_EBADARG);
    cr_assert(strstr(err.msg, "vocabulary size 200"), "%s", err.msg);
    cr_assert_null(t);
    const char *dup[] = {"<s>", "<s>"};
    cr_assert_eq(tf_tokenizer_train("abc", 3, 300, dup, 2, &t, &err), TF_EBADARG);
    cr_assert(strstr(err.msg, "given twice"), "%s", err.msg);
    const char *empty[] = {""};
    cr_assert_eq(tf_tokenizer_train("abc", 3, 300, empty, 1, &t, &err), TF_EBADARG);
    // an empty corpus still gives the bytes, the markers and the specials
    const char *eot[] = {"<|endoftext|>"};
    cr_assert_eq(tf_tokenizer_train("", 0, 300, eot, 1, &t, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_vocab_size(t), 260);
    tf_tokenizer_free(t);
}

Test(tokenizer_train, cli_trains_from_jsonl_and_rejects_bad_lines) {
    const char *bin = getenv("TF_BIN") ? getenv("TF_BIN") : "build/toolformer";
    char dir[] = "/tmp/tf_tok_train_XXXXXX", path[256], cmd[1024];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.jsonl", dir);
    const char *jsonl = "{\"text\": \"the tool [Calculator(1 + 2) -> 3] the tool\"}\n{\"id\": \"2\", \"text\": \"the the tool\"}\n";
    tf_error err = {0};
    cr_assert_eq(tf_write_file_atomic(path, jsonl, strlen(jsonl), &err), TF_OK);
    snprintf(cmd, sizeof cmd, "%s tokenizer train --data %s --vocab-size 300 --out %s/tok >/dev/null 2>&1", bin, path, dir);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "training from JSONL failed");
    snprintf(path, sizeof path, "%s/tok", dir);
    tf_tokenizer *t = tf_tokenizer_load(path, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_assert_neq(tf_tokenizer_token_id(t, " tool"), -1, "' tool' (4 occurrences) was not learned");
    cr_assert_eq(tf_tokenizer_token_id(t, "\"text"), -1, "JSON syntax was learned");
    cr_assert_eq(tf_tokenizer_eos_id(t), tf_tokenizer_vocab_size(t) - 1);
    tf_tokenizer_free(t);
    snprintf(path, sizeof path, "%s/bad.jsonl", dir);
    cr_assert_eq(tf_write_file_atomic(path, "{\"text\": \"ok\"}\n{\"txt\": 1}\n", 26, &err), TF_OK);
    snprintf(cmd, sizeof cmd, "%s tokenizer train --data %s --vocab-size 300 --out %s/t2 2>%s/err.txt", bin, path, dir, dir);
    st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "bad JSONL must exit 1");
    snprintf(path, sizeof path, "%s/err.txt", dir);
    char *msg = tf_read_file(path, NULL, &err);
    cr_assert(msg && strstr(msg, "bad.jsonl:2: no \"text\""), "message: %s", msg ? msg : "(none)");
    free(msg);
    snprintf(cmd, sizeof cmd, "%s tokenizer train --data x --vocab-size 10 --out y 2>/dev/null", bin);
    st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "too small a vocabulary is bad usage");
    snprintf(cmd, sizeof cmd, "%s tokenizer train --help >/dev/null", bin);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
