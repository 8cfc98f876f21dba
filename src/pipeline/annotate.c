// annotate.c — one document through the Toolformer pipeline (§2): for every tool, independently,
// candidate positions, calls (sampled from the model with the tool's few-shot prompt, sampled from a
// model already fine-tuned on calls, or proposed by the tool), execution, and the filter.
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_pipeline.h"

tf_tool_thresholds tf_tool_default_thresholds(const char *name) {
    // Appendix A: tau_s 0.05, tau_f 1.0, k 5, m 5; Calculator and MT: tau_s 0, k 20, m 10, tau_f 0.5
    if (name && (!strcasecmp(name, "calculator") || !strcasecmp(name, "mt")))
        return (tf_tool_thresholds){0.0f, 0.5f, 20, 10, 0};
    return (tf_tool_thresholds){0.05f, 1.0f, 5, 5, 0};
}

void tf_annotate_defaults(tf_annotate_options *o, const tf_toolset *tools) {
    memset(o, 0, sizeof *o);
    o->proposer = TF_PROPOSER_PROMPT;
    for (int i = 0; i < tools->n && i < TF_MAX_TOOLS; i++) o->th[i] = tf_tool_default_thresholds(tools->tools[i]->name);
    o->max_call_tokens = 32;
    o->temperature = 1.0f;
    o->batch = 16;
    o->prefix_sep = "\n";
    o->seed = 1;
}

