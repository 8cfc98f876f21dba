// bench_fewrows.c — the decode-size bf16 products of one GPT-2 decode step (every layer's qkv,
// attention projection, MLP up and down, then the LM head; the weights of all layers, as in a model),
// through tf_matmul_bf16_few_rows (AMX) and through tf_gemm_bf16 (oneDNN), for M = 1, 4, 8, 16 rows:
// ms per step and the weight bytes streamed per second. Also prints the largest difference between
// the two (they round the same operands; only the order of the fp32 sums differs).
//
//   bench_fewrows [--layers L --embd C --vocab V --steps S --threads N]   (default: GPT-2 124M)
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_args.h"
#include "toolformer.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

typedef struct { int N, K; } shape;

static double loadavg(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

int main(int argc, char **argv) {
    int L = 12, C = 768, V = 50257, S = 20, threads = 0;
    bench_int_arg ints[] = {
        {"--layers", &L}, {"--embd", &C}, {"--vocab", &V}, {"--steps", &S}, {"--threads", &threads}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_fewrows [--layers L --embd C --vocab V --steps S --threads N]\n"
                   "ms per decode step of the weight products, AMX kernel against oneDNN (default GPT-2 124M).\n");
            return 0;
        }
        if (!bench_int_option("bench_fewrows", argc, argv, &i, ints, sizeof ints / sizeof ints[0])) return 2;
    }
    if (L < 1 || C < 32 || V < 16 || S < 1) {
        fprintf(stderr, "bench_fewrows: inconsistent shape\n");
        return 2;
    }
    tf_set_threads(threads);
    int F = 4 * C;
    shape sh[4] = {{3 * C, C}, {C, C}, {F, C}, {C, F}};
    size_t per_layer = 0;
    for (int i = 0; i < 4; i++) per_layer += (size_t)sh[i].N * sh[i].K;
    size_t nw = per_layer * L + (size_t)V * C;
    uint16_t *w = tf_alloc(nw * 2, 0);
    float *x = tf_alloc((size_t)16 * F * 4, 0), *bias = tf_alloc((size_t)V * 4, 0);
    float *o1 = tf_alloc((size_t)16 * V * 4, 0), *o2 = tf_alloc((size_t)16 * V * 4, 0);
    uint16_t *xb = tf_alloc((size_t)16 * F * 2, 0), *scr = tf_alloc(tf_few_rows_scratch(16, F) * 2, 0);
    if (!w || !x || !bias || !o1 || !o2 || !xb || !scr) {
        fprintf(stderr, "bench_fewrows: out of memory\n");
        return 1;
    }
    tf_rng r;
    tf_rng_seed(&r, 7);
    for (size_t i = 0; i < nw; i++) w[i] = tf_f32_to_bf16(0.02f * tf_rng_normal(&r));
    for (int i = 0; i < 16 * F; i++) x[i] = tf_rng_normal(&r);
    for (int i = 0; i < V; i++) bias[i] = 0.01f * tf_rng_normal(&r);
    int amx = tf_have_amx_bf16();
    printf("L%d C%d V%d: %.1f MB of bf16 weights per step, %d threads, AMX %s; load average %.2f\n", L, C, V,
           nw * 2 / 1e6, omp_get_max_threads(), amx ? "yes" : "no (kernel column = oneDNN)", loadavg());
    printf("%4s %14s %14s %10s %10s %8s %12s\n", "M", "AMX ms/step", "oneDNN ms/step", "AMX GB/s", "oneDNN GB/s",
           "speedup", "max |diff|");
    int Ms[4] = {1, 4, 8, 16};
    for (int mi = 0; mi < 4; mi++) {
        int M = Ms[mi];
        double best[2] = {1e30, 1e30}, maxdiff = 0;
        for (int s = 0; s <= S; s++)
            for (int path = 0; path < 2; path++) {
                double t0 = omp_get_wtime();
                const uint16_t *wp = w;
                for (int l = 0; l <= L; l++)
                    for (int i = 0; i < (l < L ? 4 : 1); i++) {
                        int N = l < L ? sh[i].N : V, K = l < L ? sh[i].K : C;
                        float *o = l == L ? o1 : o2;
                        if (path == 0 && tf_matmul_bf16_few_rows(o, N, x, K, wp, K, bias, M, K, N, scr) == 0) {
                        } else {
                            tf_to_bf16(xb, x, (size_t)M * K);
                            tf_gemm_bf16(0, 1, M, N, K, 1.0f, xb, K, wp, K, bias, 0.0f, o, N);
                        }
                        wp += (size_t)N * K;
                    }
                double t = omp_get_wtime() - t0;
                if (s > 0 && t < best[path]) best[path] = t;
                if (s == 0 && path == 1 && amx) {  // the LM head of both paths: compare
                    tf_matmul_bf16_few_rows(o2, V, x, C, w + per_layer * L, C, bias, M, C, V, scr);
                    for (size_t i = 0; i < (size_t)M * V; i++) {
                        double d = fabs((double)o1[i] - o2[i]);
                        if (d > maxdiff) maxdiff = d;
                    }
                }
            }
        double gb = nw * 2 / 1e9;
        printf("%4d %14.2f %14.2f %10.1f %10.1f %8.2f %12.2e\n", M, best[0] * 1e3, best[1] * 1e3, gb / best[0],
               gb / best[1], best[1] / best[0], maxdiff);
    }
    tf_free(w); tf_free(x); tf_free(bias); tf_free(o1); tf_free(o2); tf_free(xb); tf_free(scr);
    return 0;
}
