// bench_limits.c — the machine's own limits, to state the engine's figures against: a oneDNN bf16
// GEMM at 1024^3 (tf_gemm_bf16_onednn: AMX or AVX512-BF16 where present; GFLOP/s, best of the repeats) and
// a memory-read loop over a buffer far larger than the caches (GB/s; an OR-reduction of 64-bit words
// that the compiler vectorises, so the loop waits on memory, not on arithmetic). Scoring is bound by
// the first, B1 decoding (every weight read once a token) by the second (docs/large-models.md).
//
//   bench_limits [--size N (GEMM N^3, default 1024)] [--mb MB (read buffer, default 2048)]
//                [--repeats R] [--threads T] [--json]
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_args.h"
#include "bench_limits.h"
#include "tf_kernels.h"
#include "toolformer.h"

int main(int argc, char **argv) {
    int N = 1024, mb = 2048, repeats = 10, threads = 0, json = 0;
    const bench_int_arg ints[] = {{"--size", &N}, {"--mb", &mb}, {"--repeats", &repeats}, {"--threads", &threads}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_limits [--size N] [--mb MB] [--repeats R] [--threads T] [--json]\n");
            return 0;
        } else if (!bench_int_option("bench_limits", argc, argv, &i, ints, sizeof ints / sizeof *ints)) return 2;
    }
    tf_set_threads(threads);
    bench_gemm g;
    if (bench_gemm_init(&g, N)) return 1;  // the first call creates the primitive: untimed
    double gemm = 0;
    for (int r = 0; r < repeats; r++) {
        double x = bench_gemm_pass(&g);
        if (x > gemm) gemm = x;
    }
    bench_gemm_free(&g);
    size_t words = (size_t)mb * 1024 * 1024 / 8;
    uint64_t *buf = bench_read_init(words), sink = 0;
    if (!buf) return 1;
    double gbs = 0;
    for (int r = 0; r < repeats; r++) {
        double x = bench_read_pass(buf, words, &sink);
        if (x > gbs) gbs = x;
    }
    tf_free(buf);
    if (json)
        printf("{\"threads\": %d, \"gemm_bf16_n\": %d, \"gemm_bf16_gflops\": %.1f, \"read_mb\": %d, "
               "\"read_gbs\": %.2f, \"sink\": %llu}\n",
               omp_get_max_threads(), N, gemm, mb, gbs, (unsigned long long)(sink & 1));
    else
        printf("threads %d: oneDNN bf16 GEMM %d^3 %.1f GFLOP/s; memory read (%d MB) %.2f GB/s\n",
               omp_get_max_threads(), N, gemm, mb, gbs);
    return 0;
}
