// fuzz_wikisearch.c — the WikiSearch query builder: search_match_expr turns whatever a model writes
// into an FTS5 MATCH expression of quoted terms, which must never be an FTS5 syntax error; the
// query runs against a real index (ten passages of tests/fixtures/search, built once into the
// scratch directory), through tf_tool_execute too; and the proposer of search terms from prose.
// Properties: the expression has exactly the terms it counts, each quoted; no query fails inside
// SQLite; a result is one line of UTF-8 without brackets.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tools/search_index.h"
#include "tools/tools_internal.h"

static const char PASSAGES[] =
    "{\"title\": \"Flag of Ghana\", \"text\": \"The flag of Ghana consists of the Pan-African colours of red, "
    "gold and green in horizontal stripes, with a black five-pointed star in the centre of the gold stripe.\"}\n"
    "{\"title\": \"Metformin\", \"text\": \"Metformin is the first-line medication for the treatment of type 2 "
    "diabetes, particularly in people who are overweight. It is taken by mouth.\"}\n"
    "{\"title\": \"Knights of Columbus\", \"text\": \"The Knights of Columbus is a global Catholic fraternal "
    "service order founded by Michael J. McGivney on March 29, 1882.\"}\n"
    "{\"title\": \"Nile\", \"text\": \"The Nile is a major north-flowing river in northeastern Africa. It is "
    "about 6,650 km long and flows into the Mediterranean Sea.\"}\n"
    "{\"title\": \"Mount Everest\", \"text\": \"Mount Everest is Earth's highest mountain above sea level. Its "
    "elevation of 8,849 metres was most recently established in 2020.\"}\n"
    "{\"title\": \"Python (programming language)\", \"text\": \"Python is a high-level, general-purpose "
    "programming language. It was created by Guido van Rossum and first released in 1991.\"}\n"
    "{\"title\": \"Caf\\u00e9 \\u00fcber \\u4e2d\\u6587\", \"text\": \"Na\\u00efve r\\u00e9sum\\u00e9 "
    "\\u00fcber \\u4e2d\\u6587 \\ud83d\\ude00 text.\"}\n";

static tf_tool *ws;
static search_index *ix;

static void setup(void) {
    char jsonl[512], db[512];
    tf_error err = {0};
    fuzz_write(jsonl, sizeof jsonl, "passages.jsonl", PASSAGES, sizeof PASSAGES - 1);
    search_build_opts bo = {0};
    search_build_stats st;
    FUZZ_CHECK(search_index_build(jsonl, fuzz_path(db, sizeof db, "index.db"), &bo, &st, &err) == TF_OK, "%s",
               err.msg);
    ix = search_index_open(db, &err);
    FUZZ_CHECK(ix, "%s", err.msg);
    tf_tool_options opt = {.index_path = db};
    ws = tf_tool_create("wikisearch", &opt, &err);
    FUZZ_CHECK(ws, "%s", err.msg);
}

static void check_query(const char *q) {
    char expr[SEARCH_MAX_TERMS * (SEARCH_MAX_TERM_BYTES + 6) + 1];
    int n = search_match_expr(q, expr, sizeof expr);
    FUZZ_CHECK(n >= 0 && n <= SEARCH_MAX_TERMS, "%d terms", n);
    int quotes = 0;
    for (const char *p = expr; *p; p++) quotes += *p == '"';
    FUZZ_CHECK(quotes == 2 * n, "expression '%s' for %d terms", expr, n);
    search_hit hits[3];
    int nh = 0;
    tf_error err = {0};
    int rc = search_index_query(ix, q, 3, 8, 0, hits, &nh, &err);
    FUZZ_CHECK(rc == TF_OK, "query '%s' (expression '%s') failed: %s", q, expr, err.msg);
    FUZZ_CHECK(nh >= 0 && nh <= 3 && (n > 0 || nh == 0), "%d hits", nh);
    search_hits_free(hits, nh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ws) setup();
    char *text = fuzz_cstr(data, size);
    check_query(text);
    char out[TF_TOOL_RESULT_CAP];
    tf_error err = {0};
    int rc = tf_tool_execute(ws, text, NULL, out, sizeof out, &err);
    FUZZ_CHECK(rc == TF_OK || rc == TF_ETOOL, "rc %d: %s", rc, err.msg);
    if (rc == TF_OK)
        FUZZ_CHECK(tf_utf8_valid(out, strlen(out)) && !strpbrk(out, "[]\n"), "result '%s'", out);
    size_t len = strlen(text);
    size_t at[2] = {len, len / 2};
    for (int k = 0; k < 2; k++) {
        tf_strlist props = {0};
        FUZZ_CHECK(ws->propose(ws, text, at[k], NULL, &props) == TF_OK, "propose failed");
        for (int i = 0; i < props.n; i++) {
            FUZZ_CHECK(props.items[i][0], "an empty proposal");
            check_query(props.items[i]);
        }
        tf_strlist_free(&props);
    }
    free(text);
    return 0;
}
