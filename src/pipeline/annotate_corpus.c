// annotate_corpus.c — a corpus through the pipeline, document by document, with a progress file
// that makes --resume exact: after each document the outputs are flushed and synced, then
// OUT.progress records how far they are valid; a resumed run cuts them back to that point.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tf_outguard.h"
#include "tf_pipeline.h"

// The run's identity: what must be the same for --resume to continue it (key, value as text).
#define N_IDENT 9
typedef struct {
    char key[N_IDENT][24];
    char *val[N_IDENT];  // malloc'd
} identity;

typedef struct {
    long next_doc;            // corpus index of the next document to process
    long out_bytes, rej_bytes;
    int shard_k, shard_n;     // the shard this run processes (merge-shards checks them)
    int complete;             // the corpus was read to its end
    uint64_t read_bytes, read_hash;  // the corpus read up to next_doc (tf_corpus_read_so_far)
    int has_identity;         // progress files of older versions have none
    int old_counts;           // written by a version that counted displaced calls as kept
    identity id;
    tf_annotate_summary sum;
} progress;

static void identity_free(identity *id) {
    for (int i = 0; i < N_IDENT; i++) free(id->val[i]);
    memset(id, 0, sizeof *id);
}

static int identity_set(identity *id, int i, const char *key, const char *val) {
    snprintf(id->key[i], sizeof id->key[i], "%s", key);
    free(id->val[i]);
    return (id->val[i] = strdup(val)) ? 0 : -1;
}

static int identity_build(identity *id, const tf_toolset *tools, const tf_annotate_run *run, tf_error *err) {
    char buf[8192];
    size_t n = 0;
    int bad = 0;
    struct stat st;
    const tf_annotate_options *o = &run->opt;
    if (strcmp(run->data, "-") && stat(run->data, &st) == 0 && S_ISREG(st.st_mode))
        snprintf(buf, sizeof buf, "%lld bytes", (long long)st.st_size);
    else
        snprintf(buf, sizeof buf, "a stream");
    bad |= identity_set(id, 0, "corpus size", buf);
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)run->model_id);
    bad |= identity_set(id, 1, "model", buf);
    buf[0] = '\0';
    for (int t = 0; t < tools->n; t++)
        n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s", t ? "," : "", tools->tools[t]->name);
    bad |= identity_set(id, 2, "tools", buf);
    bad |= identity_set(id, 3, "tool settings", run->settings ? run->settings : "");
    snprintf(buf, sizeof buf, "%s, placement %s", o->proposer == TF_PROPOSER_PROMPT ? "prompt" : o->proposer == TF_PROPOSER_TOOL ? "tool" : "model",
             o->placement == TF_PLACE_INLINE ? "inline" : "prefix");
    bad |= identity_set(id, 4, "proposer", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->seed);
    bad |= identity_set(id, 5, "seed", buf);
    snprintf(buf, sizeof buf, "temperature %.9g, max-call-tokens %d, separator \"%s\"", o->temperature,
             o->max_call_tokens, o->prefix_sep ? o->prefix_sep : "\n");
    bad |= identity_set(id, 6, "sampling", buf);
    n = 0;
    buf[0] = '\0';
    for (int t = 0; t < tools->n && t < 32; t++)
        n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s tau_s %.9g tau_f %.9g top_k %d samples %d max_calls %d",
                              t ? "; " : "", tools->tools[t]->name, o->th[t].tau_s, o->th[t].tau_f, o->th[t].top_k,
                              o->th[t].samples, o->th[t].max_calls);
    bad |= identity_set(id, 7, "thresholds", buf);
    snprintf(buf, sizeof buf, "%d/%d", run->shard_k, run->shard_n);
    bad |= identity_set(id, 8, "shard", buf);
    return bad ? tf_errorf(err, TF_ENOMEM, "out of memory") : TF_OK;
}

