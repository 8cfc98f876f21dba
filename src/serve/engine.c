// engine.c — the server's engine: one thread that owns the model and decodes every active request
// as one batch (continuous batching). Each request holds a sequence ("slot") of one shared KV cache
// from admission to its end; requests join and leave between decode steps. Each request runs
// Toolformer's decoding (Schick et al. 2023, §4.2; the same state machine as src/infer/toolgen.c,
// step for step): " [" is forced when it is among the api_top_k most likely tokens, a call decodes
// until "->", then the request leaves the batch while its tool runs on a thread of its own, and
// rejoins once " [Tool(input) -> result]" has been fed. A round of the loop:
//   1. admit queued requests into free slots (prefill each prompt alone, as the CLI does);
//   2. feed the results of finished tools (each alone, as the CLI does);
//   3. decide the next token of every request that has fresh logits;
//   4. feed all single tokens decided in 3 as one batched decode step.
// Determinism: a request's tokens equal `toolformer generate`'s only if its logits do, whatever
// else is in the batch. The bf16 products are row-invariant (oneDNN's bf16 matmul; the AMX
// few-rows kernel up to TF_FEW_ROWS_MAX rows), so bf16 decodes the batch in products of at most
// TF_FEW_ROWS_MAX rows. oneDNN's fp32 products change with the row count (sgemm's matrix-vector
// path below 4 rows, the primitive above: logits differ by ~1e-5), so fp32 feeds one row per product.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve_internal.h"
#include "tf_kernels.h"

int sbuf_put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) return -1;
        b->s = t;
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

