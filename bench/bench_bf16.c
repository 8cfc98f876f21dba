// bench_bf16.c — bf16 mixed precision against fp32 on one random GPT-2: tokens/s of a training step
// (forward + backward + AdamW, including the once-per-step bf16 weight copy), forward-only scoring
// and batched cached greedy decoding, each in both precisions, interleaved repeat by repeat so both
// see the same machine load. bench/bench_bf16.sh runs it on the engine issue's shapes beside
// PyTorch's fp32 and autocast-bf16 figures (bench/bench_engine.py).
//
// Each timed unit follows an untimed one of the same precision, as in a run that trains or scores
// with one model: the caches hold what that model touched last, not the other precision's state. --cold times each unit right after the other precision's instead (the bf16 step
// then pays ~50 ms of misses that back-to-back steps do not: GPT-2 124M B4 T64, measured).
//
//   bench_bf16 [--layers L --embd C --heads H --vocab V --batch B --seq T --repeats R
//               --prompt P --decode-steps D --threads N] [--phases train,score,decode] [--cold] [--json]
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_args.h"
#include "toolformer.h"

typedef struct {
    int layers, embd, heads, vocab, batch, seq, repeats, prompt, decode_steps, threads, json, cold;
    int want[3];  // which phases run (--phases)
} opts;

enum { TRAIN, SCORE, DECODE, NPHASE };
static const char *const PHASE[NPHASE] = {"train", "score", "decode"};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// process CPU seconds (all threads): on a shared machine, the work done, apart from waiting
static double cpu_s(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}

// Seconds of one unit of the phase (a step, a forward, a decode run of D steps); *cpu: its CPU seconds.
static double run_phase(tf_model *m, int phase, const opts *o, const int *in, const int *tg, double *cpu) {
    tf_error err;
    const tf_adamw opt = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    double t0 = omp_get_wtime(), c0 = cpu_s();
    int ok = 1;
    if (phase == TRAIN) {
        ok = !tf_model_forward(m, in, tg, NULL, o->batch, o->seq, &err) && !tf_model_zero_grad(m, &err) &&
             !tf_model_backward(m, 1.0f, &err) && tf_model_adamw_step(m, &opt, &err) >= 0;
    } else if (phase == SCORE) {
        ok = !tf_model_forward(m, in, tg, NULL, o->batch, o->seq, &err);
    } else {
        int B = o->batch, V = m->cfg.vocab_size;
        tf_kv *kv = tf_kv_new(m, B, o->prompt + o->decode_steps + 1, &err);
        float *logits = malloc((size_t)B * V * sizeof(float));
        int *seqs = malloc(B * sizeof(int)), *tok = malloc(B * sizeof(int));
        ok = kv && logits && seqs && tok;
        for (int b = 0; ok && b < B; b++) {
            seqs[b] = b;
            ok = !tf_model_prefill(m, kv, b, in + (size_t)b * o->seq, o->prompt, logits + (size_t)b * V, 0, &err);
        }
        t0 = omp_get_wtime();  // decode steps only
        c0 = cpu_s();
        for (int s = 0; ok && s < o->decode_steps; s++) {
            for (int b = 0; b < B; b++) tok[b] = tf_sample(logits + (size_t)b * V, V, &(tf_sampler){0}, NULL);
            ok = !tf_model_decode(m, kv, seqs, tok, B, logits, &err);
        }
        double t = omp_get_wtime() - t0;
        *cpu = cpu_s() - c0;
        tf_kv_free(kv);
        free(logits);
        free(seqs);
        free(tok);
        if (!ok) {
            fprintf(stderr, "bench_bf16: %s\n", err.msg);
            exit(1);
        }
        return t;
    }
    if (!ok) {
        fprintf(stderr, "bench_bf16: %s\n", err.msg);
        exit(1);
    }
    *cpu = cpu_s() - c0;
    return omp_get_wtime() - t0;
}

