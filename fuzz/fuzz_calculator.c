// fuzz_calculator.c — the Calculator tool: its expression parser (tool_calc_eval, recursive
// descent with a depth limit), result formatting, tf_tool_execute's limits and result cleaning,
// the paper's prefilter over prose and the proposer of arithmetic over the numbers in a text.
// Properties: a result is a plain decimal that the Calculator reads back as the same value;
// "(E)" evaluates like E; every proposal evaluates.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tools/tools_internal.h"

static tf_tool *calc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tf_error err = {0};
    if (!calc) {
        tf_tool_options opt = {0};
        calc = tf_tool_create("calculator", &opt, &err);
        FUZZ_CHECK(calc, "%s", err.msg);
    }
    char *text = fuzz_cstr(data, size);
    double v;
    const char *why = NULL;
    if (tool_calc_eval(text, &v, &why) == 0) {
        FUZZ_CHECK(isfinite(v), "non-finite value");
        char res[64];
        if (tool_calc_format(v, res, sizeof res) == 0) {
            double back;
            FUZZ_CHECK(tool_calc_eval(res, &back, &why) == 0, "result '%s' does not evaluate: %s", res, why);
            FUZZ_CHECK(fabs(back - v) <= 0.005 + 1e-9 * fabs(v), "result '%s' is %.17g, value %.17g", res, back, v);
        }
        if (size < 500) {
            char *wrapped = malloc(size + 3);
            wrapped[0] = '(';
            memcpy(wrapped + 1, text, size);
            memcpy(wrapped + 1 + size, ")", 2);
            double w;
            if (tool_calc_eval(wrapped, &w, &why) == 0)
                FUZZ_CHECK(w == v, "(%s) = %.17g but %s = %.17g", text, w, text, v);
            free(wrapped);
        }
    } else {
        FUZZ_CHECK(why && why[0], "a failure without a reason");
    }
    char out[TF_TOOL_RESULT_CAP];
    int rc = tf_tool_execute(calc, text, NULL, out, sizeof out, &err);
    FUZZ_CHECK(rc == TF_OK || rc == TF_ETOOL, "rc %d", rc);
    if (rc == TF_OK) FUZZ_CHECK(out[0] && tf_utf8_valid(out, strlen(out)), "bad result '%s'", out);
    else FUZZ_CHECK(out[0] == '\0', "a failed call left a result");
    if (calc->prefilter) calc->prefilter(calc, text, NULL);
    size_t len = strlen(text);
    size_t at[3] = {len, len / 2, len / 3};
    for (int k = 0; k < 3; k++) {
        tf_strlist props = {0};
        FUZZ_CHECK(calc->propose(calc, text, at[k], NULL, &props) == TF_OK, "propose failed");
        for (int i = 0; i < props.n; i++)
            FUZZ_CHECK(tool_calc_eval(props.items[i], &v, &why) == 0, "proposal '%s' does not evaluate: %s",
                       props.items[i], why);
        tf_strlist_free(&props);
    }
    free(text);
    return 0;
}
