// progress.c — monotonic time, progress on stderr (a bar or one-line records), and the thread-count policy.
#include "tf_common.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tf_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// How a started progress shows itself (tf_progress.enabled).
enum { SHOW_NONE = 0, SHOW_BAR = 1, SHOW_LINES = 2, SHOW_LINES_LONG = 3 /* auto off a terminal */ };

static tf_progress_mode g_mode = TF_PROGRESS_AUTO;

int tf_progress_parse(const char *s, tf_progress_mode *mode) {
    static const char *const NAMES[] = {"auto", "bar", "lines", "none"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, NAMES[i])) { *mode = (tf_progress_mode)i; return 0; }
    if (s && !strcmp(s, "1")) { *mode = TF_PROGRESS_BAR; return 0; }
    if (s && !strcmp(s, "0")) { *mode = TF_PROGRESS_NONE; return 0; }
    return -1;
}

void tf_progress_set_mode(tf_progress_mode mode) { g_mode = mode; }

// The mode asked for: --progress, else TF_PROGRESS (an unknown value counts as auto).
static tf_progress_mode asked(void) {
    tf_progress_mode m = g_mode;
    if (m == TF_PROGRESS_AUTO && tf_progress_parse(getenv("TF_PROGRESS"), &m)) m = TF_PROGRESS_AUTO;
    return m;
}

static double interval_s(void) {
    const char *env = getenv("TF_PROGRESS_INTERVAL");
    char *end;
    double v = env && *env ? strtod(env, &end) : 10.0;
    if (env && *env && (*end || !(v >= 0) || v > 1e6)) v = 10.0;
    return v;
}

void tf_progress_start(tf_progress *p, const char *label, long total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->t0 = tf_time_s();
    p->interval = interval_s();
    switch (asked()) {
    case TF_PROGRESS_BAR: p->enabled = SHOW_BAR; break;
    case TF_PROGRESS_LINES: p->enabled = SHOW_LINES; break;
    case TF_PROGRESS_NONE: p->enabled = SHOW_NONE; break;
    default: p->enabled = isatty(2) ? SHOW_BAR : SHOW_LINES_LONG; break;
    }
    p->last_draw = p->enabled == SHOW_BAR ? 0 : p->t0;  // a bar shows at once, a line after an interval
}

static void draw(tf_progress *p, const char *extra, int final) {
    double el = tf_time_s() - p->t0;
    double rate = el > 0 ? p->done / el : 0;
    char bar[31];
    int fill = p->total > 0 ? (int)(30.0 * p->done / p->total) : 0;
    if (fill > 30) fill = 30;
    if (fill < 0) fill = 0;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    if (p->total > 0)
        fprintf(stderr, "\r%s [%s] %ld/%ld %.1f/s %s\033[K", p->label, bar, p->done, p->total, rate,
                extra ? extra : "");
    else
        fprintf(stderr, "\r%s %ld %.1f/s %s\033[K", p->label, p->done, rate, extra ? extra : "");
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

// A rate with three significant digits, never in exponent form.
static void fmt_rate(char *buf, size_t cap, double r) {
    snprintf(buf, cap, r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r);
}

// One record: "progress LABEL DONE/TOTAL PCT% RATE/s elapsed Es (eta Es | done)[; EXTRA]".
static void line(tf_progress *p, const char *extra, int final) {
    double el = tf_time_s() - p->t0;
    double rate = el > 0 ? p->done / el : 0;
    char head[160], rs[32];
    fmt_rate(rs, sizeof rs, rate);
    if (p->total > 0) {
        double pct = 100.0 * (double)p->done / (double)p->total;
        snprintf(head, sizeof head, "progress %s %ld/%ld %.1f%% %s/s elapsed %.1fs", p->label ? p->label : "-",
                 p->done, p->total, pct, rs, el);
    } else {
        snprintf(head, sizeof head, "progress %s %ld %s/s elapsed %.1fs", p->label ? p->label : "-", p->done, rs, el);
    }
    char tail[48] = "";
    if (final) snprintf(tail, sizeof tail, " done");
    else if (p->total > 0 && rate > 0 && p->done <= p->total)
        snprintf(tail, sizeof tail, " eta %.1fs", (double)(p->total - p->done) / rate);
    else if (p->total > 0) snprintf(tail, sizeof tail, " eta ?");
    fprintf(stderr, "%s%s%s%s\n", head, tail, extra && *extra ? "; " : "", extra ? extra : "");
    fflush(stderr);
    p->lines++;
}

void tf_progress_update(tf_progress *p, long done, const char *extra) {
    p->done = done;
    if (!p->enabled) return;
    double now = tf_time_s();
    if (p->enabled == SHOW_BAR) {
        if (now - p->last_draw < 0.1) return;
        p->last_draw = now;
        draw(p, extra, 0);
        return;
    }
    if (now - p->last_draw < p->interval) return;
    p->last_draw = now;
    line(p, extra, 0);
}

void tf_progress_finish(tf_progress *p, const char *extra) {
    if (p->enabled == SHOW_BAR) draw(p, extra, 1);
    else if (p->enabled == SHOW_LINES || (p->enabled == SHOW_LINES_LONG && p->lines > 0)) line(p, extra, 1);
}

void tf_progress_clear_line(void) {
    if (asked() != TF_PROGRESS_NONE && asked() != TF_PROGRESS_LINES && isatty(2)) fputs("\r\033[K", stderr);
}

int tf_physical_cores(void) {
    // Count distinct (physical id, core id) pairs; fall back to online CPUs.
    FILE *f = fopen("/proc/cpuinfo", "r");
    int n = 0, phys = 0, core = 0;
    int seen[1024][2];
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "physical id : %d", &phys) == 1) continue;
        if (sscanf(line, "core id : %d", &core) == 1) {
            int dup = 0;
            for (int i = 0; i < n; i++) dup |= seen[i][0] == phys && seen[i][1] == core;
            if (!dup && n < 1024) { seen[n][0] = phys; seen[n][1] = core; n++; }
        }
    }
    if (f) fclose(f);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0 || n > online) n = online > 0 ? (int)online : 1;
    return n;
}

void tf_set_threads(int n) {
    if (n <= 0) {
        const char *env = getenv("OMP_NUM_THREADS");
        n = env && atoi(env) > 0 ? atoi(env) : tf_physical_cores();
    }
    omp_set_num_threads(n);
}