static int save_progress(const char *path, const progress *p, int n_tools, tf_error *err) {
    cJSON *j = cJSON_CreateObject();
    cJSON *run = cJSON_AddObjectToObject(j, "run");
    for (int i = 0; i < N_IDENT; i++) cJSON_AddStringToObject(run, p->id.key[i], p->id.val[i] ? p->id.val[i] : "");
    char h[40];
    snprintf(h, sizeof h, "%llu:%016llx", (unsigned long long)p->read_bytes, (unsigned long long)p->read_hash);
    cJSON_AddStringToObject(j, "corpus_read", h);
    cJSON_AddNumberToObject(j, "next_doc", (double)p->next_doc);
    cJSON_AddNumberToObject(j, "out_bytes", (double)p->out_bytes);
    cJSON_AddNumberToObject(j, "rejected_bytes", (double)p->rej_bytes);
    cJSON_AddNumberToObject(j, "shard_k", p->shard_k);
    cJSON_AddNumberToObject(j, "shard_n", p->shard_n);
    cJSON_AddBoolToObject(j, "complete", p->complete);
    cJSON_AddNumberToObject(j, "docs", (double)p->sum.docs);
    cJSON_AddNumberToObject(j, "docs_written", (double)p->sum.docs_written);
    cJSON_AddNumberToObject(j, "docs_too_long", (double)p->sum.too_long);
    cJSON *tools = cJSON_AddArrayToObject(j, "tools");
    for (int t = 0; t < n_tools; t++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "proposed", (double)p->sum.proposed[t]);
        cJSON_AddNumberToObject(o, "executed", (double)p->sum.executed[t]);
        cJSON_AddNumberToObject(o, "kept", (double)p->sum.kept[t]);
        cJSON_AddNumberToObject(o, "displaced", (double)p->sum.displaced[t]);
        cJSON_AddNumberToObject(o, "timed_out", (double)p->sum.timed_out[t]);
        cJSON_AddNumberToObject(o, "score_sum", p->sum.score_sum[t]);
        cJSON_AddItemToArray(tools, o);
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) return tf_errorf(err, TF_ENOMEM, "out of memory");
    int rc = tf_write_file_atomic(path, s, strlen(s), err);
    free(s);
    return rc;
}

static double num(cJSON *j, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int load_progress(const char *path, progress *p, int n_tools, tf_error *err) {
    char *s = tf_read_file(path, NULL, err);
    if (!s) return err->code;
    cJSON *j = cJSON_Parse(s);
    free(s);
    cJSON *tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
    p->next_doc = (long)num(j, "next_doc");
    p->out_bytes = (long)num(j, "out_bytes");
    p->complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "complete"));
    p->rej_bytes = (long)num(j, "rejected_bytes");
    p->sum.docs = (long)num(j, "docs");
    p->sum.docs_written = (long)num(j, "docs_written");
    p->sum.too_long = (long)num(j, "docs_too_long");
    if (p->sum.too_long < 0) p->sum.too_long = 0;  // progress files of older versions
    p->shard_k = (int)num(j, "shard_k");  // -1 in files written before shards were recorded
    p->shard_n = (int)num(j, "shard_n");
    cJSON *run = cJSON_GetObjectItemCaseSensitive(j, "run"), *cr = cJSON_GetObjectItemCaseSensitive(j, "corpus_read");
    if (cJSON_IsObject(run)) {
        p->has_identity = 1;
        int i = 0;
        for (cJSON *e = run->child; e && i < N_IDENT; e = e->next, i++)
            if (!e->string || !cJSON_IsString(e) || identity_set(&p->id, i, e->string, e->valuestring)) p->has_identity = 0;
        unsigned long long b = 0, hh = 0;
        if (!cJSON_IsString(cr) || sscanf(cr->valuestring, "%llu:%llx", &b, &hh) != 2) p->has_identity = 0;
        p->read_bytes = b;
        p->read_hash = hh;
    }
    int ok = j && p->next_doc >= 0 && p->out_bytes >= 0 && p->rej_bytes >= 0 && cJSON_IsArray(tools);
    if (ok && cJSON_GetArraySize(tools) != n_tools) {
        ok = p->has_identity;  // the identity names the difference (tf_annotate_corpus compares it)
        n_tools = 0;
    }
    for (int t = 0; ok && t < n_tools; t++) {
        cJSON *o = cJSON_GetArrayItem(tools, t);
        p->sum.proposed[t] = (long)num(o, "proposed");
        p->sum.executed[t] = (long)num(o, "executed");
        p->sum.kept[t] = (long)num(o, "kept");
        p->sum.displaced[t] = (long)num(o, "displaced");  // -1 in files that counted them as kept
        if (p->sum.displaced[t] < 0) p->old_counts = 1;
        p->sum.timed_out[t] = (long)num(o, "timed_out");
        if (p->sum.timed_out[t] < 0) p->sum.timed_out[t] = 0;  // progress files of older versions
        p->sum.score_sum[t] = num(o, "score_sum");
    }
    cJSON_Delete(j);
    if (!ok)
        return tf_errorf(err, TF_EBADFILE, "%s: malformed progress file (or written for a different tool list)", path);
    return TF_OK;
}

