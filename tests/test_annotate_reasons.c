// test_annotate_reasons.c — annotate counts why a candidate call was not executed: no result, or its
// tool's time limit ran out (the funnel of `toolformer report`). The shipped models/default proposes
// positions; the Calculator proposes the calls; its execute is wrapped to be slow or to fail.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "toolformer.h"

static int (*calc_execute)(tf_tool *, const char *, const tf_tool_context *, char *, size_t, tf_error *);

static int slow_execute(tf_tool *t, const char *in, const tf_tool_context *ctx, char *out, size_t cap, tf_error *err) {
    struct timespec ts = {0, 30 * 1000 * 1000};  // 30 ms, past the 10 ms limit set below
    nanosleep(&ts, NULL);
    return calc_execute(t, in, ctx, out, cap, err);
}

static int failing_execute(tf_tool *t, const char *in, const tf_tool_context *ctx, char *out, size_t cap,
                           tf_error *err) {
    (void)in, (void)ctx, (void)cap;
    out[0] = '\0';
    return tf_errorf(err, TF_ETOOL, "%s: no result", t->name);
}

// Annotates one document with the Calculator's proposals, its execute replaced by `exec` (NULL: as
// it is); fills cs.
static void annotate(int (*exec)(tf_tool *, const char *, const tf_tool_context *, char *, size_t, tf_error *),
                     tf_candidates *cs) {
    tf_error err;
    tf_model *m = tf_model_load("models/default", &err);
    cr_assert_not_null(m, "%s", err.msg);
    tf_tokenizer *tok = tf_tokenizer_load("models/default", &err);
    cr_assert_not_null(tok, "%s", err.msg);
    tf_toolset set = {0};
    tf_tool_options topt = {0};
    cr_assert_eq(tf_toolset_parse(&set, "calculator", &topt, &err), TF_OK, "%s", err.msg);
    tf_tool *calc = set.tools[0];
    calc_execute = calc->execute;
    if (exec) calc->execute = exec;
    calc->timeout_ms = 10;
    tf_annotate_options o;
    tf_annotate_defaults(&o, &set);
    o.proposer = TF_PROPOSER_TOOL;
    o.th[0].top_k = 2, o.th[0].samples = 2;
    tf_document doc = {.id = "d", .text = "The store sells 123 pears and 456 plums, a total of 579 fruits."};
    tf_rng rng;
    tf_rng_seed(&rng, 1);
    memset(cs, 0, sizeof *cs);
    cr_assert_eq(tf_annotate_document(m, tok, &set, &o, &doc, &rng, cs, &err), TF_OK, "%s", err.msg);
    cr_assert_gt(cs->proposed[0], 0, "the Calculator proposed nothing");
    tf_toolset_free(&set);
    tf_tokenizer_free(tok);
    tf_model_free(m);
}

Test(annotate_reasons, counts_calls_past_the_time_limit, .timeout = 120) {
    tf_candidates cs;
    annotate(slow_execute, &cs);
    cr_expect_eq(cs.executed[0], 0);
    cr_expect_eq(cs.timed_out[0], cs.proposed[0], "%ld of %ld timed out", cs.timed_out[0], cs.proposed[0]);
    tf_candidates_free(&cs);
}

Test(annotate_reasons, a_quick_failure_is_no_result_not_a_timeout, .timeout = 120) {
    tf_candidates cs;
    annotate(failing_execute, &cs);
    cr_expect_eq(cs.executed[0], 0);
    cr_expect_eq(cs.timed_out[0], 0);
    tf_candidates_free(&cs);
}

Test(annotate_reasons, executed_calls_are_neither, .timeout = 120) {
    tf_candidates cs;
    annotate(NULL, &cs);
    cr_expect_eq(cs.executed[0], cs.proposed[0]);
    cr_expect_eq(cs.timed_out[0], 0);
    tf_candidates_free(&cs);
}
