// annotate_run.c — the work of `toolformer annotate` (annotate_run.h): from the parsed options to the
// summary of the corpus, on one process or on every rank under mpirun.
#include <stdlib.h>
#include <string.h>

#include "annotate_run.h"
#include "tf_dist.h"
#include "tf_outguard.h"

static int set_threshold(tf_tool_thresholds *th, const char *key, double v) {
    if (!strcmp(key, "tau_s")) th->tau_s = (float)v;
    else if (!strcmp(key, "tau_f")) th->tau_f = (float)v;
    else if (!strcmp(key, "top_k") && v >= 0 && v <= 100000) th->top_k = (int)v;
    else if (!strcmp(key, "samples") && v >= 0 && v <= 1000) th->samples = (int)v;
    else if (!strcmp(key, "max_calls") && v >= 0 && v <= 100000) th->max_calls = (int)v;
    else return -1;
    return 0;
}

// The run's options: the paper's defaults per tool, then the overrides for every tool, then --set's
// for one. CLI_OK, or CLI_USAGE (printed) for a --set that names no selected tool or no key.
static int apply_options(const annotate_args *a, const tf_toolset *set, tf_annotate_options *o) {
    tf_annotate_defaults(o, set);
    o->proposer = a->proposer;
    o->placement = a->placement;
    o->seed = a->seed;
    o->temperature = (float)a->temperature;
    o->max_call_tokens = (int)a->call_tokens;
    o->batch = (int)a->batch;
    for (int t = 0; t < set->n && t < TF_MAX_TOOLS; t++) {
        if (a->tau_s >= 0) o->th[t].tau_s = (float)a->tau_s;
        if (a->tau_f_set) o->th[t].tau_f = (float)a->tau_f;
        if (a->top_k >= 0) o->th[t].top_k = (int)a->top_k;
        if (a->samples >= 0) o->th[t].samples = (int)a->samples;
        if (a->max_calls >= 0) o->th[t].max_calls = (int)a->max_calls;
    }
    for (int k = 0; k < a->n_sets; k++) {
        char name[64], key[32];
        double val;
        const char *s = a->sets[k], *dot = strchr(s, '.'), *eq = strchr(s, '=');
        tf_tool *tool = NULL;
        if (dot && eq && dot < eq && (size_t)(dot - s) < sizeof name && (size_t)(eq - dot - 1) < sizeof key) {
            snprintf(name, sizeof name, "%.*s", (int)(dot - s), s);
            snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
            tool = tf_toolset_find(set, name);
        }
        int idx = -1;
        for (int t = 0; tool && t < set->n; t++)
            if (set->tools[t] == tool) idx = t;
        if (idx < 0 || cli_float(eq + 1, &val) || set_threshold(&o->th[idx], key, val))
            return cli_usage_error("annotate", "--set '%s': want TOOL.KEY=VALUE with a selected tool and KEY one of "
                                   "tau_s, tau_f, top_k, samples, max_calls", s);
    }
    return CLI_OK;
}

// Under mpirun: the summary of all shards on every rank (sums; the longest time; complete counts
// the finished shards).
static int gather_summary(tf_annotate_summary *s, int n_tools, tf_error *err) {
    double v[5 + 6 * TF_MAX_TOOLS];
    int n = 0;
    v[n++] = (double)s->docs;
    v[n++] = (double)s->docs_written;
    v[n++] = s->complete;
    v[n++] = (double)s->too_long;
    v[n++] = (double)s->docs_run;
    for (int t = 0; t < n_tools && t < TF_MAX_TOOLS; t++) {
        v[n++] = (double)s->proposed[t];
        v[n++] = (double)s->executed[t];
        v[n++] = (double)s->kept[t], v[n++] = (double)s->displaced[t];
        v[n++] = (double)s->timed_out[t];
        v[n++] = s->score_sum[t];
    }
    if (tf_dist_sum_f64(v, (size_t)n, err) || tf_dist_max_f64(&s->seconds, 1, err)) return err->code;
    n = 0;
    s->docs = (long)v[n++];
    s->docs_written = (long)v[n++];
    s->complete = (int)v[n++];
    s->too_long = (long)v[n++];
    s->docs_run = (long)v[n++];
    for (int t = 0; t < n_tools && t < TF_MAX_TOOLS; t++) {
        s->proposed[t] = (long)v[n++];
        s->executed[t] = (long)v[n++];
        s->kept[t] = (long)v[n++], s->displaced[t] = (long)v[n++];
        s->timed_out[t] = (long)v[n++];
        s->score_sum[t] = v[n++];
    }
    return TF_OK;
}

