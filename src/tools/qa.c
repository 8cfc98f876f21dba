// qa.c — the QA tool (Toolformer §3, Table 1): a question -> a short answer, by retrieving passages
// from the WikiSearch index (BM25) and reading them with a small extractive rule.
//
// The paper's QA tool is Atlas, a retrieval-augmented reader model. Until the engine can run a reader
// model (tf_tool_options.qa_model, refused for now), the reader is this rule:
//   1. Retrieve the QA_PASSAGES best passages for the question's content words (stopwords dropped).
//      A passage that lacks one of the names the question asks about (its capitalised words after
//      the first: "Hamlet" in "Who wrote Hamlet?") is about something else and is not read.
//   2. Classify the question: TIME (when, what year/date/day/month/century), QUANTITY (how many, how
//      much, how long/old/far/tall/high/big/large/deep/wide/heavy), WHO, WHERE (also which/what
//      city/country/state/place/...), or OTHER.
//   3. Candidate answers are the spans of each sentence that name something: runs of capitalised
//      words (joined by "of", "de", "van", ...; "New Haven, Connecticut"), numbers, and dates
//      ("March 29, 1882"); comma-joined parts made only of question words are dropped from either
//      end. A candidate must contain a word that is not in the question. TIME wants a
//      year ("1882", "1990s", "19th") or a month in it, QUANTITY a number (with the unit word after
//      it: "6,650 km"); WHO, WHERE and OTHER want a name (a number only when no name is found).
//   4. Score = the question's content words found in the sentence or in its passage's title (each
//      word once; "found" allows shared stems: founded ~ found, manufactures ~ manufactured)
//      + 0.5 when the word before the span is the question's cue ("by" for WHO; "in", "at", "near",
//      "from" for WHERE; "in", "on", "since", "during", "until" for TIME; an article is skipped)
//      + 1 / (1 + the distance in tokens to the nearest question word in the sentence).
//   5. The best candidate (earlier passage, sentence and span on ties) is the answer, at most
//      QA_MAX_SPAN tokens; none found gives no result.
#include "result_text.h"
#include "search_tool.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QA_TIMEOUT_MS 2000
#define QA_RESULT_BYTES 100
#define QA_PASSAGES 5
#define QA_MAX_TERMS 24
#define QA_MAX_SPAN 8

// The paper's QA sampling prompt (Figure 3 / Appendix A.2), the document slot written <INPUT>.
static const char QA_PROMPT[] =
    "Your task is to add calls to a Question Answering API to a piece of text. The questions should help "
    "you get information required to complete the text. You can call the API by writing "
    "\"[QA(question)]\" where \"question\" is the question you want to ask. Here are some examples of API "
    "calls:\n"
    "Input: Joe Biden was born in Scranton, Pennsylvania.\n"
    "Output: Joe Biden was born in [QA(\"Where was Joe Biden born?\")] Scranton, [QA(\"In which state is "
    "Scranton?\")] Pennsylvania.\n"
    "Input: Coca-Cola, or Coke, is a carbonated soft drink manufactured by the Coca-Cola Company.\n"
    "Output: Coca-Cola, or [QA(\"What other name is Coca-Cola known by?\")] Coke, is a carbonated soft "
    "drink manufactured by [QA(\"Who manufactures Coca-Cola?\")] the Coca-Cola Company.\n"
    "Input: <INPUT>\n"
    "Output:";

enum { Q_OTHER, Q_TIME, Q_QUANTITY, Q_WHO, Q_WHERE };

enum {
    T_WORD = 1,     // letters/digits (else punctuation)
    T_CAP = 2,      // starts with an ASCII capital
    T_NUM = 4,      // has a digit, or is a number word
    T_MONTH = 8,
    T_STOP = 16,    // an English stopword
    T_MATCH = 32,   // matches a question term
    T_YEAR = 64,    // a year or ordinal: 3-4 digits ("1882"), a decade ("1990s"), "19th"
};

typedef struct {
    int s, e;        // byte span in the passage
    int flags;
    char low[40];    // lowercase form (cut)
} tok;

typedef struct {
    tok *v;
    int n, cap;
} toks;

