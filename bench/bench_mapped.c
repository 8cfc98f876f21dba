// bench_mapped.c — scoring and B1 decoding speed of a checkpoint read in place (tf_model_load_mapped,
// the --mmap path), as GFLOP/s of the weight products and GB/s of weights read, each beside the
// machine's limit measured in the same run, pass for pass (bench_limits.h: oneDNN's bf16 GEMM at
// 1024^3 for scoring, the memory-read loop over 2 GB for decoding), and their ratio.
//
// Scoring: R forwards of B1 x T random tokens after an untimed one (the first faults the mapping in),
// each followed by a GEMM pass; FLOPs = 2 x T x (L (4 C^2 + 2 C F) + C V) (the products with weights;
// attention's own T^2 terms are left out, so the figure is a lower bound). Decoding: prefill 8
// tokens, then D steps of one token with the KV cache, each followed by a memory-read pass; bytes per
// step = the mapped weights' size (each is read once a token). Best of each, as bench_limits.
//
// --copy: the checkpoint read into the process's own memory instead of mapped (--mmap-copy).
//
//   bench_mapped MODEL_DIR [--tokens T] [--decode D] [--repeats R] [--threads N] [--copy] [--json]
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_args.h"
#include "bench_limits.h"
#include "tf_safetensors.h"
#include "toolformer.h"

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bench_mapped MODEL_DIR [--tokens T] [--decode D] [--repeats R] [--threads N] [--copy] [--json]\n");
        return 2;
    }
    int T = 256, D = 16, R = 2, threads = 0, json = 0;
    const bench_int_arg ints[] = {{"--tokens", &T}, {"--decode", &D}, {"--repeats", &R}, {"--threads", &threads}};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--copy")) tf_st_set_residency(TF_ST_COPY);
        else if (!bench_int_option("bench_mapped", argc, argv, &i, ints, sizeof ints / sizeof *ints)) return 2;
    }
    if (T < 10) {  // the prefill takes 8 tokens, the decode steps draw theirs from ids[9..T)
        fprintf(stderr, "bench_mapped: --tokens must be at least 10\n");
        return 2;
    }
    if (D < 1) D = 1;  // at least one timed step (and one read pass) for the ratio
    if (R < 1) R = 1;  // and one timed forward (and one GEMM pass)
    tf_set_threads(threads);
    tf_error err;
    double t0 = tf_time_s();
    tf_model *m = tf_model_load_mapped(argv[1], &err);
    if (!m) {
        fprintf(stderr, "bench_mapped: %s\n", err.msg);
        return 1;
    }
    double load_s = tf_time_s() - t0;
    const tf_config *c = &m->cfg;
    double L = c->n_layer, C = c->n_embd, F = c->n_inner, V = c->vocab_size;
    double flops_tok = 2.0 * (L * (4 * C * C + 2 * C * F) + C * V);
    double wbytes = 2.0 * (L * (4 * C * C + 2 * C * F) + C * V);  // BF16 weights read a decode step
    int *ids = malloc((size_t)T * sizeof *ids);
    tf_rng rng;
    tf_rng_seed(&rng, 7);
    for (int i = 0; i < T; i++) ids[i] = (int)(tf_rng_u64(&rng) % (uint64_t)c->vocab_size);
    bench_gemm g;
    size_t words = (size_t)2048 * 1024 * 1024 / 8;
    uint64_t *buf = bench_read_init(words), sink = 0;
    if (!buf || bench_gemm_init(&g, 1024)) {
        fprintf(stderr, "bench_mapped: out of memory for the limits' buffers\n");
        return 1;
    }
    double score_s = 1e9, gemm = 0, read = 0;
    for (int r = 0; r <= R; r++) {  // r = 0: untimed, faults the mapping in
        t0 = tf_time_s();
        if (tf_model_forward(m, ids, NULL, NULL, 1, T, &err)) {
            fprintf(stderr, "bench_mapped: %s\n", err.msg);
            return 1;
        }
        double t = tf_time_s() - t0;
        if (r && t < score_s) score_s = t;
        double x = bench_gemm_pass(&g);
        if (r && x > gemm) gemm = x;
    }
    tf_kv *kv = tf_kv_new(m, 1, 8 + D + 1, &err);
    float *logits = malloc((size_t)c->vocab_size * sizeof(float));
    if (!kv || tf_model_prefill(m, kv, 0, ids, 8, logits, 0, &err)) {
        fprintf(stderr, "bench_mapped: %s\n", err.msg);
        return 1;
    }
    int seq = 0, tok = ids[8];
    tf_model_decode(m, kv, &seq, &tok, 1, logits, &err);  // untimed: first decode step
    double step_s = 1e9;
    for (int s = 0; s < D; s++) {
        tok = ids[9 + s % (T - 9)];
        t0 = tf_time_s();
        if (tf_model_decode(m, kv, &seq, &tok, 1, logits, &err)) {
            fprintf(stderr, "bench_mapped: %s\n", err.msg);
            return 1;
        }
        double t = tf_time_s() - t0;
        if (t < step_s) step_s = t;
        double x = bench_read_pass(buf, words, &sink);
        if (x > read) read = x;
    }
    double huge_gb = bench_anon_huge_gb();  // the read loop's buffer, and with --copy the weights
    bench_gemm_free(&g);
    tf_free(buf);
    double gflops = flops_tok * T / score_s / 1e9, gbs = wbytes / step_s / 1e9;
    if (json)
        printf("{\"model\": \"%s\", \"threads\": %d, \"load_s\": %.2f, \"score_tokens\": %d, \"score_s\": %.3f, "
               "\"score_gflops\": %.1f, \"gemm_bf16_gflops\": %.1f, \"score_vs_gemm\": %.3f, "
               "\"decode_s_per_token\": %.4f, \"decode_gbs\": %.2f, \"read_gbs\": %.2f, \"decode_vs_read\": %.3f, "
               "\"anon_huge_gb\": %.2f, \"sink\": %llu}\n",
               argv[1], omp_get_max_threads(), load_s, T, score_s, gflops, gemm, gflops / gemm, step_s, gbs, read,
               gbs / read, huge_gb, (unsigned long long)(sink & 1));
    else
        printf("%s: load %.2f s; scoring %d tokens %.2f s (%.1f GFLOP/s, %.0f %% of oneDNN's bf16 GEMM 1024^3 at "
               "%.1f in the same run); decoding %.3f s a token (%.2f GB/s of weights, %.0f %% of the memory read at "
               "%.2f GB/s in the same run); %.2f GB of anonymous memory in huge pages\n",
               argv[1], load_s, T, score_s, gflops, 100 * gflops / gemm, gemm, step_s, gbs, 100 * gbs / read, read,
               huge_gb);
    free(ids);
    free(logits);
    tf_kv_free(kv);
    tf_model_free(m);
    return 0;
}
