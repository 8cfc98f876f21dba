// compare.c — the filter's losses for one call at one place of a text (`toolformer compare`): the
// three variants of Schick et al. 2023, §2, each with the call as a prefix and inline, all six rows
// over one window of the text so that every variant scores the same continuation ids.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_pipeline.h"

// The token i that starts at byte char_pos of text (x = its ids); -1 when no token starts there.
static int token_at(const tf_tokenizer *tok, const int *x, int nx, size_t char_pos) {
    int pos = -1;
    size_t off = 0;
    for (int i = 0; i < nx && off <= char_pos; i++) {
        if (off == char_pos) pos = i;
        size_t bl = 0;
        tf_tokenizer_token_bytes(tok, x[i], &bl);
        off += bl;
    }
    return pos;
}

// r: the given result, or the tool's (built by make_tools, freed here).
static int call_result(const tf_compare_request *req, char *result, size_t cap, tf_error *err) {
    if (req->result) {
        snprintf(result, cap, "%s", req->result);
        return TF_OK;
    }
    tf_toolset set = {0};
    int rc = req->make_tools(req->make_tools_ctx, req->call->name, &set, err);
    tf_tool *tool = rc ? NULL : tf_toolset_find(&set, req->call->name);
    if (!rc && !tool) rc = tf_errorf(err, TF_EBADARG, "no tool called '%s' is selected", req->call->name);
    tf_tool_context ctx = {req->date};
    if (!rc) rc = tf_tool_execute(tool, req->call->input, &ctx, result, cap, err);
    tf_toolset_free(&set);
    return rc;
}

int tf_compare_call(tf_model *m, const tf_tokenizer *tok, const tf_compare_request *req, tf_compare_result *res,
                    tf_error *err) {
    const tf_call *call = req->call;
    const char *text = req->text;
    int *ids[2] = {NULL, NULL}, nids[2] = {0, 0}, *sep = NULL, nsep = 0, rc = TF_OK;
    char *ztext_empty = NULL, result[TF_TOOL_RESULT_CAP];
    memset(res, 0, sizeof *res);
    // i: the token the call goes before, with a token before it to predict from and one after to score
    if (tf_tokenizer_encode(tok, text, strlen(text), 0, &res->x, &res->n_x, err)) return err->code;
    int pos = res->token_pos = token_at(tok, res->x, res->n_x, req->char_pos);
    if (pos < 1)
        return tf_errorf(err, TF_EBADARG, "--at: byte %zu of the text is %s", req->char_pos,
                         req->char_pos == 0 ? "its start (the first token has nothing to predict it from)"
                         : req->char_pos >= strlen(text)
                             ? "its end (no continuation to score)"
                             : "inside a token; end --at on a token boundary (e.g. before a space)");
    if (call_result(req, result, sizeof result, err)) return err->code;
    res->tau_f = req->tau_f >= 0 ? req->tau_f : tf_tool_default_thresholds(call->name).tau_f;
    // z: e(c, r) and e(c, eps)
    res->call_text = tf_call_text(call->name, call->input, result, 1);
    ztext_empty = tf_call_text(call->name, call->input, NULL, 1);
    const char *ztext[2] = {res->call_text, ztext_empty};
    for (int k = 0; k < 2 && !rc; k++) {
        if (!ztext[k])
            rc = tf_errorf(err, TF_EBADARG, "the call %s(%s) with result '%s' cannot be written as call text",
                           call->name, call->input, k ? "" : result);
        else if (tf_tokenizer_encode(tok, ztext[k], strlen(ztext[k]), 0, &ids[k], &nids[k], err))
            rc = err->code;
    }
    if (!rc && tf_tokenizer_encode(tok, "\n", 1, 0, &sep, &nsep, err)) rc = err->code;
    // one window of x for all six rows, so that every variant scores the same continuation ids
    int cap = m->cfg.n_positions, s = rc ? 0 : tf_window_start(pos, res->n_x, nids[0] + nsep, cap);
    for (int place = 0; place < 2 && !rc; place++)
        for (int v = 0; v < TF_NUM_VARIANTS && !rc; v++) {
            int r = TF_NUM_VARIANTS * place + v, cs0, nc;
            int has_z = v != TF_VARIANT_PLAIN;
            res->row_ids[r] = malloc(sizeof(int) * cap);
            int len = res->row_ids[r] ? tf_build_row(res->row_ids[r], cap, has_z ? ids[v] : NULL, has_z ? nids[v] : 0,
                                                     sep, nsep, res->x, res->n_x, pos, s,
                                                     place ? TF_PLACE_INLINE : TF_PLACE_PREFIX, &cs0, &nc)
                                      : -1;
            if (len < 0)
                rc = tf_errorf(err, TF_EBADARG, "the call and the text do not fit the model's context (%d tokens)", cap);
            else
                res->rows[r] = (tf_scored_row){res->row_ids[r], len, cs0, nc};
        }
    if (!rc) rc = tf_score_rows(m, res->rows, 2 * TF_NUM_VARIANTS, 2 * TF_NUM_VARIANTS, res->loss, err);
    if (!rc) {
        // L- = min(L(eps), L(e(c, eps))), L+ = L(e(c, r)); kept when L- - L+ >= tau_f
        const float *lp = res->loss, *li = res->loss + TF_NUM_VARIANTS;
        res->loss_minus = lp[TF_VARIANT_PLAIN] < lp[TF_VARIANT_WITHOUT_RESULT] ? lp[TF_VARIANT_PLAIN]
                                                                              : lp[TF_VARIANT_WITHOUT_RESULT];
        res->score = res->loss_minus - lp[TF_VARIANT_WITH_RESULT];
        res->score_inline = (li[TF_VARIANT_PLAIN] < li[TF_VARIANT_WITHOUT_RESULT] ? li[TF_VARIANT_PLAIN]
                                                                                 : li[TF_VARIANT_WITHOUT_RESULT]) -
                            li[TF_VARIANT_WITH_RESULT];
        res->passes = res->score >= res->tau_f;
    }
    for (int k = 0; k < 2; k++) free(ids[k]);
    free(ztext_empty);
    free(sep);
    return rc;
}

void tf_compare_result_free(tf_compare_result *res) {
    for (int r = 0; r < 2 * TF_NUM_VARIANTS; r++) free(res->row_ids[r]);
    free(res->call_text);
    free(res->x);
    memset(res, 0, sizeof *res);
}