static const char *const MONTHS[] = {"january", "february", "march", "april", "may", "june", "july",
                                     "august", "september", "october", "november", "december"};
static const char *const NUMBER_WORDS[] = {"one", "two", "three", "four", "five", "six", "seven", "eight",
                                           "nine", "ten", "eleven", "twelve", "twenty", "thirty", "hundred",
                                           "thousand", "million", "billion", "dozen"};
static const char *const CONNECTORS[] = {"of", "de", "van", "von", "der", "du", "da", "la", "le", "al", "del"};

static int in_list(const char *w, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(w, list[i])) return 1;
    return 0;
}
#define IN_LIST(w, l) in_list(w, l, sizeof l / sizeof l[0])

static int word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

// Splits text into word and punctuation tokens. '-', '\'', '.', ',' stay inside a word when letters or
// digits surround them ("Coca-Cola", "6,650", "3.5", "Earth's").
static int tokenize(const char *text, toks *out) {
    out->n = 0;
    const unsigned char *t = (const unsigned char *)text;
    int i = 0;
    while (t[i]) {
        if (isspace(t[i])) { i++; continue; }
        if (out->n == out->cap) {
            int nc = out->cap ? out->cap * 2 : 64;
            tok *nv = realloc(out->v, (size_t)nc * sizeof *nv);
            if (!nv) return TF_ENOMEM;
            out->v = nv;
            out->cap = nc;
        }
        tok *k = &out->v[out->n++];
        memset(k, 0, sizeof *k);
        k->s = i;
        if (word_byte(t[i])) {
            while (t[i] && (word_byte(t[i]) || ((t[i] == '-' || t[i] == '\'' || t[i] == '.' || t[i] == ',') &&
                                                word_byte(t[i + 1]) && i > k->s && word_byte(t[i - 1]) &&
                                                // a comma or period joins digits only
                                                ((t[i] != ',' && t[i] != '.') ||
                                                 (isdigit(t[i - 1]) && isdigit(t[i + 1]))))))
                i++;
            k->flags = T_WORD;
        } else {
            i++;
            while (t[i] && (t[i] & 0xC0) == 0x80) i++;
        }
        k->e = i;
        size_t len = (size_t)(k->e - k->s), n = len < sizeof k->low - 1 ? len : sizeof k->low - 1;
        int digit = 0;
        for (size_t j = 0; j < n; j++) {
            k->low[j] = (char)tolower(t[k->s + j]);
            digit |= isdigit(t[k->s + j]) != 0;
        }
        k->low[n] = '\0';
        if (!(k->flags & T_WORD)) continue;
        if (isupper(t[k->s])) k->flags |= T_CAP;
        if (digit || IN_LIST(k->low, NUMBER_WORDS)) k->flags |= T_NUM;
        if (IN_LIST(k->low, MONTHS) && (k->flags & T_CAP)) k->flags |= T_MONTH;
        size_t nd = 0;
        while (nd < n && isdigit((unsigned char)k->low[nd])) nd++;
        const char *suf = k->low + nd;
        if (nd > 0 && ((nd == n && nd >= 3 && nd <= 4) || !strcmp(suf, "s") || !strcmp(suf, "st") ||
                       !strcmp(suf, "nd") || !strcmp(suf, "rd") || !strcmp(suf, "th")))
            k->flags |= T_YEAR;
        if (search_is_stopword(k->low, strlen(k->low))) k->flags |= T_STOP;
    }
    return TF_OK;
}

// Two words match when equal or when they share a prefix of at least max(4, shorter length - 3)
// bytes (a crude stem: founded ~ found, manufactures ~ manufactured, highest ~ high).
static int words_match(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), p = 0;
    while (a[p] && a[p] == b[p]) p++;
    if (p == la && p == lb) return 1;
    size_t m = la < lb ? la : lb;
    size_t need = m > 7 ? m - 3 : 4;
    return p >= need;
}

// Bit mask of the question terms that token k matches.
static uint32_t term_mask(const tok *k, char terms[][40], int nterms) {
    if (!(k->flags & T_WORD) || (k->flags & T_STOP)) return 0;
    uint32_t m = 0;
    for (int i = 0; i < nterms; i++)
        if (words_match(k->low, terms[i])) m |= 1u << i;
    return m;
}

