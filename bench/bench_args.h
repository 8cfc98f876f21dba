// bench_args.h — the integer options the engine benchmarks share ("--layers 12" and the like).
#ifndef TF_BENCH_ARGS_H
#define TF_BENCH_ARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;  // "--layers"
    int *dst;
} bench_int_arg;

// When argv[*i] is one of the n options and a value follows, stores the value, moves *i past it and
// returns 1; otherwise prints "BENCH: unknown argument" and returns 0 (the caller exits with 2).
static inline int bench_int_option(const char *bench, int argc, char **argv, int *i, const bench_int_arg *ints, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!strcmp(argv[*i], ints[k].name) && *i + 1 < argc) {
            *ints[k].dst = atoi(argv[++*i]);
            return 1;
        }
    fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", bench, argv[*i]);
    return 0;
}

#endif
