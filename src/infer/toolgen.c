// toolgen.c — decoding with tools (Toolformer §2, §4.2). A small state machine over one KV-cached
// sequence: NORMAL decoding forces " [" when it is among the top-k tokens; inside a CALL it decodes
// until "->" (then runs the tool, rewinds to the call's start and feeds the canonical text
// " [Name(input) -> result]", tokenized as the fine-tuning data was) or "]" (a call without result,
// kept as text). Fused tokens ("->" or "]" inside a longer token) are handled by that rewind.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_infer.h"

void tf_toolgen_defaults(tf_toolgen_options *o) {
    memset(o, 0, sizeof *o);
    o->max_new = 64;
    o->api_top_k = 10;
    o->max_calls = 1;
    o->max_call_tokens = 32;
    o->seed = 1;
}

void tf_toolgen_result_free(tf_toolgen_result *r) {
    free(r->text);
    free(r->ids);
    for (int i = 0; i < r->n_calls; i++) {
        free(r->calls[i].input);
        free(r->calls[i].result);
    }
    memset(r, 0, sizeof *r);
}

typedef struct {
    char *s;
    size_t n, cap;
} buf;

static int buf_put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) return -1;
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

// The decoding state: the sequence fed so far (prompt + generated) and the logits after it.
typedef struct {
    tf_model *m;
    tf_kv *kv;
    int *hist, n_hist, cap_hist;
    float *logits;
} seqstate;

static int feed(seqstate *st, const int *ids, int n, tf_error *err) {
    if (st->n_hist + n > st->cap_hist || st->n_hist + n > st->m->cfg.n_positions)
        return tf_errorf(err, TF_EBADARG, "generation reached the model's context of %d tokens", st->m->cfg.n_positions);
    if (tf_model_prefill(st->m, st->kv, 0, ids, n, st->logits, 0, err)) return err->code;
    memcpy(st->hist + st->n_hist, ids, sizeof(int) * n);
    st->n_hist += n;
    return TF_OK;
}

// Forgets everything from position len on, and recomputes the logits after position len - 1.
static int rewind_to(seqstate *st, int len, tf_error *err) {
    tf_kv_truncate(st->kv, 0, len - 1);
    st->n_hist = len - 1;
    return feed(st, st->hist + len - 1, 1, err);
}

static int rank_of(const float *l, int V, int id) {
    int r = 0;
    for (int i = 0; i < V; i++) r += l[i] > l[id];
    return r;
}

static int record_call(tf_toolgen_result *res, const char *name, const char *input, const char *result, size_t pos) {
    if (res->n_calls >= 16) return 0;
    tf_toolgen_call *c = &res->calls[res->n_calls++];
    snprintf(c->tool, sizeof c->tool, "%s", name);
    c->input = strdup(input ? input : "");
    c->result = result ? strdup(result) : NULL;
    c->text_pos = pos;
    return 0;
}

