// toolgen.c — decoding with tools (Toolformer §2, §4.2), one token at a time over one KV-cached
// sequence. Outside a call, a text step forces " [" when it is among the api_top_k most likely
// tokens; inside a call, a call step decodes until "->" (then the call is run and fed: the tool runs,
// the sequence is rewound to the call's start and the canonical text " [Name(input) -> result]" is
// fed, tokenized as the fine-tuning data was) or "]" (a call without result, kept as text). Fused
// tokens ("->" or "]" inside a longer token) are settled by that rewind. tf_generate_with_tools is
// the loop over tf_toolgen_step; a server drives many tf_toolgen states the same way.
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

struct tf_toolgen {
    tf_model *m;
    const tf_tokenizer *tok;
    const tf_toolset *tools;
    const tf_tool_context *ctx;
    tf_toolgen_options o;
    int V, start_id, eos, use_tools;
    // the sequence fed so far (prompt + generated) and the logits after it
    tf_kv *kv;
    int *hist, n_hist, cap_hist;
    float *logits, *l;  // l: a copy of logits that a step may change (barred tokens)
    tf_rng rng;
    int steps, finished;
    // what the caller gets: the text, the generated ids, the calls
    buf text;
    int *gen, n_gen;
    tf_toolgen_call calls[TF_TOOLGEN_MAX_CALLS];
    int n_calls;
    // the call being written (in_call): its text after " [", its token ids, where it started
    int in_call, call_start, n_call_ids, block_start, calls_started;
    buf call;
    int *call_ids;
    size_t call_text_pos;
};

static int oom(tf_error *err) { return tf_errorf(err, TF_ENOMEM, "out of memory"); }

static int feed(tf_toolgen *g, const int *ids, int n, tf_error *err) {
    if (g->n_hist + n > g->cap_hist)
        return tf_errorf(err, TF_EBADARG, "generation reached the model's context of %d tokens", g->cap_hist);
    if (tf_model_prefill(g->m, g->kv, 0, ids, n, g->logits, 0, err)) return err->code;
    memcpy(g->hist + g->n_hist, ids, sizeof(int) * n);
    g->n_hist += n;
    return TF_OK;
}

// Forgets everything from position len on, and recomputes the logits after position len - 1.
static int rewind_to(tf_toolgen *g, int len, tf_error *err) {
    tf_kv_truncate(g->kv, 0, len - 1);
    g->n_hist = len - 1;
    return feed(g, g->hist + len - 1, 1, err);
}

// Appends text that is final: to the result and to the stream.
static int emit(tf_toolgen *g, const char *s, size_t n, tf_error *err) {
    if (buf_put(&g->text, s, n)) return oom(err);
    if (g->o.on_text) g->o.on_text(g->o.ctx, s, n);
    return TF_OK;
}

static int rank_of(const float *l, int V, int id) {
    int r = 0;
    for (int i = 0; i < V; i++) r += l[i] > l[id];
    return r;
}

static int record_call(tf_toolgen *g, const char *name, const char *input, const char *result, tf_error *err) {
    if (g->n_calls >= TF_TOOLGEN_MAX_CALLS)  // max_calls <= TF_TOOLGEN_MAX_CALLS: never reached
        return tf_errorf(err, TF_EINTERNAL, "more than %d calls in one generation", TF_TOOLGEN_MAX_CALLS);
    tf_toolgen_call *c = &g->calls[g->n_calls];
    snprintf(c->tool, sizeof c->tool, "%s", name);
    c->input = strdup(input ? input : "");
    c->result = result ? strdup(result) : NULL;
    c->text_pos = g->call_text_pos;
    if (!c->input || (result && !c->result)) {
        free(c->input);
        free(c->result);
        return oom(err);
    }
    g->n_calls++;
    return TF_OK;
}

int tf_toolgen_prompt_ids(const tf_model *m, const tf_tokenizer *tok, const char *prompt, int **ids, int *n,
                          tf_error *err) {
    *ids = NULL;
    *n = 0;
    if (tf_tokenizer_encode(tok, prompt, strlen(prompt), 0, ids, n, err)) return err->code;
    int eos = tf_tokenizer_eos_id(tok), ctx = m->cfg.n_positions;
    if (*n == 0) {
        free(*ids);
        *ids = NULL;
        if (eos < 0) return tf_errorf(err, TF_EBADARG, "empty prompt and no end-of-text token to start from");
        if (!(*ids = malloc(sizeof(int)))) return oom(err);
        (*ids)[0] = eos;
        *n = 1;
    }
    if (*n >= ctx) {
        int k = *n;
        free(*ids);
        *ids = NULL;
        *n = 0;
        return tf_errorf(err, TF_ETOOLONG,
                         "the prompt is %d tokens, %s the model's context of %d tokens: no room to generate", k,
                         k > ctx ? "longer than" : "as long as", ctx);
    }
    return TF_OK;
}

