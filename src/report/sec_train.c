// sec_train.c — fine-tuning: the loss curves of every --log file (NAME.log.jsonl: one line per step)
// on one chart, and the --json summaries (finetune*.json) as a table.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define MAX_LOGS 6

typedef struct {
    double *x, *y;
    int n, cap, oom;
} curve;

static int on_step(const cJSON *o, long line, void *ud) {
    (void)line;
    curve *c = ud;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step"), *loss = cJSON_GetObjectItemCaseSensitive(o, "loss");
    if (!cJSON_IsNumber(step) || !cJSON_IsNumber(loss)) return 0;  // eval_loss lines
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 256;
        double *x = realloc(c->x, sizeof *x * (size_t)cap);
        if (x) c->x = x;
        double *y = realloc(c->y, sizeof *y * (size_t)cap);
        if (y) c->y = y;
        if (!x || !y) { c->oom = 1; return 1; }
        c->cap = cap;
    }
    c->x[c->n] = step->valuedouble;
    c->y[c->n++] = loss->valuedouble;
    return 0;
}

// finetune.log.jsonl is the Toolformer model's, finetune_control.log.jsonl its control's (the demo's names)
static void label_of(const char *stem, char *out, size_t cap) {
    if (!strcmp(stem, "finetune")) snprintf(out, cap, "Toolformer (finetune)");
    else if (!strcmp(stem, "finetune_control")) snprintf(out, cap, "control, no calls (finetune_control)");
    else snprintf(out, cap, "%s", stem);
}

static void summaries(rp_ctx *c, tf_error *err, int *rc) {
    FILE *f = c->f;
    int n = 0;
    for (int i = 0; !*rc && i < c->n_names; i++) {
        const char *name = c->names[i];
        if (strncmp(name, "finetune", 8) || !rp_ends_with(name, ".json")) continue;
        cJSON *j;
        if ((*rc = rp_load_json(c, name, &j, err))) return;
        if (!j) continue;
        if (!n++)
            fputs("<table class=\"finetune\"><tr><th>run</th><th class=\"num\">steps</th><th class=\"num\">last loss</th>"
                  "<th class=\"num\">tokens/s</th><th class=\"num\">parameters</th><th>model written to</th></tr>\n", f);
        char s[32], l[32], t[32], p[32];
        rp_fmt(s, sizeof s, rp_num(j, "steps", NAN), 0);
        rp_fmt(l, sizeof l, rp_num(j, "loss", NAN), 4);
        rp_fmt(t, sizeof t, rp_num(j, "tokens_per_s", NAN), 0);
        rp_fmt(p, sizeof p, rp_num(j, "params", NAN), 0);
        fputs("<tr><td><code>", f);
        rp_esc(f, name);
        fprintf(f, "</code></td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
                   "<td class=\"num\">%s</td><td><code>", s, l, t, p);
        rp_esc(f, rp_str(j, "out"));
        fputs("</code></td></tr>\n", f);
        cJSON_Delete(j);
    }
    if (n) fputs("</table>\n", f);
    else rp_missing(c, "The fine-tuning summaries", "finetune*.json (finetune --json)");
}

int rp_section_train(rp_ctx *c, tf_error *err) {
    rp_section(c, "training", "Fine-tuning");
    curve cv[MAX_LOGS] = {{0}};
    char labels[MAX_LOGS][128];
    const char *series[MAX_LOGS];
    const double *xs[MAX_LOGS], *ys[MAX_LOGS];
    int ns[MAX_LOGS], n = 0, rc = TF_OK;
    for (int i = 0; !rc && i < c->n_names && n < MAX_LOGS; i++) {
        const char *name = c->names[i];
        if (!rp_ends_with(name, ".log.jsonl")) continue;
        int found;
        rc = rp_each_line(c, name, on_step, &cv[n], &found, err);
        if (!rc && cv[n].oom) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        if (rc || !cv[n].n) continue;
        char stem[128];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(name) - strlen(".log.jsonl")), name);
        label_of(stem, labels[n], sizeof labels[n]);
        series[n] = labels[n], xs[n] = cv[n].x, ys[n] = cv[n].y, ns[n] = cv[n].n;
        n++;
    }
    if (!rc) {
        if (n) {
            rp_lines l = {.id = "loss-curves", .title = "training loss per step (faint), and its moving average", .xlabel = "step",
                          .ylabel = "loss (nats per token)", .n_series = n, .series = series, .n = ns, .x = xs,
                          .y = ys, .smooth = 0};
            for (int k = 0; k < n; k++)  // a moving average over about 1/20 of the longest run
                if (ns[k] / 20 > l.smooth) l.smooth = ns[k] / 20;
            rp_svg_lines(c->f, &l);
        } else {
            rp_missing(c, "The loss curves", "NAME.log.jsonl (finetune --log)");
        }
        summaries(c, err, &rc);
    }
    for (int k = 0; k < MAX_LOGS; k++) free(cv[k].x), free(cv[k].y);
    rp_section_end(c);
    return rc;
}
