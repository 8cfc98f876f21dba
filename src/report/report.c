// report.c — `toolformer report`: the page's frame (head, CSS, contents) around its sections.
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "toolformer.h"

// Light, printable, no web font: the system's sans-serif and monospace.
static const char CSS[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2430;background:#fff;"
    "max-width:980px;margin:0 auto;padding:16px 24px 48px}\n"
    "h1{font-size:1.6em;margin:.4em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid #d5dae3;"
    "padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .3em}\n"
    "nav ol{columns:2;margin:.4em 0}code,.text,td.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-size:.92em}\n"
    "figure{margin:.6em 0 1.2em}figcaption{font-size:.88em;color:#4a5568}svg.chart{width:100%;height:auto;"
    "font-size:12px}\n"
    "svg text{fill:#1d2430}svg .tick,svg .axislabel{fill:#4a5568;font-size:11px}svg .axis{stroke:#8a94a6}"
    "svg .mark{stroke:#c0392b;stroke-width:2;stroke-dasharray:5 3}svg .marklabel{fill:#c0392b;font-size:11px}\n"
    ".s0{fill:#2b6cb0;stroke:#2b6cb0}.s1{fill:#dd6b20;stroke:#dd6b20}.s2{fill:#38a169;stroke:#38a169}"
    ".s3{fill:#805ad5;stroke:#805ad5}.s4{fill:#718096;stroke:#718096}.s5{fill:#d53f8c;stroke:#d53f8c}\n"
    "rect.bar,rect.key{stroke:none}polyline.line{fill:none;stroke-width:2}polyline.raw{stroke-width:1;"
    "stroke-opacity:.3}\n"
    "svg[data-chart=histogram] .s0{fill:#2f855a}svg[data-chart=histogram] .s1{fill:#c4c9d2}\n"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}th,td{border:1px solid #d5dae3;"
    "padding:3px 8px;text-align:left;vertical-align:top}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    ".note{color:#5a4a00;background:#fff8db;border-left:4px solid #e0b400;padding:6px 10px}\n"
    "details{border:1px solid #d5dae3;border-radius:4px;margin:.35em 0;padding:.3em .6em}"
    "details[open]{background:#fafbfc}summary{cursor:pointer}\n"
    ".text{white-space:pre-wrap;word-break:break-word;margin:.4em 0}mark{background:#fde68a;padding:0 1px}\n"
    "span.kept{color:#2f855a;font-weight:600}span.rejected{color:#718096;font-weight:600}.right{color:#2f855a}"
    ".wrong{color:#c0392b}\n"
    "@media print{body{max-width:none;padding:0}details{break-inside:avoid}details>*{display:block}"
    "figure{break-inside:avoid}nav{display:none}}\n";

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_dir(rp_ctx *c, tf_error *err) {
    DIR *d = opendir(c->dir);
    if (!d) return tf_errorf(err, TF_EIO, "%s: cannot open the run directory: %s", c->dir, strerror(errno));
    struct dirent *e;
    int cap = 0, rc = TF_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (c->n_names == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(c->names, sizeof *p * (size_t)cap);
            if (!p) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); break; }
            c->names = p;
        }
        if (!(c->names[c->n_names] = strdup(e->d_name))) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); break; }
        c->n_names++;
    }
    closedir(d);
    if (c->n_names) qsort(c->names, (size_t)c->n_names, sizeof *c->names, by_name);
    return rc;
}

int tf_report_write(const char *dir, FILE *out, tf_report_stats *stats, tf_error *err) {
    rp_ctx c = {.dir = dir, .f = out};
    int rc = list_dir(&c, err);
    if (!rc) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Toolformer run: ", out);
        rp_esc(out, dir);
        fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>Toolformer run</h1>\n<p><code>", CSS);
        rp_esc(out, dir);
        fputs("</code>: what each stage wrote, drawn from its JSON files (toolformer report " TF_VERSION ").</p>\n"
              "<nav><ol><li><a href=\"#funnel\">Candidates, executed, kept</a></li><li><a href=\"#scores\">Where "
              "&tau;<sub>f</sub> cuts L&minus; &minus; L+</a></li><li><a href=\"#seed\">The seed's example</a></li>"
              "<li><a href=\"#samples\">Kept and rejected calls</a></li><li><a href=\"#eval\">Evaluation</a></li>"
              "<li><a href=\"#training\">Fine-tuning</a></li><li><a href=\"#settings\">Settings and versions</a></li>"
              "</ol></nav>\n"
              "</header>\n<main>\n", out);
        int (*const sections[])(rp_ctx *, tf_error *) = {rp_section_rounds, rp_section_compare, rp_section_samples,
                                                         rp_section_eval,   rp_section_train,   rp_section_settings};
        for (size_t i = 0; !rc && i < sizeof sections / sizeof sections[0]; i++) rc = sections[i](&c, err);
        if (!rc) fputs("</main>\n</body>\n</html>\n", out);
    }
    if (!rc && ferror(out)) rc = tf_errorf(err, TF_EIO, "writing the page failed");
    for (int i = 0; i < c.n_names; i++) free(c.names[i]);
    free(c.names);
    if (stats) *stats = c.stats;
    return rc;
}
