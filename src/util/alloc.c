// alloc.c — 64-byte aligned allocations for parameter and activation arenas, and how much memory
// the machine has left for them.
#include "tf_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

// Blocks of TF_HUGE_MIN bytes and more (weights read into memory by --mmap-copy, fp32 parameters,
// activations, optimizer state) are 2 MB-aligned and asked for in transparent huge pages
// (MADV_HUGEPAGE), which the kernel grants where THP is "always" or "madvise" (the default of many
// distributions, and of the VMs this was measured on). Streaming a weight matrix then walks one page
// table entry per 2 MB instead of per 4 KB: on an AMD EPYC Zen 4 VM (2 threads) a read loop over 2 GB
// ran at 51-61 GB/s in huge pages against 47-52 in 4 KB pages (docs/large-models.md). Where THP is
// off the advice is ignored and the block is an ordinary one. TF_NO_HUGEPAGES=1 turns it off.
#define TF_HUGE_MIN ((size_t)8 << 20)
#define TF_HUGE_ALIGN ((size_t)2 << 20)

void *tf_alloc(size_t bytes, int zero) {
    if (bytes == 0) bytes = 64;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    if (rounded >= TF_HUGE_MIN && !tf_env_flag("TF_NO_HUGEPAGES")) {
        size_t huge = (rounded + TF_HUGE_ALIGN - 1) & ~(TF_HUGE_ALIGN - 1);
        void *p = huge >= rounded ? aligned_alloc(TF_HUGE_ALIGN, huge) : NULL;
        if (p) {
            (void)madvise(p, huge, MADV_HUGEPAGE);  // advice only: an error leaves 4 KB pages
            if (zero) memset(p, 0, huge);
            return p;
        }
    }
    void *p = aligned_alloc(64, rounded);
    if (p && zero) memset(p, 0, rounded);
    return p;
}

void tf_free(void *p) { free(p); }

double tf_proc_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    size_t n = strlen(key);
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':' && sscanf(line + n + 1, "%lf", &kb) == 1) break;
    fclose(f);
    return kb;
}

double tf_mem_available(void) {
    double kb = tf_proc_kb("/proc/meminfo", "MemAvailable");
    return kb < 0 ? -1 : kb * 1024.0;
}
