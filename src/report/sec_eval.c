// sec_eval.c — evaluation: per task the accuracy of each model variant (eval_TASK_VARIANT.json) with
// its call rate, a few --details rows (prompt, generation with the call marked, right or wrong), and
// the perplexities (ppl_NAME.json).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define MAX_TASKS 16
#define MAX_VARIANTS 8
#define SHOWN 3  // details rows of each kind (right, wrong) per file

typedef struct {
    char tasks[MAX_TASKS][64], variants[MAX_VARIANTS][64];
    int n_tasks, n_variants;
    cJSON *j[MAX_TASKS][MAX_VARIANTS];
} eval_table;

static int find_or_add(char (*list)[64], int *n, int max, const char *s, size_t len) {
    for (int i = 0; i < *n; i++)
        if (strlen(list[i]) == len && !strncmp(list[i], s, len)) return i;
    if (*n == max || len >= 64) return -1;
    snprintf(list[*n], 64, "%.*s", (int)len, s);
    return (*n)++;
}

// eval_TASK_VARIANT.json -> task, variant
static int split_name(const char *name, const char **task, size_t *tl, const char **var, size_t *vl) {
    if (strncmp(name, "eval_", 5) || !rp_ends_with(name, ".json")) return 0;
    const char *t = name + 5, *end = name + strlen(name) - 5, *us = NULL;
    for (const char *p = t; p < end; p++)
        if (*p == '_') us = p;
    if (!us || us == t || us + 1 == end) return 0;
    *task = t, *tl = (size_t)(us - t), *var = us + 1, *vl = (size_t)(end - us - 1);
    return 1;
}

static void accuracy_chart(rp_ctx *c, eval_table *e) {
    double v[MAX_TASKS * MAX_VARIANTS];
    char lab[MAX_TASKS * MAX_VARIANTS][96];
    const char *labels[MAX_TASKS * MAX_VARIANTS], *groups[MAX_TASKS], *series[MAX_VARIANTS];
    for (int s = 0; s < e->n_variants; s++) series[s] = e->variants[s];
    for (int g = 0; g < e->n_tasks; g++) {
        groups[g] = e->tasks[g];
        for (int s = 0; s < e->n_variants; s++) {
            int k = g * e->n_variants + s;
            const cJSON *j = e->j[g][s];
            v[k] = j ? 100 * rp_num(j, "accuracy", NAN) : NAN;
            double rate = j ? rp_num(j, "call_rate", NAN) : NAN;
            const char *tools = j ? rp_str(j, "tools") : NULL;
            char a[32], r[32];
            rp_fmt(a, sizeof a, v[k], 1);
            rp_fmt(r, sizeof r, 100 * rate, 1);
            if (isfinite(rate) && !(tools && !strcmp(tools, "none")))
                snprintf(lab[k], sizeof lab[k], "%s%% (calls in %s%% of examples)", a, r);
            else snprintf(lab[k], sizeof lab[k], "%s%%", a);
            labels[k] = lab[k];
        }
    }
    rp_bars b = {.id = "eval-accuracy", .title = "accuracy per task (%) and how often the model called a tool",
                 .unit = "%", .n_series = e->n_variants, .n_groups = e->n_tasks, .series = series, .groups = groups,
                 .values = v, .labels = labels, .decimals = 1, .max = 100};
    rp_svg_bars(c->f, &b);
    FILE *f = c->f;
    fputs("<table class=\"eval\"><tr><th>task</th><th>model</th><th>tools</th><th class=\"num\">examples</th>"
          "<th class=\"num\">correct</th><th class=\"num\">accuracy</th><th class=\"num\">call rate</th>"
          "<th>call rate per tool</th></tr>\n", f);
    for (int g = 0; g < e->n_tasks; g++)
        for (int s = 0; s < e->n_variants; s++) {
            const cJSON *j = e->j[g][s];
            if (!j) continue;
            char n[32], ok[32], acc[32], rate[32];
            rp_fmt(n, sizeof n, rp_num(j, "n", NAN), 0);
            rp_fmt(ok, sizeof ok, rp_num(j, "correct", NAN), 0);
            rp_fmt(acc, sizeof acc, 100 * rp_num(j, "accuracy", NAN), 1);
            rp_fmt(rate, sizeof rate, 100 * rp_num(j, "call_rate", NAN), 1);
            fputs("<tr><td>", f);
            rp_esc(f, e->tasks[g]);
            fputs("</td><td>", f);
            rp_esc(f, e->variants[s]);
            fputs("</td><td>", f);
            rp_esc(f, rp_str(j, "tools"));
            fprintf(f, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s%%</td>"
                       "<td class=\"num\">%s%%</td><td>", n, ok, acc, rate);
            const cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(j, "call_rate_per_tool")) {
                char r[32];
                rp_fmt(r, sizeof r, cJSON_IsNumber(t) ? 100 * t->valuedouble : NAN, 1);
                rp_esc(f, t->string);
                fprintf(f, " %s%% ", r);
            }
            fputs("</td></tr>\n", f);
        }
    fputs("</table>\n", f);
}

