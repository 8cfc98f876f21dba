// test_tools_search.c — the passage index (`toolformer index`, SQLite FTS5) and the WikiSearch tool:
// building, BM25 ranking against an independent BM25, hostile queries, missing or foreign databases,
// malformed JSONL, incremental adds, result budgets.
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "toolformer.h"
#include "tools/result_text.h"
#include "tools/search_index.h"
#include "tools/tools_internal.h"
#include "tmp_util.h"

#define FIXTURE "tests/fixtures/search/passages.jsonl"
#define BM25_FIXTURE "tests/fixtures/search/bm25.jsonl"

static char tmpdir[64];

static void make_tmp(void) {
    tmp_dir_make(tmpdir, sizeof tmpdir, "search");
}

static void rm_tmp(void) { rm_rf_dir(tmpdir); }

static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void build(const char *jsonl, const char *db, int append, search_build_stats *st) {
    search_build_opts o = {.append = append};
    tf_error err = {0};
    int rc = search_index_build(jsonl, db, &o, st, &err);
    cr_assert_eq(rc, TF_OK, "build %s -> %s: %s", jsonl, db, err.msg);
}

static tf_tool *wikisearch(const char *db, int max_bytes) {
    tf_tool_options opt = {.index_path = db, .max_result_bytes = max_bytes};
    tf_error err = {0};
    tf_tool *t = tool_wikisearch_new(&opt, &err);
    cr_assert_not_null(t, "%s", err.msg);
    return t;
}

static void free_tool(tf_tool *t) {
    t->destroy(t);
    free(t);
}

Test(search_index, build_counts_passages, .init = make_tmp, .fini = rm_tmp) {
    search_build_stats st;
    build(FIXTURE, tmp_path("a.db"), 0, &st);
    cr_assert_eq(st.added, 10);
    cr_assert_eq(st.skipped, 0);
    cr_assert_eq(st.total, 10);
    tf_error err;
    search_index *ix = search_index_open(tmp_path("a.db"), &err);
    cr_assert_not_null(ix, "%s", err.msg);
    cr_assert_eq(search_index_count(ix), 10);
    search_index_close(ix);
}

// ---- BM25 against an independent implementation of FTS5's formula --------------------------------
// score(D, Q) = sum_q IDF(q) * f(q,D) (k1 + 1) / (f(q,D) + k1 (1 - b + b |D| / avgdl)),
// IDF(q) = ln((N - n(q) + 0.5) / (n(q) + 0.5)) (1e-6 when <= 0), k1 = 1.2, b = 0.75,
// f = 2 * (count in title) + 1 * (count in text), |D| = tokens of title and text together.

typedef struct {
    char words[2][64][24];
    int n[2];
} ref_doc;

static int ref_tokenize(const char *s, char out[][24], int max) {
    int n = 0;
    while (*s && n < max) {
        while (*s && !isalnum((unsigned char)*s)) s++;
        int k = 0;
        while (isalnum((unsigned char)*s)) {
            if (k < 23) out[n][k++] = (char)tolower((unsigned char)*s);
            s++;
        }
        if (k) out[n++][k] = '\0';
    }
    return n;
}

static int ref_load(ref_doc *docs, int max) {
    FILE *f = fopen(BM25_FIXTURE, "r");
    cr_assert_not_null(f);
    char line[1024];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        // {"title": "...", "text": "..."} — no escapes in this fixture
        char *t = strstr(line, "\"title\": \"") + 10, *te = strchr(t, '"');
        char *x = strstr(line, "\"text\": \"") + 9, *xe = strchr(x, '"');
        *te = *xe = '\0';
        docs[n].n[0] = ref_tokenize(t, docs[n].words[0], 64);
        docs[n].n[1] = ref_tokenize(x, docs[n].words[1], 64);
        n++;
    }
    fclose(f);
    return n;
}