void tf_candidates_free(tf_candidates *cs) {
    for (int i = 0; i < cs->n; i++) {
        free(cs->c[i].input);
        free(cs->c[i].result);
    }
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

// ---- the document's tokens ---------------------------------------------------------------------------
typedef struct {
    int *ids, n;
    size_t *off;  // off[i] = byte offset of token i in the text; off[n] = text length
} doc_tokens;

static int tokenize_doc(const tf_tokenizer *tok, const char *text, doc_tokens *d, tf_error *err) {
    memset(d, 0, sizeof *d);
    if (tf_tokenizer_encode(tok, text, strlen(text), 0, &d->ids, &d->n, err)) return err->code;
    d->off = malloc(sizeof(size_t) * (d->n + 1));
    if (!d->off) return tf_errorf(err, TF_ENOMEM, "out of memory");
    size_t o = 0;
    for (int i = 0; i < d->n; i++) {
        d->off[i] = o;
        size_t len = 0;
        tf_tokenizer_token_bytes(tok, d->ids[i], &len);
        o += len;
    }
    d->off[d->n] = o;
    return TF_OK;
}

static void free_doc_tokens(doc_tokens *d) {
    free(d->ids);
    free(d->off);
}

// ---- candidates ----------------------------------------------------------------------------------
static int add_candidate(tf_candidates *cs, int tool, const char *input, int pos, size_t char_pos, float p,
                         tf_error *err) {
    for (int k = 0; k < cs->n; k++)  // the same call at the same place is scored once
        if (cs->c[k].tool == tool && cs->c[k].token_pos == pos && !strcmp(cs->c[k].input, input)) return TF_OK;
    if (cs->n == cs->cap) {
        int cap = cs->cap ? 2 * cs->cap : 32;
        tf_candidate *c = realloc(cs->c, sizeof *c * cap);
        if (!c) return tf_errorf(err, TF_ENOMEM, "out of memory");
        cs->c = c;
        cs->cap = cap;
    }
    tf_candidate *c = &cs->c[cs->n];
    memset(c, 0, sizeof *c);
    c->tool = tool;
    c->input = strdup(input);
    if (!c->input) return tf_errorf(err, TF_ENOMEM, "out of memory");
    c->token_pos = pos;
    c->char_pos = char_pos;
    c->p_start = p;
    cs->n++;
    if (tool < TF_MAX_TOOLS) cs->proposed[tool]++;
    return TF_OK;
}

typedef struct {
    int pos;
    float p;
} pos_prob;

// Whether byte offset off of text falls between two letters or digits (inside a word or number).
static int inside_word(const char *text, size_t off) {
    if (off == 0 || !text[off]) return 0;
    unsigned char a = (unsigned char)text[off - 1], b = (unsigned char)text[off];
    // bytes >= 0x80 are parts of non-ASCII letters
    return (isalnum(a) || a >= 0x80) && (isalnum(b) || b >= 0x80);
}

static int by_prob(const void *a, const void *b) {
    const pos_prob *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->pos - y->pos;
}

// p_i = p(" [" | seq[0 .. base + i)) for i in 1..n-1, from a prefill of seq (chunked to bound the
// logits buffer). seq = [P(x), x] with base = |P(x)| (or just x with base 0).
static int start_probs(tf_model *m, tf_kv *kv, const int *seq, int base, int n, int start_id, float *p, tf_error *err) {
    int V = m->cfg.vocab_size, total = base + n, chunk = 64;
    float *logits = malloc(sizeof(float) * (size_t)chunk * V);
    if (!logits) return tf_errorf(err, TF_ENOMEM, "out of memory");
    tf_kv_truncate(kv, 0, 0);
    for (int i = 0; i <= n; i++) p[i] = 0.0f;
    for (int at = 0; at < total; at += chunk) {
        int k = total - at < chunk ? total - at : chunk;
        if (tf_model_prefill(m, kv, 0, seq + at, k, logits, 1, err)) {
            free(logits);
            return err->code;
        }
        for (int r = 0; r < k; r++) {
            int i = at + r + 1 - base;  // logits at seq position at+r predict seq[at+r+1] = x_i
            if (i >= 1 && i < n) p[i] = expf(tf_logprob(logits + (size_t)r * V, V, start_id));
        }
    }
    free(logits);
    return TF_OK;
}

// Samples up to m calls at position i from seq[0 .. base + i) + " [" (held in kv seq 0), each until
// "]" or "->"; appends those naming tool t that parse.
static int sample_calls(tf_model *m, const tf_tokenizer *tok, tf_kv *kv, const tf_tool *tool, int ti, int base,
                        int i, size_t char_pos, float p, int start_id, const tf_annotate_options *o, tf_rng *rng,
                        tf_candidates *cs, tf_error *err) {
    int V = m->cfg.vocab_size, ms = o->th[ti].samples, rc = TF_OK;
    float *logits = malloc(sizeof(float) * V * (size_t)(ms > 1 ? ms : 1));
    float *first = malloc(sizeof(float) * V);
    char **text = calloc(ms, sizeof *text);
    size_t *len = calloc(ms, sizeof *len);
    int *seqs = malloc(sizeof(int) * ms), *toks = malloc(sizeof(int) * ms), *done = calloc(ms, sizeof(int));
    if (!logits || !first || !text || !len || !seqs || !toks || !done) {
        rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = tf_kv_fork(kv, 0, 1, base + i, err))) goto out;
    if ((rc = tf_model_prefill(m, kv, 1, &start_id, 1, first, 0, err))) goto out;
    tf_sampler smp = {o->temperature, 0, 1.0f};
    for (int s = 0; s < ms; s++) {
        if ((rc = tf_kv_fork(kv, 1, 2 + s, base + i + 1, err))) goto out;
        text[s] = calloc(1, 8 * (size_t)o->max_call_tokens + 64);
        if (!text[s]) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
        memcpy(logits + (size_t)s * V, first, sizeof(float) * V);
    }
    for (int step = 0; step < o->max_call_tokens; step++) {
        int nb = 0;
        for (int s = 0; s < ms; s++) {
            if (done[s]) continue;
            int id = tf_sample(logits + (size_t)s * V, V, &smp, rng);
            size_t bl = 0;
            const char *b = tf_tokenizer_token_bytes(tok, id, &bl);
            if (!b || len[s] + bl + 1 > 8 * (size_t)o->max_call_tokens + 64) { done[s] = -1; continue; }
            memcpy(text[s] + len[s], b, bl);
            len[s] += bl;
            text[s][len[s]] = '\0';
            if (tf_call_body_end(text[s], NULL) != TF_CALL_OPEN) { done[s] = 1; continue; }
            seqs[nb] = 2 + s;
            toks[nb++] = id;
        }
        if (!nb) break;
        // decode the still-open samples together; their logits land in sample order
        float *tmp = malloc(sizeof(float) * (size_t)nb * V);
        if (!tmp) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
        if ((rc = tf_model_decode(m, kv, seqs, toks, nb, tmp, err))) { free(tmp); goto out; }
        for (int k = 0; k < nb; k++) memcpy(logits + (size_t)(seqs[k] - 2) * V, tmp + (size_t)k * V, sizeof(float) * V);
        free(tmp);
    }
    for (int s = 0; s < ms; s++) {
        if (done[s] != 1) continue;  // never closed: discarded (paper, footnote 2)
        // the call is "[" + text up to "]" (or up to "->", closed by us)
        size_t cut = 0;
        tf_call_body_end(text[s], &cut);
        tf_call c;
        tf_error perr;
        int prc = tf_call_parse_body(text[s], cut, &c, &perr);
        if (prc == TF_ENOMEM) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
        if (prc == TF_OK) {
            if (!strcasecmp(c.name, tool->name)) rc = add_candidate(cs, ti, c.input ? c.input : "", i, char_pos, p, err);
            tf_call_free(&c);
        }
        if (rc) goto out;
    }
out:
    for (int s = 0; text && s < ms; s++) free(text[s]);
    free(text);
    free(len);
    free(seqs);
    free(toks);
    free(done);
    free(logits);
    free(first);
    return rc;
}

