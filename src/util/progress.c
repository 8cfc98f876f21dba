// progress.c — monotonic time, a stderr progress bar, and the thread-count policy.
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

void tf_progress_start(tf_progress *p, const char *label, long total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->t0 = tf_time_s();
    const char *env = getenv("TF_PROGRESS");
    p->enabled = env ? atoi(env) != 0 : isatty(2);
}

static void draw(tf_progress *p, const char *extra, int final) {
    double el = tf_time_s() - p->t0;
    double rate = el > 0 ? p->done / el : 0;
    char bar[31];
    int fill = p->total > 0 ? (int)(30.0 * p->done / p->total) : 0;
    if (fill > 30) fill = 30;
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

void tf_progress_update(tf_progress *p, long done, const char *extra) {
    p->done = done;
    if (!p->enabled) return;
    double now = tf_time_s();
    if (now - p->last_draw < 0.1) return;
    p->last_draw = now;
    draw(p, extra, 0);
}

void tf_progress_finish(tf_progress *p, const char *extra) {
    if (p->enabled) draw(p, extra, 1);
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
