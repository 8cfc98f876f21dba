// test_filter.c — the Toolformer filter: weights, row layouts, and the losses against PyTorch
// (tests/fixtures/make_filter_fixture.py computes them straight from the paper's formula).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tf_pipeline.h"
#include "tf_safetensors.h"

Test(filter, weights_are_the_papers_and_sum_to_one) {
    const float want[5] = {1.0f / 3, 4.0f / 15, 1.0f / 5, 2.0f / 15, 1.0f / 15};
    float sum = 0;
    for (int t = 0; t < 5; t++) {
        cr_assert_float_eq(tf_filter_weight(t), want[t], 1e-7, "w_%d", t);
        sum += tf_filter_weight(t);
    }
    cr_assert_float_eq(sum, 1.0f, 1e-6);
    cr_assert_eq(tf_filter_weight(5), 0.0f);
    cr_assert_eq(tf_filter_weight(-1), 0.0f);
}

Test(filter, rows_share_the_continuation_ids) {
    int x[10] = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, z[3] = {1, 2, 3}, sep[1] = {9}, row[32], cs, nc;
    int n = tf_build_row(row, 32, z, 3, sep, 1, x, 10, 4, 0, TF_PLACE_PREFIX, &cs, &nc);
    int want_prefix[] = {1, 2, 3, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    cr_assert_eq(n, 13);
    cr_assert_eq(cs, 8);
    cr_assert_eq(nc, 5);
    cr_assert_arr_eq(row, want_prefix, sizeof want_prefix);
    n = tf_build_row(row, 32, z, 3, sep, 1, x, 10, 4, 0, TF_PLACE_INLINE, &cs, &nc);
    int want_inline[] = {10, 11, 12, 13, 1, 2, 3, 14, 15, 16, 17, 18};
    cr_assert_eq(n, 12);
    cr_assert_eq(cs, 7);
    cr_assert_arr_eq(row, want_inline, sizeof want_inline);
    n = tf_build_row(row, 32, NULL, 0, sep, 1, x, 10, 8, 2, TF_PLACE_PREFIX, &cs, &nc);  // plain, cut window
    int want_plain[] = {12, 13, 14, 15, 16, 17, 18, 19};
    cr_assert_eq(n, 8);
    cr_assert_eq(nc, 2);  // only two tokens remain after position 8
    cr_assert_arr_eq(row, want_plain, sizeof want_plain);
    cr_assert_eq(tf_build_row(row, 32, NULL, 0, NULL, 0, x, 10, 0, 0, TF_PLACE_PREFIX, &cs, &nc), -1,
                 "the first token has nothing before it");
    cr_assert_eq(tf_build_row(row, 4, z, 3, sep, 1, x, 10, 4, 0, TF_PLACE_PREFIX, &cs, &nc), -1, "too long");
    cr_assert_eq(tf_window_start(8, 10, 15, 20), 5);
    cr_assert_eq(tf_window_start(2, 10, 3, 32), 0);
}

static int *ids_of(tf_st_file *f, const char *name, int *n) {
    const tf_st_tensor *t = tf_st_find(f, name);
    cr_assert(t && t->dtype == TF_ST_I32, "%s", name);
    int *out = malloc(t->nbytes);
    memcpy(out, t->data, t->nbytes);
    *n = (int)t->numel;
    return out;
}

Test(filter, losses_match_pytorch_for_prefix_inline_and_cut_windows) {
    tf_error err;
    tf_st_file *f = tf_st_open("tests/fixtures/filter-ref.safetensors", &err);
    cr_assert_not_null(f, "%s", err.msg);
    tf_model *m = tf_model_load("tests/fixtures/gpt2-tiny", &err);
    cr_assert_not_null(m, "%s", err.msg);
    int nx, np, ne, nl, ns, npos, nw;
    int *x = ids_of(f, "x", &nx), *zp = ids_of(f, "z_plus", &np), *ze = ids_of(f, "z_empty", &ne);
    int *zl = ids_of(f, "z_long", &nl), *sep = ids_of(f, "sep", &ns), *pos = ids_of(f, "pos", &npos);
    int *ws = ids_of(f, "window_start", &nw);
    const tf_st_tensor *lt = tf_st_find(f, "losses");
    double want[7];
    memcpy(want, lt->data, sizeof want);
    int cap = m->cfg.n_positions, bufs[7][64], cs[7], nc[7], len[7];
    int i = pos[0], j = pos[1];
    int s = tf_window_start(j, nx, nl + ns, cap);
    cr_assert_eq(s, ws[1], "window start %d vs the fixture's %d", s, ws[1]);
    len[0] = tf_build_row(bufs[0], cap, zp, np, sep, ns, x, nx, i, 0, TF_PLACE_PREFIX, &cs[0], &nc[0]);
    len[1] = tf_build_row(bufs[1], cap, ze, ne, sep, ns, x, nx, i, 0, TF_PLACE_PREFIX, &cs[1], &nc[1]);
    len[2] = tf_build_row(bufs[2], cap, NULL, 0, sep, ns, x, nx, i, 0, TF_PLACE_PREFIX, &cs[2], &nc[2]);
    len[3] = tf_build_row(bufs[3], cap, zp, np, sep, ns, x, nx, i, 0, TF_PLACE_INLINE, &cs[3], &nc[3]);
    len[4] = tf_build_row(bufs[4], cap, ze, ne, sep, ns, x, nx, i, 0, TF_PLACE_INLINE, &cs[4], &nc[4]);
    len[5] = tf_build_row(bufs[5], cap, zl, nl, sep, ns, x, nx, j, s, TF_PLACE_PREFIX, &cs[5], &nc[5]);
    len[6] = tf_build_row(bufs[6], cap, NULL, 0, sep, ns, x, nx, j, s, TF_PLACE_PREFIX, &cs[6], &nc[6]);
    tf_scored_row rows[9];
    for (int r = 0; r < 7; r++) {
        cr_assert_gt(len[r], 0, "row %d", r);
        rows[r] = (tf_scored_row){bufs[r], len[r], cs[r], nc[r]};
    }
    rows[7] = rows[2];  // equal rows are scored once and share the loss
    rows[8] = rows[0];
    float loss[9];
    cr_assert_eq(tf_score_rows(m, rows, 9, 3, loss, &err), TF_OK, "%s", err.msg);  // odd batch: padding
    cr_assert_eq(loss[7], loss[2]);
    cr_assert_eq(loss[8], loss[0]);
    for (int r = 0; r < 7; r++)
        cr_assert(fabs(loss[r] - want[r]) <= 1e-5 * fabs(want[r]) + 1e-6, "row %d: %.7f vs PyTorch %.7f", r, loss[r],
                  want[r]);
    free(x), free(zp), free(ze), free(zl), free(sep), free(pos), free(ws);
    tf_st_close(f);
    tf_model_free(m);
}
