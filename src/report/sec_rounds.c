// sec_rounds.c — per annotation round: the funnel per tool (candidates -> executed -> displaced,
// kept, from the annotate summary) and, per tool, the histogram of the filter's score L- - L+ over every scored call
// (the kept ones from the augmented file, the others from the --rejected file) with the tau_f line.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define MAX_TOOLS 32
#define BINS 32

typedef struct {
    char name[64];
    double *v;
    int *kept;
    long n, cap, capped;
} scores;

typedef struct {
    scores t[MAX_TOOLS];
    int n, oom;
} score_set;

static scores *tool_scores(score_set *s, const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name)) return &s->t[i];
    if (s->n == MAX_TOOLS) return NULL;
    scores *t = &s->t[s->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

static void add(score_set *s, const cJSON *call, int kept) {
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(call, "score");
    scores *t = tool_scores(s, rp_str(call, "tool"));
    if (!t || !cJSON_IsNumber(sc) || !isfinite(sc->valuedouble)) return;
    if (t->n == t->cap) {
        long cap = t->cap ? t->cap * 2 : 256;
        double *v = realloc(t->v, sizeof *v * (size_t)cap);
        if (v) t->v = v;
        int *k = realloc(t->kept, sizeof *k * (size_t)cap);
        if (k) t->kept = k;
        if (!v || !k) { s->oom = 1; return; }
        t->cap = cap;
    }
    t->v[t->n] = sc->valuedouble;
    t->kept[t->n++] = kept;
    if (!kept && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(call, "capped"))) t->capped++;
}

static int on_kept_line(const cJSON *o, long line, void *ud) {
    (void)line;
    const cJSON *call;
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(o, "calls")) add(ud, call, 1);
    return 0;
}

static int on_rejected_line(const cJSON *o, long line, void *ud) {
    (void)line;
    add(ud, o, 0);
    return 0;
}

// The funnel of one round: per tool the candidates, those without a result (no result; over the
// tool's time limit), executed, those that passed the filter but lost their position to a better
// call (displaced), and those written into the text (kept). Summaries written before a count have
// no bar for it (and before "displaced", their kept counted the displaced calls too).
static void funnel(rp_ctx *c, const char *round, const cJSON *sum) {
    enum { NS = 6 };
    const char *const SERIES[NS] = {"candidates", "no result", "over the time limit", "executed", "displaced", "kept"};
    const char *const KEYS[NS] = {"candidates", "no_result", "timed_out", "executed", "displaced", "kept"};
    const char *groups[MAX_TOOLS];
    double values[MAX_TOOLS * NS];
    char lab[MAX_TOOLS * NS][96];
    const char *labels[MAX_TOOLS * NS];
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(sum, "tools")) {
        if (n == MAX_TOOLS) break;
        groups[n] = rp_str(t, "tool") ? rp_str(t, "tool") : "?";
        for (int k = 0; k < NS; k++) {
            double v = rp_num(t, KEYS[k], NAN);
            char num[32];
            rp_fmt(num, sizeof num, v, 0);
            values[n * NS + k] = v;
            snprintf(lab[n * NS + k], sizeof lab[0], "%s %s", num, SERIES[k]);
            labels[n * NS + k] = lab[n * NS + k];
        }
        double ex = values[n * NS + 3], kept = values[n * NS + 5];
        char pct[32];
        rp_fmt(pct, sizeof pct, ex > 0 ? 100.0 * kept / ex : NAN, 1);
        snprintf(lab[n * NS + 5], sizeof lab[0], "%.0f kept (%s%% of executed)", kept, pct);
        n++;
    }
    char id[300], title[400];
    snprintf(id, sizeof id, "funnel-%s", round);
    snprintf(title, sizeof title, "%s: calls per tool, from the candidates to those written into the text", round);
    static const int COLORS[NS] = {0, 1, 5, 3, 4, 2};  // kept in green, as in the histograms
    rp_bars b = {.id = id, .title = title, .n_series = NS, .n_groups = n, .series = SERIES, .groups = groups,
                 .values = values, .labels = labels, .colors = COLORS};
    if (n) rp_svg_bars(c->f, &b);
    else fputs("<p class=\"note\">This round's summary lists no tools.</p>\n", c->f);
}

static double tool_num(const cJSON *sum, const char *tool, const char *key) {
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(sum, "tools"))
        if (rp_str(t, "tool") && !strcmp(rp_str(t, "tool"), tool)) return rp_num(t, key, NAN);
    return NAN;
}