// Builds the sampling sequence: [P(x), x] for the prompt proposer (P with "<INPUT>" replaced by the
// text), else x. *base = |P(x)|.
static int sampling_sequence(const tf_tokenizer *tok, const tf_tool *tool, const tf_document *doc, const doc_tokens *d,
                             int prompt, int **seq, int *base, tf_error *err) {
    int *pids = NULL, np = 0;
    if (prompt) {
        if (!tool->prompt) return tf_errorf(err, TF_EBADARG, "tool %s has no few-shot prompt", tool->name);
        static const char SLOT[] = "<INPUT>";  // the document's place in the few-shot prompt
        const char *slot = strstr(tool->prompt, SLOT);
        size_t pl = strlen(tool->prompt), tl = strlen(doc->text);
        char *p = malloc(pl + tl + 1);
        if (!p) return tf_errorf(err, TF_ENOMEM, "out of memory");
        if (slot) {
            size_t a = (size_t)(slot - tool->prompt);
            memcpy(p, tool->prompt, a);
            memcpy(p + a, doc->text, tl);
            strcpy(p + a + tl, slot + strlen(SLOT));
        } else {
            strcpy(p, tool->prompt);
        }
        int rc = tf_tokenizer_encode(tok, p, strlen(p), 0, &pids, &np, err);
        free(p);
        if (rc) return rc;
    }
    *seq = malloc(sizeof(int) * (size_t)(np + d->n + 1));
    if (!*seq) {
        free(pids);
        return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    if (np) memcpy(*seq, pids, sizeof(int) * np);
    memcpy(*seq + np, d->ids, sizeof(int) * d->n);
    free(pids);
    if (prompt) {
        // The prompt ends "Output:" and the model rewrites x after a space, as in its examples: use
        // the tokens of " " + x when they differ from x's only in the first one (then positions
        // i >= 1 stay the same tokens); otherwise keep x's.
        size_t tl = strlen(doc->text);
        char *sp = malloc(tl + 2);
        int *xs = NULL, nxs = 0;
        if (!sp) return tf_errorf(err, TF_ENOMEM, "out of memory");
        sp[0] = ' ';
        memcpy(sp + 1, doc->text, tl + 1);
        if (tf_tokenizer_encode(tok, sp, tl + 1, 0, &xs, &nxs, err) == TF_OK && nxs == d->n && nxs > 0 &&
            !memcmp(xs + 1, d->ids + 1, sizeof(int) * (size_t)(nxs - 1)))
            (*seq)[np] = xs[0];
        tf_error_clear(err);
        free(xs);
        free(sp);
    }
    *base = np;
    return TF_OK;
}

// Candidate calls of one tool for one document (positions, then sampled or proposed calls).
static int propose_tool(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, int ti,
                        const tf_annotate_options *o, const tf_document *doc, const doc_tokens *d, int start_id,
                        tf_rng *rng, tf_candidates *cs, tf_error *err) {
    const tf_tool *tool = tools->tools[ti];
    tf_tool_thresholds th = o->th[ti];
    int *seq = NULL, base = 0, rc;
    if ((rc = sampling_sequence(tok, tool, doc, d, o->proposer == TF_PROPOSER_PROMPT, &seq, &base, err))) return rc;
    int max_len = base + d->n + 2 + o->max_call_tokens;
    if (max_len > m->cfg.n_positions) {
        free(seq);
        cs->too_long = 1;
        return TF_OK;  // too long for the model's context: this tool skips the document
    }
    float *p = malloc(sizeof(float) * (d->n + 1));
    pos_prob *pp = malloc(sizeof(pos_prob) * (d->n + 1));
    tf_kv *kv = tf_kv_new(m, 2 + (th.samples > 0 ? th.samples : 1), max_len, err);
    tf_tool_context ctx = {doc->date};
    if (!p || !pp || !kv) {
        if (kv) tf_errorf(err, TF_ENOMEM, "out of memory");
        rc = err->code;
        goto out;
    }
    if ((rc = start_probs(m, kv, seq, base, d->n, start_id, p, err))) goto out;
    int np = 0;
    for (int i = 1; i < d->n; i++) {
        if (d->ids[i] == start_id) continue;  // a bracket is already there
        if (inside_word(doc->text, d->off[i])) continue;  // "agre [Tool()] ed" would split a word
        if (o->proposer != TF_PROPOSER_TOOL && !(p[i] > th.tau_s)) continue;
        pp[np++] = (pos_prob){i, p[i]};
    }
    qsort(pp, np, sizeof *pp, by_prob);
    int kept_pos = 0;
    tf_strlist props = {0};
    for (int k = 0; k < np && kept_pos < th.top_k; k++) {
        int i = pp[k].pos;
        if (o->proposer == TF_PROPOSER_TOOL) {
            if (!tool->propose) break;
            tf_strlist_free(&props);
            if ((rc = tool->propose(tool, doc->text, d->off[i], &ctx, &props))) {
                tf_errorf(err, rc, "tool %s: proposer failed", tool->name);
                break;
            }
            if (props.n == 0) continue;
            for (int s = 0; s < props.n && s < th.samples && !rc; s++)
                rc = add_candidate(cs, ti, props.items[s], i, d->off[i], p[i], err);
        } else {
            rc = sample_calls(m, tok, kv, tool, ti, base, i, d->off[i], p[i], start_id, o, rng, cs, err);
        }
        if (rc) break;
        kept_pos++;
    }
    tf_strlist_free(&props);
out:
    tf_kv_free(kv);
    free(p);
    free(pp);
    free(seq);
    return rc;
}

// Executes and scores the candidates cs->c[from ..]: L+, L(eps), L(e(c, eps)), score, kept.
static int execute_and_filter(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools,
                              const tf_annotate_options *o, const tf_document *doc, const doc_tokens *d, int from,
                              tf_candidates *cs, tf_error *err) {
    tf_tool_context ctx = {doc->date};
    int rc = TF_OK, *sep = NULL, nsep = 0;
    char result[TF_TOOL_RESULT_CAP];
    // execute; candidates without a result are dropped
    int w = from;
    for (int k = from; k < cs->n; k++) {
        tf_candidate *c = &cs->c[k];
        tf_error terr;
        tf_tool *tool = tools->tools[c->tool];
        double t0 = tf_time_s();
        if (tf_tool_execute(tool, c->input, &ctx, result, sizeof result, &terr) == TF_OK && result[0]) {
            c->result = strdup(result);
            if (c->tool < TF_MAX_TOOLS) cs->executed[c->tool]++;
            cs->c[w++] = *c;
        } else {
            // no result; a call that failed only once its whole time limit had passed ran out of time
            if (c->tool < TF_MAX_TOOLS && tool->timeout_ms > 0 && (tf_time_s() - t0) * 1000.0 >= tool->timeout_ms)
                cs->timed_out[c->tool]++;
            free(c->input);
        }
    }
    cs->n = w;
    int nc = cs->n - from;
    if (nc <= 0) return TF_OK;
    if (o->prefix_sep && *o->prefix_sep && tf_tokenizer_encode(tok, o->prefix_sep, strlen(o->prefix_sep), 0, &sep, &nsep, err))
        return err->code;
    int cap = m->cfg.n_positions;
    tf_scored_row *rows = calloc((size_t)TF_NUM_VARIANTS * nc, sizeof *rows);
    int **bufs = calloc((size_t)TF_NUM_VARIANTS * nc, sizeof *bufs);
    float *loss = malloc(sizeof(float) * TF_NUM_VARIANTS * nc);
    int n_rows = 0;
    if (!rows || !bufs || !loss) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto out; }
    for (int k = 0; k < nc && !rc; k++) {
        tf_candidate *c = &cs->c[from + k];
        const char *name = tools->tools[c->tool]->name;
        char *zp = tf_call_text(name, c->input, c->result, 1), *ze = tf_call_text(name, c->input, NULL, 1);
        int *idp = NULL, *ide = NULL, np = 0, ne = 0;
        if (!zp || !ze) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        if (!rc) rc = tf_tokenizer_encode(tok, zp, strlen(zp), 0, &idp, &np, err);
        if (!rc) rc = tf_tokenizer_encode(tok, ze, strlen(ze), 0, &ide, &ne, err);
        free(zp);
        free(ze);
        int s = tf_window_start(c->token_pos, d->n, np + nsep, cap);
        const int *zs[TF_NUM_VARIANTS] = {[TF_VARIANT_WITH_RESULT] = idp, [TF_VARIANT_WITHOUT_RESULT] = ide,
                                          [TF_VARIANT_PLAIN] = NULL};
        int nzs[TF_NUM_VARIANTS] = {[TF_VARIANT_WITH_RESULT] = np, [TF_VARIANT_WITHOUT_RESULT] = ne,
                                    [TF_VARIANT_PLAIN] = 0};
        for (int v = 0; v < TF_NUM_VARIANTS && !rc; v++) {
            int *buf = malloc(sizeof(int) * cap), cs0, ncont;
            bufs[TF_NUM_VARIANTS * k + v] = buf;
            int len = buf ? tf_build_row(buf, cap, zs[v], nzs[v], sep, nsep, d->ids, d->n, c->token_pos, s,
                                         o->placement, &cs0, &ncont)
                          : -1;
            if (len < 0) {
                rc = tf_errorf(err, TF_EBADARG, "call %s(%s) does not fit the model's context", name, c->input);
                break;
            }
            rows[TF_NUM_VARIANTS * k + v] = (tf_scored_row){buf, len, cs0, ncont};
        }
        free(idp);
        free(ide);
        n_rows = TF_NUM_VARIANTS * (k + 1);
    }
    if (!rc) rc = tf_score_rows(m, rows, n_rows, o->batch, loss, err);
    for (int k = 0; k < nc && !rc; k++) {
        tf_candidate *c = &cs->c[from + k];
        const float *lk = loss + TF_NUM_VARIANTS * k;
        c->loss_plus = lk[TF_VARIANT_WITH_RESULT];
        c->loss_empty = lk[TF_VARIANT_WITHOUT_RESULT];
        c->loss_plain = lk[TF_VARIANT_PLAIN];
        // L- = min(L(eps), L(e(c, eps))); keep when L- - L+ >= tau_f
        c->loss_minus = fminf(c->loss_plain, c->loss_empty);
        c->score = c->loss_minus - c->loss_plus;
        c->kept = c->score >= o->th[c->tool].tau_f;
    }
out:
    for (int k = 0; bufs && k < TF_NUM_VARIANTS * nc; k++) free(bufs[k]);
    free(bufs);
    free(rows);
    free(loss);
    free(sep);
    return rc;
}

