// test_compare.c — tf_compare_call (src/pipeline/compare.c), the library side of `toolformer
// compare`: the filter's three losses for one call, as a prefix and inline, over one continuation.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_util.h"
#include "toolformer.h"

#define TEXT "The shop sells 12 pears and 30 plums, a total of 42 fruits."

typedef struct {
    tf_model *m;
    tf_tokenizer *tok;
    char dir[64];
} fixture;

static void fixture_open(fixture *f) {
    snprintf(f->dir, sizeof f->dir, "/tmp/tf_compare_XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    tf_set_threads(1);
    f->m = tiny_lm(f->dir, TEXT " " TEXT, 1, 32, 7);
    tf_error err;
    f->tok = tf_tokenizer_load(f->dir, &err);
    cr_assert_not_null(f->tok, "%s", err.msg);
}

static void fixture_close(fixture *f) {
    tf_tokenizer_free(f->tok);
    tf_model_free(f->m);
    rm_rf_dir(f->dir);
}

// The byte where token i of TEXT starts.
static size_t token_start(const tf_tokenizer *tok, int i) {
    tf_error err;
    int *x, n;
    cr_assert_eq(tf_tokenizer_encode(tok, TEXT, strlen(TEXT), 0, &x, &n, &err), TF_OK);
    cr_assert_lt(i, n);
    size_t off = 0;
    for (int k = 0; k < i; k++) {
        size_t bl = 0;
        tf_tokenizer_token_bytes(tok, x[k], &bl);
        off += bl;
    }
    free(x);
    return off;
}

// make_tools: the built-in tool of that name; counts its calls in *ctx.
static int count_tools(void *ctx, const char *name, tf_toolset *set, tf_error *err) {
    ++*(int *)ctx;
    tf_tool_options opt = {0};
    memset(set, 0, sizeof *set);
    return tf_toolset_parse(set, name, &opt, err);
}

// make_tools: selects nothing.
static int no_tools(void *ctx, const char *name, tf_toolset *set, tf_error *err) {
    (void)ctx, (void)name, (void)err;
    memset(set, 0, sizeof *set);
    return TF_OK;
}

Test(compare, six_rows_score_one_continuation_and_the_score_is_the_filters) {
    fixture f;
    fixture_open(&f);
    tf_call call = {.name = "Calculator", .input = "12 + 30"};
    int built = 0;
    tf_compare_request req = {.text = TEXT, .call = &call, .char_pos = token_start(f.tok, 5), .result = "42",
                              .tau_f = -1, .make_tools = count_tools, .make_tools_ctx = &built};
    tf_compare_result r;
    tf_error err;
    cr_assert_eq(tf_compare_call(f.m, f.tok, &req, &r, &err), TF_OK, "%s", err.msg);
    cr_expect_eq(built, 0, "a given result must not build the tools");
    cr_expect_str_eq(r.call_text, " [Calculator(12 + 30) -> 42]");
    cr_expect_eq(r.token_pos, 5);
    const tf_scored_row *r0 = &r.rows[0];
    cr_assert_eq(r0->n_cont, TF_FILTER_SPAN);
    for (int k = 1; k < 2 * TF_NUM_VARIANTS; k++) {
        const tf_scored_row *rk = &r.rows[k];
        cr_assert_eq(rk->n_cont, r0->n_cont, "row %d scores %d tokens, row 0 %d", k, rk->n_cont, r0->n_cont);
        cr_expect_eq(memcmp(rk->ids + rk->cont_start, r0->ids + r0->cont_start, sizeof(int) * r0->n_cont), 0,
                     "row %d scores other continuation ids than row 0", k);
    }
    // the plain text is the same row in both placements
    cr_expect_eq(r.loss[TF_VARIANT_PLAIN], r.loss[TF_NUM_VARIANTS + TF_VARIANT_PLAIN]);
    float lminus = fminf(r.loss[TF_VARIANT_PLAIN], r.loss[TF_VARIANT_WITHOUT_RESULT]);
    cr_expect_eq(r.loss_minus, lminus);
    cr_expect_eq(r.score, lminus - r.loss[TF_VARIANT_WITH_RESULT]);
    cr_expect_float_eq(r.tau_f, 0.5, 1e-9, "Calculator's tau_f (Appendix A) is 0.5, not %g", r.tau_f);
    cr_expect_eq(r.passes, r.score >= r.tau_f);
    tf_compare_result_free(&r);
    fixture_close(&f);
}

Test(compare, runs_the_tool_only_without_a_given_result) {
    fixture f;
    fixture_open(&f);
    tf_call call = {.name = "Calculator", .input = "12 + 30"};
    int built = 0;
    tf_compare_request req = {.text = TEXT, .call = &call, .char_pos = token_start(f.tok, 5), .tau_f = 2.5,
                              .make_tools = count_tools, .make_tools_ctx = &built};
    tf_compare_result r;
    tf_error err;
    cr_assert_eq(tf_compare_call(f.m, f.tok, &req, &r, &err), TF_OK, "%s", err.msg);
    cr_expect_eq(built, 1);
    cr_expect_str_eq(r.call_text, " [Calculator(12 + 30) -> 42]");
    cr_expect_eq(r.tau_f, 2.5);
    tf_compare_result_free(&r);
    req.make_tools = no_tools;
    cr_expect_eq(tf_compare_call(f.m, f.tok, &req, &r, &err), TF_EBADARG);
    cr_expect_str_eq(err.msg, "no tool called 'Calculator' is selected");
    tf_compare_result_free(&r);
    fixture_close(&f);
}

Test(compare, refuses_the_start_the_end_and_the_inside_of_a_token) {
    fixture f;
    fixture_open(&f);
    tf_call call = {.name = "Calculator", .input = "12 + 30"};
    size_t inside = token_start(f.tok, 5) + 1;
    cr_assert_lt(inside, token_start(f.tok, 6), "token 5 is one byte: pick a longer one");
    const struct { size_t pos; const char *says; } cases[] = {
        {0, "its start"}, {strlen(TEXT), "its end"}, {inside, "inside a token"}};
    for (int k = 0; k < 3; k++) {
        tf_compare_request req = {.text = TEXT, .call = &call, .char_pos = cases[k].pos, .result = "42", .tau_f = -1};
        tf_compare_result r;
        tf_error err = {0};
        cr_expect_eq(tf_compare_call(f.m, f.tok, &req, &r, &err), TF_EBADARG, "byte %zu", cases[k].pos);
        cr_expect_not_null(strstr(err.msg, cases[k].says), "byte %zu: '%s' does not say %s", cases[k].pos, err.msg,
                           cases[k].says);
        tf_compare_result_free(&r);
    }
    fixture_close(&f);
}
