// alloc.c — 64-byte aligned allocations for parameter and activation arenas, and how much memory
// the machine has left for them.
#include "tf_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *tf_alloc(size_t bytes, int zero) {
    if (bytes == 0) bytes = 64;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    void *p = aligned_alloc(64, rounded);
    if (p && zero) memset(p, 0, rounded);
    return p;
}

void tf_free(void *p) { free(p); }

double tf_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024.0;
}
