// test_report.c — `toolformer report`: the page made from a small synthetic run (tests/data/report-run)
// holds the numbers of its JSON files (read back from the charts' data-value attributes and compared
// with the files), escapes hostile text, closes every tag, fetches nothing, and notes missing inputs.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli_run.h"

#define RUN "tests/data/report-run"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static cJSON *json_file(const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", RUN, name);
    char *s = slurp(p);
    cJSON *j = cJSON_Parse(s);
    cr_assert_not_null(j, "%s is not JSON", p);
    free(s);
    return j;
}

// Makes the page of dir into a fresh temporary file; returns its text (path in out_path).
static char *page_of(const char *dir, char *out_path, size_t cap) {
    snprintf(out_path, cap, "/tmp/tf_report_%d.html", (int)getpid());
    unlink(out_path);
    char out[1024];
    int rc = cli_run(out, sizeof out, "report %s --out %s", dir, out_path);
    cr_assert_eq(rc, 0, "report failed (%d): %s", rc, cli_run_stderr);
    return slurp(out_path);
}

// The chart with this id: from its <svg to its </svg> (a copy).
static char *chart(const char *html, const char *id) {
    char key[256];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *a = strstr(html, key);
    cr_assert_not_null(a, "no chart %s on the page", id);
    const char *b = strstr(a, "</svg>");
    cr_assert_not_null(b);
    return strndup(a, (size_t)(b - a));
}

// data-value of the mark with this series (and group, unless NULL) in the chart; NAN when none.
static double mark_value(const char *svg, const char *series, const char *group) {
    char key[256];
    if (group) snprintf(key, sizeof key, "data-series=\"%s\" data-group=\"%s\" data-value=\"", series, group);
    else snprintf(key, sizeof key, "data-series=\"%s\" data-value=\"", series);
    const char *p = strstr(svg, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

// The sum of data-value over every mark of the series (histogram bins).
static double mark_sum(const char *svg, const char *series) {
    char key[128];
    snprintf(key, sizeof key, "data-series=\"%s\" data-value=\"", series);
    double s = 0;
    for (const char *p = strstr(svg, key); p; p = strstr(p + 1, key)) s += strtod(p + strlen(key), NULL);
    return s;
}

static const char *const VOID_TAGS[] = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "wbr"};

// A small HTML checker: every element other than the void ones is closed, in order; no '<' that
// starts no tag (unescaped text); quoted attributes. 0 when well formed, else 1 with why filled.
static int check_tags(const char *h, char *why, size_t cap) {
    char stack[512][32];
    int sp = 0;
    const char *p = h;
    while ((p = strchr(p, '<'))) {
        if (!strncmp(p, "<!--", 4)) {
            if (!(p = strstr(p, "-->"))) return snprintf(why, cap, "an unclosed comment"), 1;
            p += 3;
            continue;
        }
        if (!strncasecmp(p, "<!DOCTYPE", 9)) {
            p = strchr(p, '>');
            if (!p) return snprintf(why, cap, "an unclosed doctype"), 1;
            continue;
        }
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t len = strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (!len || len >= 32) return snprintf(why, cap, "a '<' that starts no tag: %.40s", p), 1;
        const char *q = n + len;
        char quote = 0;
        for (; *q && (quote || *q != '>'); q++) {
            if (quote) {
                if (*q == quote) quote = 0;
            } else if (*q == '"' || *q == '\'') quote = *q;
            else if (*q == '<') return snprintf(why, cap, "a '<' inside a tag: %.40s", p), 1;
        }
        if (!*q) return snprintf(why, cap, "an unterminated tag: %.40s", p), 1;
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)len, n);
        if (closing) {
            if (!sp || strcmp(stack[sp - 1], name))
                return snprintf(why, cap, "</%s> closes <%s>", name, sp ? stack[sp - 1] : "(nothing)"), 1;
            sp--;
        } else {
            int v = q[-1] == '/';
            for (size_t k = 0; k < sizeof VOID_TAGS / sizeof VOID_TAGS[0]; k++) v |= !strcmp(name, VOID_TAGS[k]);
            if (!v) {
                if (sp == 512) return snprintf(why, cap, "nesting too deep"), 1;
                snprintf(stack[sp++], 32, "%s", name);
                if (!strcmp(name, "style")) {  // raw text up to </style>
                    q = strstr(q, "</style>");
                    if (!q) return snprintf(why, cap, "an unclosed <style>"), 1;
                    p = q;
                    continue;
                }
            }
        }
        p = q + 1;
    }
    if (sp) return snprintf(why, cap, "<%s> is never closed", stack[sp - 1]), 1;
    return 0;
}

