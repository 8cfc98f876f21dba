// bench_gemm_bf16.c — the bf16 products of scoring and LoRA training at the shapes of GPT-J-6B and
// GPT-2 1.5B, through oneDNN's matmul primitive (tf_gemm_bf16_onednn) and through this project's
// AVX512-BF16 kernel (tf_gemm_bf16_avx512, src/kernels/gemm_bf16.c), interleaved repeat by repeat so
// that both see the same machine load: GFLOP/s (best of the repeats) of each and their ratio, and
// the largest difference between the two outputs relative to the output's largest magnitude.
//
// The weights come from a ring of copies bigger than the last-level cache (--ring-mb), as in a model
// whose weights are streamed from memory once per pass; the activations stay the same.
//
//   bench_gemm_bf16 [--repeats R] [--threads T] [--ring-mb MB] [--weights FILE] [--shape M,N,K,tB] [--json]
// (--weights: B read from a mapping of FILE instead of memory of its own; --shape: that product only)
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_args.h"
#include "tf_kernels.h"
#include "toolformer.h"

typedef struct {
    const char *what;
    int M, N, K, trans_b;  // trans_b = 1: B stored [N, K] (a Linear's weight); 0: [K, N]
} shape;

static const shape SHAPES[] = {
    {"limit 1024^3 (A @ B^T)", 1024, 1024, 1024, 1},
    {"6B score q/k/v/o", 256, 4096, 4096, 1},
    {"6B score fc_in", 256, 16384, 4096, 1},
    {"6B score fc_out", 256, 4096, 16384, 1},
    {"6B backward dinp q", 256, 4096, 4096, 0},
    {"6B backward dinp fc_in", 256, 4096, 16384, 0},
    {"1.5B fwd c_attn", 64, 4800, 1600, 0},
    {"1.5B fwd c_fc", 64, 6400, 1600, 0},
    {"1.5B fwd c_proj(mlp)", 64, 1600, 6400, 0},
    {"1.5B bwd dinp c_attn", 64, 1600, 4800, 1},
    {"1.5B bwd dinp c_fc", 64, 1600, 6400, 1},
    {"1.5B B2 fwd c_fc", 128, 6400, 1600, 0},
    {"1.5B decode c_fc (1 row)", 1, 6400, 1600, 0},
    {"1.5B decode 4 rows", 4, 6400, 1600, 0},
    {"1.5B prefill 32 rows", 32, 6400, 1600, 0},
    {"1.5B B2 bwd dinp c_fc", 128, 1600, 6400, 1},
    {"6B T128 score q", 128, 4096, 4096, 1},
    {"6B T192 score q", 192, 4096, 4096, 1},
    {"124M B4T64 c_fc", 256, 3072, 768, 0},
    {"124M bwd dinp c_fc", 256, 768, 3072, 1},
};

