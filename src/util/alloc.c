// alloc.c — 64-byte aligned allocations for parameter and activation arenas.
#include "tf_common.h"

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