static void histogram(rp_ctx *c, const char *round, const scores *t, const cJSON *sum) {
    double tau_f = tool_num(sum, t->name, "tau_f"), sum_disp = tool_num(sum, t->name, "displaced");
    double lo = INFINITY, hi = -INFINITY;
    long nk = 0;
    for (long i = 0; i < t->n; i++) lo = fmin(lo, t->v[i]), hi = fmax(hi, t->v[i]), nk += t->kept[i];
    if (isfinite(tau_f)) lo = fmin(lo, tau_f), hi = fmax(hi, tau_f);
    lo = floor(lo * 2) / 2, hi = ceil(hi * 2) / 2;
    if (hi <= lo) hi = lo + 0.5;
    long kept[BINS] = {0}, rej[BINS] = {0};
    for (long i = 0; i < t->n; i++) {
        int b = (int)((t->v[i] - lo) / (hi - lo) * BINS);
        b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
        if (t->kept[i]) kept[b]++;
        else rej[b]++;
    }
    char id[300], title[400], mark[64];
    snprintf(id, sizeof id, "scores-%s-%s", round, t->name);
    snprintf(title, sizeof title, "%s, %s: L\u2212 \u2212 L+ of the %ld scored calls (%ld kept, %ld rejected)", round,
             t->name, t->n, nk, t->n - nk);
    snprintf(mark, sizeof mark, "\u03c4f = %g", tau_f);
    rp_hist h = {.id = id, .title = title, .xlabel = "L\u2212 \u2212 L+ (nats)", .n = BINS, .lo = lo, .hi = hi,
                 .kept = kept, .rejected = rej, .mark = tau_f, .mark_label = isfinite(tau_f) ? mark : NULL};
    rp_svg_hist(c->f, &h);
    long passed = 0;  // rejected, yet over tau_f
    for (long i = 0; i < t->n; i++) passed += !t->kept[i] && isfinite(tau_f) && t->v[i] >= tau_f;
    char disp[96] = "";
    if (isfinite(sum_disp)) snprintf(disp, sizeof disp, "; the summary counts %.0f displaced", sum_disp);
    if (passed)
        fprintf(c->f, "<p class=\"note\">%ld of the rejected calls passed &tau;<sub>f</sub> but were not inserted: a "
                      "better call (of any tool) stood at the same place, or the text had the tool's most calls "
                      "already (%ld of them%s).</p>\n",
                passed, t->capped, disp);
}

int rp_section_rounds(rp_ctx *c, tf_error *err) {
    FILE *f = c->f;
    int rounds = 0, rc = TF_OK;
    rp_section(c, "funnel", "Candidates, executed, kept");
    for (int i = 0; !rc && i < c->n_names; i++) {
        if (!rp_ends_with(c->names[i], ".summary.json")) continue;
        cJSON *sum;
        if ((rc = rp_load_json(c, c->names[i], &sum, err))) break;
        if (!sum) continue;  // empty (the settings section says so)
        char round[256];
        snprintf(round, sizeof round, "%.*s", (int)(strlen(c->names[i]) - strlen(".summary.json")), c->names[i]);
        funnel(c, round, sum);
        rounds++;
        cJSON_Delete(sum);
    }
    if (!rc && !rounds) rp_missing(c, "The funnel of calls per tool", "NAME.summary.json (annotate --json)");
    rp_section_end(c);
    if (rc) return rc;

    rp_section(c, "scores", "Where \u03c4f cuts L\u2212 \u2212 L+");
    fputs("<p>Every call the filter scored: L+ is the weighted loss of the text after the position with the call and "
          "its result, L&minus; the smaller of the loss with no call and with the call but no result. A call is kept "
          "when L&minus; &minus; L+ &ge; &tau;<sub>f</sub> (the dashed line).</p>\n", f);
    int rounds2 = 0;
    for (int i = 0; !rc && i < c->n_names; i++) {
        if (!rp_ends_with(c->names[i], ".summary.json")) continue;
        char round[256], kept_name[300], rej_name[320];
        snprintf(round, sizeof round, "%.*s", (int)(strlen(c->names[i]) - strlen(".summary.json")), c->names[i]);
        snprintf(kept_name, sizeof kept_name, "%s.jsonl", round);
        snprintf(rej_name, sizeof rej_name, "%s.rejected.jsonl", round);
        cJSON *sum;
        if ((rc = rp_load_json(c, c->names[i], &sum, err))) break;
        if (!sum) continue;
        rounds2++;
        score_set s = {0};
        int found_k = 0, found_r = 0;
        const cJSON *t;  // the summary's tool order first, then any other tool found in the files
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(sum, "tools")) tool_scores(&s, rp_str(t, "tool"));
        rc = rp_each_line(c, kept_name, on_kept_line, &s, &found_k, err);
        if (!rc) rc = rp_each_line(c, rej_name, on_rejected_line, &s, &found_r, err);
        if (!rc && s.oom) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        if (!rc) {
            fputs("<h3>", f);
            rp_esc(f, round);
            fputs("</h3>\n", f);
            if (!found_k) rp_missing(c, "The kept calls' scores", kept_name);
            if (!found_r) rp_missing(c, "The rejected calls' scores", rej_name);
            for (int k = 0; k < s.n; k++) {
                if (!s.t[k].n) {
                    fputs("<p>", f);
                    rp_esc(f, s.t[k].name);
                    fputs(": no call was scored.</p>\n", f);
                    continue;
                }
                histogram(c, round, &s.t[k], sum);
            }
        }
        for (int k = 0; k < s.n; k++) free(s.t[k].v), free(s.t[k].kept);
        cJSON_Delete(sum);
    }
    if (!rc && !rounds2) rp_missing(c, "The score histograms", "NAME.summary.json with NAME.jsonl and NAME.rejected.jsonl");
    rp_section_end(c);
    return rc;
}