// Opens path for appending after cutting it to bytes (resume) or truncating it (a new run).
static FILE *open_output(const char *path, long bytes, int resume, tf_error *err) {
    if (resume) {
        if (truncate(path, bytes) != 0 && !(errno == ENOENT && bytes == 0)) {
            tf_errorf(err, TF_EIO, "%s: cannot cut back to %ld bytes for resuming: %s", path, bytes, strerror(errno));
            return NULL;
        }
    }
    FILE *f = fopen(path, resume ? "a" : "w");
    if (!f) tf_errorf(err, TF_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    return f;
}

static int save_progress(const char *path, const progress *p, int n_tools, tf_error *err);

// Opens OUT (and REJECTED) once the run is known to be the one recorded (after the resume check).
// A run that starts afresh records its (empty) progress first, so that a run killed at any moment
// after this leaves a progress file: an OUT without one is never a run in progress.
static int open_outputs(const tf_annotate_run *run, const progress *p, const char *ppath, int n_tools, FILE **out,
                        FILE **rej, tf_error *err) {
    if (p->next_doc == 0 && p->out_bytes == 0 && save_progress(ppath, p, n_tools, err)) return err->code;
    if (!(*out = open_output(run->out, p->out_bytes, run->resume, err))) return err->code;
    if (run->rejected && !(*rej = open_output(run->rejected, p->rej_bytes, run->resume, err))) return err->code;
    return TF_OK;
}

static cJSON *call_json(const tf_toolset *tools, const tf_candidate *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool", tools->tools[c->tool]->name);
    cJSON_AddStringToObject(o, "input", c->input);
    cJSON_AddStringToObject(o, "result", c->result ? c->result : "");
    cJSON_AddNumberToObject(o, "char_pos", (double)c->char_pos);
    cJSON_AddNumberToObject(o, "token_pos", c->token_pos);
    cJSON_AddNumberToObject(o, "loss_plus", c->loss_plus);
    cJSON_AddNumberToObject(o, "loss_minus", c->loss_minus);
    cJSON_AddNumberToObject(o, "score", c->score);
    // the two losses L- is the smaller of: L(eps) without any call, L(e(c, eps)) with the call and no result
    cJSON_AddNumberToObject(o, "loss_plain", c->loss_plain);
    cJSON_AddNumberToObject(o, "loss_empty", c->loss_empty);
    return o;
}

// Writes one JSON line; TF_EIO (naming path) when the write fails, e.g. on a full disk.
static int write_line(FILE *f, const char *path, cJSON *j, tf_error *err) {
    char *s = cJSON_PrintUnformatted(j);
    if (!s) return tf_errorf(err, TF_ENOMEM, "out of memory");
    int bad = fputs(s, f) < 0 || fputc('\n', f) == EOF;
    free(s);
    if (bad) return tf_errorf(err, TF_EIO, "%s: write failed: %s", path, strerror(errno));
    return TF_OK;
}

static int sync_file(FILE *f, const char *path, long *bytes, tf_error *err) {
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        return tf_errorf(err, TF_EIO, "%s: write failed: %s", path, strerror(errno));
    *bytes = ftell(f);
    return TF_OK;
}

static uint64_t doc_seed(uint64_t seed, long index) {
    return seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)index * 0xbf58476d1ce4e5b9ULL + 0x632be59bd9b4e019ULL);
}

// The first difference between the identity recorded in a progress file and this run's, as one
// line in err; TF_OK when they are the same run.
static int identity_compare(const char *ppath, const identity *was, const identity *now, tf_error *err) {
    for (int i = 0; i < N_IDENT; i++) {
        int k = 0;
        while (k < N_IDENT && strcmp(was->key[k], now->key[i])) k++;
        const char *v = k < N_IDENT && was->val[k] ? was->val[k] : "(not recorded)";
        if (strcmp(v, now->val[i]))
            return tf_errorf(err, TF_EBADARG, "--resume: %s was written by a different run: its %s was %s, now %s; "
                             "resume with the same model, corpus and options, or start a new --out", ppath,
                             now->key[i], v, now->val[i]);
    }
    return TF_OK;
}