int main(int argc, char **argv) {
    int repeats = 5, threads = 0, ring_mb = 256, json = 0;
    const char *wfile = NULL;
    shape one = {"--shape", 0, 0, 0, 0};
    const shape *shapes = SHAPES;
    int nshape = (int)(sizeof SHAPES / sizeof *SHAPES);  // --weights FILE: B read from a mapping of FILE (page cache), as a model's
    const bench_int_arg ints[] = {{"--repeats", &repeats}, {"--threads", &threads}, {"--ring-mb", &ring_mb}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) wfile = argv[++i];
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {  // one product only: M,N,K,trans_b
            if (sscanf(argv[++i], "%d,%d,%d,%d", &one.M, &one.N, &one.K, &one.trans_b) != 4 || one.M < 1 ||
                one.N < 1 || one.K < 1) {
                fprintf(stderr, "bench_gemm_bf16: --shape takes M,N,K,trans_b\n");
                return 2;
            }
            shapes = &one;
            nshape = 1;
        }
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_gemm_bf16 [--repeats R] [--threads T] [--ring-mb MB] [--weights FILE] [--shape M,N,K,tB] "
                   "[--json]\n");
            return 0;
        } else if (!bench_int_option("bench_gemm_bf16", argc, argv, &i, ints, sizeof ints / sizeof *ints)) return 2;
    }
    tf_set_threads(threads);
    if (tf_gemm_bf16_avx512(1, 1, 1, 1, 1.0f, (const uint16_t[]){0}, 1, (const uint16_t[]){0}, 1, NULL, 0.0f,
                            (float[]){0}, 1)) {
        fprintf(stderr, "bench_gemm_bf16: this CPU has no AVX512-BF16 (or TF_NO_AVX512BF16 is set)\n");
        return 1;
    }
    if (!json) printf("%-26s %5s %6s %6s %2s | %9s %9s %6s | %s\n", "product", "M", "N", "K", "tB", "oneDNN",
                      "ours", "ratio", "max rel diff");
    tf_rng rng;
    tf_rng_seed(&rng, 1);
    const uint16_t *map = NULL;
    size_t map_n = 0;
    if (wfile) {
        int fd = open(wfile, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st)) {
            perror(wfile);
            return 1;
        }
        map_n = (size_t)st.st_size / 2;
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (map == MAP_FAILED) return 1;
    }
    if (json) printf("[");
    for (int s = 0; s < nshape; s++) {
        const shape *sh = &shapes[s];
        size_t na = (size_t)sh->M * sh->K, nb = (size_t)sh->N * sh->K, nc = (size_t)sh->M * sh->N;
        int ring = (int)((size_t)ring_mb * 1024 * 1024 / (nb * 2));
        if (ring < 1) ring = 1;
        uint16_t *A = tf_alloc(na * 2, 0), *B = tf_alloc(nb * 2 * ring, 0);
        float *C0 = tf_alloc(nc * 4, 1), *C1 = tf_alloc(nc * 4, 1);
        if (!A || !B || !C0 || !C1) return 1;
        for (size_t i = 0; i < na; i++) A[i] = tf_f32_to_bf16(tf_rng_uniform(&rng) - 0.5f);
        for (size_t i = 0; i < nb; i++) B[i] = tf_f32_to_bf16(tf_rng_uniform(&rng) - 0.5f);
        for (int r = 1; r < ring; r++) memcpy(B + nb * r, B, nb * 2);
        if (map) {  // fault the ring's parts of the mapping in first, as a model's second pass finds them
            if (nb * (size_t)ring > map_n) ring = (int)(map_n / nb);
            volatile uint16_t sink = 0;
            for (size_t i = 0; i < nb * (size_t)ring; i += 2048) sink ^= map[i];
            (void)sink;
        }
        int ldb = sh->trans_b ? sh->K : sh->N;
        double best[2] = {1e9, 1e9};
        for (int r = 0; r < repeats + 1; r++) {  // the first round creates oneDNN's primitive: untimed
            const uint16_t *b = B + nb * (size_t)(r % ring);
            if (map) b = map + nb * (size_t)(r % ring);  // the ring's copies are parts of the file
            for (int which = 0; which < 2; which++) {
                double t0 = tf_time_s();
                int rc = which ? tf_gemm_bf16_avx512(sh->trans_b, sh->M, sh->N, sh->K, 1.0f, A, sh->K, b, ldb, NULL, 0.0f,
                                                     C1, sh->N)
                               : tf_gemm_bf16_onednn(0, sh->trans_b, sh->M, sh->N, sh->K, 1.0f, A, sh->K, b, ldb, NULL,
                                                     0.0f, C0, sh->N);
                double t = tf_time_s() - t0;
                if (rc) return 1;
                if (r && t < best[which]) best[which] = t;
            }
        }
        double big = 0, diff = 0;
        for (size_t i = 0; i < nc; i++) {
            if (fabs(C0[i]) > big) big = fabs(C0[i]);
            if (fabs(C0[i] - C1[i]) > diff) diff = fabs(C0[i] - C1[i]);
        }
        double flop = 2.0 * sh->M * sh->N * sh->K, g0 = flop / best[0] / 1e9, g1 = flop / best[1] / 1e9;
        if (json)
            printf("%s{\"product\":\"%s\",\"M\":%d,\"N\":%d,\"K\":%d,\"trans_b\":%d,\"onednn_gflops\":%.1f,"
                   "\"ours_gflops\":%.1f,\"max_rel_diff\":%.3g}",
                   s ? "," : "", sh->what, sh->M, sh->N, sh->K, sh->trans_b, g0, g1, diff / big);
        else
            printf("%-26s %5d %6d %6d %2d | %9.1f %9.1f %5.2fx | %.2g\n", sh->what, sh->M, sh->N, sh->K, sh->trans_b,
                   g0, g1, g1 / g0, diff / big);
        fflush(stdout);
        tf_free(A);
        tf_free(B);
        tf_free(C0);
        tf_free(C1);
    }
    if (json) printf("]\n");
    return 0;
}
