// bench_tools.c — throughput of the cheap tools and of the call syntax, and the round-trip latency
// of an external tool. `make bench && build/bench/bench_tools` (from the repo root, for the example
// external tool; it is skipped when python3 is missing).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolformer.h"

// Runs fn until at least min_s seconds have passed; returns calls per second.
static double rate(void (*fn)(void *), void *arg, double min_s) {
    long n = 0, batch = 1;
    double t0 = tf_time_s(), t;
    do {
        for (long i = 0; i < batch; i++) fn(arg);
        n += batch;
        batch *= 2;
        t = tf_time_s() - t0;
    } while (t < min_s);
    return n / t;
}

typedef struct {
    tf_tool *tool;
    const char *input;
    tf_tool_context *ctx;
    char out[TF_TOOL_RESULT_CAP];
} exec_arg;

static void run_exec(void *p) {
    exec_arg *a = p;
    tf_error err;
    if (tf_tool_execute(a->tool, a->input, a->ctx, a->out, sizeof a->out, &err) != TF_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
}

typedef struct {
    const char *text;
    size_t len;
} parse_arg;

static void run_parse(void *p) {
    parse_arg *a = p;
    tf_call c;
    tf_error err;
    if (tf_call_parse(a->text, a->len, &c, &err) != TF_OK) exit(1);
    tf_call_free(&c);
}

static void run_format(void *p) {
    (void)p;
    char *s = tf_call_format("QA", "Who is the publisher of The New England Journal of Medicine?",
                             "Massachusetts Medical Society");
    if (!s) exit(1);
    free(s);
}

typedef struct {
    tf_tool *tool;
    const char *text;
} prefilter_arg;

static volatile int sink;
static void run_prefilter(void *p) {
    prefilter_arg *a = p;
    sink += a->tool->prefilter(a->tool, a->text, NULL);
}

int main(void) {
    tf_error err;
    tf_tool_options opt = {0};
    tf_tool *calc = tf_tool_create("calculator", &opt, &err), *cal = tf_tool_create("calendar", &opt, &err);
    if (!calc || !cal) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("%-52s %14s\n", "operation", "per second");
    exec_arg e1 = {calc, "27 + 4 * 2", NULL, {0}};
    printf("%-52s %14.0f\n", "Calculator \"27 + 4 * 2\" (tf_tool_execute)", rate(run_exec, &e1, 0.5));
    exec_arg e2 = {calc, "((658,893 / 11.4) - 2,011.5) * -3 + 1994 / 7", NULL, {0}};
    printf("%-52s %14.0f\n", "Calculator, 9 operations with parentheses", rate(run_exec, &e2, 0.5));
    tf_tool_context ctx = {.date = "2023-01-30"};
    exec_arg e3 = {cal, "", &ctx, {0}};
    printf("%-52s %14.0f\n", "Calendar with a document date", rate(run_exec, &e3, 0.5));

    const char *call = "[QA(\"Who is the publisher of The New England Journal of Medicine?\") -> "
                       "Massachusetts Medical Society]";
    parse_arg pa = {call, strlen(call)};
    printf("%-52s %14.0f\n", "tf_call_parse, quoted QA call (96 bytes)", rate(run_parse, &pa, 0.5));
    printf("%-52s %14.0f\n", "tf_call_format, the same call", rate(run_format, NULL, 0.5));

    // A 4 KB paragraph with a number every few words and no arithmetic relation among them (odd
    // primes above 1000: sums and differences are even, products composite, quotients < 10), so
    // the prefilter scans everything: its worst common case.
    char *text = malloc(8192);
    text[0] = '\0';
    int p = 1009;
    for (int i = 0; strlen(text) < 4000; i++) {
        int q[3];
        for (int k = 0; k < 3; k++) {
            for (;; p += 2) {
                int prime = 1;
                for (int d = 3; d * d <= p && prime; d += 2) prime = p % d != 0;
                if (prime) break;
            }
            q[k] = p;
            p += 2;
        }
        char w[128];
        snprintf(w, sizeof w, "In year %d the village had %d houses and %d wells. ", q[0], q[1], q[2]);
        strcat(text, w);
    }
    prefilter_arg pf = {calc, text};
    double r = rate(run_prefilter, &pf, 0.5);
    printf("%-52s %14.0f  (%.1f MB/s, match=%d)\n", "Calculator prefilter, 4 KB of prose, no match", r,
           r * strlen(text) / 1e6, calc->prefilter(calc, text, NULL));
    free(text);

    if (access("/usr/bin/python3", X_OK) == 0 && access("examples/tools/units.py", R_OK) == 0) {
        tf_tool *ext = tf_tool_create_external("Units=python3 examples/tools/units.py", &opt, &err);
        if (!ext) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        exec_arg e4 = {ext, "5 km to miles", NULL, {0}};
        double rr = rate(run_exec, &e4, 1.0);
        printf("%-52s %14.0f  (%.1f us per call)\n", "external tool round trip (examples/tools/units.py)", rr,
               1e6 / rr);
        tf_tool_free(ext);
    } else {
        printf("external tool round trip: skipped (needs python3 and the repo root as working directory)\n");
    }
    tf_tool_free(calc);
    tf_tool_free(cal);
    return 0;
}