typedef struct {
    FILE *f;
    int right, wrong;
} details_ud;

// The generation with each call "[Tool(...)...]" it made marked.
static void generation(FILE *f, const char *gen, const cJSON *calls) {
    size_t len = strlen(gen), at = 0;
    while (at < len) {
        const char *best = NULL;
        const cJSON *c;
        cJSON_ArrayForEach(c, calls) {
            const char *tool = rp_str(c, "tool");
            if (!tool) continue;
            for (const char *p = strchr(gen + at, '['); p; p = strchr(p + 1, '['))
                if (!strncmp(p + 1, tool, strlen(tool)) && p[1 + strlen(tool)] == '(') {
                    if (!best || p < best) best = p;
                    break;
                }
        }
        if (!best) break;
        const char *close = strchr(best, ']');
        size_t end = close ? (size_t)(close - gen) + 1 : len;
        rp_escn(f, gen + at, (size_t)(best - gen) - at);
        fputs("<mark>", f);
        rp_escn(f, best, end - (size_t)(best - gen));
        fputs("</mark>", f);
        at = end;
    }
    rp_escn(f, gen + at, len - at);
}

static int on_detail(const cJSON *o, long line, void *ud) {
    (void)line;
    details_ud *d = ud;
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "correct"));
    if ((ok ? d->right : d->wrong) >= SHOWN) return d->right >= SHOWN && d->wrong >= SHOWN;
    if (ok) d->right++;
    else d->wrong++;
    FILE *f = d->f;
    fprintf(f, "<tr class=\"%s\"><td class=\"mono\">", ok ? "right" : "wrong");
    rp_esc(f, rp_str(o, "prompt"));
    fputs("</td><td class=\"mono\">", f);
    generation(f, rp_str(o, "generated") ? rp_str(o, "generated") : "", cJSON_GetObjectItemCaseSensitive(o, "calls"));
    fputs("</td><td class=\"mono\">", f);
    rp_esc(f, rp_str(o, "answer"));
    fprintf(f, "</td><td class=\"%s\">%s</td></tr>\n", ok ? "right" : "wrong", ok ? "&#10003; right" : "&#10007; wrong");
    return 0;
}

static int details(rp_ctx *c, tf_error *err) {
    int any = 0;
    for (int i = 0; i < c->n_names; i++) {
        const char *name = c->names[i];
        if (strncmp(name, "eval_", 5) || !rp_ends_with(name, ".details.jsonl")) continue;
        FILE *f = c->f;
        fputs("<h3>Generations <small>(<code>", f);
        rp_esc(f, name);
        fputs("</code>)</small></h3>\n<table class=\"details\"><tr><th>prompt</th><th>generation (calls marked)</th>"
              "<th>answer</th><th></th></tr>\n", f);
        details_ud d = {f, 0, 0};
        int found;
        if (rp_each_line(c, name, on_detail, &d, &found, err)) return err->code;
        fputs("</table>\n", f);
        any = 1;
    }
    if (!any) rp_missing(c, "Example generations", "eval_TASK_VARIANT.details.jsonl (eval --details)");
    return TF_OK;
}

