// sec_samples.c — a browsable sample of the calls each round kept and rejected (<details>, no script):
// the text around the place the call was inserted, the call highlighted, its three losses and score.
// Kept calls come with their text (NAME.jsonl's source_text); a rejected call's text is found in the
// same file when its document kept another call, else in the corpus the summary names.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "tf_pipeline.h"

#define PER_TOOL 4     // samples of each kind per tool and round
#define MAX_SAMPLES 256
#define BEFORE 280     // bytes of text shown before and after the call
#define AFTER 200

typedef struct {
    char *tool, *input, *result, *text;
    long doc_index;
    size_t char_pos;
    double loss_plus, loss_minus, loss_plain, loss_empty, score;
    int kept, capped, displaced;
} sample;

typedef struct {
    sample s[MAX_SAMPLES];
    int n, oom;
} sample_set;

static int count(const sample_set *ss, const char *tool, int kept, long *last_doc) {
    int n = 0;
    *last_doc = -1;
    for (int i = 0; i < ss->n; i++)
        if (ss->s[i].kept == kept && !strcmp(ss->s[i].tool, tool)) n++, *last_doc = ss->s[i].doc_index;
    return n;
}

static char *dup(const char *s, int *oom) {
    char *d = strdup(s ? s : "");
    if (!d) *oom = 1;
    return d;
}

// Takes call (of document doc_index, text may be NULL) when its tool has fewer than PER_TOOL samples
// of its kind and the last one came from another document.
static void consider(sample_set *ss, const cJSON *call, long doc_index, const char *text, int kept) {
    const char *tool = rp_str(call, "tool");
    long last;
    if (!tool || ss->n == MAX_SAMPLES || count(ss, tool, kept, &last) >= PER_TOOL || last == doc_index) return;
    sample *s = &ss->s[ss->n++];
    *s = (sample){.doc_index = doc_index, .kept = kept};
    s->tool = dup(tool, &ss->oom);
    s->input = dup(rp_str(call, "input"), &ss->oom);
    s->result = dup(rp_str(call, "result"), &ss->oom);
    s->text = text ? dup(text, &ss->oom) : NULL;
    double pos = rp_num(call, "char_pos", -1);
    s->char_pos = pos >= 0 ? (size_t)pos : 0;
    s->loss_plus = rp_num(call, "loss_plus", NAN);
    s->loss_minus = rp_num(call, "loss_minus", NAN);
    s->loss_plain = rp_num(call, "loss_plain", NAN);
    s->loss_empty = rp_num(call, "loss_empty", NAN);
    s->score = rp_num(call, "score", NAN);
    s->capped = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(call, "capped"));
    s->displaced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(call, "displaced"));
}

static int on_kept(const cJSON *o, long line, void *ud) {
    (void)line;
    const cJSON *call;
    long doc = (long)rp_num(o, "doc_index", -1);
    cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(o, "calls"))
        consider(ud, call, doc, rp_str(o, "source_text"), 1);
    return 0;
}

static int on_rejected(const cJSON *o, long line, void *ud) {
    (void)line;
    consider(ud, o, (long)rp_num(o, "doc_index", -1), NULL, 0);
    return 0;
}

static int missing_text(const sample_set *ss) {
    for (int i = 0; i < ss->n; i++)
        if (!ss->s[i].text) return 1;
    return 0;
}

static void fill_text(sample_set *ss, long doc, const char *text) {
    for (int i = 0; i < ss->n; i++)
        if (!ss->s[i].text && ss->s[i].doc_index == doc) ss->s[i].text = dup(text, &ss->oom);
}

static int on_text(const cJSON *o, long line, void *ud) {
    (void)line;
    const char *t = rp_str(o, "source_text");
    if (t) fill_text(ud, (long)rp_num(o, "doc_index", -1), t);
    return !missing_text(ud);
}

// The rejected calls' texts from the corpus (its path as annotate was given it).
static void texts_from_corpus(sample_set *ss, const char *path) {
    tf_error e;
    tf_corpus *cp = path ? tf_corpus_open(path, &e) : NULL;
    if (!cp) return;
    tf_document d;
    long idx;
    while (missing_text(ss) && tf_corpus_next(cp, &d, &idx, &e) == 1) fill_text(ss, idx, d.text);
    tf_corpus_close(cp);
}

static size_t utf8_back(const char *t, size_t i) {
    while (i > 0 && ((unsigned char)t[i] & 0xC0) == 0x80) i--;
    return i;
}

