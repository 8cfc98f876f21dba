// bench_lora.c — LoRA training on a frozen bf16 base against scoring with the same base: the
// GFLOP/s of the products with the weights in a LoRA step (forward + the checkpointed layers'
// recomputation + the backward's input gradients + the adapters' products) and in the scoring
// forward, interleaved repeat by repeat so both see the same machine load. The base is a random
// model written as a BF16 checkpoint and mapped (tf_model_load_mapped, as the 6B path runs), or
// with --loaded converted to fp32 and multiplied through its bf16 copy.
//
// FLOPs counted: 2 per weight per row for every product with a base matrix (attention's own
// products, LayerNorms and the loss are not counted, in either phase); the adapters' four thin
// products per targeted module in the step.
//
//   bench_lora [--layers L --embd C --heads H --vocab V --batch B --seq T --rank R --repeats N
//               --threads N] [--targets LIST] [--no-checkpoint] [--loaded] [--json]
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_args.h"
#include "toolformer.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, const tf_error *err) {
    fprintf(stderr, "bench_lora: %s: %s\n", what, err->msg);
    exit(1);
}

// Rewrites dir/model.safetensors (F32) as BF16 in place.
static void to_bf16(const char *dir) {
    char p[4096], q[4096];
    tf_error err;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    snprintf(q, sizeof q, "%s/model.bf16", dir);
    tf_st_file *f = tf_st_open(p, &err);
    if (!f) die(p, &err);
    int n = tf_st_count(f);
    tf_st_entry *e = calloc((size_t)n, sizeof *e);
    uint16_t **bufs = calloc((size_t)n, sizeof *bufs);
    for (int i = 0; i < n; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        float *x = malloc(t->numel * sizeof(float));
        bufs[i] = malloc(t->numel * 2);
        if (!x || !bufs[i] || tf_st_to_f32(f, t, x, &err)) die(t->name, &err);
        tf_to_bf16(bufs[i], x, t->numel);
        free(x);
        e[i] = (tf_st_entry){.name = t->name, .dtype = TF_ST_BF16, .ndim = t->ndim, .data = bufs[i]};
        memcpy(e[i].shape, t->shape, sizeof t->shape);
    }
    if (tf_st_write(q, e, n, &err)) die(q, &err);
    tf_st_close(f);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(e);
    if (rename(q, p)) {
        perror("bench_lora: rename");
        exit(1);
    }
}

static long peak_rss_mb(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss / 1024;
}

