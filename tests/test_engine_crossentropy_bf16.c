// test_engine_crossentropy_bf16.c — the mixed-precision cross-entropy backward (fused with the bf16
// rounding, softmax from the forward's kept row statistics) against a softmax computed in double here.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"
#include "tf_safetensors.h"

Test(engine_crossentropy_bf16, gradient_matches_double_softmax_rounded_once) {
    enum { N = 7, V = 5003 };
    float *x = malloc((size_t)N * V * sizeof(float)), *x0 = malloc((size_t)N * V * sizeof(float));
    uint16_t *d = malloc((size_t)N * V * sizeof(uint16_t));
    float nll[N], mx[N], inv[N], dnll[N] = {0.2f, 0.1f, 0.0f, 0.3f, 0.15f, 0.25f, 1e-3f};
    int tg[N] = {3, 0, 7, -1, V - 1, 42, 1000};
    tf_rng r;
    tf_rng_seed(&r, 5);
    for (size_t i = 0; i < (size_t)N * V; i++) x[i] = 4.0f * tf_rng_normal(&r);
    x[(size_t)5 * V + 42] = 60.0f;  // a confident row: the target's gradient is a difference of near-equal terms
    memcpy(x0, x, (size_t)N * V * sizeof(float));
    tf_crossentropy_forward_keep(nll, mx, inv, x, tg, N, V);
    memset(d, 0xff, (size_t)N * V * sizeof(uint16_t));
    tf_crossentropy_backward_bf16(d, x, mx, inv, tg, dnll, N, V);
    cr_assert_eq(memcmp(x, x0, (size_t)N * V * sizeof(float)), 0, "logits were modified");
    for (int i = 0; i < N; i++) {
        const float *row = x + (size_t)i * V;
        double m = -INFINITY, s = 0;
        for (int j = 0; j < V; j++) m = fmax(m, row[j]);
        for (int j = 0; j < V; j++) s += exp((double)row[j] - m);
        if (tg[i] >= 0) {
            double want = log(s) - ((double)row[tg[i]] - m);
            cr_assert(fabs(nll[i] - want) <= 1e-5 * (1 + want), "row %d: nll %.8g vs %.8g", i, nll[i], want);
        }
        for (int j = 0; j < V; j++) {
            double got = tf_bf16_to_f32(d[(size_t)i * V + j]);
            if (tg[i] < 0 || dnll[i] == 0.0f) {
                cr_assert_eq(d[(size_t)i * V + j], 0, "row %d (no target or weight 0) [%d] not zero", i, j);
                continue;
            }
            double want = (exp((double)row[j] - m) / s - (j == tg[i])) * dnll[i];
            // one bf16 rounding (2^-9 relative) of a value within fp32 error of want: 2^-8 covers a tie flip
            cr_assert(fabs(got - want) <= ldexp(fabs(want), -8) + 1e-6 * dnll[i], "row %d [%d]: %.8g vs %.8g", i,
                      j, got, want);
        }
    }
    free(x); free(x0); free(d);
}