// The prompt proposer puts each tool's few-shot prompt before the document: a prompt that leaves no
// room in the model's context for a document and a call makes every document "too long". Warns
// (before the run, not only in its summary) for the tools whose prompt does not fit, naming
// --proposer tool; -1 with err set only when a prompt cannot be tokenized.
static int check_prompts_fit(const tf_toolset *set, const tf_tokenizer *tok, const tf_model *m, int call_tokens,
                             tf_error *err) {
    int fit = 0, n_pos = m->cfg.n_positions;
    char names[256] = "";
    long longest = 0;
    for (int t = 0; t < set->n; t++) {
        const char *prompt = set->tools[t]->prompt;
        int *ids = NULL, n = 0;
        if (!prompt) continue;  // reported when it is used
        if (tf_tokenizer_encode(tok, prompt, strlen(prompt), 0, &ids, &n, err)) return -1;
        free(ids);
        if (n + 2 + call_tokens + 1 <= n_pos) {
            fit++;
            continue;
        }
        if (n > longest) longest = n;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s (%d tokens)", l ? ", " : "", set->tools[t]->name, n);
    }
    if (!names[0]) return 0;
    fprintf(stderr, "toolformer annotate: warning: --proposer prompt: the few-shot prompt of %s is longer than the "
            "model's context of %d tokens with a document and a call (--max-call-tokens %d), so %s; use --proposer "
            "tool (the tools propose the calls), or a model with a longer context\n", names, n_pos, call_tokens,
            fit ? "those tools skip every document" : "every document will be skipped");
    return 0;
}

// Joins path.shard-K-of-N for every K into path.
static int merge_all(const char *path, int world, tf_error *err) {
    char **names = calloc((size_t)world, sizeof *names);
    int rc = names ? TF_OK : tf_errorf(err, TF_ENOMEM, "out of memory");
    for (int k = 0; !rc && k < world; k++) {
        size_t len = strlen(path) + 48;
        if (!(names[k] = malloc(len))) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        else snprintf(names[k], len, "%s.shard-%d-of-%d", path, k, world);
    }
    if (!rc) rc = tf_merge_shards(path, (const char *const *)names, world, 0, NULL, err);
    for (int k = 0; names && k < world; k++) free(names[k]);
    free(names);
    return rc;
}

// Under mpirun: rank K is shard K/N, writing OUT.shard-K-of-N (and REJECTED.shard-K-of-N). Rank 0
// joins the shards into OUT (and REJECTED) at the end, so the output rule holds for them too (no
// input among them; an existing one only with --resume or --force), checked before any shard is
// written. Processes on one machine share its cores.
static int take_shard(annotate_args *a, annotate_outcome *o, int rank, int world, tf_error *err) {
    tf_annotate_run *run = &a->run;
    const char *out_all = run->out, *rej_all = run->rejected;
    if (a->shard_set)
        return cli_usage_error("annotate", "--shard is taken from the rank under mpirun (rank K of N is shard K/N)");
    run->shard_k = rank;
    run->shard_n = world;
    snprintf(o->out_k, sizeof o->out_k, "%s.shard-%d-of-%d", out_all, rank, world);
    run->out = o->out_k;
    if (rej_all) {
        snprintf(o->rej_k, sizeof o->rej_k, "%s.shard-%d-of-%d", rej_all, rank, world);
        run->rejected = o->rej_k;
    }
    if (rank) run->quiet = 1;
    tf_outguard g;
    tf_guard_init(&g, "annotate", run->resume ? TF_OUT_RESUME : run->force ? TF_OUT_FORCE : TF_OUT_NEW,
                  "continue it with --resume, replace it with --force, or choose another --out");
    int grc = tf_guard_input(&g, "--data", run->data, err) || tf_guard_input(&g, "--model", a->model_dir, err) ||
              tf_guard_output(&g, "--out", out_all, TF_OUT_REGULAR, err) ||
              tf_guard_output(&g, "--rejected", rej_all, TF_OUT_REGULAR, err) || tf_guard_check(&g, err);
    tf_guard_release(&g);
    if (grc) return cli_fail(err);
    if (!a->threads && !getenv("OMP_NUM_THREADS")) {
        a->threads = tf_physical_cores() / tf_dist_local_size();
        if (a->threads < 1) a->threads = 1;
    }
    return CLI_OK;
}

