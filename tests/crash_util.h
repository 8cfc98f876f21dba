// crash_util.h — helpers of the crash-safety and resource-limit tests: killing a command at seeded
// random moments, timing a run, reading files whole.
#ifndef TF_TEST_CRASH_UTIL_H
#define TF_TEST_CRASH_UTIL_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli_run.h"

static inline double crash_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// xorshift64*: the seeded delays (a failure names its seed, so it can be replayed).
static inline double crash_rand01(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

// The whole file (NUL-terminated, *len its length), or NULL when it cannot be read.
static inline char *crash_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!s) return NULL;
    s[got] = '\0';
    if (len) *len = got;
    return s;
}

static inline long crash_file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

// Starts `BIN ARGS` (stdout and stderr to /dev/null) in a child; returns its pid.
static inline pid_t crash_spawn(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec %s %s >/dev/null 2>&1", cli_bin(), args);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork failed");
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

typedef struct {
    int kills;       // runs ended by SIGKILL
    int finished;    // runs that finished (exit 0) before their kill came
    int mid_work;    // kills after which observe() reported a state strictly between "nothing" and "done"
    int distinct;    // distinct observed states at kills
} crash_stats;

// Runs `BIN ARGS` again and again and kills each run with SIGKILL after a seeded random delay, until
// `want` runs have been killed or `max_rounds` runs were started. A run that exits before its kill
// must exit with ok_exit (TF_CRASH_SEED, when set, is mixed into seed). observe(ctx) returns a number describing the outputs after each kill (e.g.
// bytes written): -1 nothing yet, done_value complete. The delays adapt to the machine: they start at
// t_start (how long a run with nothing left to do takes) plus a share of the work (t_full, an
// uninterrupted run's time, minus t_start), grow by 30% after a kill that found the outputs as
// the previous kill left them (the run had not got past its start-up) and shrink by 10% after one
// that found progress, or by 30% when a run finished first. One run in four is killed at a
// uniform moment of that span, the others between 0.75 and 1.25 of it, so kills land in start-up,
// resume's cut-back, the work, and the writes of the outputs.
static inline void crash_kill_loop(const char *args, int ok_exit, int want, int max_rounds, double t_start,
                                   double t_full, uint64_t seed, long (*observe)(void *), void *ctx, long done_value,
                                   crash_stats *cs) {
    memset(cs, 0, sizeof *cs);
    if (getenv("TF_CRASH_SEED")) seed ^= strtoull(getenv("TF_CRASH_SEED"), NULL, 0);  // a soak with other moments
    uint64_t s = seed ? seed : 1;
    long seen[512], last = observe(ctx);
    int nseen = 0;
    double work = t_full > t_start ? t_full - t_start : 0.01, scale = t_start + work / want;
    for (int round = 0; round < max_rounds && cs->kills < want; round++) {
        double u = crash_rand01(&s);
        int early = crash_rand01(&s) < 0.25;
        double delay = early ? u * scale : scale * (0.75 + 0.5 * u);
        pid_t pid = crash_spawn(args);
        struct timespec ts = {(time_t)delay, (long)((delay - (time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
            cs->kills++;
            long v = observe(ctx);
            if (v >= 0 && v != done_value) cs->mid_work++;
            int dup = 0;
            for (int i = 0; i < nseen; i++) dup |= seen[i] == v;
            if (!dup && nseen < 512) seen[nseen++] = v;
            if (!early) scale *= v == last ? 1.3 : 0.9;
            last = v;
        } else {
            cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == ok_exit,
                      "run %d (seed %llu) failed on its own (status %d): %s", round, (unsigned long long)seed, st, args);
            cs->finished++;
            scale *= 0.7;
            last = observe(ctx);
        }
    }
    cs->distinct = nseen;
    if (getenv("TF_CRASH_VERBOSE"))
        fprintf(stderr, "crash: %d kills (%d mid-work, %d distinct states), %d finished runs, start %.3f s, full %.3f s, "
                "last delay scale %.3f s: %s\n", cs->kills, cs->mid_work, cs->distinct, cs->finished, t_start, t_full,
                scale, args);
}

// Seconds `BIN ARGS` takes to finish (it must exit with ok_exit).
static inline double crash_time_run(const char *args, int ok_exit) {
    char out[4096];
    double t0 = crash_now();
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), ok_exit, "%s: %s", args, cli_run_stderr);
    return crash_now() - t0;
}

// Passages in an open index (SELECT count(*) FROM passages), or -1 when the query fails.
static inline long crash_count_passages(sqlite3 *db) {
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM passages", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

#endif
