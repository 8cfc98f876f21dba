// html.c — the report's HTML writer: escaping, sections, notes, number formatting.
#include <math.h>
#include <string.h>

#include "report_internal.h"

void rp_escn(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            // control characters other than tab and newline would make the page invalid: a space
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') fputc(' ', f);
            else fputc(s[i], f);
        }
    }
}

void rp_esc(FILE *f, const char *s) { rp_escn(f, s ? s : "", (size_t)-1); }

void rp_section(rp_ctx *c, const char *id, const char *title) {
    fprintf(c->f, "<section id=\"%s\">\n<h2>", id);
    rp_esc(c->f, title);
    fputs("</h2>\n", c->f);
    c->stats.sections++;
}

void rp_section_end(rp_ctx *c) { fputs("</section>\n", c->f); }

void rp_missing(rp_ctx *c, const char *what, const char *file) {
    fputs("<p class=\"note missing\">", c->f);
    rp_esc(c->f, what);
    fputs(" is left out: this run directory has no <code>", c->f);
    rp_esc(c->f, file);
    fputs("</code>.</p>\n", c->f);
    c->stats.missing++;
}

void rp_fmt(char *buf, size_t cap, double v, int decimals) {
    if (!isfinite(v)) snprintf(buf, cap, "%s", isnan(v) ? "n/a" : v > 0 ? "inf" : "-inf");
    else if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, cap, "%.0f", v);
    else snprintf(buf, cap, "%.*f", decimals, v);
}