// Whether candidate x (at index bx) ranks above y (at by): a higher score, then the earlier position,
// then the earlier proposal.
static int ranks_above(const tf_candidate *x, int bx, const tf_candidate *y, int by) {
    if (x->score != y->score) return x->score > y->score;
    if (x->token_pos != y->token_pos) return x->token_pos < y->token_pos;
    return bx < by;
}

// One tool's candidates cs->c[from ..], filtered: keeps at most max of those that passed (max 0: all),
// the best ranked; the others are marked capped and not kept. Then counts the kept ones in the
// summary.
static void cap_and_count(tf_candidates *cs, int from, int max) {
    for (int a = from; max > 0 && a < cs->n; a++) {
        if (!cs->c[a].kept) continue;
        int above = 0;
        for (int b = from; b < cs->n; b++)
            if (b != a && cs->c[b].kept && ranks_above(&cs->c[b], b, &cs->c[a], a)) above++;
        cs->c[a].capped = above >= max;
    }
    for (int a = from; a < cs->n; a++) {
        tf_candidate *c = &cs->c[a];
        if (c->capped) c->kept = 0;
        if (c->kept && c->tool < TF_MAX_TOOLS) {
            cs->kept[c->tool]++;
            cs->score_sum[c->tool] += c->score;
        }
    }
}