static double ref_bm25(const ref_doc *docs, int N, int d, const char *const *terms, int nt) {
    double total = 0;
    for (int i = 0; i < N; i++) total += docs[i].n[0] + docs[i].n[1];
    double avgdl = total / N, k1 = 1.2, b = 0.75, score = 0;
    for (int q = 0; q < nt; q++) {
        int nhit = 0;
        for (int i = 0; i < N; i++) {
            int hit = 0;
            for (int c = 0; c < 2; c++)
                for (int w = 0; w < docs[i].n[c]; w++) hit |= !strcmp(docs[i].words[c][w], terms[q]);
            nhit += hit;
        }
        double idf = log((N - nhit + 0.5) / (nhit + 0.5));
        if (idf <= 0) idf = 1e-6;
        double f = 0;
        for (int c = 0; c < 2; c++)
            for (int w = 0; w < docs[d].n[c]; w++) f += (c == 0 ? 2.0 : 1.0) * !strcmp(docs[d].words[c][w], terms[q]);
        double D = docs[d].n[0] + docs[d].n[1];
        score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgdl));
    }
    return score;
}

Test(search_index, bm25_scores_and_order_match_reference, .init = make_tmp, .fini = rm_tmp) {
    build(BM25_FIXTURE, tmp_path("b.db"), 0, NULL);
    static ref_doc docs[10];
    int N = ref_load(docs, 10);
    cr_assert_eq(N, 10);
    tf_error err;
    search_index *ix = search_index_open(tmp_path("b.db"), &err);
    cr_assert_not_null(ix, "%s", err.msg);
    const char *queries[][3] = {{"apple", NULL, NULL},        {"river", NULL, NULL},
                                {"apple", "orchard", NULL},   {"spring", "valley", "golden"},
                                {"barley", "river", NULL}};
    for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
        int nt = 0;
        char q[128] = "";
        while (nt < 3 && queries[qi][nt]) {
            strcat(q, queries[qi][nt]);
            strcat(q, " ");
            nt++;
        }
        search_hit hits[10];
        int n = 0;
        cr_assert_eq(search_index_query(ix, q, 10, 0, 0, hits, &n, &err), TF_OK, "%s", err.msg);
        // Every document with a term is returned, in the reference's order, with its score.
        int expect = 0;
        double prev = INFINITY;
        for (int d = 0; d < N; d++) expect += ref_bm25(docs, N, d, queries[qi], nt) > 0;
        cr_assert_eq(n, expect, "query '%s': %d hits, reference %d", q, n, expect);
        for (int i = 0; i < n; i++) {
            double ref = ref_bm25(docs, N, (int)hits[i].rowid - 1, queries[qi], nt);
            cr_assert(fabs(hits[i].score - ref) < 1e-9 * (1 + fabs(ref)), "query '%s' row %ld: score %.12f, reference %.12f",
                      q, hits[i].rowid, hits[i].score, ref);
            cr_assert(ref <= prev + 1e-12, "query '%s': hit %d (row %ld) ranks above a better one", q, i, hits[i].rowid);
            prev = ref;
        }
        search_hits_free(hits, n);
    }
    search_index_close(ix);
}