// A progress file of a version that counted displaced calls among the kept ones: the calls written
// into OUT's first out_bytes are the kept ones, the rest of the old count were displaced.
static int recount_kept(const char *path, progress *p, const tf_toolset *tools, tf_error *err) {
    FILE *f = fopen(path, "r");
    if (!f && p->out_bytes > 0) return tf_errorf(err, TF_EIO, "%s: cannot read: %s", path, strerror(errno));
    long kept[TF_MAX_TOOLS] = {0}, line_no = 0;
    double score[TF_MAX_TOOLS] = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = TF_OK;
    for (long at = 0; !rc && at < p->out_bytes && (len = getline(&line, &cap, f)) > 0; at += len) {
        line_no++;
        cJSON *j = cJSON_Parse(line), *c;
        if (!j)
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: not JSON (recounting the calls of an older run)", path, line_no);
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "calls")) {
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "tool"));
            for (int t = 0; name && t < tools->n && t < TF_MAX_TOOLS; t++)
                if (!strcmp(name, tools->tools[t]->name)) kept[t]++, score[t] += num(c, "score");
        }
        cJSON_Delete(j);
    }
    free(line);
    if (f) fclose(f);
    for (int t = 0; !rc && t < tools->n && t < TF_MAX_TOOLS; t++) {
        p->sum.displaced[t] = p->sum.kept[t] > kept[t] ? p->sum.kept[t] - kept[t] : 0;
        p->sum.kept[t] = kept[t];
        p->sum.score_sum[t] = score[t];
    }
    return rc;
}

// Rule #4 of resuming: an output must hold at least the bytes its progress file vouches for.
static int check_length(const char *path, long want, const char *ppath, tf_error *err) {
    struct stat st;
    long have = stat(path, &st) == 0 ? (long)st.st_size : 0;
    if (have < want)
        return tf_errorf(err, TF_EBADFILE, "--resume: %s holds %ld bytes but %s records %ld: it was cut or changed "
                         "since; nothing was written (start again with --force, or restore the file)", path, have,
                         ppath, want);
    return TF_OK;
}

