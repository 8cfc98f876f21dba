// svg.c — the report's charts as inline SVG: grouped bars, a two-colour histogram with a threshold
// line, line curves. Each mark carries data-series and data-value (the number drawn) and a <title>
// (the browser's tooltip, no script); colours come from the page's CSS classes s0, s1, ...
#include <math.h>
#include <string.h>

#include "report_internal.h"

#define W 720.0

static void open_chart(FILE *f, const char *id, const char *kind, double h, const char *title) {
    fprintf(f, "<figure>\n<svg class=\"chart\" id=\"%s\" data-chart=\"%s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "aria-label=\"", id, kind, W, h);
    rp_esc(f, title);
    fputs("\">\n", f);  // inline in HTML: no xmlns (and so no URL anywhere on the page)
}

static void close_chart(FILE *f, const char *title) {
    fputs("</svg>\n<figcaption>", f);
    rp_esc(f, title);
    fputs("</figcaption>\n</figure>\n", f);
}

static void legend(FILE *f, int n, const char *const *names, const int *colors, double x0) {
    double x = x0;
    for (int s = 0; s < n; s++) {
        fprintf(f, "<rect class=\"key s%d\" x=\"%.1f\" y=\"6\" width=\"12\" height=\"12\"/>",
                (colors ? colors[s] : s) % 6, x);
        fprintf(f, "<text x=\"%.1f\" y=\"16\">", x + 16);
        rp_esc(f, names[s]);
        fputs("</text>\n", f);
        x += 28 + 7.0 * (double)strlen(names[s]);
    }
}

void rp_svg_bars(FILE *f, const rp_bars *b) {
    const double bar = 14, gap = 3, group_gap = 14, top = 30;
    // room for the longest row label on the left and the bar labels on the right (about 6.5 px a character)
    size_t lg = 0, ll = 0;
    for (int g = 0; g < b->n_groups; g++) lg = strlen(b->groups[g]) > lg ? strlen(b->groups[g]) : lg;
    for (int i = 0; b->labels && i < b->n_groups * b->n_series; i++)
        if (b->labels[i] && strlen(b->labels[i]) > ll) ll = strlen(b->labels[i]);
    double left = 16 + 6.5 * (double)lg, right = 24 + 6.2 * (double)(ll ? ll : 12);
    left = left < 70 ? 70 : left > 260 ? 260 : left;
    right = right > 330 ? 330 : right;
    double max = b->max;
    for (int i = 0; i < b->n_groups * b->n_series; i++)
        if (isfinite(b->values[i]) && b->values[i] > max) max = b->values[i];
    if (max <= 0) max = 1;
    double gh = b->n_series * (bar + gap) - gap;
    double h = top + b->n_groups * (gh + group_gap) + 6;
    open_chart(f, b->id, "bars", h, b->title);
    legend(f, b->n_series, b->series, b->colors, left);
    double span = W - left - right;
    for (int g = 0; g < b->n_groups; g++) {
        double y0 = top + g * (gh + group_gap);
        fprintf(f, "<text class=\"group\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 8, y0 + gh / 2 + 4);
        rp_esc(f, b->groups[g]);
        fputs("</text>\n", f);
        for (int s = 0; s < b->n_series; s++) {
            double v = b->values[g * b->n_series + s], y = y0 + s * (bar + gap);
            if (!isfinite(v)) {  // no such number in the input: no bar, and say so
                fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">", left + 4, y + bar - 3);
                rp_esc(f, b->series[s]);
                fputs(": not recorded</text>\n", f);
                continue;
            }
            double w = v > 0 ? span * v / max : 0;
            char num[64];
            rp_fmt(num, sizeof num, v, b->decimals);
            fprintf(f, "<rect class=\"bar s%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" data-series=\"",
                    (b->colors ? b->colors[s] : s) % 6, left, y, w, bar);
            rp_esc(f, b->series[s]);
            fputs("\" data-group=\"", f);
            rp_esc(f, b->groups[g]);
            fprintf(f, "\" data-value=\"%.6g\"><title>", v);
            rp_esc(f, b->groups[g]);
            fputs(", ", f);
            rp_esc(f, b->series[s]);
            fprintf(f, ": %s%s</title></rect>", num, b->unit ? b->unit : "");
            fprintf(f, "<text class=\"value\" x=\"%.1f\" y=\"%.1f\">", left + w + 4, y + bar - 3);
            if (b->labels && b->labels[g * b->n_series + s]) rp_esc(f, b->labels[g * b->n_series + s]);
            else {
                rp_esc(f, num);
                rp_esc(f, b->unit ? b->unit : "");
            }
            fputs("</text>\n", f);
        }
    }
    close_chart(f, b->title);
}

