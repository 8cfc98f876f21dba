// bench_engine.c — the engine's speed benchmark: tokens/s and achieved GFLOP/s of a training step
// (forward + backward + AdamW), forward-only scoring, and cached greedy decoding (B sequences batched,
// and B = 1), on a random GPT-2 of the shape given on the command line. Its PyTorch twin is
// bench/bench_engine.py; bench/run_engine.sh runs both and prints one table.
//
// FLOPs counted (matmuls only, causal attention as actually needed):
//   N = L (3C^2 + C^2 + 2 C F) + V C        (weights of every matmul, the LM head included)
//   forward per token at position t (0-based): 2 N + L * 4 C (t + 1)   (q.k and att.v)
//   scoring: the forward summed over the batch; training: 3x the forward (backward = 2x forward);
//   decoding a token at position p: 2 N + L * 4 C (p + 1).
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "toolformer.h"

typedef struct {
    int layers, embd, heads, vocab, batch, seq;
    int threads, warmup, repeats, prompt, decode_steps, json;
    int run_train, run_score, run_decode;
} opts;

typedef struct {
    double tok_s, gflops, ms;  // ms: median time of one unit (step / forward / decode token batch)
    int valid;
    double cpu_ms;             // process CPU time (all threads) per unit, mean over the timed repeats
} result;

// process CPU seconds (user + system, all threads): with busy neighbours on the machine it shows
// how much of the wall time was our own work
static double cpu_s(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_engine [--layers L --embd C --heads H --vocab V --batch B --seq T]\n"
            "                    [--threads N] [--warmup W] [--repeats R] [--prompt P]\n"
            "                    [--decode-steps D] [--only train,score,decode] [--json]\n"
            "                    [--print-threads]\n"
            "Times a training step, forward-only scoring and cached greedy decoding on a random\n"
            "GPT-2 of the given shape (defaults: L6 C256 H8 V4096 B8 T256, 2 warm-up runs, median\n"
            "of 5; decoding: a P=16-token prompt per sequence, then D=32 steps).\n");
}