void tf_toolgen_free(tf_toolgen *g) {
    if (!g) return;
    free(g->text.s);
    free(g->call.s);
    free(g->call_ids);
    free(g->gen);
    free(g->l);
    free(g->hist);
    free(g->logits);
    tf_kv_free(g->kv);
    for (int i = 0; i < g->n_calls; i++) {
        free(g->calls[i].input);
        free(g->calls[i].result);
    }
    free(g);
}

tf_toolgen *tf_toolgen_start(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools,
                             const tf_tool_context *ctx, const char *prompt, const tf_toolgen_options *o,
                             tf_error *err) {
    if (o->max_calls > TF_TOOLGEN_MAX_CALLS) {
        tf_errorf(err, TF_EBADARG, "max_calls %d: at most %d calls per input", o->max_calls, TF_TOOLGEN_MAX_CALLS);
        return NULL;
    }
    int *pids = NULL, np = 0;
    if (tf_toolgen_prompt_ids(m, tok, prompt, &pids, &np, err)) return NULL;
    tf_toolgen *g = calloc(1, sizeof *g);
    if (!g) {
        free(pids);
        oom(err);
        return NULL;
    }
    g->m = m;
    g->tok = tok;
    g->tools = tools;
    g->ctx = ctx;
    g->o = *o;
    g->V = m->cfg.vocab_size;
    g->start_id = tf_tokenizer_token_id(tok, " [");
    g->eos = tf_tokenizer_eos_id(tok);
    g->use_tools = !o->no_tools && tools && tools->n > 0 && g->start_id >= 0;
    g->cap_hist = m->cfg.n_positions;
    // every generated id is also in the sequence, which the context bounds; so are a call's ids
    g->gen = malloc(sizeof(int) * ((size_t)g->cap_hist + 2));
    g->call_ids = malloc(sizeof(int) * ((size_t)g->cap_hist + 2));
    g->l = malloc(sizeof(float) * g->V);
    g->hist = malloc(sizeof(int) * g->cap_hist);
    g->logits = malloc(sizeof(float) * g->V);
    if (!g->gen || !g->call_ids || !g->l || !g->hist || !g->logits) {
        oom(err);
        goto fail;
    }
    if (!(g->kv = tf_kv_new(m, 1, g->cap_hist, err))) goto fail;
    if (feed(g, pids, np, err)) goto fail;
    tf_rng_seed(&g->rng, o->seed);
    free(pids);
    return g;
fail:
    free(pids);
    tf_toolgen_free(g);
    return NULL;
}

int tf_toolgen_done(const tf_toolgen *g) {
    return g->finished || g->steps >= g->o.max_new || g->n_hist >= g->cap_hist;
}

// ---- the steps ------------------------------------------------------------------------------------

// Outside a call: one token, " [" forced when it is among the api_top_k most likely (and barred
// when tools are disabled, the call budget is spent, or an abandoned call was just rewound).
static int text_step(tf_toolgen *g, tf_error *err) {
    const tf_toolgen_options *o = &g->o;
    float *l = g->l;
    memcpy(l, g->logits, sizeof(float) * g->V);
    int forced = 0;
    if (g->use_tools && (o->disable || g->block_start || g->calls_started >= o->max_calls)) l[g->start_id] = -INFINITY;
    else if (g->use_tools && rank_of(l, g->V, g->start_id) < (o->api_top_k > 0 ? o->api_top_k : 1)) forced = 1;
    g->block_start = 0;
    int id = forced ? g->start_id : tf_sample(l, g->V, &o->sampler, &g->rng);
    if (o->stop_at_eos && id == g->eos) {
        g->finished = 1;
        return TF_OK;
    }
    if (g->use_tools && id == g->start_id) {  // a call begins
        g->in_call = 1;
        g->call_start = g->n_hist;
        g->call_text_pos = g->text.n;
        g->n_call_ids = 0;
        g->call.n = 0;
        return feed(g, &id, 1, err);
    }
    size_t bl = 0;
    const char *b = tf_tokenizer_token_bytes(g->tok, id, &bl);
    const char *nl = o->stop_at_newline && b ? memchr(b, '\n', bl) : NULL;
    if (b && emit(g, b, nl ? (size_t)(nl - b) : bl, err)) return err->code;
    g->gen[g->n_gen++] = id;
    if (nl) {
        g->finished = 1;
        return TF_OK;
    }
    return feed(g, &id, 1, err);
}

