// report_internal.h — shared by the files of src/report/: the run directory's inputs (inputs.c),
// the escaping HTML writer (html.c), the SVG charts (svg.c) and one file per section of the page.
#ifndef TF_REPORT_INTERNAL_H
#define TF_REPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "tf_report.h"

// ---- the run directory (inputs.c) ----------------------------------------------------------------
typedef struct {
    const char *dir;
    char **names;  // the directory's file names, sorted
    int n_names;
    FILE *f;       // the page
    tf_report_stats stats;
} rp_ctx;

int rp_has(const rp_ctx *c, const char *name);
// dir/name into buf (cap bytes); NULL when it does not fit.
const char *rp_path(const rp_ctx *c, const char *name, char *buf, size_t cap);
// Parses dir/name as one JSON value: *out NULL when the file is absent or empty (TF_OK); TF_EBADFILE
// naming the file and line when it is not JSON.
int rp_load_json(const rp_ctx *c, const char *name, cJSON **out, tf_error *err);
// Calls fn on every non-blank line of the JSONL file dir/name (parsed; fn must not keep it) with its
// 1-based line number; fn returns nonzero to stop. TF_EBADFILE naming file and line for a line that is
// not a JSON object. *found = 0 (and TF_OK) when the file is absent.
typedef int (*rp_line_fn)(const cJSON *o, long line, void *ud);
int rp_each_line(const rp_ctx *c, const char *name, rp_line_fn fn, void *ud, int *found, tf_error *err);
// The number at key, or dflt when absent or not a number.
double rp_num(const cJSON *o, const char *key, double dflt);
// The string at key, or NULL.
const char *rp_str(const cJSON *o, const char *key);
int rp_ends_with(const char *s, const char *suffix);

// ---- the HTML writer (html.c) --------------------------------------------------------------------
// Text escaped for an element's content or a quoted attribute (& < > " ').
void rp_esc(FILE *f, const char *s);
void rp_escn(FILE *f, const char *s, size_t n);
// A section's heading with an anchor: <section id="ID"><h2>TITLE</h2>; close with rp_section_end.
void rp_section(rp_ctx *c, const char *id, const char *title);
void rp_section_end(rp_ctx *c);
// A note that a part of the page is left out because FILE is missing (counts stats.missing).
void rp_missing(rp_ctx *c, const char *what, const char *file);
// A number as the page shows it: integers without decimals, others with `decimals` places.
void rp_fmt(char *buf, size_t cap, double v, int decimals);

// ---- charts (svg.c) -------------------------------------------------------------------------------
// Every chart is an <svg class="chart" id=ID data-chart=KIND> whose marks carry data-series and
// data-value, so a test (or a person with the inspector) can read back the numbers drawn.

// Horizontal grouped bars: for each group (a row label) one bar per series. values[g * n_series + s];
// a NaN value draws no bar but "SERIES: not recorded". labels (may be NULL): text beside each bar instead of the value.
typedef struct {
    const char *id, *title, *unit;
    int n_series, n_groups;
    const char *const *series, *const *groups;
    const double *values;
    const char *const *labels;
    int decimals;
    double max;         // the scale's end (0: the largest value)
    const int *colors;  // the colour class of each series (NULL: s0, s1, ... in order)
} rp_bars;
void rp_svg_bars(FILE *f, const rp_bars *b);

// A histogram of two kinds stacked (kept, rejected) over [lo, hi) in n bins, with a vertical line at
// mark (when mark_label is not NULL).
typedef struct {
    const char *id, *title, *xlabel;
    int n;
    double lo, hi;
    const long *kept, *rejected;
    double mark;
    const char *mark_label;
} rp_hist;
void rp_svg_hist(FILE *f, const rp_hist *h);

// Lines: series s has n[s] points (x[s][i], y[s][i]), drawn faint (class "raw"); with smooth > 1, over
// them the moving average of each point and the smooth - 1 before it (noisy per-step losses).
typedef struct {
    const char *id, *title, *xlabel, *ylabel;
    int n_series;
    const char *const *series;
    const int *n;
    const double *const *x, *const *y;
    int smooth;
} rp_lines;
void rp_svg_lines(FILE *f, const rp_lines *l);

// ---- sections (one file each) --------------------------------------------------------------------
int rp_section_settings(rp_ctx *c, tf_error *err);  // sec_settings.c
int rp_section_rounds(rp_ctx *c, tf_error *err);    // sec_rounds.c: funnel, histograms
int rp_section_samples(rp_ctx *c, tf_error *err);   // sec_samples.c: kept and rejected calls
int rp_section_compare(rp_ctx *c, tf_error *err);   // sec_compare.c: the seed's three losses
int rp_section_train(rp_ctx *c, tf_error *err);     // sec_train.c: loss curves
int rp_section_eval(rp_ctx *c, tf_error *err);      // sec_eval.c: accuracy, details, perplexity

#endif
