// bench_phases.c — where a training step's time goes: wall and process CPU time of tf_model_forward,
// tf_model_zero_grad, tf_model_backward and tf_model_adamw_step, separately, on a random GPT-2 of the
// given shape, in fp32 or bf16. CPU time (all threads) is the steadier figure on a shared machine.
//
//   bench_phases [--layers L --embd C --heads H --vocab V --batch B --seq T --repeats R --threads N]
//                [--dtype fp32|bf16]        (default: GPT-2 124M, B4 T64, 3 repeats after one warm-up)
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_args.h"
#include "toolformer.h"

static double cpu_s(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}

static void fail(const char *what, const tf_error *err) {
    fprintf(stderr, "bench_phases: %s: %s\n", what, err->msg);
    exit(1);
}

int main(int argc, char **argv) {
    int L = 12, C = 768, H = 12, V = 50257, B = 4, T = 64, R = 3, threads = 0;
    tf_dtype dt = TF_DTYPE_FP32;
    bench_int_arg ints[] = {{"--layers", &L}, {"--embd", &C},  {"--heads", &H},   {"--vocab", &V},
                            {"--batch", &B},  {"--seq", &T},   {"--repeats", &R}, {"--threads", &threads}};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_phases [--layers L --embd C --heads H --vocab V --batch B --seq T --repeats R\n"
                   "                    --threads N] [--dtype fp32|bf16]\n"
                   "Wall and CPU ms of forward, zero_grad, backward and AdamW in a training step\n"
                   "(default: GPT-2 124M, B4 T64, fp32, 3 repeats after one warm-up step).\n");
            return 0;
        }
        if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
            if (tf_dtype_parse(argv[++i], &dt)) {
                fprintf(stderr, "bench_phases: --dtype wants fp32 or bf16\n");
                return 2;
            }
            continue;
        }
        if (!bench_int_option("bench_phases", argc, argv, &i, ints, sizeof ints / sizeof ints[0])) return 2;
    }
    if (L < 1 || C < 1 || H < 1 || C % H || V < 2 || B < 1 || T < 2 || T > 4096 || R < 1) {
        fprintf(stderr, "bench_phases: inconsistent shape\n");
        return 2;
    }
    tf_set_threads(threads);
    tf_config cfg;
    tf_config_gpt2(&cfg, L, C, H, V, T > 1024 ? T : 1024);
    tf_error err;
    tf_model *m = tf_model_new(&cfg, 1234, &err);
    if (!m) fail("model", &err);
    if (tf_model_set_dtype(m, dt, &err)) fail("dtype", &err);
    int *in = malloc((size_t)B * T * sizeof(int)), *tg = malloc((size_t)B * T * sizeof(int));
    tf_rng r;
    tf_rng_seed(&r, 3);
    for (int i = 0; i < B * T; i++) in[i] = (int)(tf_rng_u64(&r) % V);
    for (int i = 0; i < B * T; i++) tg[i] = (i + 1) % T ? in[i + 1] : -1;
    const tf_adamw opt = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f};
    enum { NP = 5 };
    static const char *const name[NP] = {"forward", "zero_grad", "backward", "adamw", "step"};
    double wall[NP] = {0}, cpu[NP] = {0};
    for (int k = 0; k <= R; k++) {  // k = 0: warm-up (buffers, primitives, AdamW state)
        double w[NP], c[NP - 1];
        w[0] = omp_get_wtime(), c[0] = cpu_s();
        if (tf_model_forward(m, in, tg, NULL, B, T, &err)) fail("forward", &err);
        w[1] = omp_get_wtime(), c[1] = cpu_s();
        if (tf_model_zero_grad(m, &err)) fail("zero_grad", &err);
        w[2] = omp_get_wtime(), c[2] = cpu_s();
        if (tf_model_backward(m, 1.0f, &err)) fail("backward", &err);
        w[3] = omp_get_wtime(), c[3] = cpu_s();
        if (tf_model_adamw_step(m, &opt, &err) < 0) fail("adamw", &err);
        double we = omp_get_wtime(), ce = cpu_s();
        if (!k) continue;
        for (int p = 0; p < NP - 1; p++) {
            wall[p] += (p + 1 < NP - 1 ? w[p + 1] : we) - w[p];
            cpu[p] += (p + 1 < NP - 1 ? c[p + 1] : ce) - c[p];
        }
        wall[NP - 1] += we - w[0];
        cpu[NP - 1] += ce - c[0];
    }
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    printf("GPT-2 L%d C%d V%d, B%d T%d, %s, %d threads, mean of %d steps (load average %.2f)\n", L, C, V, B, T,
           tf_dtype_name(dt), omp_get_max_threads(), R, load);
    printf("%-10s %10s %10s\n", "phase", "wall ms", "CPU ms");
    for (int p = 0; p < NP; p++) printf("%-10s %10.1f %10.1f\n", name[p], wall[p] / R * 1e3, cpu[p] / R * 1e3);
    printf("tokens/s %.1f (wall), %.1f per CPU-second\n", B * T / (wall[NP - 1] / R), B * T / (cpu[NP - 1] / R));
    tf_model_free(m);
    free(in);
    free(tg);
    return 0;
}