static int popcount32(uint32_t x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

static int question_type(const toks *q) {
    static const char *const HOW_Q[] = {"many", "much", "long", "old", "far", "tall", "high", "big",
                                        "large", "deep", "wide", "heavy"};
    static const char *const TIME_W[] = {"year", "date", "day", "month", "century", "decade"};
    static const char *const PLACE_W[] = {"city", "country", "state", "place", "town", "county", "province",
                                          "region", "continent", "island"};
    for (int i = 0; i < q->n; i++) {
        const char *w = q->v[i].low, *next = i + 1 < q->n ? q->v[i + 1].low : "";
        if (!strcmp(w, "when")) return Q_TIME;
        if ((!strcmp(w, "what") || !strcmp(w, "which")) && IN_LIST(next, TIME_W)) return Q_TIME;
        if ((!strcmp(w, "what") || !strcmp(w, "which")) && IN_LIST(next, PLACE_W)) return Q_WHERE;
        if (!strcmp(w, "how") && IN_LIST(next, HOW_Q)) return Q_QUANTITY;
        if (!strcmp(w, "who") || !strcmp(w, "whom") || !strcmp(w, "whose")) return Q_WHO;
        if (!strcmp(w, "where")) return Q_WHERE;
    }
    return Q_OTHER;
}

static int is_cue(int qtype, const char *w) {
    static const char *const WHO_C[] = {"by"};
    static const char *const WHERE_C[] = {"in", "at", "near", "from"};
    static const char *const TIME_C[] = {"in", "on", "since", "during", "until"};
    switch (qtype) {
    case Q_WHO: return IN_LIST(w, WHO_C);
    case Q_WHERE: return IN_LIST(w, WHERE_C);
    case Q_TIME: return IN_LIST(w, TIME_C);
    default: return 0;
    }
}

// A name word: capitalised, not a stopword, not a month, not a number.
static int name_word(const tok *k) {
    return (k->flags & (T_WORD | T_CAP)) == (T_WORD | T_CAP) && !(k->flags & (T_STOP | T_MONTH | T_NUM));
}
static int anchor(const tok *k) { return name_word(k) || (k->flags & (T_NUM | T_MONTH)); }

static int is_comma(const tok *k) { return !(k->flags & T_WORD) && k->low[0] == ','; }
static int next_comma(const toks *t, int s, int e) {
    while (s < e && !is_comma(&t->v[s])) s++;
    return s;
}
static int prev_comma(const toks *t, int s, int e) {
    int c = e - 1;
    while (c > s && !is_comma(&t->v[c])) c--;
    return c;
}
// Tokens [a, b) hold a question word and otherwise only question words and connectors.
static int only_question_words(const toks *t, int a, int b) {
    int any = 0;
    for (int x = a; x < b; x++) {
        const tok *k = &t->v[x];
        if (!(k->flags & T_WORD)) continue;
        if (k->flags & T_MATCH) any = 1;
        else if (!IN_LIST(k->low, CONNECTORS)) return 0;
    }
    return any;
}

typedef struct {
    double score;
    int passage, s, e;   // passage index, byte span in its text
} answer;

// Sentence ends: '.', '!' or '?' followed by a capital, a digit or the end, unless the word before
// the period is a single capital ("J.") or a title abbreviation.
static int sentence_end(const toks *t, int i) {
    const tok *k = &t->v[i];
    if (k->flags & T_WORD) return 0;
    if (k->low[0] != '.' && k->low[0] != '!' && k->low[0] != '?') return 0;
    if (i + 1 < t->n && !(t->v[i + 1].flags & (T_CAP | T_NUM))) return 0;
    if (k->low[0] == '.' && i > 0) {
        static const char *const ABBR[] = {"mr", "mrs", "ms", "dr", "jr", "sr", "st", "mt", "vs", "no", "prof"};
        const tok *p = &t->v[i - 1];
        if ((p->flags & T_CAP) && p->e - p->s == 1) return 0;
        if (IN_LIST(p->low, ABBR)) return 0;
    }
    return 1;
}

// Scores the candidate spans of sentence [a, b) of passage p; keeps the best in *best.
// base: the question terms found in the sentence or its passage's title; pass 1 accepts any type.
static void read_sentence(const toks *t, int a, int b, int p, int base, int qtype, int pass, answer *best) {
    for (int i = a; i < b; i++) {
        if (!anchor(&t->v[i])) continue;
        // Grow the run: anchors, "," or a connector word between anchors, "." after an initial.
        int j = i + 1;
        while (j < b) {
            const tok *k = &t->v[j];
            if (anchor(k)) { j++; continue; }
            if (j + 1 < b && anchor(&t->v[j + 1]) &&
                ((!(k->flags & T_WORD) && k->low[0] == ',') ||
                 ((k->flags & T_WORD) && IN_LIST(k->low, CONNECTORS) && name_word(&t->v[j + 1])) ||
                 (!(k->flags & T_WORD) && k->low[0] == '.' && t->v[j - 1].e - t->v[j - 1].s == 1 &&
                  (t->v[j - 1].flags & T_CAP)))) {
                j += 2;
                continue;
            }
            break;
        }
        int s = i, e = j;  // tokens [s, e)
        i = j - 1;
        // Comma-joined parts name separate things ("Scranton, Pennsylvania"): drop leading and
        // trailing parts made only of question words ("In which state is Scranton?" -> Pennsylvania).
        for (int c; (c = next_comma(t, s, e)) < e && only_question_words(t, s, c);) s = c + 1;
        for (int c; (c = prev_comma(t, s, e)) > s && only_question_words(t, c + 1, e);) e = c;
        int has_name = 0, has_num = 0, has_month = 0, has_year = 0, novel = 0;
        for (int x = s; x < e; x++) {
            const tok *k = &t->v[x];
            has_name |= name_word(k);
            has_num |= (k->flags & T_NUM) != 0;
            has_month |= (k->flags & T_MONTH) != 0;
            has_year |= (k->flags & T_YEAR) != 0;
            novel |= (k->flags & T_WORD) && !(k->flags & (T_MATCH | T_STOP)) && !IN_LIST(k->low, CONNECTORS);
        }
        if (!novel) continue;
        int ok;
        if (pass == 1) ok = has_name || has_num;
        else if (qtype == Q_TIME) ok = has_year || has_month;
        else if (qtype == Q_QUANTITY) ok = has_num && !has_month;
        else ok = has_name;
        if (!ok) continue;
        // QUANTITY: take the unit word after the number ("6,650 km").
        if (qtype == Q_QUANTITY && e < b && (t->v[e].flags & T_WORD) && !(t->v[e].flags & (T_STOP | T_CAP)))
            e++;
        if (e - s > QA_MAX_SPAN) e = s + QA_MAX_SPAN;
        int c = s - 1;
        if (c >= a && (!strcmp(t->v[c].low, "the") || !strcmp(t->v[c].low, "a") || !strcmp(t->v[c].low, "an"))) c--;
        double score = (double)base + (c >= a && is_cue(qtype, t->v[c].low) ? 0.5 : 0.0);
        int dist = -1;
        for (int x = a; x < b; x++) {
            if (!(t->v[x].flags & T_MATCH) || (x >= s && x < e)) continue;
            int d = x < s ? s - x : x - (e - 1);
            if (dist < 0 || d < dist) dist = d;
        }
        if (dist >= 0) score += 1.0 / (1 + dist);
        if (score > best->score + 1e-9) {
            best->score = score;
            best->passage = p;
            best->s = t->v[s].s;
            best->e = t->v[e - 1].e;
        }
    }
}

static int qa_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                      tf_error *err) {
    (void)ctx;
    search_tool_state *st = t->state;
    const char *question = input;
    size_t budget;
    int cached_rc;
    if (result_cache_begin(st->cache, t, &question, QA_RESULT_BYTES, out, cap, &budget, err, &cached_rc))
        return cached_rc;
    toks q = {0}, pt = {0}, tt = {0};
    search_hit hits[QA_PASSAGES];
    int nhits = 0, rc;
    char terms[QA_MAX_TERMS][40];
    int nterms = 0;
    if ((rc = tokenize(question, &q))) goto oom;
    for (int i = 0; i < q.n && nterms < QA_MAX_TERMS; i++) {
        const tok *k = &q.v[i];
        if (!(k->flags & T_WORD) || (k->flags & T_STOP)) continue;
        int dup = 0;
        for (int j = 0; j < nterms && !dup; j++) dup = !strcmp(terms[j], k->low);
        if (!dup) memcpy(terms[nterms++], k->low, sizeof terms[0]);
    }
    if (nterms == 0) {
        rc = tf_errorf(err, TF_ETOOL, "QA: the question '%.200s' has no content words", question);
        result_cache_put(st->cache, question, budget, rc, err ? err->msg : "no content words");
        goto done;
    }
    int qtype = question_type(&q);
    // The names the question asks about (capitalised words after its first): a passage that lacks
    // one of them is about something else ("Who wrote Hamlet?" is not
    // answered from a passage without "Hamlet"), however many other words it shares.
    uint32_t names = 0;
    for (int i = 1; i < q.n; i++)
        if ((q.v[i].flags & T_WORD) && (q.v[i].flags & T_CAP) && !(q.v[i].flags & T_STOP))
            for (int j = 0; j < nterms && j < 32; j++)
                if (!strcmp(terms[j], q.v[i].low)) names |= 1u << j;
    if ((rc = search_index_query(st->ix, question, QA_PASSAGES, 0, t->timeout_ms, hits, &nhits, err))) goto done;
    answer best = {.score = -1, .passage = -1};
    for (int pass = 0; pass < 2 && best.passage < 0; pass++) {
        if (pass == 1 && (qtype == Q_TIME || qtype == Q_QUANTITY)) break;  // a name is no answer to these
        for (int p = 0; p < nhits; p++) {
            if ((rc = tokenize(hits[p].title, &tt)) || (rc = tokenize(hits[p].text, &pt))) goto oom;
            uint32_t title_mask = 0, found = 0;
            for (int i = 0; i < tt.n; i++) title_mask |= term_mask(&tt.v[i], terms, nterms);
            found = title_mask;
            for (int i = 0; i < pt.n; i++) {
                uint32_t tm = term_mask(&pt.v[i], terms, nterms);
                if (tm) pt.v[i].flags |= T_MATCH;
                found |= tm;
            }
            if ((found & names) != names) continue;  // not about what the question names
            int a = 0;
            for (int i = 0; i < pt.n; i++) {
                if (i + 1 < pt.n && !sentence_end(&pt, i)) continue;
                int b = i + 1;
                uint32_t m = title_mask;
                for (int x = a; x < b; x++) m |= term_mask(&pt.v[x], terms, nterms);
                read_sentence(&pt, a, b, p, popcount32(m), qtype, pass, &best);
                a = b;
            }
        }
    }
    if (best.passage < 0) {
        rc = tf_errorf(err, TF_ETOOL, "QA: no answer found for '%.200s'", question);
        result_cache_put(st->cache, question, budget, rc, err ? err->msg : "no answer found");
        goto done;
    }
    result_clean(out, cap, hits[best.passage].text + best.s, (size_t)(best.e - best.s), budget);
    result_cache_put(st->cache, question, budget, TF_OK, out);
    rc = TF_OK;
    goto done;
oom:
    rc = tf_errorf(err, TF_ENOMEM, "QA: out of memory");
done:
    search_hits_free(hits, nhits);
    free(q.v);
    free(pt.v);
    free(tt.v);
    return rc;
}

tf_tool *tool_qa_new(const tf_tool_options *opt, tf_error *err) {
    if (opt && opt->qa_model) {
        tf_errorf(err, TF_EBADARG, "QA: a reader model (--qa-model %s) is not supported yet; leave it out to "
                                   "use the extractive reader", opt->qa_model);
        return NULL;
    }
    tf_tool *t = tool_alloc("QA", QA_PROMPT, opt, QA_TIMEOUT_MS, QA_RESULT_BYTES, err);
    if (!t) return NULL;
    t->execute = qa_execute;
    if (search_tool_attach(t, opt, err)) {
        tf_tool_free(t);
        return NULL;
    }
    return t;
}