int main(int argc, char **argv) {
    opts o = {12, 768, 12, 50257, 4, 64, 3, 16, 16, 0, 0, 0, {1, 1, 1}};
    bench_int_arg ints[] = {
        {"--layers", &o.layers}, {"--embd", &o.embd}, {"--heads", &o.heads}, {"--vocab", &o.vocab},
        {"--batch", &o.batch}, {"--seq", &o.seq}, {"--repeats", &o.repeats}, {"--prompt", &o.prompt},
        {"--decode-steps", &o.decode_steps}, {"--threads", &o.threads}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) { o.json = 1; continue; }
        if (!strcmp(argv[i], "--cold")) { o.cold = 1; continue; }
        if (!strcmp(argv[i], "--phases") && i + 1 < argc) {
            const char *list = argv[++i];
            for (int p = 0; p < NPHASE; p++) o.want[p] = strstr(list, PHASE[p]) != NULL;
            if (!o.want[TRAIN] && !o.want[SCORE] && !o.want[DECODE]) {
                fprintf(stderr, "bench_bf16: --phases wants a list of train, score, decode\n");
                return 2;
            }
            continue;
        }
        if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_bf16 [--layers L --embd C --heads H --vocab V --batch B --seq T --repeats R\n"
                   "                  --prompt P --decode-steps D --threads N] [--phases train,score,decode]\n"
                   "                  [--cold] [--json]\n"
                   "Tokens/s of training, scoring and decoding in fp32 and bf16 (default: GPT-2 124M, B4 T64).\n"
                   "Each timed unit follows an untimed one of the same precision; --cold: follows the other\n"
                   "precision's instead.\n");
            return 0;
        }
        if (!bench_int_option("bench_bf16", argc, argv, &i, ints, sizeof ints / sizeof ints[0])) return 2;
    }
    if (o.layers < 1 || o.embd < 1 || o.heads < 1 || o.embd % o.heads || o.vocab < 2 || o.batch < 1 ||
        o.seq < 2 || o.repeats < 1 || o.prompt < 1 || o.prompt > o.seq || o.decode_steps < 1 ||
        o.prompt + o.decode_steps + 1 > 1024) {
        fprintf(stderr, "bench_bf16: inconsistent shape (the prompt is read from the first --seq tokens: P <= T)\n");
        return 2;
    }
    tf_set_threads(o.threads);
    tf_config cfg;
    tf_config_gpt2(&cfg, o.layers, o.embd, o.heads, o.vocab, o.seq > 1024 ? o.seq : 1024);
    tf_error err;
    tf_model *m[2];
    for (int d = 0; d < 2; d++) {
        m[d] = tf_model_new(&cfg, 1, &err);
        if (!m[d] || tf_model_set_dtype(m[d], d ? TF_DTYPE_BF16 : TF_DTYPE_FP32, &err)) {
            fprintf(stderr, "bench_bf16: %s\n", err.msg);
            return 1;
        }
    }
    size_t BT = (size_t)o.batch * o.seq;
    int *in = malloc(BT * sizeof(int)), *tg = malloc(BT * sizeof(int));
    tf_rng r;
    tf_rng_seed(&r, 3);
    for (size_t i = 0; i < BT; i++) in[i] = (int)(tf_rng_u64(&r) % o.vocab);
    for (size_t i = 0; i < BT; i++) tg[i] = (i + 1) % o.seq ? in[i + 1] : -1;
    double med[NPHASE][2], cmed[NPHASE][2], c;
    for (int p = 0; p < NPHASE; p++) {
        if (!o.want[p]) continue;
        double *t[2] = {malloc(o.repeats * sizeof(double)), malloc(o.repeats * sizeof(double))};
        double *ct[2] = {malloc(o.repeats * sizeof(double)), malloc(o.repeats * sizeof(double))};
        for (int d = 0; d < 2; d++) run_phase(m[d], p, &o, in, tg, &c);  // warm-up (primitives, buffers)
        for (int k = 0; k < o.repeats; k++)
            for (int d = 0; d < 2; d++) {
                if (!o.cold) run_phase(m[d], p, &o, in, tg, &c);  // this precision's state in cache
                t[d][k] = run_phase(m[d], p, &o, in, tg, &ct[d][k]);
            }
        for (int d = 0; d < 2; d++) {
            qsort(t[d], o.repeats, sizeof(double), cmp_double);
            qsort(ct[d], o.repeats, sizeof(double), cmp_double);
            med[p][d] = t[d][o.repeats / 2];
            cmed[p][d] = ct[d][o.repeats / 2];
            free(t[d]);
            free(ct[d]);
        }
    }
    double tokens[NPHASE] = {(double)BT, (double)BT, (double)o.batch * o.decode_steps};
    if (o.json) {
        printf("{\"shape\": {\"layers\": %d, \"embd\": %d, \"vocab\": %d, \"batch\": %d, \"seq\": %d}, "
               "\"threads\": %d, \"cold\": %s",
               o.layers, o.embd, o.vocab, o.batch, o.seq, omp_get_max_threads(), o.cold ? "true" : "false");
        for (int p = 0; p < NPHASE; p++)
            if (o.want[p])
                printf(", \"%s\": {\"fp32_tok_s\": %.1f, \"bf16_tok_s\": %.1f, \"speedup\": %.2f, \"fp32_cpu_ms\": %.1f, "
                   "\"bf16_cpu_ms\": %.1f}", PHASE[p], tokens[p] / med[p][0], tokens[p] / med[p][1],
                   med[p][0] / med[p][1], cmed[p][0] * 1e3, cmed[p][1] * 1e3);
        printf("}\n");
    } else {
        printf("GPT-2 L%d C%d V%d, B%d T%d, %d threads (median of %d; %s)\n", o.layers, o.embd, o.vocab, o.batch,
               o.seq, omp_get_max_threads(), o.repeats,
               o.cold ? "cold: each after the other precision's unit" : "each after an untimed unit of its own");
        printf("%-8s %12s %12s %8s %14s %14s %8s\n", "phase", "fp32 tok/s", "bf16 tok/s", "bf16/fp32",
               "fp32 CPU ms", "bf16 CPU ms", "CPU x");
        for (int p = 0; p < NPHASE; p++)
            if (o.want[p])
                printf("%-8s %12.1f %12.1f %8.2f %14.1f %14.1f %8.2f\n", PHASE[p], tokens[p] / med[p][0],
                   tokens[p] / med[p][1], med[p][0] / med[p][1], cmed[p][0] * 1e3, cmed[p][1] * 1e3,
                   cmed[p][0] / cmed[p][1]);
        printf("(CPU ms: process CPU time of one unit, all threads: a step, a forward, %d decode steps)\n",
               o.decode_steps);
    }
    for (int d = 0; d < 2; d++) tf_model_free(m[d]);
    free(in);
    free(tg);
    return 0;
}