Test(report, checker_finds_unclosed_and_misnested_tags) {
    char why[256];
    cr_assert_eq(check_tags("<p><b>x</b></p>", why, sizeof why), 0, "%s", why);
    cr_assert_eq(check_tags("<p><b>x</p></b>", why, sizeof why), 1);
    cr_assert_eq(check_tags("<details><summary>x</summary>", why, sizeof why), 1);
    cr_assert_eq(check_tags("<p>1 < 2</p>", why, sizeof why), 1);
}

Test(report, page_holds_the_figures_of_its_json) {
    char path[256];
    char *html = page_of(RUN, path, sizeof path);
    // the funnel: the summary's counts per tool
    cJSON *sum = json_file("round1.summary.json");
    char *svg = chart(html, "funnel-round1");
    const cJSON *t;
    int tools = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(sum, "tools")) {
        const char *name = cJSON_GetObjectItem(t, "tool")->valuestring;
        const char *keys[6] = {"candidates", "no_result", "timed_out", "executed", "displaced", "kept"};
        const char *series[6] = {"candidates", "no result", "over the time limit", "executed", "displaced", "kept"};
        for (int k = 0; k < 6; k++)
            cr_expect_float_eq(mark_value(svg, series[k], name), cJSON_GetObjectItem(t, keys[k])->valuedouble, 1e-9,
                               "%s %s", name, keys[k]);
        // the histogram: every call of the tool in the augmented and rejected files, tau_f's line
        long kept = 0, rejected = 0;
        char line[4096];
        FILE *f = fopen(RUN "/round1.jsonl", "r");
        while (fgets(line, sizeof line, f)) {
            cJSON *d = cJSON_Parse(line), *c;
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(d, "calls")) kept += !strcmp(cJSON_GetObjectItem(c, "tool")->valuestring, name);
            cJSON_Delete(d);
        }
        fclose(f);
        f = fopen(RUN "/round1.rejected.jsonl", "r");
        while (fgets(line, sizeof line, f)) {
            cJSON *d = cJSON_Parse(line);
            rejected += !strcmp(cJSON_GetObjectItem(d, "tool")->valuestring, name);
            cJSON_Delete(d);
        }
        fclose(f);
        char id[128];
        snprintf(id, sizeof id, "scores-round1-%s", name);
        char *h = chart(html, id);
        cr_expect_float_eq(mark_sum(h, "kept"), (double)kept, 1e-9, "%s kept", name);
        cr_expect_float_eq(mark_sum(h, "rejected"), (double)rejected, 1e-9, "%s rejected", name);
        const char *mark = strstr(h, "class=\"mark\"");
        cr_assert_not_null(mark, "%s: no tau_f line", name);
        cr_expect_float_eq(strtod(strstr(mark, "data-value=\"") + 12, NULL), cJSON_GetObjectItem(t, "tau_f")->valuedouble,
                           1e-9);
        free(h);
        tools++;
    }
    cr_assert_eq(tools, 2);
    free(svg);
    cJSON_Delete(sum);

    // the seed's example: the six losses
    cJSON *cmp = json_file("compare_calendar.json");
    svg = chart(html, "seed-compare_calendar.json");
    const char *groups[3] = {"L+ : call and result", "L(e(c, \u03b5)) : call, no result", "L(\u03b5) : no call"};
    const char *names[3] = {"with_result", "without_result", "plain"};
    const cJSON *v;
    int nv = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(cmp, "variants")) {
        for (int k = 0; k < 3; k++)
            if (!strcmp(cJSON_GetObjectItem(v, "name")->valuestring, names[k])) {
                cr_expect_float_eq(mark_value(svg, cJSON_GetObjectItem(v, "placement")->valuestring, groups[k]),
                                   cJSON_GetObjectItem(v, "loss")->valuedouble, 1e-5, "%s", names[k]);
                nv++;
            }
    }
    cr_assert_eq(nv, 6);
    free(svg);
    cJSON_Delete(cmp);

    // evaluation: accuracy per task and variant (in percent), perplexities
    svg = chart(html, "eval-accuracy");
    const char *tasks[2] = {"math", "dates"}, *vars[3] = {"base", "toolformer", "disabled"};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++) {
            char name[128];
            snprintf(name, sizeof name, "eval_%s_%s.json", tasks[a], vars[b]);
            cJSON *e = json_file(name);
            cr_expect_float_eq(mark_value(svg, vars[b], tasks[a]), 100 * cJSON_GetObjectItem(e, "accuracy")->valuedouble,
                               1e-6, "%s", name);
            cJSON_Delete(e);
        }
    free(svg);
    svg = chart(html, "ppl");
    const char *ppl[2] = {"control", "toolformer"};
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "ppl_%s.json", ppl[k]);
        cJSON *e = json_file(name);
        cr_expect_float_eq(mark_value(svg, "perplexity", ppl[k]), cJSON_GetObjectItem(e, "ppl")->valuedouble, 1e-6);
        cJSON_Delete(e);
    }
    free(svg);

    // the loss curves: one point per step line of each log
    svg = chart(html, "loss-curves");
    const char *logs[2][2] = {{"Toolformer (finetune)", RUN "/finetune.log.jsonl"},
                              {"control, no calls (finetune_control)", RUN "/finetune_control.log.jsonl"}};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(logs[k][1], "r");
        char line[1024];
        int steps = 0;
        while (fgets(line, sizeof line, f)) steps += strstr(line, "\"loss\"") != NULL;
        fclose(f);
        char key[256];
        snprintf(key, sizeof key, "data-series=\"%s\" data-points=\"", logs[k][0]);
        const char *p = strstr(svg, key);
        cr_assert_not_null(p, "no curve %s", logs[k][0]);
        cr_expect_eq(atoi(p + strlen(key)), steps, "%s", logs[k][0]);
    }
    free(svg);

    // a kept call's three losses and score in its <details>
    const char *d = strstr(html, "data-score=\"1.25\"");
    cr_assert_not_null(d, "the kept Calculator call (score 1.25) is not in the sample");
    cr_expect_not_null(strstr(d, "data-key=\"loss_plain\">1.7500<"));
    cr_expect_not_null(strstr(d, "data-key=\"loss_empty\">2<"));
    cr_expect_not_null(strstr(d, "data-key=\"loss_plus\">0.5000<"));
    // the settings: per tool tau_s and tau_f, the seed
    cr_expect_not_null(strstr(html, "<th>seed</th><td class=\"mono\">7</td>"));
    cr_expect_not_null(strstr(html, "data-key=\"tau_f\">0.500</td>"));
    unlink(path);
    free(html);
}