int main(int argc, char **argv) {
    int layers = 12, embd = 768, heads = 12, vocab = 50257, batch = 4, seq = 64, rank = 16, repeats = 5, threads = 0;
    int ckpt = 1, loaded = 0, json = 0;
    const char *targets = "c_attn";
    const bench_int_arg ints[] = {{"--layers", &layers}, {"--embd", &embd}, {"--heads", &heads}, {"--vocab", &vocab},
                                  {"--batch", &batch},   {"--seq", &seq},   {"--rank", &rank},   {"--repeats", &repeats},
                                  {"--threads", &threads}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--targets") && i + 1 < argc) targets = argv[++i];
        else if (!strcmp(argv[i], "--no-checkpoint")) ckpt = 0;
        else if (!strcmp(argv[i], "--loaded")) loaded = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_lora [--layers L --embd C --heads H --vocab V --batch B --seq T --rank R --repeats N\n"
                   "                   --threads N] [--targets LIST] [--no-checkpoint] [--loaded] [--json]\n");
            return 0;
        } else if (!bench_int_option("bench_lora", argc, argv, &i, ints, sizeof ints / sizeof ints[0])) return 2;
    }
    tf_set_threads(threads);
    tf_config cfg;
    tf_config_gpt2(&cfg, layers, embd, heads, vocab, seq > 1024 ? seq : 1024);
    tf_error err;
    tf_model *m = tf_model_new(&cfg, 1, &err);
    if (!m) die("model", &err);
    char dir[] = "/tmp/bench_lora_XXXXXX";
    if (!loaded) {  // a BF16 checkpoint, mapped
        if (!mkdtemp(dir)) return 1;
        if (tf_model_save(m, dir, &err)) die(dir, &err);
        tf_model_free(m);
        to_bf16(dir);
        sync();  // the checkpoint just written reaches the disk now, not as writeback during the timed steps
        if (!(m = tf_model_load_mapped(dir, &err))) die(dir, &err);
    } else if (tf_model_set_dtype(m, TF_DTYPE_BF16, &err)) {
        die("dtype", &err);
    }
    tf_lora_options lo = {.r = rank, .alpha = 2.0f * rank, .targets = targets, .seed = 3};
    if (tf_lora_attach(m, &lo, &err)) die("lora", &err);
    tf_model_set_checkpointing(m, ckpt);
    int BT = batch * seq, *in = malloc(sizeof(int) * BT), *tg = malloc(sizeof(int) * BT);
    tf_rng r;
    tf_rng_seed(&r, 9);
    for (int i = 0; i < BT; i++) in[i] = tg[i] = (int)(tf_rng_u64(&r) % vocab);
    // FLOPs of the products with the base's weights, per row: layers and head
    double C = embd, F = 4.0 * embd, lay = 2.0 * layers * (3 * C * C + C * C + 2 * C * F), head = 2.0 * C * vocab;
    double adapters = 0;  // four products of 2 * r * (in or out) per row each: u, out, dB, du, dA, dinp -> 6
    for (int i = 0; i < tf_lora_count(m); i++) {
        tf_lora_info inf;
        tf_lora_info_at(m, i, &inf);
        adapters += 2.0 * inf.r * (inf.in + inf.out);
    }
    double score_flops = BT * (lay + head);
    // step: forward (+ adapters' 2 products), recomputed layers (+ adapters again), backward dinp (+ 4)
    double step_flops = BT * ((lay + head) + (ckpt ? lay : 0) + (lay + head) + adapters * (1 + ckpt + 2));
    const tf_adamw opt = {1e-4f, 0.9f, 0.95f, 1e-8f, 0.0f, 1.0f};
    double *ts = malloc(sizeof(double) * repeats), *tt = malloc(sizeof(double) * repeats);
    for (int k = -1; k < repeats; k++) {  // k = -1: warm-up
        tf_lora_set_training(m, 0);
        double t0 = omp_get_wtime();
        if (tf_model_forward(m, in, tg, NULL, batch, seq, &err)) die("score", &err);
        double t1 = omp_get_wtime();
        tf_lora_set_training(m, 1);
        if (tf_model_zero_grad(m, &err) || tf_model_forward(m, in, tg, NULL, batch, seq, &err) ||
            tf_model_backward(m, 1.0f, &err) || tf_model_adamw_step(m, &opt, &err) < 0)
            die("step", &err);
        double t2 = omp_get_wtime();
        if (k >= 0) {
            ts[k] = t1 - t0;
            tt[k] = t2 - t1;
        }
    }
    qsort(ts, repeats, sizeof *ts, cmp_double);
    qsort(tt, repeats, sizeof *tt, cmp_double);
    double s = ts[repeats / 2], t = tt[repeats / 2];
    double gs = score_flops / s * 1e-9, gt = step_flops / t * 1e-9;
    if (json)
        printf("{\"layers\": %d, \"embd\": %d, \"batch\": %d, \"seq\": %d, \"rank\": %d, \"targets\": \"%s\", "
               "\"checkpointing\": %d, \"mapped\": %d, \"threads\": %d, \"score_s\": %.4f, \"score_gflops\": %.1f, "
               "\"step_s\": %.4f, \"step_gflops\": %.1f, \"ratio\": %.3f, \"step_tokens_per_s\": %.1f, "
               "\"peak_rss_mb\": %ld}\n",
               layers, embd, batch, seq, rank, targets, ckpt, !loaded, omp_get_max_threads(), s, gs, t, gt, gt / gs,
               BT / t, peak_rss_mb());
    else
        printf("GPT-2 shape L%d C%d V%d, B%d T%d, LoRA r%d on %s, %s base, checkpointing %s, %d threads\n"
               "  scoring forward  %8.1f ms  %7.1f GFLOP/s\n"
               "  LoRA step        %8.1f ms  %7.1f GFLOP/s  (%.0f%% of scoring; %.0f tokens/s)\n"
               "  peak RSS %ld MB\n",
               layers, embd, vocab, batch, seq, rank, targets, loaded ? "loaded bf16" : "mapped BF16", ckpt ? "on" : "off",
               omp_get_max_threads(), s * 1e3, gs, t * 1e3, gt, 100 * gt / gs, BT / t, peak_rss_mb());
    tf_model_free(m);
    if (!loaded) {
        char p[4200];
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/config.json", dir);
        unlink(p);
        rmdir(dir);
    }
    free(in);
    free(tg);
    free(ts);
    free(tt);
    return 0;
}