// The run's identity beyond its options (tf_annotate_run): the tools' settings as text and a
// fingerprint of the model's files. settings is the caller's buffer.
static void run_identity(const annotate_args *a, tf_annotate_run *run, char *settings, size_t cap) {
    const tf_tool_options *t = &a->tools.opt;
    char mpath[4096];
    snprintf(settings, cap, "today %s, index %016llx, qa-model %s, timeout %d ms, external %d",
             t->today ? t->today : "(the clock)",
             t->index_path ? (unsigned long long)tf_file_fingerprint(t->index_path) : 0ULL,
             t->qa_model ? t->qa_model : "-", t->timeout_ms, a->tools.n_external);
    run->settings = settings;
    run->model_id = tf_file_fingerprint(tf_path_join(mpath, sizeof mpath, a->model_dir, "model.safetensors")) ^
                    3 * tf_file_fingerprint(tf_path_join(mpath, sizeof mpath, a->model_dir, "config.json"));
}

// Under mpirun, after every rank's run: the summary of all; rank 0 joins the shards when all are done.
static int join_shards(annotate_outcome *o, const char *out_all, const char *rej_all,
                       int rank, int world, tf_error *err) {
    if (gather_summary(&o->sum, o->set.n, err)) return err->code;
    if (rank) return TF_OK;
    o->report = 1;
    if (o->sum.complete == world) {  // every shard is done: one file in corpus order, as one process writes
        if (merge_all(out_all, world, err) || (rej_all && merge_all(rej_all, world, err))) return err->code;
        fprintf(stderr, "annotate: %d shards merged into %s%s%s\n", world, out_all, rej_all ? " and " : "",
                rej_all ? rej_all : "");
    } else {
        fprintf(stderr, "annotate: not every shard is finished (--max-docs?); continue with --resume, then "
                "toolformer merge-shards\n");
    }
    return TF_OK;
}

int annotate_execute(annotate_args *a, annotate_outcome *o) {
    tf_error err = {0};
    int rc, world = tf_dist_size(), rank = tf_dist_rank();
    const char *out_all = a->run.out, *rej_all = a->run.rejected;
    memset(o, 0, sizeof *o);
    a->run.model_dir = a->model_dir;
    if (world > 1 && (rc = take_shard(a, o, rank, world, &err))) return rc;
    tf_set_threads((int)a->threads);
    const tf_tokenizer *tok = cli_tokenizer(a->model_dir, &err);
    if (!tok || cli_tools_build(&a->tools, &o->set, 1, &err)) return cli_fail(&err);
    if ((rc = apply_options(a, &o->set, &a->run.opt))) return rc;
    if (!(o->m = cli_load_model(a->model_dir, &a->model, &err))) return cli_fail(&err);
    if (a->proposer == TF_PROPOSER_PROMPT && check_prompts_fit(&o->set, tok, o->m, (int)a->call_tokens, &err) < 0)
        return cli_fail(&err);
    char settings[1024];
    run_identity(a, &a->run, settings, sizeof settings);
    int arc = tf_annotate_corpus(o->m, tok, &o->set, &a->run, &o->sum, &err);
    a->run.settings = NULL;  // the buffer ends here
    if (arc) return cli_fail(&err);
    if (world == 1) {
        o->report = 1;
        return CLI_OK;
    }
    return join_shards(o, out_all, rej_all, rank, world, &err) ? cli_fail(&err) : CLI_OK;
}

void annotate_done(annotate_outcome *o, int rc) {
    tf_toolset_free(&o->set);
    tf_model_free(o->m);
    if (rc != CLI_OK && rc != CLI_USAGE) tf_dist_abort(rc);  // the other processes would wait forever
    tf_dist_finalize();
}