// The documents of a corpus file, as tf_corpus_next counts them; -1 for stdin, a pipe, or a corpus
// that does not read to its end (the run itself then says why).
static long count_documents(const char *path) {
    struct stat st;
    if (!strcmp(path, "-") || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    tf_error e = {0};
    tf_corpus *c = tf_corpus_open(path, &e);
    if (!c) return -1;
    tf_document d;
    long index, n = 0;
    int got;
    while ((got = tf_corpus_next(c, &d, &index, &e)) == 1) n++;
    tf_corpus_close(c);
    return got < 0 ? -1 : n;
}

// How many documents this run will annotate: its shard's share of the corpus past the resume point,
// at most --max-docs; 0 when unknown (the progress bar then shows no total).
static long run_total(const tf_annotate_run *run, long next_doc) {
    if (run->max_docs > 0) return run->max_docs;
    long n = count_documents(run->data);
    if (n < 0) return 0;
    long sn = run->shard_n, sk = run->shard_k;
#define SHARE_BELOW(x) ((x) > sk ? ((x) - sk + sn - 1) / sn : 0)  // i < x with i % sn == sk
    long total = SHARE_BELOW(n) - SHARE_BELOW(next_doc);
#undef SHARE_BELOW
    return total > 0 ? total : 0;
}

int tf_annotate_corpus(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_annotate_run *run,
                       tf_annotate_summary *sum, tf_error *err) {
    char ppath[4096];
    snprintf(ppath, sizeof ppath, "%s.progress", run->out);
    progress p = {0};
    identity now = {0};
    int n_tools = tools->n, rc = TF_OK;
    tf_corpus *corpus = NULL;
    FILE *out = NULL, *rej = NULL;
    long good_out = 0, good_rej = 0;
    if (run->shard_n <= 0 || run->shard_k < 0 || run->shard_k >= run->shard_n)
        return tf_errorf(err, TF_EBADARG, "--shard %d/%d: need 0 <= K < N", run->shard_k, run->shard_n);
    // the output rule, before anything is read or written
    tf_outguard g;
    tf_guard_init(&g, "annotate", run->resume ? TF_OUT_RESUME : run->force ? TF_OUT_FORCE : TF_OUT_NEW,
                  "continue it with --resume, replace it with --force, or choose another --out");
    if (tf_guard_input(&g, "--data", run->data, err) || tf_guard_input(&g, "--model", run->model_dir, err) ||
        tf_guard_output(&g, "--out", run->out, TF_OUT_REGULAR, err) ||
        tf_guard_output(&g, "--rejected", run->rejected, TF_OUT_REGULAR, err) ||
        tf_guard_output(&g, "--out's progress file", ppath, TF_OUT_REGULAR, err) ||
        tf_guard_check(&g, err) || tf_guard_lock(&g, run->out, err)) {
        tf_guard_release(&g);
        return err->code;
    }
    if ((rc = identity_build(&now, tools, run, err))) goto done;
    if (run->resume) {
        struct stat st;
        if (access(ppath, F_OK) == 0) {
            if ((rc = load_progress(ppath, &p, n_tools, err))) goto done;
            if (p.shard_n > 0 && (p.shard_k != run->shard_k || p.shard_n != run->shard_n)) {
                rc = tf_errorf(err, TF_EBADARG, "%s: written by a run of shard %d/%d, cannot resume it as shard %d/%d",
                               ppath, p.shard_k, p.shard_n, run->shard_k, run->shard_n);
                goto done;
            }
            if (p.has_identity && (rc = identity_compare(ppath, &p.id, &now, err))) goto done;
            if ((rc = check_length(run->out, p.out_bytes, ppath, err)) ||
                (run->rejected && (rc = check_length(run->rejected, p.rej_bytes, ppath, err))))
                goto done;
            if (p.old_counts && (rc = recount_kept(run->out, &p, tools, err))) goto done;
        } else if (stat(run->out, &st) == 0 && st.st_size > 0) {
            rc = tf_errorf(err, TF_EBADARG, "--resume: %s has no progress file (%s), so it is not a run that can be "
                           "continued; replace it with --force or choose another --out", run->out, ppath);
            goto done;
        }
    }
    identity_free(&p.id);
    p.id = now;
    memset(&now, 0, sizeof now);
    p.shard_k = run->shard_k;
    p.shard_n = run->shard_n;
    if (!(corpus = tf_corpus_open(run->data, err))) {
        rc = err->code;
        goto done;
    }
    // the outputs' lengths that the progress file on disk vouches for: on a failure (a full disk, a
    // file-size limit) the outputs are cut back to them, so they end with a whole line
    good_out = p.out_bytes;
    good_rej = p.rej_bytes;
    tf_progress bar;
    tf_progress_start(&bar, "annotate", run->quiet ? 0 : run_total(run, p.next_doc));
    if (run->quiet) bar.enabled = 0;
    double t0 = tf_time_s();
    tf_document doc;
    long index, done_here = 0;
    int got, verified = p.next_doc == 0 || !p.has_identity;
    while ((got = tf_corpus_next(corpus, &doc, &index, err)) == 1) {
        if (index < p.next_doc) {
            if (index == p.next_doc - 1 && !verified) {  // the resume point: the same corpus so far?
                uint64_t b, h;
                tf_corpus_read_so_far(corpus, &b, &h);
                if (b != p.read_bytes || h != p.read_hash) {
                    rc = tf_errorf(err, TF_EBADARG, "--resume: %s was written by a different run: its corpus's first "
                                   "%ld documents differ from %s's; resume with the same corpus, or start a new --out",
                                   ppath, p.next_doc, run->data);
                    break;
                }
                verified = 1;
            }
            continue;
        }
        if (!out && (rc = open_outputs(run, &p, ppath, n_tools, &out, &rej, err))) break;
        if (index % run->shard_n != run->shard_k) continue;
        if (run->max_docs > 0 && done_here >= run->max_docs) break;
        tf_rng rng;
        tf_rng_seed(&rng, doc_seed(run->opt.seed, index));
        tf_candidates cs = {0};
        if ((rc = tf_annotate_document(m, tok, tools, &run->opt, &doc, &rng, &cs, err))) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            tf_errorf(err, rc, "%s: document %ld (id %s): %s", run->data, index, doc.id, msg);
            tf_candidates_free(&cs);
            break;
        }
        char *xs = tf_merge_calls(doc.text, tools, &cs);
        if (xs) {
            cJSON *j = cJSON_CreateObject(), *calls = cJSON_CreateArray();
            cJSON_AddStringToObject(j, "id", doc.id);
            cJSON_AddNumberToObject(j, "doc_index", (double)index);  // corpus order, for merge-shards
            cJSON_AddStringToObject(j, "text", xs);
            // calls in text order
            for (size_t pos = 0, last = (size_t)-1;; last = pos) {
                int best = -1;
                for (int k = 0; k < cs.n; k++)
                    if (cs.c[k].kept && (last == (size_t)-1 || cs.c[k].char_pos > last) &&
                        (best < 0 || cs.c[k].char_pos < cs.c[best].char_pos))
                        best = k;
                if (best < 0) break;
                pos = cs.c[best].char_pos;
                cJSON_AddItemToArray(calls, call_json(tools, &cs.c[best]));
            }
            cJSON_AddItemToObject(j, "calls", calls);
            cJSON_AddStringToObject(j, "source_text", doc.text);
            if (doc.date) cJSON_AddStringToObject(j, "date", doc.date);
            rc = write_line(out, run->out, j, err);
            cJSON_Delete(j);
            free(xs);
            p.sum.docs_written++;
        }
        for (int k = 0; !rc && rej && k < cs.n; k++) {
            if (cs.c[k].kept) continue;
            cJSON *j = call_json(tools, &cs.c[k]);
            cJSON_AddStringToObject(j, "id", doc.id);
            cJSON_AddNumberToObject(j, "doc_index", (double)index);
            if (cs.c[k].capped) cJSON_AddBoolToObject(j, "capped", 1);  // passed, but over max_calls
            if (cs.c[k].displaced) cJSON_AddBoolToObject(j, "displaced", 1);  // passed, another call won its place
            rc = write_line(rej, run->rejected, j, err);
            cJSON_Delete(j);
        }
        p.sum.too_long += cs.too_long;
        for (int t = 0; t < n_tools && t < TF_MAX_TOOLS; t++) {
            p.sum.proposed[t] += cs.proposed[t];
            p.sum.executed[t] += cs.executed[t];
            p.sum.kept[t] += cs.kept[t];
            p.sum.displaced[t] += cs.displaced[t];
            p.sum.timed_out[t] += cs.timed_out[t];
            p.sum.score_sum[t] += cs.score_sum[t];
        }
        tf_candidates_free(&cs);
        if (rc) break;
        p.sum.docs++;
        p.next_doc = index + 1;
        tf_corpus_read_so_far(corpus, &p.read_bytes, &p.read_hash);
        if ((rc = sync_file(out, run->out, &p.out_bytes, err))) break;
        if (rej && (rc = sync_file(rej, run->rejected, &p.rej_bytes, err))) break;
        if ((rc = save_progress(ppath, &p, n_tools, err))) break;
        good_out = p.out_bytes;
        good_rej = p.rej_bytes;
        done_here++;
        long kept = 0;
        for (int t = 0; t < n_tools && t < TF_MAX_TOOLS; t++) kept += p.sum.kept[t];
        char extra[96];
        snprintf(extra, sizeof extra, "calls written %ld, documents written %ld", kept, p.sum.docs_written);
        tf_progress_update(&bar, done_here, extra);
    }
    if (got < 0) rc = err->code;
    if (got == 0 && !rc && !verified)
        rc = tf_errorf(err, TF_EBADARG, "--resume: %s was written by a different run: it records %ld documents done, "
                       "%s holds fewer; resume with the same corpus, or start a new --out", ppath, p.next_doc, run->data);
    if (got == 0 && !rc && !out) rc = open_outputs(run, &p, ppath, n_tools, &out, &rej, err);  // an empty corpus, or all done
    if (got == 0 && !rc && !p.complete) {  // the corpus is done: merge-shards may take this shard
        p.complete = 1;
        rc = save_progress(ppath, &p, n_tools, err);
    }
    tf_progress_finish(&bar, NULL);
    p.sum.seconds = tf_time_s() - t0;
    p.sum.docs_run = done_here;
    p.sum.complete = p.complete;
    *sum = p.sum;
done:
    if (out && fclose(out) != 0 && !rc) rc = tf_errorf(err, TF_EIO, "%s: write failed", run->out);
    if (rej && fclose(rej) != 0 && !rc) rc = tf_errorf(err, TF_EIO, "%s: write failed", run->rejected);
    if (rc && out) (void)!truncate(run->out, good_out);
    if (rc && rej) (void)!truncate(run->rejected, good_rej);
    tf_corpus_close(corpus);
    identity_free(&p.id);
    identity_free(&now);
    tf_guard_release(&g);
    return rc;
}