static int perplexity(rp_ctx *c, tf_error *err) {
    const char *names[MAX_VARIANTS];
    char labels[MAX_VARIANTS][64];
    double v[MAX_VARIANTS];
    cJSON *js[MAX_VARIANTS];
    int n = 0, rc = TF_OK;
    for (int i = 0; i < c->n_names && n < MAX_VARIANTS; i++) {
        const char *name = c->names[i];
        if (strncmp(name, "ppl_", 4) || !rp_ends_with(name, ".json")) continue;
        if ((rc = rp_load_json(c, name, &js[n], err))) break;
        if (!js[n]) continue;
        snprintf(labels[n], sizeof labels[n], "%.*s", (int)(strlen(name) - 9), name + 4);
        names[n] = labels[n];
        v[n] = rp_num(js[n], "ppl", NAN);
        n++;
    }
    if (!rc && n) {
        const char *const SERIES[1] = {"perplexity"};
        rp_bars b = {.id = "ppl", .title = "perplexity on held-out text (calls disabled; lower is better)",
                     .n_series = 1, .n_groups = n, .series = SERIES, .groups = names, .values = v, .decimals = 3};
        fputs("<h3>Perplexity</h3>\n", c->f);
        rp_svg_bars(c->f, &b);
        fputs("<table class=\"ppl\"><tr><th>model</th><th class=\"num\">documents</th><th class=\"num\">tokens</th>"
              "<th class=\"num\">mean NLL</th><th class=\"num\">perplexity</th></tr>\n", c->f);
        for (int k = 0; k < n; k++) {
            char a[32], b2[32], m[32], p[32];
            rp_fmt(a, sizeof a, rp_num(js[k], "n", NAN), 0);
            rp_fmt(b2, sizeof b2, rp_num(js[k], "tokens", NAN), 0);
            rp_fmt(m, sizeof m, rp_num(js[k], "mean_nll", NAN), 4);
            rp_fmt(p, sizeof p, v[k], 3);
            fputs("<tr><td>", c->f);
            rp_esc(c->f, names[k]);
            fprintf(c->f, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
                          "<td class=\"num\">%s</td></tr>\n", a, b2, m, p);
        }
        fputs("</table>\n", c->f);
    } else if (!rc) {
        rp_missing(c, "The perplexity comparison", "ppl_NAME.json (eval --task ppl --json)");
    }
    for (int k = 0; k < n; k++) cJSON_Delete(js[k]);
    return rc;
}

int rp_section_eval(rp_ctx *c, tf_error *err) {
    rp_section(c, "eval", "Evaluation");
    eval_table *e = calloc(1, sizeof *e);
    if (!e) return tf_errorf(err, TF_ENOMEM, "out of memory");
    // the paper's three columns first, in its order
    const char *const known[3] = {"base", "toolformer", "disabled"};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < c->n_names; i++) {
            const char *t, *v;
            size_t tl, vl;
            if (split_name(c->names[i], &t, &tl, &v, &vl) && vl == strlen(known[k]) && !strncmp(v, known[k], vl)) {
                find_or_add(e->variants, &e->n_variants, MAX_VARIANTS, v, vl);
                break;
            }
        }
    int rc = TF_OK, n = 0;
    for (int i = 0; !rc && i < c->n_names; i++) {
        const char *t, *v;
        size_t tl, vl;
        if (!split_name(c->names[i], &t, &tl, &v, &vl)) continue;
        int ti = find_or_add(e->tasks, &e->n_tasks, MAX_TASKS, t, tl);
        int vi = find_or_add(e->variants, &e->n_variants, MAX_VARIANTS, v, vl);
        if (ti < 0 || vi < 0 || e->j[ti][vi]) continue;
        rc = rp_load_json(c, c->names[i], &e->j[ti][vi], err);
        n += e->j[ti][vi] != NULL;
    }
    if (!rc) {
        if (n) accuracy_chart(c, e);
        else rp_missing(c, "The accuracy per task", "eval_TASK_VARIANT.json (eval --json)");
        rc = details(c, err);
    }
    if (!rc) rc = perplexity(c, err);
    for (int t = 0; t < MAX_TASKS; t++)
        for (int v = 0; v < MAX_VARIANTS; v++) cJSON_Delete(e->j[t][v]);
    free(e);
    rp_section_end(c);
    return rc;
}
