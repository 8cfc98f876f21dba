// sec_settings.c — the report's first section: each round's settings (model, proposer, placement,
// seed; per tool tau_s, tau_f, k, m) and the versions that made the run, from the annotate summaries.
#include <math.h>
#include <string.h>

#include "report_internal.h"
#include "toolformer.h"

static void row(FILE *f, const char *key, const char *val) {
    fputs("<tr><th>", f);
    rp_esc(f, key);
    fputs("</th><td class=\"mono\">", f);
    rp_esc(f, val ? val : "(not recorded)");
    fputs("</td></tr>\n", f);
}

static void num_cell(FILE *f, const cJSON *o, const char *key, int decimals) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char b[64] = "-";
    if (cJSON_IsNumber(v)) rp_fmt(b, sizeof b, v->valuedouble, decimals);
    fprintf(f, "<td class=\"num\" data-key=\"%s\">%s</td>", key, b);
}

int rp_section_settings(rp_ctx *c, tf_error *err) {
    FILE *f = c->f;
    rp_section(c, "settings", "Settings and versions");
    int rounds = 0;
    for (int i = 0; i < c->n_names; i++) {
        const char *name = c->names[i];
        if (!rp_ends_with(name, ".summary.json")) continue;
        cJSON *s;
        if (rp_load_json(c, name, &s, err)) return err->code;
        if (!s) {  // empty: the stage did not finish (the other sections pass over it)
            fputs("<p class=\"note\"><code>", f);
            rp_esc(f, name);
            fputs("</code> is empty: that annotation round did not finish.</p>\n", f);
            continue;
        }
        rounds++;
        char round[256];
        snprintf(round, sizeof round, "%.*s", (int)(strlen(name) - strlen(".summary.json")), name);
        fputs("<h3>", f);
        rp_esc(f, round);
        fputs(" <small>(<code>", f);
        rp_esc(f, name);
        fputs("</code>)</small></h3>\n", f);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "settings");
        char b[64];
        fputs("<table class=\"settings\">\n", f);
        if (cJSON_IsObject(st)) {
            row(f, "model", rp_str(st, "model"));
            row(f, "corpus", rp_str(st, "data"));
            row(f, "calls proposed by", rp_str(st, "proposer"));
            row(f, "call placement in the filter", rp_str(st, "placement"));
            rp_fmt(b, sizeof b, rp_num(st, "seed", NAN), 0);
            row(f, "seed", b);
            rp_fmt(b, sizeof b, rp_num(st, "temperature", NAN), 3);
            row(f, "sampling temperature", b);
            row(f, "toolformer version", rp_str(st, "version"));
        } else {
            fputs("<tr><td colspan=\"2\" class=\"note\">this summary records no settings (written by an older "
                  "toolformer)</td></tr>\n", f);
        }
        rp_fmt(b, sizeof b, rp_num(s, "documents", NAN), 0);
        row(f, "documents", b);
        rp_fmt(b, sizeof b, rp_num(s, "documents_written", NAN), 0);
        row(f, "documents written with calls", b);
        rp_fmt(b, sizeof b, rp_num(s, "seconds", NAN), 1);
        row(f, "seconds", b);
        fputs("</table>\n<table class=\"thresholds\">\n<tr><th>tool</th><th class=\"num\">&tau;<sub>s</sub></th>"
              "<th class=\"num\">&tau;<sub>f</sub></th><th class=\"num\">k (positions)</th><th class=\"num\">m (calls "
              "per position)</th><th class=\"num\">max calls per text</th></tr>\n", f);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(s, "tools")) {
            fputs("<tr><td>", f);
            rp_esc(f, rp_str(t, "tool"));
            fputs("</td>", f);
            num_cell(f, t, "tau_s", 3);
            num_cell(f, t, "tau_f", 3);
            num_cell(f, t, "top_k", 0);
            num_cell(f, t, "samples", 0);
            num_cell(f, t, "max_calls", 0);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
        cJSON_Delete(s);
    }
    if (!rounds) rp_missing(c, "The annotation rounds' settings", "NAME.summary.json (annotate --json)");
    fputs("<p>This page: toolformer report " TF_VERSION ".</p>\n", f);
    rp_section_end(c);
    return TF_OK;
}
