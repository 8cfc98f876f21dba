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

static void remove_dir(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
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
    remove_dir(dir);
    free(corpus);
}

// Encodes texts (joined by U+001E, each ending with one) with Hugging Face's tokenizers from
// dir/tokenizer.json and checks every id list against ours.
static void assert_hugging_face_agrees(const tf_tokenizer *t, const char *dir, const char *texts) {
    char path[256], cmd[512];
    tf_error err = {0};
    snprintf(path, sizeof path, "%s/in.txt", dir);
    cr_assert_eq(tf_write_file_atomic(path, texts, strlen(texts), &err), TF_OK);
    snprintf(cmd, sizeof cmd, "node tests/fixtures/tokenizer/hf_encode.js %s/tokenizer.json < %s", dir, path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char line[1 << 16];
    int count = 0;
    for (const char *s = texts, *e; (e = strchr(s, '\x1e')); s = e + 1, count++) {
        cr_assert_not_null(fgets(line, sizeof line, p), "text %d: no output from Hugging Face tokenizers", count);
        char *probe = strndup(s, (size_t)(e - s));
        int n;
        int *ids = enc(t, probe, 0, &n);
        cJSON *j = cJSON_Parse(line);
        cr_assert_eq(cJSON_GetArraySize(j), n, "text %d '%s': Hugging Face %s", count, probe, line);
        int k = 0;
        for (cJSON *x = j->child; x; x = x->next, k++)
            cr_assert_eq(x->valueint, ids[k], "text %d '%s' id %d: Hugging Face %s", count, probe, k, line);
        cJSON_Delete(j);
        free(ids);
        free(probe);
    }
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "node failed");
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
    // the probe without the special token (Hugging Face would match it; we only do when asked)
    assert_hugging_face_agrees(t, dir, "The small model uses the tool [Calculator(12 + 30) -> 42]. Café 東京 😀 it's 2023!\n\n"
                                       "  unseen wordz QQQ\x1e");
    tf_tokenizer_free(t);
    remove_dir(dir);
    free(corpus);
}

// --split-digits: Hugging Face's Sequence[Digits(individual_digits), ByteLevel]. Every digit is
// its own token; Hugging Face reads the saved tokenizer.json and encodes hand-picked edge cases
// (spaces and newlines before digits, other numerals, digits inside words) and random strings
// alike; the file reloads with the split, and vocab.json + merges.txt alone do not carry it.
Test(tokenizer_train, split_digits_matches_hugging_face_digits_pre_tokenizer) {
    size_t len;
    char *corpus = read_fixture("train_corpus.txt", &len);
    const char *special[] = {"<|endoftext|>"};
    tf_error err = {0};
    tf_tokenizer *t = NULL;
    // whitespace runs before digits are pieces of their own only with the split: learn some
    const char *tables = "\n\n12  34\t\t56 \n 78";
    size_t tl = strlen(tables);
    char *text = malloc(len + 20 * tl);
    cr_assert_not_null(text);
    memcpy(text, corpus, len);
    for (int i = 0; i < 20; i++) memcpy(text + len + (size_t)i * tl, tables, tl);
    cr_assert_eq(tf_tokenizer_train_progress(text, len + 20 * tl, 450, special, 1, 1, &t, NULL, NULL, &err), TF_OK,
                 "%s", err.msg);
    free(text);
    cr_assert_eq(tf_tokenizer_splits_digits(t), 1);
    cr_assert_geq(tf_tokenizer_token_id(t, "\n\n"), 0);
    cr_assert_geq(tf_tokenizer_token_id(t, "  "), 0);
    for (int id = 0; id < tf_tokenizer_vocab_size(t); id++) {
        size_t bl;
        const char *b = tf_tokenizer_token_bytes(t, id, &bl);
        for (size_t i = 0; i < bl; i++)
            cr_assert(!(b[i] >= '0' && b[i] <= '9') || bl == 1, "token %d '%.*s' holds a digit", id, (int)bl, b);
    }
    int n;
    int *ids = enc(t, " 2023", 0, &n);
    cr_assert_eq(n, 5, "' 2023' is ' ', '2', '0', '2', '3' (got %d ids)", n);
    free(ids);
    char dir[] = "/tmp/tf_tok_train_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(tf_tokenizer_save(t, dir, &err), TF_OK, "%s", err.msg);
    char texts[1 << 14] = "The year 2023 is here. [Calculator(755 + 14) -> 769]\x1e"
                          "Of 793 apples, 24 (x12) \xc2\xbd \xc2\xb2 3rd  5 it's 5's\x1e"
                          "a \n 5\t\t7\n\n8 \xd9\xa3\xd9\xa4 end  \x1e"
                          "  9\x1e" "1\x1e";
    tf_rng r;
    tf_rng_seed(&r, 11);
    static const char *pick[] = {" ", "  ", "\n", "\t", "1", "23", "a", "bc", "'s", ".", "(", " [", "->",
                                 "\xc2\xbd", "\xe2\x85\xa0", "\xd9\xa3", "\xc3\xa9"};
    for (int i = 0; i < 200; i++) {
        size_t at = strlen(texts);
        int parts = 1 + (int)(tf_rng_u64(&r) % 12);
        for (int k = 0; k < parts; k++) strcat(texts + at, pick[tf_rng_u64(&r) % (sizeof pick / sizeof *pick)]);
        strcat(texts + at, "\x1e");
    }
    assert_hugging_face_agrees(t, dir, texts);
    tf_tokenizer *back = tf_tokenizer_load(dir, &err);
    cr_assert_not_null(back, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_splits_digits(back), 1);
    tf_tokenizer_free(back);
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    cr_assert_eq(unlink(path), 0);
    back = tf_tokenizer_load(dir, &err);  // vocab.json + merges.txt
    cr_assert_not_null(back, "%s", err.msg);
    cr_assert_eq(tf_tokenizer_splits_digits(back), 0);
    tf_tokenizer_free(back);
    tf_tokenizer_free(t);
    remove_dir(dir);
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
    remove_dir(dir);
}
