// cli_util.c — error printing and option parsing shared by the subcommands.
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const tf_error *err) {
    static const char *what[] = {"ok", "input/output error", "malformed file", "bad argument", "out of memory",
                                 "tool failure", "library failure"};
    if (!err->msg[0])  // every failure should carry its own message; this names at least its kind
        fprintf(stderr, "toolformer: %s (error code %d, no message: please report it)\n",
                err->code >= 0 && err->code <= TF_EINTERNAL ? what[err->code] : "failure", err->code);
    else
        fprintf(stderr, "toolformer: %s\n", err->msg);
    return err->code == TF_EBADARG ? CLI_USAGE : CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "toolformer %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see toolformer %s --help)\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_int(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_float(const char *s, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;  // NaN and infinities are never a setting
    *out = v;
    return 0;
}

int *cli_parse_ids(const char *s, int *n, tf_error *err) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int *ids = malloc(cap * sizeof *ids);
    if (!ids) { tf_errorf(err, TF_ENOMEM, "out of memory"); return NULL; }
    int k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT_MAX || (*end && *end != ',')) {
            free(ids);
            tf_errorf(err, TF_EBADARG, "--ids: expected comma-separated non-negative integers at '%.20s'", p);
            return NULL;
        }
        ids[k++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (k == 0) {
        free(ids);
        tf_errorf(err, TF_EBADARG, "--ids: empty list");
        return NULL;
    }
    *n = k;
    return ids;
}

int cli_shard(const char *s, int *k, int *n) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/' || errno || a < 0) return -1;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (end == q || *end || errno || b < 1 || b > 1 << 20 || a >= b) return -1;
    *k = (int)a;
    *n = (int)b;
    return 0;
}

int cli_no_arguments(const char *cmd, int argc, char **argv, int first) {
    if (first < argc)
        return cli_usage_error(cmd, "unexpected argument '%s' (every input is given by an option; -- ends the options)",
                               argv[first]);
    return 0;
}

int cli_progress_option(int c, const char *arg, const char *cmd) {
    if (c != CLI_OPT_PROGRESS) return 0;
    tf_progress_mode m;
    if (tf_progress_parse(arg, &m)) {
        cli_usage_error(cmd, "--progress is auto, bar, lines or none, not '%s'", arg);
        return -1;
    }
    tf_progress_set_mode(m);
    return 1;
}
