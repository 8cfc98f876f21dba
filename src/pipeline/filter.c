// filter.c — the Toolformer filter's weighted loss (Schick et al. 2023, §2 and §4.1), batched.
#include <stdlib.h>
#include <string.h>

#include "tf_pipeline.h"

// w~_t = max(0, 1 - 0.2 t); sum over t >= 0 of w~_t = 1 + 0.8 + 0.6 + 0.4 + 0.2 = 3, so
// w_t = w~_t / 3 = 1/3, 4/15, 1/5, 2/15, 1/15 for t = 0..4 and 0 afterwards.
float tf_filter_weight(int t) {
    if (t < 0 || t >= TF_FILTER_SPAN) return 0.0f;
    return (1.0f - 0.2f * (float)t) / 3.0f;
}

int tf_window_start(int i, int n_x, int longest_prefix, int max_len) {
    int end = i + TF_FILTER_SPAN < n_x ? i + TF_FILTER_SPAN : n_x;
    int s = end + longest_prefix - max_len;
    return s > 0 ? s : 0;
}

int tf_build_row(int *out, int cap, const int *z, int nz, const int *sep, int nsep, const int *x, int n_x, int i,
                 int s, tf_placement place, int *cont_start, int *n_cont) {
    int end = i + TF_FILTER_SPAN < n_x ? i + TF_FILTER_SPAN : n_x;
    if (i < 0 || i >= n_x || s < 0 || s > i) return -1;
    int k = 0;
#define PUT(src, cnt)                                     \
    do {                                                  \
        if (k + (cnt) > cap) return -1;                   \
        if (cnt) memcpy(out + k, src, (cnt) * sizeof(int)); \
        k += (cnt);                                       \
    } while (0)
    if (place == TF_PLACE_PREFIX) {
        PUT(z, nz);
        if (nz) PUT(sep, nsep);
        PUT(x + s, i - s);
    } else {
        PUT(x + s, i - s);
        PUT(z, nz);
    }
#undef PUT
    *cont_start = k;
    *n_cont = end - i;
    if (k + *n_cont > cap || k < 1) return -1;  // the first continuation token needs something before it
    memcpy(out + k, x + i, (size_t)*n_cont * sizeof(int));
    return k + *n_cont;
}

typedef struct {
    const tf_scored_row *r;
    int row;
} row_ref;

// Orders rows by length, then content, so that equal rows are neighbours and batches hold rows of
// similar length.
static int by_len_then_ids(const void *a, const void *b) {
    const row_ref *x = a, *y = b;
    if (x->r->n != y->r->n) return x->r->n - y->r->n;
    int c = memcmp(x->r->ids, y->r->ids, sizeof(int) * (size_t)x->r->n);
    if (c) return c;
    if (x->r->cont_start != y->r->cont_start) return x->r->cont_start - y->r->cont_start;
    if (x->r->n_cont != y->r->n_cont) return x->r->n_cont - y->r->n_cont;
    return x->row - y->row;
}

static int same_row(const tf_scored_row *a, const tf_scored_row *b) {
    return a->n == b->n && a->cont_start == b->cont_start && a->n_cont == b->n_cont &&
           !memcmp(a->ids, b->ids, sizeof(int) * (size_t)a->n);
}

int tf_score_rows(tf_model *m, const tf_scored_row *rows, int n_rows, int batch, float *loss, tf_error *err) {
    if (n_rows <= 0) return TF_OK;
    if (batch <= 0) batch = 16;
    row_ref *order = malloc(sizeof *order * n_rows);
    int *uniq = malloc(sizeof(int) * n_rows);  // positions in order of the first of each run of equal rows
    if (!order || !uniq) {
        free(order);
        free(uniq);
        return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    for (int r = 0; r < n_rows; r++) {
        if (rows[r].cont_start < 1 || rows[r].cont_start + rows[r].n_cont > rows[r].n || rows[r].n > m->cfg.n_positions) {
            free(order);
            free(uniq);
            return tf_errorf(err, TF_EBADARG, "score: row %d is malformed or longer than the context (%d > %d)", r,
                             rows[r].n, m->cfg.n_positions);
        }
        order[r] = (row_ref){&rows[r], r};
    }
    // equal rows (the plain text at one position, shared by every candidate there) are scored once
    qsort(order, n_rows, sizeof *order, by_len_then_ids);
    int n_uniq = 0;
    for (int k = 0; k < n_rows; k++)
        if (k == 0 || !same_row(order[k].r, order[k - 1].r)) uniq[n_uniq++] = k;
    int maxT = order[n_rows - 1].r->n;
    int *in = malloc(sizeof(int) * batch * maxT), *tg = malloc(sizeof(int) * batch * maxT);
    int rc = TF_OK;
    if (!in || !tg) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
    for (int b0 = 0; !rc && b0 < n_uniq; b0 += batch) {
        int nb = n_uniq - b0 < batch ? n_uniq - b0 : batch;
        int T = order[uniq[b0 + nb - 1]].r->n - 1;  // inputs are ids[0 .. n-1), targets ids[1 .. n)
        if (T < 1) T = 1;
        for (int b = 0; b < nb; b++) {
            const tf_scored_row *r = order[uniq[b0 + b]].r;
            for (int t = 0; t < T; t++) {
                in[b * T + t] = t < r->n - 1 ? r->ids[t] : 0;
                // position t predicts ids[t + 1]; only the continuation is scored
                int j = t + 1;
                tg[b * T + t] = (j >= r->cont_start && j < r->cont_start + r->n_cont) ? r->ids[j] : -1;
            }
        }
        if ((rc = tf_model_forward(m, in, tg, NULL, nb, T, err))) break;
        const float *nll = tf_model_token_nll(m);
        for (int b = 0; b < nb; b++) {
            int first = uniq[b0 + b], last = b0 + b + 1 < n_uniq ? uniq[b0 + b + 1] : n_rows;
            const tf_scored_row *r = order[first].r;
            double L = 0.0;
            for (int t = 0; t < r->n_cont; t++) L += tf_filter_weight(t) * nll[b * T + r->cont_start + t - 1];
            for (int k = first; k < last; k++) loss[order[k].row] = (float)L;
        }
    }
    free(in);
    free(tg);
    free(order);
    free(uniq);
    return rc;
}
