// test_toolgen.c — decoding with tools on the shipped model (models/default): the ids always decode
// to the text (a call closed by "]" included, issue 21 #10), the step API gives what
// tf_generate_with_tools gives, and a prompt that leaves no room in the context is an error naming
// both lengths, exit 1 for `generate`, and a counted, unscored example for `eval` (issue 21 #11).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "toolformer.h"

#define MODEL "models/default"  // 4 layers, n_positions 256, a 4,096-token BPE

static tf_model *model;
static tf_tokenizer *tok;
static tf_toolset set;

static void setup(void) {
    tf_error err;
    tf_set_threads(1);
    model = tf_model_load(MODEL, &err);
    cr_assert_not_null(model, "%s", err.msg);
    tok = tf_tokenizer_load(MODEL, &err);
    cr_assert_not_null(tok, "%s", err.msg);
    memset(&set, 0, sizeof set);
    tf_tool_options topt = {0};
    cr_assert_eq(tf_toolset_parse(&set, "calculator", &topt, &err), TF_OK, "%s", err.msg);
}

static void teardown(void) {
    tf_toolset_free(&set);
    tf_tokenizer_free(tok);
    tf_model_free(model);
}

TestSuite(toolgen_default, .init = setup, .fini = teardown, .timeout = 120);

static char *decode(const int *ids, int n) {
    size_t len = 0;
    tf_error err;
    char *s = tf_tokenizer_decode(tok, ids, n, &len, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

// The base model opens " [" where a call could go but writes a note, "[result: 511]", closed by "]"
// with no "->": no tool runs and the note stays, in the text and in the ids.
Test(toolgen_default, ids_decode_to_the_text_when_a_call_closes_without_arrow) {
    tf_toolgen_options o;
    tf_toolgen_defaults(&o);
    o.max_new = 24;
    tf_toolgen_result r;
    tf_error err;
    cr_assert_eq(tf_generate_with_tools(model, tok, &set, NULL, "The total of 12 and 30 is", &o, &r, &err), TF_OK,
                 "%s", err.msg);
    cr_assert_eq(r.n_calls, 0, "a call ran: %s", r.text);
    const char *open = strstr(r.text, " [");
    cr_assert_not_null(open, "no call was opened: '%s' (the shipped model changed?)", r.text);
    cr_assert_not_null(strchr(open, ']'), "the call was not closed: '%s'", r.text);
    cr_assert_null(strstr(r.text, "->"), "'%s'", r.text);
    char *back = decode(r.ids, r.n_ids);
    cr_assert_str_eq(back, r.text, "the ids decode to '%s', the text is '%s'", back, r.text);
    free(back);
    tf_toolgen_result_free(&r);
}

// A budget that runs out inside a call (before "->" or "]") keeps what the model wrote of it: every
// step's token is in the ids, the ids decode to the text, and nothing ran. (It used to drop the
// unfinished call, so `generate --max-new 12` could print nothing at all.)
Test(toolgen_default, a_budget_that_ends_inside_a_call_keeps_its_tokens) {
    int inside = 0;
    for (int n = 1; n <= 16; n++) {
        tf_toolgen_options o;
        tf_toolgen_defaults(&o);
        o.max_new = n;
        tf_toolgen_result r;
        tf_error err;
        cr_assert_eq(tf_generate_with_tools(model, tok, &set, NULL, "The total of 12 and 30 is", &o, &r, &err), TF_OK,
                     "%s", err.msg);
        cr_assert_eq(r.n_calls, 0, "a call ran: %s", r.text);
        cr_assert_eq(r.n_ids, n, "max_new %d: %d ids kept ('%s')", n, r.n_ids, r.text);
        char *back = decode(r.ids, r.n_ids);
        cr_assert_str_eq(back, r.text, "max_new %d: the ids decode to '%s', the text is '%s'", n, back, r.text);
        const char *open = strstr(r.text, " [");
        inside += open && !strchr(open, ']');
        free(back);
        tf_toolgen_result_free(&r);
    }
    cr_assert_gt(inside, 0, "no budget ended inside a call (the shipped model changed?)");
}

typedef struct {
    char s[4096];
    size_t n;
} sink;

static void on_text(void *ctx, const char *text, size_t len) {
    sink *k = ctx;
    cr_assert_lt(k->n + len, sizeof k->s);
    memcpy(k->s + k->n, text, len);
    k->n += len;
    k->s[k->n] = '\0';
}

// A server's way: two requests advanced a step at a time, interleaved, give what one call of
// tf_generate_with_tools gives for each, and the streamed pieces add up to the text.
Test(toolgen_default, steps_interleaved_give_what_one_call_gives) {
    const char *prompts[2] = {"The total of 12 and 30 is", "On the first day of the month the shop"};
    tf_toolgen_options o;
    tf_toolgen_defaults(&o);
    o.max_new = 30;
    o.api_top_k = 20;
    o.max_calls = 3;
    tf_toolgen_result want[2];
    tf_error err;
    for (int i = 0; i < 2; i++)
        cr_assert_eq(tf_generate_with_tools(model, tok, &set, NULL, prompts[i], &o, &want[i], &err), TF_OK, "%s",
                     err.msg);
    sink streamed[2] = {0};
    tf_toolgen *g[2];
    for (int i = 0; i < 2; i++) {
        tf_toolgen_options oi = o;
        oi.on_text = on_text;
        oi.ctx = &streamed[i];
        g[i] = tf_toolgen_start(model, tok, &set, NULL, prompts[i], &oi, &err);
        cr_assert_not_null(g[i], "%s", err.msg);
    }
    int steps = 0;
    while (!tf_toolgen_done(g[0]) || !tf_toolgen_done(g[1])) {
        for (int i = 0; i < 2; i++) cr_assert_eq(tf_toolgen_step(g[i], &err), TF_OK, "%s", err.msg);
        cr_assert_leq(++steps, o.max_new, "decoding did not end after max_new steps");
    }
    for (int i = 0; i < 2; i++) {
        tf_toolgen_result got;
        cr_assert_eq(tf_toolgen_result_take(g[i], &got, &err), TF_OK);
        tf_toolgen_free(g[i]);
        cr_assert_str_eq(got.text, want[i].text);
        cr_assert_str_eq(streamed[i].s, want[i].text, "streamed '%s'", streamed[i].s);
        cr_assert_eq(got.n_ids, want[i].n_ids);
        cr_assert_arr_eq(got.ids, want[i].ids, sizeof(int) * got.n_ids);
        cr_assert_eq(got.n_calls, want[i].n_calls);
        char *back = decode(got.ids, got.n_ids);
        cr_assert_str_eq(back, got.text);
        free(back);
        tf_toolgen_result_free(&got);
        tf_toolgen_result_free(&want[i]);
    }
}

// A prompt of n tokens for a context of 256: n copies of " x" (one token each).
static char *long_prompt(int n) {
    char *p = malloc(2 * (size_t)n + 1);
    cr_assert_not_null(p);
    for (int i = 0; i < n; i++) memcpy(p + 2 * i, " x", 2);
    p[2 * n] = '\0';
    return p;
}

Test(toolgen_default, prompt_without_room_in_the_context_is_an_error_naming_both_lengths) {
    tf_toolgen_options o;
    tf_toolgen_defaults(&o);
    tf_toolgen_result r;
    tf_error err;
    char *p = long_prompt(300);
    int *ids, n;
    cr_assert_eq(tf_tokenizer_encode(tok, p, strlen(p), 0, &ids, &n, &err), TF_OK);
    free(ids);
    cr_assert_gt(n, 256, "the test prompt is only %d tokens", n);
    cr_assert_eq(tf_generate_with_tools(model, tok, &set, NULL, p, &o, &r, &err), TF_ETOOLONG);
    char want[64];
    snprintf(want, sizeof want, "the prompt is %d tokens", n);
    cr_assert_not_null(strstr(err.msg, want), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "context of 256 tokens"), "%s", err.msg);
    cr_assert_null(r.text);
    free(p);
    // exactly the context: no room for one token either
    p = long_prompt(256);
    cr_assert_eq(tf_tokenizer_encode(tok, p, strlen(p), 0, &ids, &n, &err), TF_OK);
    free(ids);
    if (n == 256) cr_assert_eq(tf_generate_with_tools(model, tok, &set, NULL, p, &o, &r, &err), TF_ETOOLONG);
    free(p);
    // a call limit beyond what a result can record is refused
    o.max_calls = TF_TOOLGEN_MAX_CALLS + 1;
    cr_assert_eq(tf_generate_with_tools(model, tok, &set, NULL, "The total of", &o, &r, &err), TF_EBADARG);
}

Test(toolgen_default, generate_and_eval_refuse_or_count_prompts_longer_than_the_context) {
    char *p = long_prompt(300);
    char out[8192], args[4096];
    snprintf(args, sizeof args, "generate --model %s --tools calculator --json --prompt '%s'", MODEL, p);
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 1, "stderr: %s", cli_run_stderr);
    cr_assert_not_null(strstr(cli_run_stderr, "longer than the model's context of 256 tokens"), "%s",
                       cli_run_stderr);
    cr_assert_eq(out[0], '\0', "printed '%s'", out);
    // eval: the long prompt is counted and not scored; the short one is scored
    char dir[] = "/tmp/tf_toolgen_eval_XXXXXX", data[128], details[160];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/math.jsonl", dir);
    snprintf(details, sizeof details, "%s/details.jsonl", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"prompt\": \"%s\", \"answer\": \"1\"}\n{\"prompt\": \"12 + 30 =\", \"answer\": \"42\"}\n", p);
    fclose(f);
    cr_assert_eq(cli_run(out, sizeof out, "eval --model %s --task math --data %s --tools calculator --json --details %s",
                         MODEL, data, details),
                 0, "stderr: %s", cli_run_stderr);
    cr_assert_not_null(strstr(out, "\"n\": 1,"), "%s", out);
    cr_assert_not_null(strstr(out, "\"too_long\": 1"), "%s", out);
    cr_assert_not_null(strstr(cli_run_stderr, "1 prompts leave no room in the model's context of 256 tokens"), "%s",
                       cli_run_stderr);
    f = fopen(details, "r");
    cr_assert_not_null(f);
    char line[8192];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_not_null(strstr(line, "\"skipped\""), "%s", line);
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_not_null(strstr(line, "\"correct\""), "%s", line);
    fclose(f);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    cr_assert_eq(system(args), 0);
    free(p);
}
