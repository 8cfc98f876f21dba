// fuzz_util.h — what the libFuzzer targets share: a private scratch directory (on tmpfs when there
// is one, removed at exit) for loaders that read files by path, input splitting, and a check that
// aborts (so libFuzzer records a crash) when a documented property of the library does not hold.
#ifndef TF_FUZZ_UTIL_H
#define TF_FUZZ_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// A failed property: print what and where, then abort (a crash input is saved by libFuzzer).
#define FUZZ_CHECK(cond, ...)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__,     \
                    __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            abort();                                                             \
        }                                                                        \
    } while (0)

static char fuzz_dir_path[256];

static void fuzz_dir_remove(void) {
    if (!fuzz_dir_path[0]) return;
    DIR *d = opendir(fuzz_dir_path);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", fuzz_dir_path, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(fuzz_dir_path);
    fuzz_dir_path[0] = '\0';
}

// The scratch directory of this process (created on first use; /dev/shm when writable).
static const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/tf-fuzz-XXXXXX", base);
        if (!mkdtemp(fuzz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

// dir/name (a static buffer per call site is not needed: out is the caller's).
static inline char *fuzz_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", fuzz_dir(), name);
    return out;
}

// Writes data[len] to the scratch file name (replacing it); returns its path in out.
static inline char *fuzz_write(char *out, size_t n, const char *name, const void *data, size_t len) {
    fuzz_path(out, n, name);
    FILE *f = fopen(out, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
        perror(out);
        abort();
    }
    return out;
}

static inline void fuzz_unlink(const char *name) {
    char p[512];
    unlink(fuzz_path(p, sizeof p, name));
}

// Splits data at the first occurrence of sep: part a = before, part b = after (b empty and
// *has_b 0 when sep is absent).
static inline void fuzz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **a, size_t *na,
                              const uint8_t **b, size_t *nb) {
    size_t ls = strlen(sep);
    const uint8_t *hit = size >= ls ? memmem(data, size, sep, ls) : NULL;
    *a = data;
    if (!hit) {
        *na = size;
        *b = data + size;
        *nb = 0;
        return;
    }
    *na = (size_t)(hit - data);
    *b = hit + ls;
    *nb = size - *na - ls;
}

// A NUL-terminated malloc'd copy of data[size].
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