Test(report, escapes_hostile_text) {
    char path[256];
    char *html = page_of(RUN, path, sizeof path);
    for (const char *p = html; (p = strchr(p, '<')); p++)
        cr_assert(strncasecmp(p, "<script", 7) && strncasecmp(p, "<img", 4), "unescaped markup: %.60s", p);
    // the corpus line's <script> (a kept call's text), a tool result's <img>, a rejected call's text from the corpus
    cr_expect_not_null(strstr(html, "fruits. &lt;script&gt;alert(1)&lt;/script&gt;"));
    cr_expect_not_null(strstr(html, "&lt;img src=x onerror=alert(2)&gt;"));
    cr_expect_not_null(strstr(html, "&lt;/details&gt;&lt;/svg&gt; end."));
    cr_expect_not_null(strstr(html, "&lt;b&gt;bold&lt;/b&gt;"));
    // the call is highlighted where it was inserted
    cr_expect_not_null(strstr(html, "a total of<mark> [Calculator(123 + 456) -&gt; 579]</mark> 579 fruits."));
    unlink(path);
    free(html);
}

Test(report, is_well_formed_and_fetches_nothing) {
    char path[256], why[256];
    char *html = page_of(RUN, path, sizeof path);
    cr_assert_eq(check_tags(html, why, sizeof why), 0, "%s", why);
    cr_expect_null(strstr(html, "http://"));
    cr_expect_null(strstr(html, "https://"));
    cr_expect_null(strstr(html, "@import"));
    cr_expect_null(strstr(html, "url("));
    cr_expect_null(strstr(html, "<link"));
    // inside tags: no src at all, and every href a link within the page
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        cr_assert_not_null(end);
        for (const char *a = p; a < end; a++) {
            cr_assert(strncmp(a, " src=", 5), "a src attribute: %.60s", p);
            if (!strncmp(a, " href=\"", 7)) cr_assert_eq(a[7], '#', "a link out of the page: %.60s", p);
        }
        p = end;
    }
    cr_expect_not_null(strstr(html, "<meta charset=\"utf-8\">"));
    unlink(path);
    free(html);
}