Test(wikisearch, best_passage_as_title_and_snippet, .init = make_tmp, .fini = rm_tmp) {
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 0);
    cr_assert_str_eq(t->name, "WikiSearch");
    char out[512];
    tf_error err;
    cr_assert_eq(t->execute(t, "Ghana flag red meaning", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(!strncmp(out, "Flag of Ghana > ", 16), "got '%s'", out);
    cr_assert(strstr(out, "red") != NULL, "got '%s'", out);
    cr_assert_eq(t->execute(t, "Metformin first-line drug", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(!strncmp(out, "Metformin > Metformin is the first-line medication", 50), "got '%s'", out);
    cr_assert_eq(t->execute(t, "zzyzx qwertyuiop", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "no passage") != NULL, "%s", err.msg);
    free_tool(t);
}

// A query that is a passage's title, or holds one beside other words, opens that passage first, as
// a search engine opens the article of that name, though BM25 alone ranks a short passage that
// merely mentions the word above it; of several passages titled alike, the first indexed; the rest
// follow in BM25 order, without it.
Test(search_index, exact_title_ranks_first, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("t.jsonl"),
               "{\"title\": \"Liechtensteiner\", \"text\": \"a native of Liechtenstein.\"}\n"
               "{\"title\": \"Liechtenstein\", \"text\": \"The capital of Liechtenstein is Vaduz. The government "
               "of Liechtenstein sits in Vaduz, a small town on the upper Rhine river near the border.\"}\n"
               "{\"title\": \"Liechtenstein\", \"text\": \"Liechtenstein, Principality of Liechtenstein: a small "
               "country.\"}\n"
               "{\"title\": \"Vaduz\", \"text\": \"Vaduz: the capital of Liechtenstein.\"}\n");
    build(tmp_path("t.jsonl"), tmp_path("t.db"), 0, NULL);
    tf_error err;
    search_index *ix = search_index_open(tmp_path("t.db"), &err);
    cr_assert_not_null(ix, "%s", err.msg);
    search_hit hits[4];
    int n = 0;
    // BM25 alone puts the short passage first (checked here, so that the test shows the rule acting)
    cr_assert_eq(search_index_query(ix, "Liechtensteins", 1, 0, 0, hits, &n, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_neq(hits[0].rowid, 2, "BM25 alone should not rank the article first here");
    search_hits_free(hits, n);
    const char *as_title[] = {"Liechtenstein", "  liechtenstein. ", "LIECHTENSTEIN?"};
    for (size_t i = 0; i < sizeof as_title / sizeof as_title[0]; i++) {
        cr_assert_eq(search_index_query(ix, as_title[i], 4, 8, 0, hits, &n, &err), TF_OK, "%s", err.msg);
        cr_assert_eq(n, 4, "'%s': %d hits", as_title[i], n);
        cr_assert_eq(hits[0].rowid, 2, "'%s': row %ld first", as_title[i], hits[0].rowid);
        cr_assert(hits[0].score > 0 && hits[0].snippet && strstr(hits[0].snippet, "Vaduz"), "'%s'", as_title[i]);
        for (int j = 1; j < n; j++) {
            cr_assert_neq(hits[j].rowid, 2, "'%s': the article twice", as_title[i]);
            cr_assert(j == 1 || hits[j].score <= hits[j - 1].score + 1e-12, "'%s': rest not in BM25 order", as_title[i]);
        }
        search_hits_free(hits, n);
    }
    // a title beside other words: the article first
    search_hit ref[4];
    int nr = 0;
    cr_assert_eq(search_index_query(ix, "Liechtenstein sits", 4, 0, 0, hits, &n, &err), TF_OK, "%s", err.msg);
    cr_assert(n >= 1 && hits[0].rowid == 2, "'Liechtenstein sits': row %ld first", n ? hits[0].rowid : -1L);
    search_hits_free(hits, n);
    // a query whose words hold no title keeps the BM25 order
    cr_assert_eq(search_index_query(ix, "Rhine border capital", 4, 0, 0, hits, &n, &err), TF_OK, "%s", err.msg);
    cr_assert(n >= 2);
    for (int j = 1; j < n; j++) cr_assert(hits[j].score <= hits[j - 1].score + 1e-12);
    search_hits_free(hits, n);
    // a part of a word that no passage holds is read as the title word it starts (search_spell.h),
    // and that word is a title: the article first
    cr_assert_eq(search_index_query(ix, "Liechtenstei", 4, 0, 0, ref, &nr, &err), TF_OK, "%s", err.msg);
    cr_assert(nr >= 1 && ref[0].rowid == 2, "'Liechtenstei': %d hits, row %ld first", nr, nr ? ref[0].rowid : -1L);
    search_hits_free(ref, nr);
    search_index_close(ix);
}

Test(wikisearch, prompt_is_the_papers_with_input_slot) {
    // The prompt does not need an index, but the constructor does: read it from a built tool.
    make_tmp();
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 0);
    cr_assert(!strncmp(t->prompt, "Your task is to complete a given piece of text. You can use a Wikipedia Search API", 81));
    cr_assert(strstr(t->prompt, "[WikiSearch(\"Metformin first-line drug\")]") != NULL);
    const char *slot = strstr(t->prompt, "Input: <INPUT>\nOutput:");
    cr_assert_not_null(slot);
    cr_assert_str_eq(slot, "Input: <INPUT>\nOutput:");
    free_tool(t);
    rm_tmp();
}

Test(wikisearch, result_fits_byte_budget_at_word_boundary, .init = make_tmp, .fini = rm_tmp) {
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 60);
    char out[512];
    tf_error err;
    cr_assert_eq(t->execute(t, "spin fishing reel", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(strlen(out) <= 60, "%zu bytes: '%s'", strlen(out), out);
    cr_assert(!strncmp(out, "Spin fishing > ", 15), "got '%s'", out);
    // The cut falls between words: the text's next byte after the result's last word is a space.
    const char *full = "Spin fishing is an angling technique where a spinning lure is used to entice";
    const char *snip = out + 15;
    const char *at = strstr(full, snip);
    cr_assert_not_null(at, "snippet '%s' is not a prefix-window of the passage", snip);
    char next = at[strlen(snip)];
    cr_assert(next == ' ' || next == '\0' || next == '.', "cut inside a word: '%s' then '%c'", snip, next);
    // A caller's smaller buffer wins over the budget.
    char small[20];
    cr_assert_eq(t->execute(t, "spin fishing", NULL, small, sizeof small, &err), TF_OK, "%s", err.msg);
    cr_assert(strlen(small) < sizeof small);
    free_tool(t);
}

// FTS5 query syntax in the model's text must neither error nor change the query's meaning.
Test(wikisearch, hostile_queries_return_normally, .init = make_tmp, .fini = rm_tmp) {
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 0);
    static char big[100001];
    memset(big, 'a', sizeof big - 1);
    for (size_t i = 0; i < sizeof big - 1; i += 7) big[i] = i % 2 ? '"' : ' ';
    const char *hostile[] = {"\"", "\"\"", "NEAR(", "NEAR(ghana flag, 2)", "*", "-", "title:", "title:ghana",
                             "ghana\"", "ghana AND OR NOT", "(ghana", "ghana)", "^ghana", "ghana*", "{title text}: ghana",
                             "'; DROP TABLE passages; --", "\\", "\x01\x02", "\xff\xfe\xfd", "ghana + flag", "",
                             "AND", "NOT ghana", "ghana NOT", "title : \"ghana", "rowid:1", "passages:ghana",
                             "col:x OR y", "\"ghana\" NEAR/3 \"flag\"", big};
    char out[512];
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        tf_error err = {0};
        int rc = t->execute(t, hostile[i], NULL, out, sizeof out, &err);
        cr_assert(rc == TF_OK || rc == TF_ETOOL, "query %zu '%.40s': rc %d (%s)", i, hostile[i], rc, err.msg);
        cr_assert(strstr(err.msg, "syntax") == NULL && strstr(err.msg, "fts5") == NULL,
                  "query %zu '%.40s' reached FTS5 as syntax: %s", i, hostile[i], err.msg);
    }
    // NOT is a word, not an operator: the passage that has both words is still found.
    tf_error err;
    cr_assert_eq(t->execute(t, "metformin NOT diabetes", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(!strncmp(out, "Metformin > ", 12), "got '%s'", out);
    // A column filter is two words, so the text column is still searched.
    cr_assert_eq(t->execute(t, "title:scranton", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(!strncmp(out, "Joe Biden > ", 12), "got '%s'", out);
    free_tool(t);
}

Test(search_index, match_expression_is_only_quoted_terms) {
    const char *inputs[] = {"NEAR(a b, 2)", "x\" OR \"y", "title:foo* ^bar -baz", "(a AND b) OR NOT c",
                            "\"unbalanced", "{title}: x", "the of and", "Ünïcödé wörds"};
    char out[4096];
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        int n = search_match_expr(inputs[i], out, sizeof out);
        cr_assert(n > 0, "'%s' gave no terms", inputs[i]);
        // "w1" OR "w2" OR ...: quotes only around words of letters, digits and non-ASCII bytes.
        const unsigned char *p = (const unsigned char *)out;
        for (int k = 0; k < n; k++) {
            if (k) {
                cr_assert(!strncmp((const char *)p, " OR ", 4), "'%s' -> '%s'", inputs[i], out);
                p += 4;
            }
            cr_assert_eq(*p++, '"', "'%s' -> '%s'", inputs[i], out);
            cr_assert(isalnum(*p) || *p >= 0x80, "'%s' -> '%s'", inputs[i], out);
            while (isalnum(*p) || *p >= 0x80) cr_assert(!isupper(*p++), "'%s' -> '%s' not lowercased", inputs[i], out);
            cr_assert_eq(*p++, '"', "'%s' -> '%s'", inputs[i], out);
        }
        cr_assert_eq(*p, '\0', "'%s' -> '%s'", inputs[i], out);
    }
    cr_assert_eq(search_match_expr("* - ^ ( ) \" :", out, sizeof out), 0);
    // Stopwords go unless nothing else is left.
    cr_assert_eq(search_match_expr("the flag of ghana", out, sizeof out), 2);
    cr_assert_str_eq(out, "\"flag\" OR \"ghana\"");
    cr_assert_eq(search_match_expr("The The", out, sizeof out), 1);
    cr_assert_str_eq(out, "\"the\"");
}

Test(wikisearch, missing_index_is_a_clear_error) {
    tf_error err = {0};
    tf_tool_options opt = {.index_path = "/nonexistent/dir/wiki.db"};
    cr_assert_null(tool_wikisearch_new(&opt, &err));
    cr_assert_eq(err.code, TF_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/dir/wiki.db") && strstr(err.msg, "toolformer index"), "%s", err.msg);
    tf_tool_options none = {0};
    cr_assert_null(tool_wikisearch_new(&none, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "index") != NULL, "%s", err.msg);
}

Test(wikisearch, foreign_file_is_not_an_index, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("not.db"), "this is not an sqlite database, just text\n");
    tf_error err = {0};
    tf_tool_options opt = {.index_path = tmp_path("not.db")};
    cr_assert_null(tool_wikisearch_new(&opt, &err));
    cr_assert_eq(err.code, TF_EBADFILE, "%d %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "not.db") && strstr(err.msg, "not a toolformer search index"), "%s", err.msg);
}

static void count_bad(void *ud, const char *msg) {
    char *first = ud;
    if (!first[0]) snprintf(first, 256, "%s", msg);
}

Test(search_index, malformed_line_is_named_skipped_and_rest_kept, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("bad.jsonl"), "{\"title\": \"Alpha\", \"text\": \"alpha particles\"}\n"
                                      "\n"
                                      "{\"title\": \"Beta\", \"text\": \"beta decay\"\n"
                                      "[1, 2]\n"
                                      "{\"title\": \"Gamma\"}\n"
                                      "{\"title\": \"Delta\", \"text\": \"delta rivers\"}\n");
    char first[256] = "";
    search_build_opts o = {.on_bad_line = count_bad, .ud = first};
    search_build_stats st;
    tf_error err;
    cr_assert_eq(search_index_build(tmp_path("bad.jsonl"), tmp_path("c.db"), &o, &st, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(st.added, 2);
    cr_assert_eq(st.skipped, 3);
    cr_assert_eq(st.lines, 5);
    cr_assert(strstr(first, "bad.jsonl:3:") != NULL, "first bad line reported as '%s'", first);
    tf_tool *t = wikisearch(tmp_path("c.db"), 0);
    char out[256];
    cr_assert_eq(t->execute(t, "delta", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "Delta > delta rivers");
    free_tool(t);
}

Test(index_cli, malformed_jsonl_exits_1_naming_file_and_line, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("p.jsonl"), "{\"title\": \"A\", \"text\": \"first passage\"}\n"
                                    "{\"title\": \"B\", \"text\": }\n"
                                    "{\"title\": \"C\", \"text\": \"third passage\"}\n");
    char args[512], out[4096];
    const char *errs = cli_run_stderr;  // the last run's stderr
    snprintf(args, sizeof args, "index --data %s --out %s", tmp_path("p.jsonl"), tmp_path("p.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 1, "stderr: %s", errs);
    cr_assert(strstr(errs, "p.jsonl:2:") != NULL, "stderr: %s", errs);
    cr_assert(strstr(errs, "skipped 1 malformed line") != NULL, "stderr: %s", errs);
    tf_error err;
    search_index *ix = search_index_open(tmp_path("p.db"), &err);
    cr_assert_not_null(ix, "%s", err.msg);
    cr_assert_eq(search_index_count(ix), 2);
    search_index_close(ix);
}

Test(index_cli, append_adds_and_existing_db_needs_append, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("a.jsonl"), "{\"title\": \"Osmium\", \"text\": \"osmium is the densest element\"}\n");
    write_text(tmp_path("b.jsonl"), "{\"title\": \"Iridium\", \"text\": \"iridium is very hard\"}\n"
                                    "{\"title\": \"Xenon\", \"text\": \"xenon is a noble gas\"}\n");
    char args[512], out[4096];
    const char *errs = cli_run_stderr;  // the last run's stderr
    snprintf(args, sizeof args, "index --data %s --out %s", tmp_path("a.jsonl"), tmp_path("m.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "stderr: %s", errs);
    // Without --append an existing index is an error and stays as it was.
    snprintf(args, sizeof args, "index --data %s --out %s", tmp_path("b.jsonl"), tmp_path("m.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 2, "stderr: %s", errs);
    cr_assert(strstr(errs, "--append") != NULL, "stderr: %s", errs);
    snprintf(args, sizeof args, "index --data %s --out %s --append", tmp_path("b.jsonl"), tmp_path("m.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "stderr: %s", errs);
    cr_assert(strstr(errs, "indexed 2 passages") && strstr(errs, "(3 in total)"), "stderr: %s", errs);
    tf_tool *t = wikisearch(tmp_path("m.db"), 0);
    char res[256];
    tf_error err;
    cr_assert_eq(t->execute(t, "noble gas", NULL, res, sizeof res, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(res, "Xenon > xenon is a noble gas");
    cr_assert_eq(t->execute(t, "densest", NULL, res, sizeof res, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(res, "Osmium > osmium is the densest element");
    free_tool(t);
}

Test(index_cli, help_and_usage_errors) {
    char out[4096];
    cr_assert_eq(cli_run(out, sizeof out, "index --help"), 0);
    cr_assert(strstr(out, "usage: toolformer index") && strstr(out, "--append"), "%s", out);
    cr_assert_eq(cli_run(out, sizeof out, "index --out /tmp/never.db"), 2, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "index --data x.jsonl"), 2, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "index --bogus"), 2, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "index --data /nonexistent/p.jsonl --out /tmp/never.db"), 1, "%s",
                 cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "/nonexistent/p.jsonl") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(access("/tmp/never.db", F_OK), -1);
}

Test(result_text, collapses_space_replaces_brackets_cuts_on_boundaries) {
    char out[64];
    cr_assert_eq(result_clean(out, sizeof out, "  a\n\tb [c] ", 11, 100), 7);
    cr_assert_str_eq(out, "a b (c)");
    // Word boundary when it keeps half the budget.
    result_clean(out, sizeof out, "alpha beta gamma", 16, 13);
    cr_assert_str_eq(out, "alpha beta");
    // Otherwise a character boundary: never half of "é" (2 bytes).
    result_clean(out, sizeof out, "ab\xc3\xa9\xc3\xa9", 6, 5);
    cr_assert_str_eq(out, "ab\xc3\xa9");
    result_clean(out, sizeof out, "abcdefgh", 8, 4);
    cr_assert_str_eq(out, "abcd");
    // The buffer wins over the budget.
    char tiny[4];
    result_clean(tiny, sizeof tiny, "abcdef", 6, 100);
    cr_assert_str_eq(tiny, "abc");
}

Test(search_index, query_time_limit_gives_no_result, .init = make_tmp, .fini = rm_tmp) {
    // Many passages all matching "common": computing BM25 and snippets for every one of them takes
    // far longer than 1 ms, so the progress handler stops the query.
    FILE *f = fopen(tmp_path("many.jsonl"), "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 20000; i++)
        fprintf(f, "{\"title\": \"P%d\", \"text\": \"common words fill passage %d with common text and more common words\"}\n", i, i);
    fclose(f);
    build(tmp_path("many.jsonl"), tmp_path("many.db"), 0, NULL);
    tf_error err;
    search_index *ix = search_index_open(tmp_path("many.db"), &err);
    cr_assert_not_null(ix, "%s", err.msg);
    search_hit hits[1];
    int n = 0;
    int rc = search_index_query(ix, "common words", 1, 16, 1, hits, &n, &err);
    cr_assert_eq(rc, TF_ETOOL, "rc %d", rc);
    cr_assert(strstr(err.msg, "limit") != NULL, "%s", err.msg);
    cr_assert_eq(n, 0);
    // Without a limit the same query succeeds: the index is fine.
    cr_assert_eq(search_index_query(ix, "common words", 1, 16, 0, hits, &n, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    search_hits_free(hits, n);
    search_index_close(ix);
}

Test(wikisearch, proposes_nearest_name_or_last_content_words, .init = make_tmp, .fini = rm_tmp) {
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 0);
    cr_assert_not_null(t->propose);
    const char *text = "In 1882 the Knights of Columbus was founded in New Haven by a young priest";
    tf_strlist l = {0};
    size_t pos = (size_t)(strstr(text, " by a") - text);
    cr_assert_eq(t->propose(t, text, pos, NULL, &l), TF_OK);
    cr_assert_eq(l.n, 1, "%d proposals: the name only", l.n);
    cr_assert_str_eq(l.items[0], "New Haven");
    tf_strlist_free(&l);
    pos = (size_t)(strstr(text, " was founded") - text);
    cr_assert_eq(t->propose(t, text, pos, NULL, &l), TF_OK);
    cr_assert(l.n >= 1);
    cr_assert_str_eq(l.items[0], "Knights of Columbus");
    // Every proposal is searchable and finds the passage it names.
    char out[512];
    tf_error err;
    cr_assert_eq(t->execute(t, l.items[0], NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(!strncmp(out, "Knights of Columbus > ", 22), "got '%s'", out);
    tf_strlist_free(&l);
    // No name before the call: the last content words.
    const char *plain = "the densest metal known is used in pen tips and";
    cr_assert_eq(t->propose(t, plain, strlen(plain), NULL, &l), TF_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.items[0], "known used pen tips");
    tf_strlist_free(&l);
    // Nothing before the call: nothing proposed.
    cr_assert_eq(t->propose(t, text, 0, NULL, &l), TF_OK);
    cr_assert_eq(l.n, 0);
    tf_strlist_free(&l);
    free_tool(t);
}

typedef struct {
    tf_tool *t;
    int ok;
} thread_arg;

static void *search_thread(void *p) {
    thread_arg *a = p;
    const char *q[] = {"Ghana flag", "Metformin", "Everest elevation", "Eiffel Tower Paris"};
    const char *want[] = {"Flag of Ghana > ", "Metformin > ", "Mount Everest > ", "Eiffel Tower > "};
    for (int i = 0; i < 200; i++) {
        char out[512];
        tf_error err;
        int k = i % 4;
        if (a->t->execute(a->t, q[k], NULL, out, sizeof out, &err) == TF_OK && !strncmp(out, want[k], strlen(want[k])))
            a->ok++;
    }
    return NULL;
}

Test(wikisearch, one_tool_serves_several_threads, .init = make_tmp, .fini = rm_tmp) {
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 0);
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){t, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, search_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].ok, 200, "thread %d: %d of 200 right", i, args[i].ok);
    }
    free_tool(t);
}

Test(wikisearch, repeated_query_gives_the_same_answer, .init = make_tmp, .fini = rm_tmp) {
    build(FIXTURE, tmp_path("a.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("a.db"), 0);
    char a[512], b[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, "Mount Everest elevation", NULL, a, sizeof a, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(t->execute(t, "Mount Everest elevation", NULL, b, sizeof b, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(a, b);
    cr_assert_eq(t->execute(t, "qqqq zzzz", NULL, a, sizeof a, &err), TF_ETOOL);
    cr_assert_eq(t->execute(t, "qqqq zzzz", NULL, a, sizeof a, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "no passage") != NULL, "%s", err.msg);
    // A smaller buffer is a different budget, not a cut copy of the remembered answer.
    char small[30];
    cr_assert_eq(t->execute(t, "Mount Everest elevation", NULL, small, sizeof small, &err), TF_OK, "%s", err.msg);
    cr_assert(strlen(small) < sizeof small && !strncmp(small, "Mount Everest > ", 16), "got '%s'", small);
    free_tool(t);
}

Test(index_cli, index_then_tool_command_searches_and_answers, .init = make_tmp, .fini = rm_tmp) {
    char args[512], out[4096];
    snprintf(args, sizeof args, "index --data %s --out %s", FIXTURE, tmp_path("w.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "%s", cli_run_stderr);
    snprintf(args, sizeof args, "tool wikisearch --index %s 'Ghana flag red meaning'", tmp_path("w.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0);
    cr_assert(!strncmp(out, "Flag of Ghana > ", 16), "got '%s'", out);
    snprintf(args, sizeof args, "tool qa --index %s 'Where was Joe Biden born?'", tmp_path("w.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0);
    cr_assert_str_eq(out, "Scranton, Pennsylvania\n");
    snprintf(args, sizeof args, "tool --index %s --call '[WikiSearch(\"NEAR(title: metformin*\")]'", tmp_path("w.db"));
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0);
    cr_assert(strstr(out, "-> Metformin > Metformin is") != NULL, "got '%s'", out);
    // No index: a clear usage error, exit 2.
    cr_assert_eq(cli_run(out, sizeof out, "tool wikisearch 'Ghana'"), 2, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "--index") != NULL, "%s", cli_run_stderr);
}

// A word that opens a sentence is capitalised by its place: it joins a name only when some title
// writes it capitalised ("Sri Lanka", not "Name Namibia"), and is proposed alone only when no
// other name comes before the call.
Test(wikisearch, sentence_openers_are_names_only_when_titles_say_so, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("n.jsonl"),
               "{\"title\": \"Sri Lanka\", \"text\": \"The capital of Sri Lanka is Colombo.\"}\n"
               "{\"title\": \"Namibia\", \"text\": \"The capital of Namibia is Windhoek.\"}\n"
               "{\"title\": \"name\", \"text\": \"name: a language unit by which a thing is known.\"}\n"
               "{\"title\": \"yes\", \"text\": \"yes: an affirmative.\"}\n");
    build(tmp_path("n.jsonl"), tmp_path("n.db"), 0, NULL);
    tf_tool *t = wikisearch(tmp_path("n.db"), 0);
    struct { const char *text, *want; } cases[] = {
        {"Name Namibia's capital. It is", "Namibia's"},
        {"Sri Lanka's capital city is", "Sri Lanka's"},
        {"Q: Where is Kenya's capital? A: It is", "Kenya's"},
        {"Capital of Burundi:", "Burundi"},
        {"Yes, and the capital is", "Yes"},  // no other name: the opener alone
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tf_strlist l = {0};
        cr_assert_eq(t->propose(t, cases[i].text, strlen(cases[i].text), NULL, &l), TF_OK);
        cr_assert_eq(l.n, 1, "'%s': %d proposals", cases[i].text, l.n);
        cr_assert_str_eq(l.items[0], cases[i].want, "'%s'", cases[i].text);
        tf_strlist_free(&l);
    }
    free_tool(t);
}

// A title among other words of the query: that article first, of several the title of most words
// ("Burkina Faso", not "Faso"), though BM25 alone prefers a passage that repeats a word
// ("Fiji dollar ... in Fiji").
Test(search_index, title_within_query_ranks_first, .init = make_tmp, .fini = rm_tmp) {
    write_text(tmp_path("w.jsonl"),
               "{\"title\": \"Fiji\", \"text\": \"The capital of Fiji is Suva, a port on the south coast.\"}\n"
               "{\"title\": \"Fiji dollar\", \"text\": \"Fiji dollar: the unit of money in Fiji; so called in Fiji.\"}\n"
               "{\"title\": \"Faso\", \"text\": \"faso: a word for homeland.\"}\n"
               "{\"title\": \"Burkina Faso\", \"text\": \"The capital of Burkina Faso is Ouagadougou.\"}\n"
               "{\"title\": \"Burkina Faso franc\", \"text\": \"the franc of Burkina Faso, works of money.\"}\n");
    build(tmp_path("w.jsonl"), tmp_path("w.db"), 0, NULL);
    tf_error err;
    search_index *ix = search_index_open(tmp_path("w.db"), &err);
    cr_assert_not_null(ix, "%s", err.msg);
    search_hit hits[4];
    int n = 0;
    cr_assert_eq(search_index_query(ix, "Fiji called", 4, 0, 0, hits, &n, &err), TF_OK, "%s", err.msg);
    cr_assert(n >= 2);
    cr_assert_str_eq(hits[0].title, "Fiji");
    search_hits_free(hits, n);
    cr_assert_eq(search_index_query(ix, "Burkina Faso works", 4, 0, 0, hits, &n, &err), TF_OK, "%s", err.msg);
    cr_assert(n >= 2);
    cr_assert_str_eq(hits[0].title, "Burkina Faso");
    search_hits_free(hits, n);
    search_index_close(ix);
}