void sbuf_free(sbuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

// What a request does after its step: feed one token (batched), wait for its tool, or end.
enum { P_NONE, P_FEED1, P_TOOL, P_DONE };

// The decoding state of one request (toolgen.c's locals).
typedef struct jstate {
    int *hist, n_hist, cap;  // the sequence fed so far; cap = the slot's context
    float *logits, *l;       // logits after hist; a scratch copy the step may change
    int fresh;               // logits are those after hist
    tf_rng rng;
    int step, in_call, call_start, call_tokens, calls, block_start;
    size_t call_text_pos;
    sbuf call;
    int start_id, eos, use_tools;
    int pend, feed_tok;
    size_t plain_from;       // text before this byte is a call (stop strings are looked for after it)
    // the call whose tool runs (tool thread while JOB_IN_TOOL)
    tf_call parsed;
    tf_tool *tool;
    int tool_index, have;
    double ms;
    char result[TF_TOOL_RESULT_CAP];
    struct tf_server *srv;
} jstate;

static void jstate_free(jstate *st) {
    if (!st) return;
    free(st->hist);
    free(st->logits);
    free(st->l);
    sbuf_free(&st->call);
    tf_call_free(&st->parsed);
    free(st);
}

static void job_free(job *j) {
    tf_serve_request_free(&j->req);
    free(j->prompt_ids);
    free(j->tools.tools);
    sbuf_free(&j->text);
    for (int i = 0; i < j->n_calls; i++) {
        free(j->calls[i].input);
        free(j->calls[i].result);
    }
    jstate_free(j->st);
    pthread_cond_destroy(&j->cv);
    free(j);
}

void job_unref(tf_server *s, job *j) {
    (void)s;
    if (--j->refs == 0) job_free(j);
}

int serve_submit(tf_server *s, job *j) {
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->draining) rc = 503;
    else if (s->n_queued >= s->o.queue + (s->o.max_batch - s->n_active)) rc = 429;  // a free slot takes one more
    else {
        j->state = JOB_QUEUED;
        j->refs++;
        j->id = ++s->next_id;
        j->next = NULL;
        if (s->queue_tail) s->queue_tail->next = j;
        else s->queue_head = j;
        s->queue_tail = j;
        s->n_queued++;
        s->in_flight++;
        pthread_cond_signal(&s->engine_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void serve_cancel(tf_server *s, job *j) {
    pthread_mutex_lock(&s->mu);
    if (j->state != JOB_DONE) {
        j->cancelled = 1;
        pthread_cond_signal(&s->engine_cv);
    }
    pthread_mutex_unlock(&s->mu);
}

// ---- output (under s->mu) ---------------------------------------------------------------------------

// The longest suffix of text[from..n) that begins one of the stop strings: held back from streaming.
static size_t holdback(const job *j, size_t from) {
    size_t best = 0, n = j->text.n;
    for (int k = 0; k < j->req.n_stop; k++) {
        size_t sl = strlen(j->req.stop[k]);
        for (size_t h = sl - 1; h > best; h--)
            if (h <= n - from && !memcmp(j->text.s + n - h, j->req.stop[k], h)) {
                best = h;
                break;
            }
    }
    return best;
}

static void finish(job *j, const char *reason) {
    if (j->state == JOB_DONE) return;
    j->finish = reason;
    j->state = JOB_DONE;
    j->stable = j->text.n;
    pthread_cond_broadcast(&j->cv);
}

// Appends decided text; ends the request at a stop string (the text is cut before it). 0, or -1
// when out of memory.
static int emit(tf_server *s, job *j, const char *b, size_t n, int is_call) {
    pthread_mutex_lock(&s->mu);
    size_t before = j->text.n;
    int rc = sbuf_put(&j->text, b, n);
    if (!rc) {
        if (is_call) {
            j->st->plain_from = j->text.n;
        } else if (j->req.n_stop) {
            // a stop string may begin up to its length - 1 bytes before the new text
            size_t from = j->st->plain_from, cut = (size_t)-1;
            for (int k = 0; k < j->req.n_stop; k++) {
                size_t sl = strlen(j->req.stop[k]);
                size_t f = before > from + sl ? before - sl + 1 : from;
                char *hit = memmem(j->text.s + f, j->text.n - f, j->req.stop[k], sl);
                if (hit && (size_t)(hit - j->text.s) < cut) cut = (size_t)(hit - j->text.s);
            }
            if (cut != (size_t)-1) {
                j->text.n = cut;
                j->text.s[cut] = '\0';
                finish(j, "stop");
            }
        }
        if (j->state != JOB_DONE) j->stable = j->text.n - holdback(j, j->st->plain_from);
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void end_job(tf_server *s, job *j, const char *reason, const char *error) {
    pthread_mutex_lock(&s->mu);
    if (error && !j->error[0]) snprintf(j->error, sizeof j->error, "%s", error);
    finish(j, reason);
    pthread_mutex_unlock(&s->mu);
}

static void record_call(tf_server *s, job *j, const char *name, const char *input, const char *result, size_t pos,
                        size_t len, double ms) {
    pthread_mutex_lock(&s->mu);
    if (j->n_calls < 16) {
        job_call *c = &j->calls[j->n_calls];
        snprintf(c->tool, sizeof c->tool, "%s", name);
        c->input = strdup(input ? input : "");
        c->result = result ? strdup(result) : NULL;
        c->start = pos;
        c->end = pos + len;
        c->ms = ms;
        j->n_calls++;
    }
    pthread_mutex_unlock(&s->mu);
}

// ---- one request's decoding (toolgen.c's loop, one iteration per step) ----------------------------

static int rank_of(const float *l, int V, int id) {
    int r = 0;
    for (int i = 0; i < V; i++) r += l[i] > l[id];
    return r;
}

static int start_job(tf_server *s, tf_kv *kv, job *j) {
    tf_model *m = s->m;
    int V = m->cfg.vocab_size;
    jstate *st = calloc(1, sizeof *st);
    if (!st) return -1;
    j->st = st;
    st->srv = s;
    st->cap = s->o.ctx;
    st->hist = malloc(sizeof(int) * (size_t)st->cap);
    st->logits = malloc(sizeof(float) * V);
    st->l = malloc(sizeof(float) * V);
    if (!st->hist || !st->logits || !st->l) return -1;
    st->start_id = tf_tokenizer_token_id(s->tok, " [");
    st->eos = tf_tokenizer_eos_id(s->tok);
    st->use_tools = !j->opt.no_tools && j->tools.n > 0 && st->start_id >= 0;
    tf_rng_seed(&st->rng, j->opt.seed);
    tf_kv_truncate(kv, j->slot, 0);
    tf_error err = {0};
    if (tf_model_prefill(m, kv, j->slot, j->prompt_ids, j->n_prompt, st->logits, 0, &err)) {
        end_job(s, j, "length", err.msg);
        return 0;
    }
    memcpy(st->hist, j->prompt_ids, sizeof(int) * j->n_prompt);
    st->n_hist = j->n_prompt;
    st->fresh = 1;
    return 0;
}

// Forgets the sequence from position len on; the logits after position len - 1 come from feeding
// hist[len - 1] again (the next batched step).
static void rewind_to(tf_kv *kv, job *j, int len) {
    jstate *st = j->st;
    tf_kv_truncate(kv, j->slot, len - 1);
    st->n_hist = len - 1;
    st->pend = P_FEED1;
    st->feed_tok = st->hist[len - 1];
}

static void feed1(job *j, int id) {
    j->st->pend = P_FEED1;
    j->st->feed_tok = id;
}

// One iteration of toolgen.c's loop up to its feed: sets st->pend.
static void job_step(tf_server *s, tf_kv *kv, job *j) {
    jstate *st = j->st;
    const tf_toolgen_options *o = &j->opt;
    int V = s->m->cfg.vocab_size, id;
    float *l = st->l;
    st->fresh = 0;
    if (!(st->step < o->max_new && st->n_hist < st->cap)) {
        // out of tokens inside a call: what the model wrote of it stays as text (as toolgen.c)
        if (st->in_call && (emit(s, j, " [", 2, 0) || emit(s, j, st->call.s ? st->call.s : "", st->call.n, 0))) {
            st->pend = P_DONE;
            end_job(s, j, "length", "out of memory");
            return;
        }
        if (st->in_call) j->n_gen += 1 + st->call_tokens;
        st->in_call = 0;
        st->pend = P_DONE;
        end_job(s, j, "length", NULL);
        return;
    }
    st->step++;
    memcpy(l, st->logits, sizeof(float) * V);
    if (!st->in_call) {
        int forced = 0;
        if (st->use_tools && (o->disable || st->block_start || st->calls >= o->max_calls)) l[st->start_id] = -INFINITY;
        else if (st->use_tools && rank_of(l, V, st->start_id) < (o->api_top_k > 0 ? o->api_top_k : 1)) forced = 1;
        st->block_start = 0;
        id = forced ? st->start_id : tf_sample(l, V, &o->sampler, &st->rng);
        if (o->stop_at_eos && id == st->eos) {
            st->pend = P_DONE;
            end_job(s, j, "stop", NULL);
            return;
        }
        if (st->use_tools && id == st->start_id) {
            st->in_call = 1;
            st->call_start = st->n_hist;
            st->call_text_pos = j->text.n;
            st->call_tokens = 0;
            st->call.n = 0;
            feed1(j, id);
            return;
        }
        size_t bl = 0;
        const char *b = tf_tokenizer_token_bytes(s->tok, id, &bl);
        if (b && emit(s, j, b, bl, 0)) {
            st->pend = P_DONE;
            end_job(s, j, "length", "out of memory");
            return;
        }
        j->n_gen++;
        feed1(j, id);
        return;
    }
    // inside a call
    id = tf_sample(l, V, &o->sampler, &st->rng);
    size_t bl = 0;
    const char *b = tf_tokenizer_token_bytes(s->tok, id, &bl);
    if (b && sbuf_put(&st->call, b, bl)) {
        st->pend = P_DONE;
        end_job(s, j, "length", "out of memory");
        return;
    }
    st->call_tokens++;
    char *arrow = st->call.s ? strstr(st->call.s, "->") : NULL, *close = st->call.s ? strchr(st->call.s, ']') : NULL;
    if (arrow && (!close || arrow < close)) {
        // "[Name(input)" is complete: run the tool (on its own thread)
        size_t k = (size_t)(arrow - st->call.s);
        char *c = malloc(k + 3);
        tf_error perr;
        if (!c) {
            st->pend = P_DONE;
            end_job(s, j, "length", "out of memory");
            return;
        }
        c[0] = '[';
        memcpy(c + 1, st->call.s, k);
        c[k + 1] = ']';
        c[k + 2] = '\0';
        tf_call_free(&st->parsed);
        memset(&st->parsed, 0, sizeof st->parsed);
        int ok = tf_call_parse(c, k + 2, &st->parsed, &perr) == TF_OK;
        free(c);
        st->tool = ok ? tf_toolset_find(&j->tools, st->parsed.name) : NULL;
        st->calls++;
        if (st->tool) {
            st->pend = P_TOOL;
            return;
        }
        // no such tool: no result, decoding goes on from before " ["
        if (ok) {
            record_call(s, j, st->parsed.name, st->parsed.input, NULL, st->call_text_pos, 0, 0);
            metrics_tool_call(s->met, st->parsed.name, "unknown_tool");
        }
        rewind_to(kv, j, st->call_start);
        st->block_start = 1;
        st->in_call = 0;
        return;
    }
    if (close || st->call_tokens >= o->max_call_tokens) {
        if (close) {
            // a call without "->": kept as text, nothing executed
            st->calls++;
            if (emit(s, j, " [", 2, 0) || emit(s, j, st->call.s, st->call.n, 0)) {
                st->pend = P_DONE;
                end_job(s, j, "length", "out of memory");
                return;
            }
            j->n_gen += 1 + st->call_tokens;  // " [" and the call's own tokens
            feed1(j, id);
        } else {
            rewind_to(kv, j, st->call_start);
            st->block_start = 1;
        }
        st->in_call = 0;
        return;
    }
    feed1(j, id);
}

// The tool's result is in: feed " [Tool(input) -> result]" in place of the call, or rewind.
static void apply_tool(tf_server *s, tf_kv *kv, job *j) {
    jstate *st = j->st;
    const char *name = st->tool->name;
    st->in_call = 0;
    if (!st->have) {
        record_call(s, j, name, st->parsed.input, NULL, st->call_text_pos, 0, st->ms);
        rewind_to(kv, j, st->call_start);
        st->block_start = 1;
        return;
    }
    char *call = tf_call_format(name, st->parsed.input, st->result), *full = call ? malloc(strlen(call) + 2) : NULL;
    int *cids = NULL, nc = 0;
    tf_error err = {0};
    if (full) {
        full[0] = ' ';
        strcpy(full + 1, call);
    }
    if (!full || tf_tokenizer_encode(s->tok, full, strlen(full), 0, &cids, &nc, &err)) {
        free(call);
        free(full);
        st->pend = P_DONE;
        end_job(s, j, "length", err.msg[0] ? err.msg : "out of memory");
        return;
    }
    free(call);
    tf_kv_truncate(kv, j->slot, st->call_start);
    st->n_hist = st->call_start;
    if (st->n_hist + nc > st->cap) {
        st->pend = P_DONE;
        end_job(s, j, "length", NULL);
    } else if (tf_model_prefill(s->m, kv, j->slot, cids, nc, st->logits, 0, &err)) {
        st->pend = P_DONE;
        end_job(s, j, "length", err.msg);
    } else {
        memcpy(st->hist + st->n_hist, cids, sizeof(int) * nc);
        st->n_hist += nc;
        st->fresh = 1;
        st->pend = P_NONE;
        record_call(s, j, name, st->parsed.input, st->result, st->call_text_pos, strlen(full), st->ms);
        if (emit(s, j, full, strlen(full), 1)) end_job(s, j, "length", "out of memory");
        j->n_gen += nc;
    }
    free(cids);
    free(full);
}

// ---- the tool threads ---------------------------------------------------------------------------

static void *tool_main(void *arg) {
    job *j = arg;
    jstate *st = j->st;
    tf_server *s = st->srv;
    const char *tname = st->tool->name;
    int serial = strcasecmp(tname, "Calculator") && strcasecmp(tname, "Calendar");
    tf_tool_context ctx = {j->req.date ? j->req.date : s->o.date};
    tf_error err = {0};
    double t0 = tf_time_s();
    if (serial) pthread_mutex_lock(&s->tool_locks[st->tool_index]);
    int rc = tf_tool_execute(st->tool, st->parsed.input, &ctx, st->result, sizeof st->result, &err);
    if (serial) pthread_mutex_unlock(&s->tool_locks[st->tool_index]);
    st->ms = (tf_time_s() - t0) * 1e3;
    st->have = rc == TF_OK;
    metrics_tool_call(s->met, tname, rc == TF_OK ? "ok" : rc == TF_ETOOL ? "no_result" : "error");
    pthread_mutex_lock(&s->mu);
    j->next = s->tool_done_head;
    s->tool_done_head = j;
    s->n_tool_threads--;
    pthread_cond_signal(&s->engine_cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int tool_index(const tf_server *s, const tf_tool *t) {
    for (int i = 0; i < s->tools->n; i++)
        if (s->tools->tools[i] == t) return i;
    return 0;
}

static void start_tool(tf_server *s, tf_kv *kv, job *j) {
    pthread_t th;
    pthread_attr_t at;
    j->st->tool_index = tool_index(s, j->st->tool);
    pthread_mutex_lock(&s->mu);
    j->state = JOB_IN_TOOL;
    s->n_tool_threads++;
    pthread_mutex_unlock(&s->mu);
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, tool_main, j)) {
        // no thread: the call gets no result
        pthread_mutex_lock(&s->mu);
        j->state = JOB_ACTIVE;
        s->n_tool_threads--;
        pthread_mutex_unlock(&s->mu);
        j->st->have = 0;
        apply_tool(s, kv, j);
    }
    pthread_attr_destroy(&at);
}

// ---- the loop ------------------------------------------------------------------------------------

typedef struct {
    tf_server *s;
    tf_kv *kv;
    job **slots;
    int *seqs, *toks;
    job **rows;
    float *logits;
} engine;

// Feeds the decided single tokens of n jobs as batched decode steps.
static void decode_batch(engine *e, int n) {
    tf_server *s = e->s;
    int V = s->m->cfg.vocab_size;
    int chunk = s->m->dtype == TF_DTYPE_BF16 ? TF_FEW_ROWS_MAX : 1;
    double t0 = tf_time_s();
    for (int b = 0; b < n; b += chunk) {
        int nb = n - b < chunk ? n - b : chunk;
        tf_error err = {0};
        if (tf_model_decode(s->m, e->kv, e->seqs + b, e->toks + b, nb, e->logits, &err)) {
            for (int i = b; i < b + nb; i++) {
                e->rows[i]->st->pend = P_DONE;
                end_job(s, e->rows[i], "length", err.msg);
            }
            continue;
        }
        for (int i = 0; i < nb; i++) {
            jstate *st = e->rows[b + i]->st;
            memcpy(st->logits, e->logits + (size_t)i * V, sizeof(float) * V);
            st->hist[st->n_hist++] = e->toks[b + i];
            st->fresh = 1;
            st->pend = P_NONE;
        }
    }
    double dt = tf_time_s() - t0;
    metrics_batch(s->met, n);
    for (int i = 0; i < n; i++) metrics_token_latency(s->met, dt);
}

// Drops a finished or cancelled job from its slot (s->mu held). A job whose tool still runs keeps
// its state until the tool's thread is done with it.
static void release(engine *e, int slot) {
    tf_server *s = e->s;
    job *j = e->slots[slot];
    e->slots[slot] = NULL;
    s->n_active--;
    if (j->state == JOB_IN_TOOL) return;  // the tool thread hands it back through tool_done
    if (j->state != JOB_DONE) finish(j, "stop");
    job_unref(s, j);
}

void *serve_engine_main(void *arg) {
    tf_server *s = arg;
    int B = s->o.max_batch, V = s->m->cfg.vocab_size;
    tf_error err = {0};
    engine e = {s, tf_kv_new(s->m, B, s->o.ctx, &err), calloc(B, sizeof(job *)), malloc(sizeof(int) * B),
                malloc(sizeof(int) * B), malloc(sizeof(job *) * B), malloc(sizeof(float) * (size_t)V * TF_FEW_ROWS_MAX)};
    if (!e.kv || !e.slots || !e.seqs || !e.toks || !e.rows || !e.logits) {
        fprintf(stderr, "toolformer serve: out of memory for %d slots of %d tokens\n", B, s->o.ctx);
        abort();
    }
    job *admitted[256];
    for (;;) {
        int n_adm = 0;
        job *done_tools = NULL;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            // cancelled or finished jobs leave their slots
            for (int i = 0; i < B; i++) {
                job *j = e.slots[i];
                if (j && (j->cancelled || j->state == JOB_DONE)) {
                    if (j->cancelled && j->state != JOB_IN_TOOL) finish(j, "stop");
                    release(&e, i);
                }
            }
            // admissions
            for (int i = 0; i < B && s->queue_head; i++) {
                if (e.slots[i]) continue;
                job *j = s->queue_head;
                s->queue_head = j->next;
                if (!s->queue_head) s->queue_tail = NULL;
                s->n_queued--;
                if (j->cancelled) {
                    finish(j, "stop");
                    job_unref(s, j);
                    i--;
                    continue;
                }
                j->slot = i;
                j->state = JOB_ACTIVE;
                e.slots[i] = j;
                s->n_active++;
                admitted[n_adm++] = j;
            }
            done_tools = s->tool_done_head;
            s->tool_done_head = NULL;
            int busy = n_adm > 0 || done_tools;
            for (int i = 0; i < B && !busy; i++) busy = e.slots[i] && e.slots[i]->state == JOB_ACTIVE;
            if (busy) break;
            int any = s->queue_head != NULL || s->n_tool_threads > 0;
            for (int i = 0; i < B && !any; i++) any = e.slots[i] != NULL;
            if (s->stopping && !any) {
                pthread_mutex_unlock(&s->mu);
                tf_kv_free(e.kv);
                free(e.slots), free(e.seqs), free(e.toks), free(e.rows), free(e.logits);
                return NULL;
            }
            pthread_cond_wait(&s->engine_cv, &s->mu);
        }
        pthread_mutex_unlock(&s->mu);
        // 1. admissions: each prompt prefilled alone
        for (int i = 0; i < n_adm; i++)
            if (start_job(s, e.kv, admitted[i])) end_job(s, admitted[i], "length", "out of memory");
        // 2. tool results
        while (done_tools) {
            job *j = done_tools;
            done_tools = j->next;
            pthread_mutex_lock(&s->mu);
            int slot = -1;
            for (int i = 0; i < B; i++)
                if (e.slots[i] == j) slot = i;
            if (slot < 0) {
                // cancelled while its tool ran: the slot is gone already
                finish(j, "stop");
                job_unref(s, j);
                pthread_mutex_unlock(&s->mu);
                continue;
            }
            j->state = JOB_ACTIVE;
            pthread_mutex_unlock(&s->mu);
            apply_tool(s, e.kv, j);
        }
        // 3. every request with fresh logits decides its next token
        int n = 0;
        for (int i = 0; i < B; i++) {
            job *j = e.slots[i];
            if (!j || !j->st || j->state != JOB_ACTIVE || j->cancelled) continue;
            if (j->st->fresh) {
                job_step(s, e.kv, j);
                if (!j->t_first) {
                    j->t_first = tf_time_s();
                    metrics_ttft(s->met, j->t_first - j->t_submit);
                }
                if (j->st->pend == P_TOOL) start_tool(s, e.kv, j);
            }
            if (j->state == JOB_ACTIVE && j->st->pend == P_FEED1) {
                if (j->st->n_hist + 1 > j->st->cap) {
                    j->st->pend = P_DONE;
                    end_job(s, j, "length", NULL);
                    continue;
                }
                e.seqs[n] = i;
                e.toks[n] = j->st->feed_tok;
                e.rows[n++] = j;
            }
        }
        // 4. one batched step
        if (n) decode_batch(&e, n);
    }
}