static int parse_int(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000000000) return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o) {
    *o = (opts){6, 256, 8, 4096, 8, 256, 0, 2, 5, 16, 32, 0, 1, 1, 1};
    struct { const char *name; int *dst; } ints[] = {
        {"--layers", &o->layers},   {"--embd", &o->embd},       {"--heads", &o->heads},
        {"--vocab", &o->vocab},     {"--batch", &o->batch},     {"--seq", &o->seq},
        {"--threads", &o->threads}, {"--warmup", &o->warmup},   {"--repeats", &o->repeats},
        {"--prompt", &o->prompt},   {"--decode-steps", &o->decode_steps},
    };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); exit(0); }
        if (!strcmp(argv[i], "--json")) { o->json = 1; continue; }
        if (!strcmp(argv[i], "--print-threads")) {  // the default thread count, for run_engine.sh
            tf_set_threads(0);
            printf("%d\n", omp_get_max_threads());
            exit(0);
        }
        if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            const char *s = argv[++i];
            o->run_train = strstr(s, "train") != NULL;
            o->run_score = strstr(s, "score") != NULL;
            o->run_decode = strstr(s, "decode") != NULL;
            continue;
        }
        int found = 0;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
            if (strcmp(argv[i], ints[k].name)) continue;
            found = 1;
            if (i + 1 >= argc || parse_int(argv[i + 1], ints[k].dst)) {
                fprintf(stderr, "bench_engine: %s needs a non-negative integer\n", argv[i]);
                return -1;
            }
            i++;
        }
        if (!found) {
            fprintf(stderr, "bench_engine: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    if (o->layers < 1 || o->embd < 1 || o->heads < 1 || o->embd % o->heads || o->vocab < 2 ||
        o->batch < 1 || o->seq < 2 || o->repeats < 1 || o->prompt < 1 || o->decode_steps < 1) {
        fprintf(stderr, "bench_engine: inconsistent shape (need embd %% heads == 0, seq >= 2, ...)\n");
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double matmul_params(const tf_config *c) {
    double C = c->n_embd, F = c->n_inner, L = c->n_layer, V = c->vocab_size;
    return L * (3 * C * C + C * C + 2 * C * F) + V * C;
}

// forward FLOPs of one sequence of T tokens
static double forward_flops_seq(const tf_config *c, int T) {
    double att = 0;
    for (int t = 0; t < T; t++) att += (double)c->n_layer * 4.0 * c->n_embd * (t + 1);
    return 2.0 * matmul_params(c) * T + att;
}

static void fail(const char *what, const tf_error *err) {
    fprintf(stderr, "bench_engine: %s: %s\n", what, err->msg);
    exit(1);
}

static result bench_train(tf_model *m, const int *in, const int *tg, const opts *o) {
    tf_error err;
    tf_adamw opt = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    double *t = malloc(o->repeats * sizeof *t), c0 = 0;
    for (int i = 0; i < o->warmup + o->repeats; i++) {
        if (i == o->warmup) c0 = cpu_s();
        double t0 = tf_time_s();
        if (tf_model_forward(m, in, tg, NULL, o->batch, o->seq, &err)) fail("forward", &err);
        if (tf_model_zero_grad(m, &err)) fail("zero_grad", &err);
        if (tf_model_backward(m, 1.0f, &err)) fail("backward", &err);
        if (tf_model_adamw_step(m, &opt, &err) < 0) fail("adamw", &err);
        if (i >= o->warmup) t[i - o->warmup] = tf_time_s() - t0;
    }
    double cpu = (cpu_s() - c0) / o->repeats, s = median(t, o->repeats);
    free(t);
    double tokens = (double)o->batch * o->seq;
    return (result){tokens / s, 3.0 * forward_flops_seq(&m->cfg, o->seq) * o->batch / s / 1e9, s * 1e3, 1,
                    cpu * 1e3};
}

static result bench_score(tf_model *m, const int *in, const int *tg, const opts *o) {
    tf_error err;
    double *t = malloc(o->repeats * sizeof *t), c0 = 0;
    for (int i = 0; i < o->warmup + o->repeats; i++) {
        if (i == o->warmup) c0 = cpu_s();
        double t0 = tf_time_s();
        if (tf_model_forward(m, in, tg, NULL, o->batch, o->seq, &err)) fail("forward", &err);
        if (i >= o->warmup) t[i - o->warmup] = tf_time_s() - t0;
    }
    double cpu = (cpu_s() - c0) / o->repeats, s = median(t, o->repeats);
    free(t);
    double tokens = (double)o->batch * o->seq;
    return (result){tokens / s, forward_flops_seq(&m->cfg, o->seq) * o->batch / s / 1e9, s * 1e3, 1, cpu * 1e3};
}

static int argmax(const float *x, int V) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

// Prefills nb sequences with a prompt each (untimed), then times decode_steps greedy steps of all nb
// sequences batched. Returns tokens/s with the median over repeats of the whole decode loop.
static result bench_decode(tf_model *m, const int *prompt_ids, int nb, const opts *o) {
    tf_error err;
    const tf_config *c = &m->cfg;
    int V = c->vocab_size, P = o->prompt, D = o->decode_steps;
    tf_kv *kv = tf_kv_new(m, nb, P + D, &err);
    if (!kv) fail("kv_new", &err);
    float *logits = malloc((size_t)nb * V * sizeof(float));
    int *seqs = malloc(nb * sizeof(int)), *tok = malloc(nb * sizeof(int));
    double *t = malloc(o->repeats * sizeof *t), cpu = 0;
    int warm = o->warmup > 0 ? 1 : 0;  // one warm-up pass of the whole loop
    for (int i = 0; i < warm + o->repeats; i++) {
        for (int b = 0; b < nb; b++) {
            tf_kv_truncate(kv, b, 0);
            seqs[b] = b;
            if (tf_model_prefill(m, kv, b, prompt_ids + (size_t)b * P, P, logits + (size_t)b * V, 0, &err))
                fail("prefill", &err);
            tok[b] = argmax(logits + (size_t)b * V, V);
        }
        double t0 = tf_time_s(), c0 = cpu_s();
        for (int s = 0; s < D; s++) {
            if (tf_model_decode(m, kv, seqs, tok, nb, logits, &err)) fail("decode", &err);
            for (int b = 0; b < nb; b++) tok[b] = argmax(logits + (size_t)b * V, V);
        }
        if (i >= warm) {
            t[i - warm] = tf_time_s() - t0;
            cpu += cpu_s() - c0;
        }
    }
    double s = median(t, o->repeats);
    double flops = 0;
    for (int p = P; p < P + D; p++)
        flops += 2.0 * matmul_params(c) + (double)c->n_layer * 4.0 * c->n_embd * (p + 1);
    flops *= nb;
    free(t);
    free(seqs);
    free(tok);
    free(logits);
    tf_kv_free(kv);
    return (result){(double)nb * D / s, flops / s / 1e9, s * 1e3 / D, 1, cpu / o->repeats * 1e3 / D};
}

static void print_json_result(const char *name, result r, int last) {
    if (!r.valid) {
        printf("  \"%s\": null%s\n", name, last ? "" : ",");
        return;
    }
    printf("  \"%s\": {\"tok_s\": %.2f, \"gflops\": %.2f, \"ms\": %.3f, \"cpu_ms\": %.3f}%s\n", name,
           r.tok_s, r.gflops, r.ms, r.cpu_ms, last ? "" : ",");
}

int main(int argc, char **argv) {
    opts o;
    if (parse_args(argc, argv, &o)) return 2;
    tf_set_threads(o.threads);
    int threads = omp_get_max_threads();
    tf_config cfg;
    int npos = o.seq > o.prompt + o.decode_steps ? o.seq : o.prompt + o.decode_steps;
    tf_config_gpt2(&cfg, o.layers, o.embd, o.heads, o.vocab, npos);
    tf_error err;
    tf_model *m = tf_model_new(&cfg, 1234, &err);
    if (!m) fail("model_new", &err);

    size_t BT = (size_t)o.batch * o.seq;
    int *in = malloc(BT * sizeof(int)), *tg = malloc(BT * sizeof(int));
    tf_rng rng;
    tf_rng_seed(&rng, 42);
    for (size_t i = 0; i < BT; i++) in[i] = (int)(tf_rng_u64(&rng) % (uint64_t)o.vocab);
    for (size_t i = 0; i < BT; i++) tg[i] = (i + 1) % o.seq ? in[i + 1] : (int)(tf_rng_u64(&rng) % (uint64_t)o.vocab);

    result train = {0}, score = {0}, dec = {0}, dec1 = {0};
    if (o.run_train) train = bench_train(m, in, tg, &o);
    if (o.run_score) score = bench_score(m, in, tg, &o);
    if (o.run_decode) {
        dec = bench_decode(m, in, o.batch, &o);  // prompts: the first P ids of each row's slot
        if (o.batch > 1) dec1 = bench_decode(m, in, 1, &o);
        else dec1 = dec;
    }
    if (o.json) {
        double load[3] = {0, 0, 0};
        getloadavg(load, 3);
        printf("{\n  \"engine\": \"c\",\n  \"threads\": %d,\n  \"loadavg\": %.2f,\n", threads, load[0]);
        printf("  \"shape\": {\"layers\": %d, \"embd\": %d, \"heads\": %d, \"vocab\": %d, \"batch\": %d, "
               "\"seq\": %d, \"prompt\": %d, \"decode_steps\": %d},\n",
               o.layers, o.embd, o.heads, o.vocab, o.batch, o.seq, o.prompt, o.decode_steps);
        printf("  \"params\": %zu,\n  \"matmul_params\": %.0f,\n", m->num_params, matmul_params(&cfg));
        print_json_result("train", train, 0);
        print_json_result("score", score, 0);
        print_json_result("decode", dec, 0);
        print_json_result("decode_b1", dec1, 1);
        printf("}\n");
    } else {
        printf("C engine, %d threads, L%d d%d h%d V%d B%d T%d (%.2fM parameters)\n", threads, o.layers,
               o.embd, o.heads, o.vocab, o.batch, o.seq, m->num_params / 1e6);
        const char *names[] = {"train", "score", "decode", "decode B=1"};
        result rs[] = {train, score, dec, dec1};
        for (int i = 0; i < 4; i++)
            if (rs[i].valid)
                printf("  %-11s %10.1f tok/s %8.1f GFLOP/s %10.3f ms/%s (%.3f ms CPU)\n", names[i],
                       rs[i].tok_s, rs[i].gflops, rs[i].ms, i < 2 ? (i ? "forward" : "step") : "step",
                       rs[i].cpu_ms);
    }
    free(in);
    free(tg);
    tf_model_free(m);
    return 0;
}
