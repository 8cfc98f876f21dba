// search_index.h — the passage index behind WikiSearch and QA: an SQLite database with an FTS5 table
// `passages(title, text)` ranked by BM25 (internal to the library and the `index` command).
//
// Schema (format 1):
//   CREATE TABLE tf_meta(key TEXT PRIMARY KEY, value TEXT);        -- ("format", "toolformer-search-1")
//   CREATE VIRTUAL TABLE passages USING fts5(title, text,
//       tokenize = 'porter unicode61 remove_diacritics 2');
// Ranking: FTS5's bm25() with k1 = 1.2, b = 0.75 and column weights SEARCH_TITLE_WEIGHT (title) and
// 1.0 (text); scores are reported positive (higher is better). A query whose words are exactly a
// passage's title (any case and punctuation) gets that passage first, as a search engine opens the
// article of that name (the first indexed when several share the title); failing that, a passage
// whose title's words all occur in the query (the title of most words); then the BM25 order. A
// query word that no passage holds is first replaced by the nearest title word (search_spell.h).
#ifndef TF_SEARCH_INDEX_H
#define TF_SEARCH_INDEX_H

#include "tf_common.h"

#define SEARCH_TITLE_WEIGHT 2.0
#define SEARCH_MAX_TERMS 32        // query terms kept (the rest are ignored)
#define SEARCH_MAX_TERM_BYTES 64   // longer "words" are ignored (no real word is that long)
#define SEARCH_MAX_QUERY_BYTES 1024  // longer queries are searched as written, never corrected
#define SEARCH_CACHE_SLOTS 1024    // results remembered by each WikiSearch / QA tool

// ---- building ----------------------------------------------------------------------------------
typedef struct {
    int append;        // 0: db_path must not exist yet; 1: add to it (created when absent)
    int resume;        // 1: finish an interrupted build of jsonl_path into db_path (created when
                       // absent): the passages its committed batches hold are not added again
    int batch;         // passages per transaction (0: 10000)
    int progress;      // 1: draw a progress bar on stderr (when stderr is a terminal or TF_PROGRESS=1)
    // Called once for each malformed line (the line is skipped and counted); may be NULL.
    void (*on_bad_line)(void *ud, const char *msg);
    void *ud;
} search_build_opts;

typedef struct {
    long lines;      // non-empty lines read
    long added;      // passages added by this build
    long skipped;    // malformed lines skipped
    long total;      // passages in the index afterwards
} search_build_stats;

// Reads JSONL {"title": "...", "text": "..."} (one passage a line, other keys ignored, blank lines
// skipped) from jsonl_path into db_path. A malformed line is reported through opt->on_bad_line as
// "FILE:LINE: why", skipped and counted; everything else is indexed. Passages are committed in
// batches, so a failure part-way (disk full) keeps every batch committed before it.
//
// Crash safety: every batch is one SQLite transaction (rollback journal, synchronous FULL), and the
// same transaction records in tf_meta, under the key "source:" + jsonl_path, how far jsonl_path has
// been read: "OFFSET LINE ADDED SKIPPED SIZE DONE" (byte offset after the batch's last line, its line
// number, passages added and lines skipped so far, the file's size, 1 when the file was read to its
// end). A build killed at any moment leaves the index as of its last commit (SQLite rolls the rest
// back), and opt->resume continues from the recorded offset, so that the index ends with the same
// passages, in the same rowid order, as an uninterrupted build. A file whose size differs from the
// recorded one is refused. An empty database (killed while creating the tables) is set up anew.
// With resume, stats->added and ->skipped count the interrupted runs' passages too.
int search_index_build(const char *jsonl_path, const char *db_path, const search_build_opts *opt,
                       search_build_stats *stats, tf_error *err);

// ---- querying ----------------------------------------------------------------------------------
typedef struct search_index search_index;

typedef struct {
    long rowid;
    double score;    // BM25, higher is better
    char *title;     // malloc'd
    char *text;      // malloc'd: the whole passage
    char *snippet;   // malloc'd: the best window of the text (FTS5 snippet()), or NULL when not asked
} search_hit;

// Opens an index read-only; a missing file or a database that is not a search index is an error
// naming the path.
search_index *search_index_open(const char *path, tf_error *err);
void search_index_close(search_index *ix);
long search_index_count(search_index *ix);   // passages in the index, -1 on error

// The k best passages for query (treated as plain search terms, see search_match_expr), best
// first (a passage titled exactly as the query first of all, see above), into hits[0..*n). snippet_tokens > 0 also fills hit.snippet with a window of that many
// tokens (at most 64). timeout_ms > 0 bounds the query (TF_ETOOL when exceeded). No term or no
// match gives TF_OK with *n = 0. Free the hits with search_hits_free. Safe to call from several
// threads (queries on one index are serialised).
int search_index_query(search_index *ix, const char *query, int k, int snippet_tokens, int timeout_ms,
                       search_hit *hits, int *n, tf_error *err);
void search_hits_free(search_hit *hits, int n);

// 1 when some passage title writes word[0..len) capitalised (a name, not a common word that only
// opens a sentence: "Sri" of "Sri Lanka", not "Name"), else 0 (search_spell.h). Thread-safe.
int search_index_title_name(search_index *ix, const char *word, size_t len);

// Builds the FTS5 MATCH expression for a query written by a model: the query is split into words
// (runs of ASCII letters/digits and non-ASCII bytes; everything else separates), lowercased,
// deduplicated, English stopwords dropped (unless every word is one), at most SEARCH_MAX_TERMS
// kept, each word double-quoted and the words joined with OR. FTS5 syntax in the query (quotes,
// AND/OR/NOT/NEAR, *, ^, -, column filters, parentheses) is thereby plain text. Writes a
// NUL-terminated expression into out[cap] and returns the number of terms (0: nothing to search).
int search_match_expr(const char *query, char *out, size_t cap);

// 1 when the lowercase ASCII word w[0..len) is an English stopword (also used by QA).
int search_is_stopword(const char *w, size_t len);

#endif
