// test_tools_spell.c — WikiSearch's "did you mean" (src/tools/search_spell.c): the edit distance
// against a brute-force reference, the nearest title word and its ties, and the index correcting a
// query word no passage holds while leaving known words alone.
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolformer.h"
#include "tools/search_index.h"
#include "tools/search_spell.h"
#include "tmp_util.h"

// The optimal-string-alignment distance by its definition, recursively (small words only).
static int osa_ref(const char *a, int i, const char *b, int j) {
    if (i == 0) return j;
    if (j == 0) return i;
    int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
    int d = osa_ref(a, i - 1, b, j - 1) + (ca != cb);
    int x = osa_ref(a, i - 1, b, j) + 1, y = osa_ref(a, i, b, j - 1) + 1;
    if (x < d) d = x;
    if (y < d) d = y;
    if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb) {
        int t = osa_ref(a, i - 2, b, j - 2) + 1;
        if (t < d) d = t;
    }
    return d;
}

Test(spell, distance_matches_the_definition) {
    const char *w[] = {"", "a", "ab", "ba", "abc", "acb", "kenya", "Kenia", "bhutan", "bhuatn", "sofia", "fiji",
                       "zimbabwe", "pimbabwe", "kiribati", "kirjati", "ca", "abc"};
    size_t n = sizeof w / sizeof w[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int ref = osa_ref(w[i], (int)strlen(w[i]), w[j], (int)strlen(w[j]));
            int got = spell_distance(w[i], strlen(w[i]), w[j], strlen(w[j]), 10);
            cr_assert_eq(got, ref, "'%s' '%s': %d, expected %d", w[i], w[j], got, ref);
            // with a limit below the distance: limit + 1, never a smaller wrong number
            if (ref > 0) cr_assert_eq(spell_distance(w[i], strlen(w[i]), w[j], strlen(w[j]), ref - 1), ref);
        }
}

static spell_lexicon *lexicon(const char *const *titles, size_t n) {
    spell_lexicon *lx = spell_new();
    cr_assert_not_null(lx);
    for (size_t i = 0; i < n; i++) cr_assert_eq(spell_add_title(lx, titles[i]), 0);
    cr_assert_eq(spell_finish(lx), 0);
    return lx;
}

static const char *near(const spell_lexicon *lx, const char *w) {
    static char out[SPELL_MAX_WORD + 1];
    return spell_nearest(lx, w, strlen(w), out, sizeof out) ? out : NULL;
}

Test(spell, nearest_title_word_and_its_limits) {
    const char *titles[] = {"Zimbabwe", "Kazakhstan", "Vanuatu", "Bhutan", "Somalia", "Brunei Darussalam",
                            "zimbabwean", "sit", "Panama City", "Mount 8848", "Kiribati"};
    spell_lexicon *lx = lexicon(titles, sizeof titles / sizeof titles[0]);
    cr_assert_eq(spell_count(lx), 13, "%zu words (3+ letters, no digits, each once)", spell_count(lx));
    cr_assert_str_eq(near(lx, "Pimbabwe"), "zimbabwe");      // one substitution
    cr_assert_str_eq(near(lx, "Kzakhstan"), "kazakhstan");   // one deletion
    cr_assert_str_eq(near(lx, "Somala"), "somalia");
    cr_assert_str_eq(near(lx, "Bhuatn"), "bhutan");          // neighbours swapped: one edit
    cr_assert_str_eq(near(lx, "Bewunei"), "brunei");         // two edits in seven letters
    cr_assert_str_eq(near(lx, "Kirjati"), "kiribati");
    cr_assert_str_eq(near(lx, "Vanu"), "vanuatu");           // cut short, at least half of it
    cr_assert_null(near(lx, "Van"), "three letters are never corrected");
    cr_assert_null(near(lx, "Kaza"), "a start of less than half of the word");
    cr_assert_null(near(lx, "Kenesia"), "three edits in seven letters is too far");
    cr_assert_null(near(lx, "Bhutan"), "a word of the lexicon needs no correction");
    cr_assert_null(near(lx, "Pim8abwe"), "only letters are corrected");
    spell_free(lx);
}

Test(spell, ties_prefer_names_then_length_then_first_title) {
    const char *titles[] = {"pamper", "Tamper", "Hamper", "lamp", "Lamps"};
    spell_lexicon *lx = lexicon(titles, sizeof titles / sizeof titles[0]);
    // "Damper": one edit from all three; a capitalised word takes a name (Tamper, Hamper), the
    // first indexed of them
    cr_assert_str_eq(near(lx, "Damper"), "tamper");
    cr_assert_str_eq(near(lx, "damper"), "pamper", "lower-case: the first title wins");
    // "Lampx": lamp (delete) and lamps (substitute) are both one edit and both names ("Lamps" is
    // capitalised, "lamp" is not): the name wins
    cr_assert_str_eq(near(lx, "Lampx"), "lamps");
    spell_free(lx);
    spell_free(NULL);
}

static char tmpdir[64];
static void make_tmp(void) {
    tmp_dir_make(tmpdir, sizeof tmpdir, "spell");
}
static void rm_tmp(void) { rm_rf_dir(tmpdir); }

// The index corrects a word that no passage holds to the nearest title word, so a query with a
// misspelt or cut-off name finds that name's passage; known words are never changed.
Test(spell, index_corrects_unknown_words_only, .init = make_tmp, .fini = rm_tmp) {
    char jsonl[128], db[128];
    snprintf(jsonl, sizeof jsonl, "%s/p.jsonl", tmpdir);
    snprintf(db, sizeof db, "%s/p.db", tmpdir);
    FILE *f = fopen(jsonl, "w");
    cr_assert_not_null(f);
    fputs("{\"title\": \"Zimbabwe\", \"text\": \"The capital of Zimbabwe is Harare.\"}\n"
          "{\"title\": \"Panama City\", \"text\": \"Panama City, capital of Panama: the capital city of Panama.\"}\n"
          "{\"title\": \"Vanuatu\", \"text\": \"The capital of Vanuatu is Port Vila.\"}\n"
          "{\"title\": \"sit\", \"text\": \"sit, sit down: be seated.\"}\n"
          "{\"title\": \"Kiribati\", \"text\": \"The government of Kiribati sits in Tarawa.\"}\n",
          f);
    fclose(f);
    search_build_opts o = {0};
    tf_error err = {0};
    cr_assert_eq(search_index_build(jsonl, db, &o, NULL, &err), TF_OK, "%s", err.msg);
    search_index *ix = search_index_open(db, &err);
    cr_assert_not_null(ix, "%s", err.msg);
    struct { const char *q, *title; } cases[] = {
        {"Pimbabwe", "Zimbabwe"},                  // no result without the correction
        {"Pimbabwe's capital city", "Zimbabwe"},   // "capital city" alone would give Panama City
        {"Vanu", "Vanuatu"},
        {"Kirjati sits", "Kiribati"},
        {"Panama capital", "Panama City"},         // nothing to correct
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        search_hit h[2];
        int n = 0;
        cr_assert_eq(search_index_query(ix, cases[i].q, 1, 8, 0, h, &n, &err), TF_OK, "%s", err.msg);
        cr_assert_eq(n, 1, "'%s': no hit", cases[i].q);
        cr_assert_str_eq(h[0].title, cases[i].title, "'%s'", cases[i].q);
        search_hits_free(h, n);
    }
    // a word far from every title still finds nothing, as before
    search_hit h[1];
    int n = 0;
    cr_assert_eq(search_index_query(ix, "Qwxyzt", 1, 0, 0, h, &n, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(n, 0);
    search_index_close(ix);
}
