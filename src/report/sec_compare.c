// sec_compare.c — the seed's example (compare --json): the filter's three losses for one call at one
// place, with the call before the text (prefix, the paper's) and where it stands (inline).
#include <math.h>
#include <string.h>

#include "report_internal.h"

static const char *const VARIANTS[3] = {"with_result", "without_result", "plain"};
static const char *const VARIANT_TITLES[3] = {"L+ : call and result", "L(e(c, \u03b5)) : call, no result",
                                              "L(\u03b5) : no call"};

static void one(rp_ctx *c, const char *name, const cJSON *j) {
    FILE *f = c->f;
    const char *const SERIES[2] = {"prefix", "inline"};
    double v[6];
    for (int k = 0; k < 6; k++) v[k] = NAN;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "variants")) {
        const char *nm = rp_str(x, "name"), *pl = rp_str(x, "placement");
        if (!nm || !pl) continue;
        for (int k = 0; k < 3; k++)
            if (!strcmp(nm, VARIANTS[k])) v[k * 2 + (strcmp(pl, "inline") == 0)] = rp_num(x, "loss", NAN);
    }
    fputs("<h3><code>", f);
    rp_esc(f, rp_str(j, "call"));
    fputs("</code> <small>(<code>", f);
    rp_esc(f, name);
    fputs("</code>)</small></h3>\n", f);
    char id[300], title[400];
    snprintf(id, sizeof id, "seed-%s", name);
    snprintf(title, sizeof title, "the filter's three losses (nats, weighted over the next tokens)");
    rp_bars b = {.id = id, .title = title, .n_series = 2, .n_groups = 3, .series = SERIES, .groups = VARIANT_TITLES,
                 .values = v, .decimals = 4};
    rp_svg_bars(f, &b);
    double tau = rp_num(j, "tau_f", NAN);
    char s[64], si[64], t[64];
    rp_fmt(s, sizeof s, rp_num(j, "score", NAN), 4);
    rp_fmt(si, sizeof si, rp_num(j, "score_inline", NAN), 4);
    rp_fmt(t, sizeof t, tau, 3);
    fprintf(f, "<p>L&minus; &minus; L+ = <b data-key=\"score\">%s</b> with the call as a prefix, <b "
               "data-key=\"score_inline\">%s</b> inline; &tau;<sub>f</sub> = %s: the call %s.</p>\n",
            s, si, t, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "passes")) ? "passes the filter (prefix)"
                                                                                   : "does not pass the filter (prefix)");
}

int rp_section_compare(rp_ctx *c, tf_error *err) {
    rp_section(c, "seed", "The seed's example: the filter's three losses");
    int n = 0;
    for (int i = 0; i < c->n_names; i++) {
        const char *name = c->names[i];
        if (strncmp(name, "compare_", 8) || !rp_ends_with(name, ".json")) continue;
        cJSON *j;
        if (rp_load_json(c, name, &j, err)) return err->code;
        if (!j) continue;  // empty: compare did not finish
        one(c, name, j);
        cJSON_Delete(j);
        n++;
    }
    if (!n) rp_missing(c, "The seed's example", "compare_NAME.json (compare --json)");
    rp_section_end(c);
    return TF_OK;
}
