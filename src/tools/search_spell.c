// search_spell.c — the words of the passage titles, and the nearest one to an unknown query word.
#include "search_spell.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *w;     // lower-cased
    size_t len;
    long order;  // index of the first title that holds it
    int name;    // 1 when some title writes it capitalised
} spell_word;

struct spell_lexicon {
    spell_word *words;
    size_t n, cap;
    long titles;
    int sorted;
};

spell_lexicon *spell_new(void) { return calloc(1, sizeof(spell_lexicon)); }

void spell_free(spell_lexicon *lx) {
    if (!lx) return;
    for (size_t i = 0; i < lx->n; i++) free(lx->words[i].w);
    free(lx->words);
    free(lx);
}

size_t spell_count(const spell_lexicon *lx) { return lx ? lx->n : 0; }

int spell_add_title(spell_lexicon *lx, const char *title) {
    const unsigned char *p = (const unsigned char *)(title ? title : "");
    long order = lx->titles++;
    while (*p) {
        // a word: a run of bytes that are letters, digits or non-ASCII; only all-letter runs are kept
        while (*p && !(isalnum(*p) || *p >= 0x80)) p++;
        const unsigned char *s = p;
        int letters = 1;
        while (*p && (isalnum(*p) || *p >= 0x80)) letters &= isalpha(*p++) != 0;
        size_t len = (size_t)(p - s);
        if (!letters || len < 3 || len > SPELL_MAX_WORD) continue;
        if (lx->n == lx->cap) {
            size_t nc = lx->cap ? lx->cap * 2 : 1024;
            spell_word *nw = realloc(lx->words, nc * sizeof *nw);
            if (!nw) return -1;
            lx->words = nw;
            lx->cap = nc;
        }
        char *w = malloc(len + 1);
        if (!w) return -1;
        for (size_t i = 0; i < len; i++) w[i] = (char)tolower(s[i]);
        w[len] = '\0';
        lx->words[lx->n++] = (spell_word){w, len, order, isupper(s[0]) != 0};
    }
    return 0;
}

static int by_word_then_order(const void *a, const void *b) {
    const spell_word *x = a, *y = b;
    int c = strcmp(x->w, y->w);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

int spell_finish(spell_lexicon *lx) {
    if (lx->n) qsort(lx->words, lx->n, sizeof *lx->words, by_word_then_order);
    size_t o = 0;  // one entry per word: its first title's order, a name if any title capitalised it
    for (size_t i = 0; i < lx->n; i++) {
        if (o && !strcmp(lx->words[o - 1].w, lx->words[i].w)) {
            lx->words[o - 1].name |= lx->words[i].name;
            free(lx->words[i].w);
        } else {
            lx->words[o++] = lx->words[i];
        }
    }
    lx->n = o;
    lx->sorted = 1;
    return 0;
}

int spell_distance(const char *a, size_t la, const char *b, size_t lb, int limit) {
    if (la > SPELL_MAX_WORD || lb > SPELL_MAX_WORD) return limit + 1;
    if ((int)(la > lb ? la - lb : lb - la) > limit) return limit + 1;
    // three rows of the dynamic programme: i-2, i-1, i
    int r0[SPELL_MAX_WORD + 1], r1[SPELL_MAX_WORD + 1], r2[SPELL_MAX_WORD + 1];
    int *pp = r0, *prev = r1, *cur = r2;
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        char ca = (char)tolower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            char cb = (char)tolower((unsigned char)b[j - 1]);
            int d = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < d) d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
            if (d < row_min) row_min = d;
        }
        if (row_min > limit) return limit + 1;
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] <= limit ? prev[lb] : limit + 1;
}

int spell_nearest(const spell_lexicon *lx, const char *word, size_t len, char *out, size_t cap) {
    if (!lx || !lx->sorted || len < 4 || len > SPELL_MAX_WORD || cap <= SPELL_MAX_WORD) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalpha((unsigned char)word[i])) return 0;
    int limit = len <= 5 ? 1 : len <= 8 ? 2 : 3;
    int want_name = isupper((unsigned char)word[0]) != 0;
    const spell_word *best = NULL;
    int best_d = limit + 1;
    size_t best_gap = 0;
    for (size_t i = 0; i < lx->n; i++) {
        const spell_word *c = &lx->words[i];
        int d = limit + 1;
        if (c->len > len && 2 * len >= c->len && !strncasecmp(c->w, word, len)) d = 1;  // cut short
        else d = spell_distance(word, len, c->w, c->len, limit);
        if (d > limit) continue;
        size_t gap = c->len > len ? c->len - len : len - c->len;
        int better = !best || d < best_d;
        if (!better && d == best_d) {
            int cn = want_name && c->name, bn = want_name && best->name;
            better = cn != bn ? cn > bn : gap != best_gap ? gap < best_gap : c->order < best->order;
        }
        if (better) best = c, best_d = d, best_gap = gap;
    }
    if (!best || best_d == 0) return 0;  // nothing near, or the word itself (then it is not unknown)
    memcpy(out, best->w, best->len + 1);
    return 1;
}

int spell_is_name(const spell_lexicon *lx, const char *word, size_t len) {
    if (!lx || !lx->sorted || len < 3 || len > SPELL_MAX_WORD) return 0;
    char w[SPELL_MAX_WORD + 1];
    for (size_t i = 0; i < len; i++) w[i] = (char)tolower((unsigned char)word[i]);
    w[len] = '\0';
    size_t lo = 0, hi = lx->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(lx->words[mid].w, w);
        if (c == 0) return lx->words[mid].name;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}