int tf_generate_with_tools(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_tool_context *ctx,
                           const char *prompt, const tf_toolgen_options *o, tf_toolgen_result *res, tf_error *err) {
    memset(res, 0, sizeof *res);
    int V = m->cfg.vocab_size, start_id = tf_tokenizer_token_id(tok, " ["), eos = tf_tokenizer_eos_id(tok);
    int use_tools = !o->no_tools && tools && tools->n > 0 && start_id >= 0;
    int *pids = NULL, np = 0, rc = TF_OK;
    if (tf_tokenizer_encode(tok, prompt, strlen(prompt), 0, &pids, &np, err)) return err->code;
    if (np == 0) {
        free(pids);
        if (eos < 0) return tf_errorf(err, TF_EBADARG, "empty prompt and no end-of-text token to start from");
        pids = malloc(sizeof(int));
        if (!pids) return tf_errorf(err, TF_ENOMEM, "out of memory");
        pids[0] = eos;
        np = 1;
    }
    seqstate st = {m, NULL, NULL, 0, m->cfg.n_positions, NULL};
    buf text = {0}, call = {0};
    // every generated id is also in the sequence, which the context bounds
    int *gen = malloc(sizeof(int) * ((size_t)m->cfg.n_positions + 2));
    float *l = malloc(sizeof(float) * V);
    st.hist = malloc(sizeof(int) * st.cap_hist);
    st.logits = malloc(sizeof(float) * V);
    st.kv = tf_kv_new(m, 1, m->cfg.n_positions, err);
    if (!gen || !l || !st.hist || !st.logits || !st.kv) {
        if (st.kv) tf_errorf(err, TF_ENOMEM, "out of memory");
        rc = err->code;
        goto out;
    }
    if ((rc = feed(&st, pids, np < st.cap_hist ? np : st.cap_hist, err))) goto out;
    tf_rng rng;
    tf_rng_seed(&rng, o->seed);
    int in_call = 0, call_start = 0, call_tokens = 0, calls = 0, block_start = 0;
    size_t call_text_pos = 0;
    for (int step = 0; step < o->max_new && st.n_hist < m->cfg.n_positions; step++) {
        memcpy(l, st.logits, sizeof(float) * V);
        int id;
        if (!in_call) {
            int forced = 0;
            if (use_tools && (o->disable || block_start || calls >= o->max_calls)) l[start_id] = -INFINITY;
            else if (use_tools && rank_of(l, V, start_id) < (o->api_top_k > 0 ? o->api_top_k : 1)) forced = 1;
            block_start = 0;
            id = forced ? start_id : tf_sample(l, V, &o->sampler, &rng);
            if (o->stop_at_eos && id == eos) break;
            if (use_tools && id == start_id) {
                in_call = 1;
                call_start = st.n_hist;
                call_text_pos = text.n;
                call_tokens = 0;
                call.n = 0;
                if ((rc = feed(&st, &id, 1, err))) goto out;
                continue;
            }
            size_t bl = 0;
            const char *b = tf_tokenizer_token_bytes(tok, id, &bl);
            const char *nl = o->stop_at_newline && b ? memchr(b, '\n', bl) : NULL;
            if (b && buf_put(&text, b, nl ? (size_t)(nl - b) : bl)) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
            if (o->on_text && b) o->on_text(o->ctx, b, nl ? (size_t)(nl - b) : bl);
            gen[res->n_ids++] = id;
            if (nl) break;
            if ((rc = feed(&st, &id, 1, err))) goto out;
            continue;
        }
        // inside a call
        id = tf_sample(l, V, &o->sampler, &rng);
        size_t bl = 0;
        const char *b = tf_tokenizer_token_bytes(tok, id, &bl);
        if (b && buf_put(&call, b, bl)) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
        call_tokens++;
        size_t k = 0;
        tf_call_end end = call.s ? tf_call_body_end(call.s, &k) : TF_CALL_OPEN;
        int close = end == TF_CALL_CLOSED;
        if (end == TF_CALL_AT_ARROW) {
            // "[Name(input)" is complete: run the tool
            tf_call parsed;
            tf_error perr;
            char result[TF_TOOL_RESULT_CAP];
            int have = 0;
            int prc = tf_call_parse_body(call.s, k, &parsed, &perr), ok = prc == TF_OK;
            if (prc == TF_ENOMEM) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
            tf_tool *tool = ok ? tf_toolset_find(tools, parsed.name) : NULL;
            if (tool && tf_tool_execute(tool, parsed.input, ctx, result, sizeof result, &perr) == TF_OK) have = 1;
            calls++;
            if (ok) record_call(res, tool ? tool->name : parsed.name, parsed.input, have ? result : NULL, call_text_pos);
            if (have) {
                char *full = tf_call_text(tool->name, parsed.input, result, 1);
                int *cids = NULL, nc = 0;
                if (!full || tf_tokenizer_encode(tok, full, strlen(full), 0, &cids, &nc, err)) {
                    free(full);
                    tf_call_free(&parsed);
                    rc = err->code ? err->code : tf_errorf(err, TF_ENOMEM, "out of memory");
                    goto out;
                }
                tf_kv_truncate(st.kv, 0, call_start);
                st.n_hist = call_start;
                rc = feed(&st, cids, nc, err);
                if (!rc) {
                    buf_put(&text, full, strlen(full));
                    if (o->on_text) o->on_text(o->ctx, full, strlen(full));
                    for (int j = 0; j < nc; j++) gen[res->n_ids++] = cids[j];
                }
                free(cids);
                free(full);
            } else {
                // no result: the call is abandoned, decoding goes on from before " ["
                rc = rewind_to(&st, call_start, err);
                block_start = 1;
            }
            tf_call_free(&parsed);
            if (rc) goto out;
            in_call = 0;
            continue;
        }
        if (close || call_tokens >= o->max_call_tokens) {
            if (close) {
                // a call without "->": kept as text, nothing executed
                calls++;
                if (buf_put(&text, " [", 2) || buf_put(&text, call.s, call.n)) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
                if (o->on_text) {
                    o->on_text(o->ctx, " [", 2);
                    o->on_text(o->ctx, call.s, call.n);
                }
                gen[res->n_ids++] = start_id;
                gen[res->n_ids++] = id;
                if ((rc = feed(&st, &id, 1, err))) goto out;
            } else {
                if ((rc = rewind_to(&st, call_start, err))) goto out;
                block_start = 1;
            }
            in_call = 0;
            continue;
        }
        if ((rc = feed(&st, &id, 1, err))) goto out;
    }
    res->text = text.s ? text.s : strdup("");
    res->len = text.n;
    text.s = NULL;
    res->ids = gen;
    gen = NULL;
out:
    free(text.s);
    free(call.s);
    free(gen);
    free(l);
    free(pids);
    free(st.hist);
    free(st.logits);
    tf_kv_free(st.kv);
    if (rc) tf_toolgen_result_free(res);
    return rc;
}

char *tf_strip_calls(const char *text) {
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '[') {
            tf_call c;
            tf_error e;
            if (tf_call_parse(text + i, n - i, &c, &e) == TF_OK) {
                size_t end = i + c.end;
                tf_call_free(&c);
                if (o && out[o - 1] == ' ') o--;  // the space that " [" brought
                i = end - 1;
                continue;
            }
        }
        out[o++] = text[i];
    }
    out[o] = '\0';
    return out;
}