// The call reached "->" at body offset cut: parse it, run the tool, record it; with a result the
// sequence is rewound to the call's start and the canonical call text is fed and emitted; without
// one the call is abandoned and decoding goes on from before " [" with " [" barred for one step.
static int run_and_feed_call(tf_toolgen *g, size_t cut, tf_error *err) {
    tf_call parsed;
    tf_error perr;
    char result[TF_TOOL_RESULT_CAP];
    int prc = tf_call_parse_body(g->call.s, cut, &parsed, &perr), rc = TF_OK;
    if (prc == TF_ENOMEM) return oom(err);
    int ok = prc == TF_OK;
    tf_tool *tool = ok ? tf_toolset_find(g->tools, parsed.name) : NULL;
    int have = tool && tf_tool_execute(tool, parsed.input, g->ctx, result, sizeof result, &perr) == TF_OK;
    g->calls_started++;
    if (ok) rc = record_call(g, tool ? tool->name : parsed.name, parsed.input, have ? result : NULL, err);
    if (!rc && have) {
        char *full = tf_call_text(tool->name, parsed.input, result, 1);
        int *cids = NULL, nc = 0;
        if (!full) rc = oom(err);
        else if (tf_tokenizer_encode(g->tok, full, strlen(full), 0, &cids, &nc, err)) rc = err->code;
        if (!rc) {
            tf_kv_truncate(g->kv, 0, g->call_start);
            g->n_hist = g->call_start;
            rc = feed(g, cids, nc, err);
        }
        if (!rc) rc = emit(g, full, strlen(full), err);
        if (!rc) {
            memcpy(g->gen + g->n_gen, cids, sizeof(int) * nc);
            g->n_gen += nc;
        }
        free(cids);
        free(full);
    } else if (!rc) {
        rc = rewind_to(g, g->call_start, err);
        g->block_start = 1;
    }
    tf_call_free(&parsed);
    g->in_call = 0;
    return rc;
}

// The call so far, " [" and its tokens, kept as text and as ids (so the ids decode to the text);
// nothing runs. Where the call closed with "]" and no "->" (keep_call_as_text), and where the token
// budget or the context ran out inside it, before "->" or "]" (tf_toolgen_step: the caller asked for
// max_new tokens and sees them; dropping them would leave an empty answer where a call was begun).
static int keep_call_tokens(tf_toolgen *g, tf_error *err) {
    if (emit(g, " [", 2, err) || emit(g, g->call.s ? g->call.s : "", g->call.n, err)) return err->code;
    g->gen[g->n_gen++] = g->start_id;
    memcpy(g->gen + g->n_gen, g->call_ids, sizeof(int) * g->n_call_ids);
    g->n_gen += g->n_call_ids;
    g->in_call = 0;
    return TF_OK;
}

// The call closed with "]" and no "->": it counts as a call, its tokens stay, decoding goes on.
static int keep_call_as_text(tf_toolgen *g, int close_id, tf_error *err) {
    g->calls_started++;
    return keep_call_tokens(g, err) ? err->code : feed(g, &close_id, 1, err);
}

// Inside a call: one token of its body, then run it at "->", keep it at "]", or abandon it when it
// runs past max_call_tokens.
static int call_step(tf_toolgen *g, tf_error *err) {
    memcpy(g->l, g->logits, sizeof(float) * g->V);
    int id = tf_sample(g->l, g->V, &g->o.sampler, &g->rng);
    size_t bl = 0, cut = 0;
    const char *b = tf_tokenizer_token_bytes(g->tok, id, &bl);
    if (b && buf_put(&g->call, b, bl)) return oom(err);
    g->call_ids[g->n_call_ids++] = id;
    tf_call_end end = g->call.s ? tf_call_body_end(g->call.s, &cut) : TF_CALL_OPEN;
    if (end == TF_CALL_AT_ARROW) return run_and_feed_call(g, cut, err);
    if (end == TF_CALL_CLOSED) return keep_call_as_text(g, id, err);
    if (g->n_call_ids >= g->o.max_call_tokens) {  // never closed: abandoned
        g->in_call = 0;
        g->block_start = 1;
        return rewind_to(g, g->call_start, err);
    }
    return feed(g, &id, 1, err);
}

int tf_toolgen_step(tf_toolgen *g, tf_error *err) {
    if (tf_toolgen_done(g)) return TF_OK;
    g->steps++;
    int rc = g->in_call ? call_step(g, err) : text_step(g, err);
    if (!rc && g->in_call && tf_toolgen_done(g)) rc = keep_call_tokens(g, err);  // out of budget mid-call
    return rc;
}

int tf_toolgen_result_take(tf_toolgen *g, tf_toolgen_result *res, tf_error *err) {
    memset(res, 0, sizeof *res);
    res->text = g->text.s ? g->text.s : strdup("");
    if (!res->text) return oom(err);
    res->len = g->text.n;
    g->text = (buf){0};
    res->ids = g->gen;
    res->n_ids = g->n_gen;
    g->gen = NULL;
    g->n_gen = 0;
    memcpy(res->calls, g->calls, sizeof g->calls);
    res->n_calls = g->n_calls;
    g->n_calls = 0;
    return TF_OK;
}

int tf_generate_with_tools(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_tool_context *ctx,
                           const char *prompt, const tf_toolgen_options *o, tf_toolgen_result *res, tf_error *err) {
    memset(res, 0, sizeof *res);
    tf_toolgen *g = tf_toolgen_start(m, tok, tools, ctx, prompt, o, err);
    if (!g) return err->code;
    int rc = TF_OK;
    while (!rc && !tf_toolgen_done(g)) rc = tf_toolgen_step(g, err);
    if (!rc) rc = tf_toolgen_result_take(g, res, err);
    tf_toolgen_free(g);
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
