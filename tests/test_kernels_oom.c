// test_kernels_oom.c — kernels fail honestly when memory runs out: the LayerNorm backward allocates
// its per-thread partial sums outside the parallel region and, when that allocation fails (an
// address-space limit here), sums on the calling thread instead of crashing; same gradients. The
// attention kernels take their scratch from the caller, so a forward without memory says so.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "toolformer.h"

static long vm_size_bytes(void) {
    double kb = tf_proc_kb("/proc/self/status", "VmSize");
    cr_assert_gt(kb, 0);
    return (long)kb * 1024;
}

Test(kernels_oom, layernorm_backward_without_memory_for_partials_gives_the_same_gradients) {
    if (getenv("TF_ASAN")) cr_skip_test("the sanitizer reserves the address space: no limit can be set");
    enum { N = 4 };
    const int C = 1 << 21;  // the partial sums need 2 x C floats per thread: 16 MB each
    tf_set_threads(2);
    size_t nc = (size_t)N * C;
    float *x = malloc(nc * 4), *dy = malloc(nc * 4), *y = malloc(nc * 4), *dx = calloc(nc, 4), *dx2 = calloc(nc, 4);
    float *w = malloc(C * 4), *b = calloc(C, 4), *dw = malloc(C * 4), *db = malloc(C * 4), *dw2 = malloc(C * 4),
          *db2 = malloc(C * 4), mean[N], rstd[N];
    cr_assert(x && dy && y && dx && dx2 && w && b && dw && db && dw2 && db2);
    tf_rng r;
    tf_rng_seed(&r, 5);
    for (size_t i = 0; i < nc; i++) x[i] = tf_rng_uniform(&r) - 0.5f, dy[i] = tf_rng_uniform(&r) - 0.5f;
    for (int i = 0; i < C; i++) w[i] = tf_rng_uniform(&r) + 0.5f;
    tf_layernorm_forward(y, mean, rstd, x, w, b, N, C, 1e-5f);  // also starts the OpenMP threads
    tf_layernorm_backward_acc(dx, dw, db, dy, x, w, mean, rstd, N, C, 0);  // with the partials
    // now leave 4 MB of address space: the partials' 32 MB cannot be had
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_size_bytes() + (4 << 20);
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
    void *probe = malloc((size_t)64 << 20);
    cr_assert_null(probe, "the address-space limit does not hold here");
    for (int i = 0; i < C; i++) dw2[i] = db2[i] = 1e9f;  // stale: overwritten (acc_dw 0)
    tf_layernorm_backward_acc(dx2, dw2, db2, dy, x, w, mean, rstd, N, C, 0);
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
    for (int i = 0; i < C; i += 4099) {
        cr_assert_float_eq(dw2[i], dw[i], 1e-5 * (1 + fabsf(dw[i])), "dweight[%d]", i);
        cr_assert_float_eq(db2[i], db[i], 1e-5 * (1 + fabsf(db[i])), "dbias[%d]", i);
        double sw = 0.0;
        for (int n = 0; n < N; n++) sw += dy[(size_t)n * C + i] * (((double)x[(size_t)n * C + i] - mean[n]) * rstd[n]);
        cr_assert_float_eq(dw2[i], sw, 1e-4, "dweight[%d] against double", i);
    }
    for (size_t i = 0; i < nc; i += 7919) cr_assert_float_eq(dx2[i], dx[i], 1e-5 * (1 + fabsf(dx[i])), "dinp[%zu]", i);
    free(x), free(dy), free(y), free(dx), free(dx2), free(w), free(b), free(dw), free(db), free(dw2), free(db2);
}

// The attention kernels allocate nothing: their per-thread scratch is part of the activations, allocated
// and checked by tf_model_forward before any kernel runs. Without the memory the forward says so
// (TF_ENOMEM) instead of crashing inside a parallel region; with it, the same call works.
Test(kernels_oom, forward_without_memory_for_activations_and_attention_scratch_reports_enomem) {
    if (getenv("TF_ASAN")) cr_skip_test("the sanitizer reserves the address space: no limit can be set");
    tf_set_threads(2);
    tf_config c;
    tf_config_gpt2(&c, 1, 64, 2, 50, 512);
    tf_error err;
    tf_model *m = tf_model_new(&c, 3, &err);
    cr_assert_not_null(m, "%s", err.msg);
    enum { T = 512 };
    int in[T], tg[T];
    for (int t = 0; t < T; t++) in[t] = t % 50, tg[t] = (t + 1) % 50;
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_size_bytes() + (1 << 20);  // 1 MB: the attention scratch alone needs more
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
    int rc = tf_model_forward(m, in, tg, NULL, 1, T, &err);
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
    cr_assert_eq(rc, TF_ENOMEM, "forward under the limit returned %d (%s)", rc, err.msg);
    cr_assert(strstr(err.msg, "out of memory"), "message: %s", err.msg);
    cr_assert_eq(tf_model_forward(m, in, tg, NULL, 1, T, &err), TF_OK, "%s", err.msg);
    cr_assert(tf_model_backward(m, 1.0f, &err) == TF_OK, "%s", err.msg);
    tf_model_free(m);
}
