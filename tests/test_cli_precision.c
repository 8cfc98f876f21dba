// test_cli_precision.c — --dtype bf16 and --mmap on the inference commands (annotate, compare, eval):
// each runs, and its losses agree with the fp32 run (mapped F32 weights: to rounding; bf16 matmuls:
// within 2%, the tolerance for bf16 loss curves).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "pipeline_util.h"

#define MODEL "models/default"

// The numbers that follow each occurrence of "KEY": in s, in order (at most cap); returns how many.
static int values_of(const char *s, const char *key, double *out, int cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    int n = 0;
    for (const char *p = strstr(s, pat); p && n < cap; p = strstr(p + 1, pat)) out[n++] = strtod(p + strlen(pat), NULL);
    return n;
}

// a and b hold the same count of values, each within rel of the reference a (and finite)
static void assert_close(const double *a, int na, const double *b, int nb, double rel, const char *what) {
    cr_assert_gt(na, 0, "%s: no values", what);
    cr_assert_eq(na, nb, "%s: %d values against %d", what, nb, na);
    for (int i = 0; i < na; i++) {
        cr_assert(isfinite(b[i]), "%s value %d is %g", what, i, b[i]);
        cr_assert_leq(fabs(a[i] - b[i]), rel * fabs(a[i]) + 1e-6, "%s value %d: %.6f against fp32 %.6f", what, i,
                      b[i], a[i]);
    }
}

static char *slurp(const char *p) {
    tf_error err;
    char *s = tf_read_file(p, NULL, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

static const char *const MODES[3] = {"", "--dtype bf16", "--mmap"};
static const double TOL[3] = {0, 0.02, 1e-4};  // fp32 (the reference), bf16, mapped F32

Test(cli_precision, compare_losses_agree_with_fp32) {
    char out[16384];
    double v[3][16];
    int n[3];
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(cli_run(out, sizeof out,
                             "compare --model " MODEL " --text 'Out of 30 apples, 10 were red, so 20 were green.' "
                             "--call 'Calculator(30 - 10)' --at 'so' --threads 1 --json %s", MODES[k]),
                     0, "%s: %s", MODES[k], cli_run_stderr);
        n[k] = values_of(out, "loss", v[k], 16);
    }
    cr_assert_eq(n[0], 6, "three variants, prefix and inline: %s", out);
    assert_close(v[0], n[0], v[1], n[1], TOL[1], "compare --dtype bf16");
    assert_close(v[0], n[0], v[2], n[2], TOL[2], "compare --mmap");
}

Test(cli_precision, eval_perplexity_agrees_with_fp32) {
    char dir[] = "/tmp/tf_prec_XXXXXX", data[256], out[4096];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/ppl.jsonl", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"text\": \"Out of 30 apples, 10 were red, so 20 were green, a total of 30.\"}\n"
               "{\"text\": \"The river runs through the old town and the bridge is made of stone.\"}\n");
    fclose(f);
    double v[3][4];
    int n[3];
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(cli_run(out, sizeof out, "eval --model " MODEL " --task ppl --data %s --json --threads 1 %s", data,
                             MODES[k]),
                     0, "%s: %s", MODES[k], cli_run_stderr);
        n[k] = values_of(out, "mean_nll", v[k], 4);
    }
    assert_close(v[0], n[0], v[1], n[1], TOL[1], "eval --dtype bf16");
    assert_close(v[0], n[0], v[2], n[2], TOL[2], "eval --mmap");
    rm_rf_dir(dir);
}

// Every proposed call is kept (tau_f -100) at every position (top-k 50), so the three runs score the
// same calls and their L+ and L- line up one to one.
Test(cli_precision, annotate_filter_losses_agree_with_fp32, .timeout = 300) {
    char dir[] = "/tmp/tf_prec_XXXXXX", data[256], path[256], out[4096];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/corpus.jsonl", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"id\": \"a\", \"text\": \"Out of 30 apples, 10 were red, so 20 were green, a total of 30.\"}\n"
               "{\"id\": \"b\", \"text\": \"She paid 12 dollars for 3 books, so each cost 4 dollars.\"}\n");
    fclose(f);
    enum { CAP = 256 };
    static double lp[3][CAP], lm[3][CAP];
    int np[3], nm[3];
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/out%d.jsonl", dir, k);
        cr_assert_eq(cli_run(out, sizeof out,
                             "annotate --model " MODEL " --data %s --tools calculator --proposer tool --tau-f -100 "
                             "--top-k 50 --samples 1 --seed 3 --threads 1 --quiet --out %s %s",
                             data, path, MODES[k]),
                     0, "%s: %s", MODES[k], cli_run_stderr);
        char *s = slurp(path);
        np[k] = values_of(s, "loss_plus", lp[k], CAP);
        nm[k] = values_of(s, "loss_minus", lm[k], CAP);
        free(s);
    }
    cr_assert_gt(np[0], 10, "the tool proposes calls at many positions");
    assert_close(lp[0], np[0], lp[1], np[1], TOL[1], "annotate --dtype bf16 L+");
    assert_close(lm[0], nm[0], lm[1], nm[1], TOL[1], "annotate --dtype bf16 L-");
    assert_close(lp[0], np[0], lp[2], np[2], TOL[2], "annotate --mmap L+");
    assert_close(lm[0], nm[0], lm[2], nm[2], TOL[2], "annotate --mmap L-");
    rm_rf_dir(dir);
}

Test(cli_precision, a_bad_dtype_is_a_usage_error) {
    char out[1024];
    const char *cmds[] = {"annotate --data x --out y", "compare --text a --call 'Calculator(1+1)' --at a",
                          "eval --task ppl --data x"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cli_run(out, sizeof out, "%s --model " MODEL " --dtype fp8", cmds[i]), 2, "%s", cmds[i]);
        cr_assert_not_null(strstr(cli_run_stderr, "--dtype wants fp32 or bf16"), "%s: %s", cmds[i], cli_run_stderr);
    }
}