Test(report, missing_input_leaves_a_note) {
    char dir[] = "/tmp/tf_report_XXXXXX", path[256], why[256], cmd[512];
    cr_assert_not_null(mkdtemp(dir));
    // an empty file is a stage that did not finish: noted like a missing one
    snprintf(cmd, sizeof cmd, "cp %s/round1.summary.json %s/ && : > %s/compare_calendar.json && : > %s/round2.summary.json",
             RUN, dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    char *html = page_of(dir, path, sizeof path);
    cr_assert_eq(check_tags(html, why, sizeof why), 0, "%s", why);
    cr_expect_not_null(strstr(html, "id=\"funnel-round1\""), "the funnel needs only the summary");
    const char *need[] = {"round1.jsonl", "round1.rejected.jsonl", "compare_NAME.json", "eval_TASK_VARIANT.json",
                          "ppl_NAME.json", "NAME.log.jsonl", "finetune*.json"};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
        char key[128];
        snprintf(key, sizeof key, "<code>%s", need[k]);
        cr_expect_not_null(strstr(html, key), "no note for the missing %s", need[k]);
    }
    cr_expect_null(strstr(html, "id=\"eval-accuracy\""));
    cr_expect_not_null(strstr(html, "<code>round2.summary.json</code> is empty"));
    cr_expect_null(strstr(html, "funnel-round2"));
    free(html);
    unlink(path);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(report, malformed_input_names_file_and_line) {
    char dir[] = "/tmp/tf_report_XXXXXX", p[256], out[1024];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/round1.summary.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"documents\": 3,\n \"tools\": oops}\n", f);
    fclose(f);
    cr_assert_eq(cli_run(out, sizeof out, "report %s --out %s/page.html", dir, dir), 1, "%s", cli_run_stderr);
    cr_expect_not_null(strstr(cli_run_stderr, "round1.summary.json:2"), "%s", cli_run_stderr);
    snprintf(p, sizeof p, "%s/page.html", dir);
    cr_expect_neq(access(p, F_OK), 0, "a page was written for a malformed run");
    snprintf(p, sizeof p, "rm -rf %s", dir);
    cr_assert_eq(system(p), 0);
}

Test(report, keeps_an_existing_page_unless_forced) {
    char path[256], out[1024];
    snprintf(path, sizeof path, "/tmp/tf_report_keep_%d.html", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("precious", f);
    fclose(f);
    cr_assert_eq(cli_run(out, sizeof out, "report %s --out %s", RUN, path), 2, "%s", cli_run_stderr);
    char *s = slurp(path);
    cr_expect_str_eq(s, "precious");
    free(s);
    cr_assert_eq(cli_run(out, sizeof out, "report %s --out %s --force", RUN, path), 0, "%s", cli_run_stderr);
    s = slurp(path);
    cr_expect_not_null(strstr(s, "<!DOCTYPE html>"));
    free(s);
    unlink(path);
}

Test(report, bad_usage_and_missing_directory) {
    char out[1024];
    cr_expect_eq(cli_run(out, sizeof out, "report"), 2);
    cr_expect_eq(cli_run(out, sizeof out, "report /nonexistent/run --out /tmp/tf_report_never.html"), 1);
    cr_expect_not_null(strstr(cli_run_stderr, "/nonexistent/run"), "%s", cli_run_stderr);
    cr_expect_eq(cli_run(out, sizeof out, "report --help"), 0);
    cr_expect_not_null(strstr(out, "usage: toolformer report DIR"));
}