void rp_svg_hist(FILE *f, const rp_hist *h) {
    const double left = 48, right = 16, top = 28, plot_h = 170, bottom = 40;
    double hh = top + plot_h + bottom, pw = W - left - right;
    long max = 1;
    for (int i = 0; i < h->n; i++)
        if (h->kept[i] + h->rejected[i] > max) max = h->kept[i] + h->rejected[i];
    open_chart(f, h->id, "histogram", hh, h->title);
    static const char *const KINDS[2] = {"kept", "rejected"};
    legend(f, 2, KINDS, NULL, left);
    double base = top + plot_h, bw = pw / h->n, span = h->hi - h->lo;
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, base, left + pw, base);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%ld</text>\n", left - 4, top + 8, max);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>\n", left - 4, base);
    for (int i = 0; i < h->n; i++) {
        double x = left + i * bw, y = base;
        long v[2] = {h->kept[i], h->rejected[i]};
        for (int k = 0; k < 2; k++) {
            if (!v[k]) continue;
            double bh = plot_h * (double)v[k] / (double)max;
            y -= bh;
            fprintf(f, "<rect class=\"bar s%d\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" data-series=\"%s\" "
                       "data-value=\"%ld\" data-bin=\"%.6g\"><title>%s: %ld in [%.3g, %.3g)</title></rect>\n",
                    k, x + 0.5, y, bw > 2 ? bw - 1 : bw, bh, KINDS[k], v[k], h->lo + i * span / h->n, KINDS[k], v[k],
                    h->lo + i * span / h->n, h->lo + (i + 1) * span / h->n);
        }
    }
    // ticks: both ends and zero
    double ticks[3] = {h->lo, h->hi, 0};
    for (int t = 0; t < 3; t++) {
        if (t == 2 && (0 <= h->lo || 0 >= h->hi)) continue;
        double x = left + pw * (ticks[t] - h->lo) / span;
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>\n", x, base + 14,
                ticks[t]);
    }
    fprintf(f, "<text class=\"axislabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", left + pw / 2, base + 32);
    rp_esc(f, h->xlabel);
    fputs("</text>\n", f);
    if (h->mark_label && h->mark >= h->lo && h->mark <= h->hi) {
        double x = left + pw * (h->mark - h->lo) / span;
        fprintf(f, "<line class=\"mark\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" data-value=\"%.6g\"/>\n", x,
                top - 4, x, base, h->mark);
        fprintf(f, "<text class=\"marklabel\" x=\"%.1f\" y=\"%.1f\">", x + 4, top + 6);
        rp_esc(f, h->mark_label);
        fputs("</text>\n", f);
    }
    close_chart(f, h->title);
}

void rp_svg_lines(FILE *f, const rp_lines *l) {
    const double left = 56, right = 16, top = 28, plot_h = 200, bottom = 40;
    double hh = top + plot_h + bottom, pw = W - left - right;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < l->n_series; s++)
        for (int i = 0; i < l->n[s]; i++) {
            if (!isfinite(l->x[s][i]) || !isfinite(l->y[s][i])) continue;
            x0 = fmin(x0, l->x[s][i]), x1 = fmax(x1, l->x[s][i]);
            y0 = fmin(y0, l->y[s][i]), y1 = fmax(y1, l->y[s][i]);
        }
    if (!(x1 > x0)) x1 = x0 + 1;
    if (!(y1 > y0)) y1 = y0 + 1;
    open_chart(f, l->id, "lines", hh, l->title);
    legend(f, l->n_series, l->series, NULL, left);
    double base = top + plot_h;
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, base, left + pw, base);
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, top, left, base);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", left - 4, top + 8, y1);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", left - 4, base, y0);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\">%.4g</text>\n", left, base + 14, x0);
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", left + pw, base + 14, x1);
    fprintf(f, "<text class=\"axislabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", left + pw / 2, base + 32);
    rp_esc(f, l->xlabel);
    fputs("</text>\n", f);
    fprintf(f, "<text class=\"axislabel\" x=\"12\" y=\"%.1f\" transform=\"rotate(-90 12 %.1f)\" text-anchor=\"middle\">",
            top + plot_h / 2, top + plot_h / 2);
    rp_esc(f, l->ylabel);
    fputs("</text>\n", f);
    for (int s = 0; s < l->n_series; s++) {
        fprintf(f, "<polyline class=\"line raw s%d\" data-series=\"", s % 6);
        rp_esc(f, l->series[s]);
        fprintf(f, "\" data-points=\"%d\" points=\"", l->n[s]);
        for (int i = 0; i < l->n[s]; i++) {
            if (!isfinite(l->x[s][i]) || !isfinite(l->y[s][i])) continue;
            fprintf(f, "%s%.1f,%.1f", i ? " " : "", left + pw * (l->x[s][i] - x0) / (x1 - x0),
                    base - plot_h * (l->y[s][i] - y0) / (y1 - y0));
        }
        fputs("\"><title>", f);
        rp_esc(f, l->series[s]);
        fputs("</title></polyline>\n", f);
    }
    for (int s = 0; l->smooth > 1 && s < l->n_series; s++) {
        fprintf(f, "<polyline class=\"line smooth s%d\" data-smooth=\"%d\" points=\"", s % 6, l->smooth);
        double sum = 0;  // over the finite points among the last `smooth`
        int cnt = 0, first = 1;
        for (int i = 0; i < l->n[s]; i++) {
            int ok = isfinite(l->x[s][i]) && isfinite(l->y[s][i]);
            if (ok) sum += l->y[s][i], cnt++;
            int j = i - l->smooth;
            if (j >= 0 && isfinite(l->x[s][j]) && isfinite(l->y[s][j])) sum -= l->y[s][j], cnt--;
            if (!ok || cnt <= 0) continue;
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ", left + pw * (l->x[s][i] - x0) / (x1 - x0),
                    base - plot_h * (sum / cnt - y0) / (y1 - y0));
            first = 0;
        }
        fputs("\"><title>", f);
        rp_esc(f, l->series[s]);
        fprintf(f, ", moving average of %d steps</title></polyline>\n", l->smooth);
    }
    close_chart(f, l->title);
}