static void show(FILE *f, const sample *s) {
    char *call = tf_call_text(s->tool, s->input, s->result, 1);
    char sc[64];
    rp_fmt(sc, sizeof sc, s->score, 3);
    fprintf(f, "<details class=\"call\" data-kind=\"%s\" data-score=\"%.6g\"><summary><span class=\"%s\">%s</span> <code>",
            s->kept ? "kept" : "rejected", s->score, s->kept ? "kept" : "rejected",
            s->kept ? "kept" : s->capped ? "over max calls" : s->displaced ? "displaced" : "rejected");
    rp_esc(f, call ? call + 1 : s->tool);
    fprintf(f, "</code> &middot; L&minus; &minus; L+ = %s</summary>\n", sc);
    if (s->text) {
        size_t len = strlen(s->text), pos = s->char_pos <= len ? s->char_pos : len;
        size_t from = pos > BEFORE ? utf8_back(s->text, pos - BEFORE) : 0;
        size_t to = len - pos > AFTER ? utf8_back(s->text, pos + AFTER) : len;
        fprintf(f, "<p class=\"text\">%s", from ? "&hellip;" : "");
        rp_escn(f, s->text + from, pos - from);
        fputs("<mark>", f);
        rp_esc(f, call ? call : "");
        fputs("</mark>", f);
        rp_escn(f, s->text + pos, to - pos);
        fprintf(f, "%s</p>\n", to < len ? "&hellip;" : "");
    } else {
        fputs("<p class=\"note\">The text of this call's document is not in the run directory (nor its corpus at the "
              "path annotate was given).</p>\n", f);
    }
    free(call);
    const char *names[5] = {"L+ (call and result)", "L(e(c, \u03b5)) (call, no result)", "L(\u03b5) (no call)",
                            "L\u2212 = min of the two", "score L\u2212 \u2212 L+"};
    const char *keys[5] = {"loss_plus", "loss_empty", "loss_plain", "loss_minus", "score"};
    double v[5] = {s->loss_plus, s->loss_empty, s->loss_plain, s->loss_minus, s->score};
    fputs("<table class=\"losses\">", f);
    for (int k = 0; k < 5; k++) {
        char b[64];
        rp_fmt(b, sizeof b, v[k], 4);
        fprintf(f, "<tr><th>%s</th><td class=\"num\" data-key=\"%s\">%s</td></tr>", names[k], keys[k], b);
    }
    fputs("</table>\n</details>\n", f);
}

static void free_set(sample_set *ss) {
    for (int i = 0; i < ss->n; i++) free(ss->s[i].tool), free(ss->s[i].input), free(ss->s[i].result), free(ss->s[i].text);
}

static int one_round(rp_ctx *c, const char *round, const char *corpus, tf_error *err) {
    char kept_name[300], rej_name[320];
    snprintf(kept_name, sizeof kept_name, "%s.jsonl", round);
    snprintf(rej_name, sizeof rej_name, "%s.rejected.jsonl", round);
    sample_set *ss = calloc(1, sizeof *ss);
    if (!ss) return tf_errorf(err, TF_ENOMEM, "out of memory");
    int fk = 0, fr = 0, rc = rp_each_line(c, kept_name, on_kept, ss, &fk, err);
    if (!rc) rc = rp_each_line(c, rej_name, on_rejected, ss, &fr, err);
    if (!rc && missing_text(ss)) rc = rp_each_line(c, kept_name, on_text, ss, &fk, err);
    if (!rc && missing_text(ss)) texts_from_corpus(ss, corpus);
    if (!rc && ss->oom) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
    if (!rc) {
        fputs("<h3>", c->f);
        rp_esc(c->f, round);
        fputs("</h3>\n", c->f);
        if (!fk) rp_missing(c, "The kept calls", kept_name);
        if (!fr) rp_missing(c, "The rejected calls", rej_name);
        for (int kept = 1; kept >= 0; kept--)
            for (int i = 0; i < ss->n; i++)
                if (ss->s[i].kept == kept) show(c->f, &ss->s[i]);
    }
    free_set(ss);
    free(ss);
    return rc;
}

int rp_section_samples(rp_ctx *c, tf_error *err) {
    rp_section(c, "samples", "Kept and rejected calls");
    fprintf(c->f, "<p>Up to %d calls of each tool that the filter kept, and %d it rejected, each from another text "
                  "(the first in the files). Open one to see where it was inserted and its losses.</p>\n",
            PER_TOOL, PER_TOOL);
    int rounds = 0, rc = TF_OK;
    for (int i = 0; !rc && i < c->n_names; i++) {
        if (!rp_ends_with(c->names[i], ".summary.json")) continue;
        char round[256];
        snprintf(round, sizeof round, "%.*s", (int)(strlen(c->names[i]) - strlen(".summary.json")), c->names[i]);
        cJSON *sum;
        if ((rc = rp_load_json(c, c->names[i], &sum, err))) break;
        if (!sum) continue;
        const char *corpus = rp_str(cJSON_GetObjectItemCaseSensitive(sum, "settings"), "data");
        rc = one_round(c, round, corpus, err);
        cJSON_Delete(sum);
        rounds++;
    }
    if (!rc && !rounds) rp_missing(c, "The sample of calls", "NAME.summary.json with NAME.jsonl and NAME.rejected.jsonl");
    rp_section_end(c);
    return rc;
}
