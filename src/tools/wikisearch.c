// wikisearch.c — the WikiSearch tool (Toolformer §3, Table 1): search terms -> "Title > snippet" of
// the best passage by BM25 over a local SQLite FTS5 index built by `toolformer index`.
#include "result_text.h"
#include "search_tool.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define WIKISEARCH_TIMEOUT_MS 1000
#define WIKISEARCH_RESULT_BYTES 300

// The paper's WikiSearch sampling prompt (Appendix A.2), the document slot written <INPUT>.
static const char WIKISEARCH_PROMPT[] =
    "Your task is to complete a given piece of text. You can use a Wikipedia Search API to look up "
    "information. You can do so by writing \"[WikiSearch(term)]\" where \"term\" is the search term you "
    "want to look up. Here are some examples of API calls:\n"
    "Input: The colors on the flag of Ghana have the following meanings: red is for the blood of "
    "martyrs, green for forests, and gold for mineral wealth.\n"
    "Output: The colors on the flag of Ghana have the following meanings: red is for "
    "[WikiSearch(\"Ghana flag red meaning\")] the blood of martyrs, green for forests, and gold for "
    "mineral wealth.\n"
    "Input: But what are the risks during production of nanomaterials? Some nanomaterials may give rise "
    "to various kinds of lung damage.\n"
    "Output: But what are the risks during production of nanomaterials? "
    "[WikiSearch(\"nanomaterial production risks\")] Some nanomaterials may give rise to various kinds "
    "of lung damage.\n"
    "Input: Metformin is the first-line drug for patients with type 2 diabetes and obesity.\n"
    "Output: Metformin is the first-line drug for [WikiSearch(\"Metformin first-line drug\")] patients "
    "with type 2 diabetes and obesity.\n"
    "Input: <INPUT>\n"
    "Output:";

static int wikisearch_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                              tf_error *err) {
    (void)ctx;
    search_tool_state *st = t->state;
    size_t budget;
    int rc;
    if (result_cache_begin(st->cache, t, &input, WIKISEARCH_RESULT_BYTES, out, cap, &budget, err, &rc)) return rc;
    // About six bytes a token in English text; FTS5 windows hold 1..64 tokens.
    int tokens = (int)(budget / 6);
    tokens = tokens < 8 ? 8 : tokens > 64 ? 64 : tokens;
    search_hit hit;
    int n = 0;
    rc = search_index_query(st->ix, input, 1, tokens, t->timeout_ms, &hit, &n, err);
    if (rc) return rc;  // a time limit or a database failure: not remembered
    if (n == 0) {
        tf_errorf(err, TF_ETOOL, "WikiSearch: no passage matches '%.200s'", input);
        result_cache_put(st->cache, input, budget, TF_ETOOL, err ? err->msg : "no passage matches");
        return TF_ETOOL;
    }
    // "Title > snippet" (the paper's format, Table 1), the title kept whole when it leaves room.
    size_t o = result_clean(out, cap, hit.title, strlen(hit.title), budget);
    if (o + 4 < budget) {
        memcpy(out + o, " > ", 4);
        o += 3;
        size_t s = result_clean(out + o, cap - o, hit.snippet, strlen(hit.snippet), budget - o);
        if (s == 0) out[o -= 3] = '\0';
    }
    search_hits_free(&hit, 1);
    result_cache_put(st->cache, input, budget, TF_OK, out);
    return TF_OK;
}

// ---- proposer: search terms from the text before a call (for small models) ----------------------
// Proposes, from the WIKISEARCH_WINDOW bytes before pos: (1) the nearest name (a run of capitalised
// words that are not stopwords, "Knights of Columbus"-style "of"/"de" joins allowed), or (2) when
// the window holds no name, the last WIKISEARCH_PROPOSE_WORDS content words. A word that opens a
// sentence is capitalised by its place, not as a name: unless some passage title writes it
// capitalised ("Sri Lanka", "New Caledonia") it joins no run ("Name Namibia's capital" proposes
// "Namibia's"), and it stands as a name alone only when no other name comes before pos.
// The loss filter decides whether the search helps. One query a place, the name when there is one,
// so that the calls the filter keeps all ask the same way: a model fine-tuned on them copies the
// name into its query rather than the words around it ("capital city", "Q Sudan's capital").
#define WIKISEARCH_WINDOW 200
#define WIKISEARCH_PROPOSE_WORDS 4

typedef struct {
    size_t s, e;
} span;

static int wbyte(unsigned char c) { return isalnum(c) || c >= 0x80 || c == '-' || c == '\''; }

// 1 when the word starting at text[s] opens a sentence: nothing but spaces, quotes and brackets
// between it and the text's start or a '.', '?', '!' or ':' ("Q: Name Kenya's capital.").
static int opens_sentence(const char *text, size_t s) {
    while (s > 0 && (text[s - 1] == ' ' || text[s - 1] == '"' || text[s - 1] == '(' || text[s - 1] == '\n')) s--;
    return s == 0 || text[s - 1] == '.' || text[s - 1] == '?' || text[s - 1] == '!' || text[s - 1] == ':';
}

