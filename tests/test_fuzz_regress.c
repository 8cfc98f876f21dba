// test_fuzz_regress.c — every input on which a fuzz target (fuzz/) found a crash, undefined
// behaviour or a broken property, replayed through the same library call with the clean outcome
// pinned. The inputs are committed under tests/data/fuzz-regress/ (named <target>-<what>); the fuzz
// smoke run (fuzz/run.sh smoke) also replays them through the sanitized fuzz targets.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "toolformer.h"

#define REGRESS "tests/data/fuzz-regress/"

// fuzz_jsonl: an "ids" entry of 1e76 was converted to int before its range was checked (undefined
// behaviour, reported by UBSan); it must be refused as not a token id, naming the file and line.
Test(fuzz_regress, dataset_refuses_an_id_beyond_int) {
    for (int vocab = 0; vocab <= 300; vocab += 300) {
        tf_dataset ds = {0};
        tf_error err = {0};
        int rc = tf_dataset_load_jsonl(&ds, REGRESS "jsonl-huge-id.jsonl", NULL, NULL, vocab, &err);
        cr_assert_eq(rc, TF_EBADFILE, "vocab %d: rc %d (%s)", vocab, rc, err.msg);
        cr_assert(strstr(err.msg, "jsonl-huge-id.jsonl:1: \"ids\"[4] is not a token id"), "%s", err.msg);
        tf_dataset_free(&ds);
    }
}

// fuzz_jsonl: a first document with no tokens ({"ids": []}) copied zero bytes to a NULL token
// buffer (undefined behaviour); it loads as one empty document.
Test(fuzz_regress, dataset_takes_an_empty_first_document) {
    tf_dataset ds = {0};
    tf_error err = {0};
    int rc = tf_dataset_load_jsonl(&ds, REGRESS "jsonl-empty-ids-first.jsonl", NULL, NULL, 300, &err);
    cr_assert_eq(rc, TF_OK, "%s", err.msg);
    cr_assert_eq(ds.n_docs, 1);
    cr_assert_eq(ds.n_tokens, 0);
    cr_assert_eq(ds.start[1], 0);
    tf_dataset_free(&ds);
}

// fuzz_call: the parsed call had an unquoted input that opens a quote ("\" ...a\\\\") and a
// result holding '"'; tf_call_format wrote the input unquoted because "[N(input)]" parsed back,
// but with " -> result" after it the result's '"' closed the quote and the input came back
// different. Formatting then parsing must give back name, input and result exactly.
Test(fuzz_regress, call_format_quotes_an_input_that_the_result_would_close) {
    size_t len;
    tf_error err = {0};
    char *text = tf_read_file(REGRESS "call-quote-closed-by-result.txt", &len, &err);
    cr_assert_not_null(text, "%s", err.msg);
    tf_call c, back;
    cr_assert_eq(tf_call_parse(text, len, &c, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(c.input, "\" \t\t\ta\\\\");
    cr_assert_not_null(c.result);
    char *f = tf_call_format(c.name, c.input, c.result);
    cr_assert_not_null(f);
    cr_assert_eq(tf_call_parse(f, strlen(f), &back, &err), TF_OK, "%s: %s", f, err.msg);
    cr_assert_str_eq(back.name, c.name);
    cr_assert_str_eq(back.input, c.input, "formatted as %s", f);
    cr_assert_str_eq(back.result, c.result, "formatted as %s", f);
    tf_call_free(&c);
    tf_call_free(&back);
    free(f);
    free(text);
}

// The regression config REGRESS/file is refused, with an error holding msg.
static void assert_config_refused(const char *file, const char *msg) {
    char path[512];
    snprintf(path, sizeof path, REGRESS "%s", file);
    size_t len;
    tf_error err = {0};
    char *text = tf_read_file(path, &len, &err);
    cr_assert_not_null(text, "%s", err.msg);
    tf_config cfg;
    cr_assert_eq(tf_config_parse(text, "config.json", &cfg, &err), TF_EBADFILE, "%s", file);
    cr_assert(strstr(err.msg, msg), "%s: %s", file, err.msg);
    free(text);
}

// fuzz_config: a GPT-NeoX rotary_emb_base of 1.3e56 passed the "> 1" check but became infinity as
// the engine's float (no rotation at all), and was written back as null. It must be refused.
Test(fuzz_regress, config_refuses_a_rotary_base_beyond_float) {
    assert_config_refused("config-rotary-base-beyond-float.json", "config.json: key \"rotary_emb_base\" must be greater than 1");
}

// fuzz_config: a rotary_emb_base of 1.000000000000615 passed the "> 1" check as a double but is
// 1.0f as the engine's float, and was written back as 1, which the same check refuses. It must be
// refused when read.
Test(fuzz_regress, config_refuses_a_rotary_base_that_rounds_to_one) {
    assert_config_refused("config-rotary-base-rounds-to-one.json", "config.json: key \"rotary_emb_base\" must be greater than 1");
}

// fuzz_config: "bos_token_id": -5 was accepted (eos refuses ids below -1), then written back as
// null, so the saved config read back differently. It must be refused like eos.
Test(fuzz_regress, config_refuses_a_bos_id_below_minus_one) {
    assert_config_refused("config-negative-bos.json", "config.json: key \"bos_token_id\" must be an integer");
}

// fuzz_config: "n_embd": 1911111112 with no n_inner overflowed int computing the default MLP width
// 4 * n_embd (undefined behaviour, reported by UBSan). It must be refused as implausibly large.
Test(fuzz_regress, config_refuses_a_huge_n_embd_without_overflow) {
    assert_config_refused("config-huge-n-embd.json", "config.json: implausibly large sizes");
}

// fuzz_config: GPT-NeoX with head size 339 and the default rotary_pct 0.25 has rotary_dim 84; the
// written rotary_pct 84/339 lost its last ulp in cJSON's 15-digit printing, so int(339 * pct) read
// back as 83 (odd: refused) — a saved model did not load, nor would transformers agree. The
// written config must read back to the same config.
Test(fuzz_regress, config_written_rotary_pct_reads_back_the_same_rotary_dim) {
    size_t len;
    tf_error err = {0};
    char *text = tf_read_file(REGRESS "config-neox-rotary-pct-digits.json", &len, &err);
    cr_assert_not_null(text, "%s", err.msg);
    tf_config cfg, back;
    cr_assert_eq(tf_config_parse(text, "config.json", &cfg, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(cfg.rotary_dim, 84);
    char *written = tf_config_to_json(&cfg);
    cr_assert_eq(tf_config_parse(written, "written", &back, &err), TF_OK, "%s\n%s", err.msg, written);
    cr_assert_eq(back.rotary_dim, 84, "%s", written);
    cr_assert(memcmp(&cfg, &back, sizeof cfg) == 0, "%s", written);
    free(written);
    free(text);
}
