// cli_run.h — runs the `toolformer` binary (TF_BIN) from a test and captures what it prints.
#ifndef TF_TEST_CLI_RUN_H
#define TF_TEST_CLI_RUN_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char cli_run_stderr[8192];  // stderr of the last run

static inline const char *cli_bin(void) {
    const char *b = getenv("TF_BIN");
    return b && *b ? b : "build/toolformer";
}

// Runs "<prefix> <bin> args" through the shell (prefix: environment settings or a launcher such as
// mpirun; may be ""); stdout into out (NUL-terminated), stderr into cli_run_stderr; returns the exit
// code (-1 when killed by a signal).
static int cli_run_with(const char *prefix, char *out, size_t cap, const char *args) __attribute__((unused));
static int cli_run_with(const char *prefix, char *out, size_t cap, const char *args) {
    char cmd[8192], errpath[64];
    snprintf(errpath, sizeof errpath, "/tmp/tf_cli_%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s %s %s 2>%s", prefix, cli_bin(), args, errpath);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    while (fgetc(p) != EOF) {
    }
    int st = pclose(p);
    FILE *f = fopen(errpath, "r");
    n = f ? fread(cli_run_stderr, 1, sizeof cli_run_stderr - 1, f) : 0;
    cli_run_stderr[n] = '\0';
    if (f) fclose(f);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// cli_run_with("", ...) with printf-style arguments.
static int cli_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4), unused));
static int cli_run(char *out, size_t cap, const char *fmt, ...) {
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return cli_run_with("", out, cap, args);
}

#endif