// Pushes text[0..n) onto out when it fits buf[cap]; TF_ENOMEM when the list cannot grow.
static int push_span(tf_strlist *out, char *buf, size_t cap, const char *text, size_t n) {
    if (n >= cap) return TF_OK;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return tf_strlist_push(out, buf) ? TF_ENOMEM : TF_OK;
}

static int wikisearch_propose(const tf_tool *t, const char *text, size_t pos, const tf_tool_context *ctx,
                              tf_strlist *out) {
    (void)ctx;
    search_tool_state *st = t->state;
    size_t len = strlen(text);
    if (pos > len) pos = len;
    size_t from = pos > WIKISEARCH_WINDOW ? pos - WIKISEARCH_WINDOW : 0;
    while (from > 0 && from < pos && wbyte((unsigned char)text[from])) from++;  // start on a word boundary
    span words[64];
    int nw = 0;
    for (size_t i = from; i < pos && nw < 64;) {
        if (!wbyte((unsigned char)text[i]) || text[i] == '-' || text[i] == '\'') { i++; continue; }
        size_t s0 = i;
        while (i < pos && wbyte((unsigned char)text[i])) i++;
        if (i == pos && pos < len && wbyte((unsigned char)text[pos])) break;  // a word cut by the call
        words[nw++] = (span){s0, i};
    }
    char buf[WIKISEARCH_WINDOW + 1];
    // (1) The nearest name: capitalised non-stopwords, joined by "of"/"de"/"the" inside; a
    // sentence's first word only when no other name comes before pos.
    int named = 0, opener = -1;
    for (int i = nw - 1; i >= 0 && !named; i--) {
        const char *w = text + words[i].s;
        size_t wl = words[i].e - words[i].s;
        char low[32];
        size_t k = wl < sizeof low - 1 ? wl : sizeof low - 1;
        for (size_t j = 0; j < k; j++) low[j] = (char)tolower((unsigned char)w[j]);
        low[k] = '\0';
        if (!isupper((unsigned char)w[0]) || search_is_stopword(low, k)) continue;
        if (opens_sentence(text, words[i].s)) {
            if (opener < 0) opener = i;
            continue;
        }
        int e = i, b = i;
        while (b > 0) {
            const char *pw = text + words[b - 1].s;
            size_t pl = words[b - 1].e - words[b - 1].s;
            int common = opens_sentence(text, words[b - 1].s) && !search_index_title_name(st->ix, pw, pl);
            if (isupper((unsigned char)pw[0]) && !common && !(pl == 3 && !strncmp(pw, "The", 3))) { b--; continue; }
            if (b > 1 && isupper((unsigned char)text[words[b - 2].s]) && !opens_sentence(text, words[b - 2].s) &&
                ((pl == 2 && (!strncmp(pw, "of", 2) || !strncmp(pw, "de", 2))))) { b -= 2; continue; }
            break;
        }
        if (push_span(out, buf, sizeof buf, text + words[b].s, words[e].e - words[b].s)) return TF_ENOMEM;
        named = 1;
    }
    if (!named && opener >= 0) {
        if (push_span(out, buf, sizeof buf, text + words[opener].s, words[opener].e - words[opener].s)) return TF_ENOMEM;
        named = 1;
    }
    if (named) return TF_OK;
    // (2) No name: the last few content words.
    size_t o = 0;
    int taken = 0;
    int idx[WIKISEARCH_PROPOSE_WORDS];
    for (int i = nw - 1; i >= 0 && taken < WIKISEARCH_PROPOSE_WORDS; i--) {
        char low[32];
        size_t wl = words[i].e - words[i].s, k = wl < sizeof low - 1 ? wl : sizeof low - 1;
        for (size_t j = 0; j < k; j++) low[j] = (char)tolower((unsigned char)text[words[i].s + j]);
        low[k] = '\0';
        if (search_is_stopword(low, k) || wl >= sizeof low) continue;
        idx[taken++] = i;
    }
    for (int j = taken - 1; j >= 0; j--) {
        size_t wl = words[idx[j]].e - words[idx[j]].s;
        if (o + wl + 2 > sizeof buf) break;
        if (o) buf[o++] = ' ';
        memcpy(buf + o, text + words[idx[j]].s, wl);
        o += wl;
    }
    buf[o] = '\0';
    if (taken >= 2 && (out->n == 0 || strcmp(out->items[out->n - 1], buf)))
        if (tf_strlist_push(out, buf)) return TF_ENOMEM;
    return TF_OK;
}

tf_tool *tool_wikisearch_new(const tf_tool_options *opt, tf_error *err) {
    tf_tool *t = tool_alloc("WikiSearch", WIKISEARCH_PROMPT, opt, WIKISEARCH_TIMEOUT_MS, WIKISEARCH_RESULT_BYTES, err);
    if (!t) return NULL;
    t->execute = wikisearch_execute;
    t->propose = wikisearch_propose;
    if (search_tool_attach(t, opt, err)) {
        tf_tool_free(t);
        return NULL;
    }
    return t;
}