int tf_annotate_document(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_annotate_options *o,
                         const tf_document *doc, tf_rng *rng, tf_candidates *out, tf_error *err) {
    assert(err != NULL);
    int start_id = tf_tokenizer_token_id(tok, " [");
    if (start_id < 0) return tf_errorf(err, TF_EBADARG, "the tokenizer has no \" [\" token to start calls with");
    // A document of more bytes than n_positions tokens of the longest kind can hold never fits: it is
    // not tokenized at all (a 100 MB document costs nothing but its reading).
    size_t longest = 1, bytes = strlen(doc->text);
    for (int id = 0; id < tf_tokenizer_vocab_size(tok); id++) {
        size_t bl = 0;
        if (tf_tokenizer_token_bytes(tok, id, &bl) && bl > longest) longest = bl;
    }
    if (doc->skipped_bytes || (bytes + longest - 1) / longest + 2 + (size_t)o->max_call_tokens > (size_t)m->cfg.n_positions) {
        out->too_long = 1;
        return TF_OK;
    }
    doc_tokens d;
    int rc = tokenize_doc(tok, doc->text, &d, err);
    tf_tool_context ctx = {doc->date};
    for (int ti = 0; !rc && ti < tools->n && ti < TF_MAX_TOOLS; ti++) {
        const tf_tool *tool = tools->tools[ti];
        if (d.n < 2) break;
        if (tool->prefilter && !tool->prefilter(tool, doc->text, &ctx)) continue;
        int from = out->n;
        rc = propose_tool(m, tok, tools, ti, o, doc, &d, start_id, rng, out, err);
        if (!rc) rc = execute_and_filter(m, tok, tools, o, doc, &d, from, out, err);
        if (!rc) cap_and_count(out, from, o->th[ti].max_calls);
    }
    free_doc_tokens(&d);
    return rc;
}

