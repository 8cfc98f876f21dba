// bench_limits.h — the machine's two limits as single timed passes, for benchmarks that state their
// figures against them in the same run (bench_limits prints them alone; bench_mapped interleaves them
// with the model's own passes, so that a ratio is not a ratio of two different moments of a shared
// machine).
#ifndef BENCH_LIMITS_H
#define BENCH_LIMITS_H
#include <stdint.h>

#include "tf_kernels.h"
#include "toolformer.h"

// Operands of a oneDNN bf16 GEMM at n^3 (random values in [-0.5, 0.5)).
typedef struct {
    int n;
    uint16_t *a, *b;
    float *c;
} bench_gemm;

static inline int bench_gemm_init(bench_gemm *g, int n) {
    size_t nn = (size_t)n * n;
    g->n = n;
    g->a = tf_alloc(nn * 2, 0);
    g->b = tf_alloc(nn * 2, 0);
    g->c = tf_alloc(nn * 4, 1);
    if (!g->a || !g->b || !g->c) return -1;
    tf_rng rng;
    tf_rng_seed(&rng, 1);
    for (size_t i = 0; i < nn; i++) {
        g->a[i] = tf_f32_to_bf16(tf_rng_uniform(&rng) - 0.5f);
        g->b[i] = tf_f32_to_bf16(tf_rng_uniform(&rng) - 0.5f);
    }
    return tf_gemm_bf16_onednn(0, 1, n, n, n, 1.0f, g->a, n, g->b, n, NULL, 0.0f, g->c, n);  // creates the primitive
}

// One oneDNN bf16 GEMM A @ B^T at n^3: its GFLOP/s (0 on failure).
static inline double bench_gemm_pass(bench_gemm *g) {
    int n = g->n;
    double t0 = tf_time_s();
    if (tf_gemm_bf16_onednn(0, 1, n, n, n, 1.0f, g->a, n, g->b, n, NULL, 0.0f, g->c, n)) return 0;
    return 2.0 * n * n * n / (tf_time_s() - t0) / 1e9;
}

static inline void bench_gemm_free(bench_gemm *g) {
    tf_free(g->a);
    tf_free(g->b);
    tf_free(g->c);
}

// A buffer of words 64-bit words (make it far larger than the caches), every page touched.
static inline uint64_t *bench_read_init(size_t words) {
    uint64_t *buf = tf_alloc(words * 8, 0);
    if (!buf) return NULL;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < words; i++) buf[i] = i * 0x9E3779B97F4A7C15ull;
    return buf;
}

// One pass of the memory-read loop over buf[words] (an OR-reduction of 64-bit words that the compiler
// vectorises, so that the loop waits on memory, not on arithmetic): its GB/s. *sink keeps the result.
static inline double bench_read_pass(const uint64_t *buf, size_t words, uint64_t *sink) {
    double t0 = tf_time_s();
    uint64_t acc = 0;
#pragma omp parallel for schedule(static) reduction(| : acc)
    for (size_t i = 0; i < words; i++) acc |= buf[i];
    double t = tf_time_s() - t0;
    *sink ^= acc;
    return (double)words * 8 / t / 1e9;
}

// GB of this process's anonymous memory in transparent huge pages now (AnonHugePages of
// /proc/self/smaps_rollup; -1 where it cannot be read): tf_alloc asks for them on large blocks, and
// the kernel may grant them or not, so a benchmark states what it ran on.
static inline double bench_anon_huge_gb(void) {
    double kb = tf_proc_kb("/proc/self/smaps_rollup", "AnonHugePages");
    return kb < 0 ? -1 : kb * 1024 / 1e9;
}
#endif