typedef struct {
    size_t pos;
    int k;
} at;

static int by_pos(const void *a, const void *b) {
    const at *x = a, *y = b;
    return x->pos != y->pos ? (x->pos < y->pos ? -1 : 1) : x->k - y->k;
}

char *tf_merge_calls(const char *text, const tf_toolset *tools, tf_candidates *cs) {
    // at most one call per position: the best score among the kept ones
    for (int a = 0; a < cs->n; a++)
        for (int b = 0; b < cs->n; b++)
            if (a != b && cs->c[a].kept && cs->c[b].kept && cs->c[a].char_pos == cs->c[b].char_pos &&
                (cs->c[b].score > cs->c[a].score || (cs->c[b].score == cs->c[a].score && b < a))) {
                tf_candidate *c = &cs->c[a];
                c->kept = 0, c->displaced = 1;
                if (c->tool >= 0 && c->tool < TF_MAX_TOOLS) {  // the summary counts calls written, not passed
                    cs->kept[c->tool]--, cs->displaced[c->tool]++;
                    cs->score_sum[c->tool] -= c->score;
                }
            }
    at *list = malloc(sizeof(at) * (size_t)(cs->n > 0 ? cs->n : 1));
    int n = 0;
    if (!list) return NULL;
    size_t total = strlen(text) + 1;
    for (int k = 0; k < cs->n; k++)
        if (cs->c[k].kept) {
            list[n++] = (at){cs->c[k].char_pos, k};
            total += strlen(cs->c[k].input) + strlen(cs->c[k].result) + strlen(tools->tools[cs->c[k].tool]->name) + 16;
        }
    if (!n) {
        free(list);
        return NULL;
    }
    qsort(list, n, sizeof *list, by_pos);
    char *x = malloc(total);
    size_t o = 0, from = 0;
    for (int j = 0; x && j < n; j++) {
        const tf_candidate *c = &cs->c[list[j].k];
        memcpy(x + o, text + from, c->char_pos - from);
        o += c->char_pos - from;
        from = c->char_pos;
        char *call = tf_call_text(tools->tools[c->tool]->name, c->input, c->result, 1);
        if (!call) { free(x); x = NULL; break; }
        size_t cl = strlen(call);
        memcpy(x + o, call, cl);
        o += cl;
        free(call);
    }
    if (x) strcpy(x + o, text + from);
    free(list);
    return x;
}
