// search_index.c — the WikiSearch / QA passage index: JSONL passages into an SQLite FTS5 table,
// BM25 queries built from plain search terms, snippets, a time limit per query.
#include "search_index.h"
#include "search_spell.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FORMAT_NAME "toolformer-search-1"
#define MAX_LINE_BYTES (16L << 20)

// ---- terms -------------------------------------------------------------------------------------

static const char *const STOPWORDS[] = {
    "a", "about", "after", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had",
    "has", "have", "he", "her", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "no", "not", "of", "on", "or", "our", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was",
    "we", "were", "what", "when", "where", "which", "who", "whom", "whose", "why", "will", "with",
    "would", "you", "your",
};

int search_is_stopword(const char *w, size_t len) {
    for (size_t i = 0; i < sizeof STOPWORDS / sizeof STOPWORDS[0]; i++)
        if (strlen(STOPWORDS[i]) == len && !memcmp(STOPWORDS[i], w, len)) return 1;
    return 0;
}

static int is_word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

int search_match_expr(const char *query, char *out, size_t cap) {
    char words[SEARCH_MAX_TERMS][SEARCH_MAX_TERM_BYTES + 1];
    int stop[SEARCH_MAX_TERMS];
    int nw = 0, ncontent = 0;
    const unsigned char *p = (const unsigned char *)(query ? query : "");
    while (*p && nw < SEARCH_MAX_TERMS) {
        while (*p && !is_word_byte(*p)) p++;
        const unsigned char *s = p;
        while (*p && is_word_byte(*p)) p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || len > SEARCH_MAX_TERM_BYTES) continue;
        char w[SEARCH_MAX_TERM_BYTES + 1];
        for (size_t i = 0; i < len; i++) w[i] = (char)tolower(s[i]);
        w[len] = '\0';
        int dup = 0;
        for (int i = 0; i < nw && !dup; i++) dup = !strcmp(words[i], w);
        if (dup) continue;
        memcpy(words[nw], w, len + 1);
        stop[nw] = search_is_stopword(w, len);
        ncontent += !stop[nw];
        nw++;
    }
    size_t o = 0;
    int nterms = 0;
    if (cap) out[0] = '\0';
    for (int i = 0; i < nw; i++) {
        if (ncontent > 0 && stop[i]) continue;
        size_t need = strlen(words[i]) + 2 + (nterms ? 4 : 0);
        if (o + need + 1 > cap) break;
        // Words hold only letters, digits and non-ASCII bytes, so a double quote never needs escaping.
        o += (size_t)snprintf(out + o, cap - o, "%s\"%s\"", nterms ? " OR " : "", words[i]);
        nterms++;
    }
    return nterms;
}

// ---- building ----------------------------------------------------------------------------------

static int sql_fail(tf_error *err, sqlite3 *db, const char *path, const char *what) {
    return tf_errorf(err, TF_EINTERNAL, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec_sql(sqlite3 *db, const char *path, const char *sql, tf_error *err) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_errcode(db) == SQLITE_FULL || sqlite3_errcode(db) == SQLITE_IOERR ? TF_EIO
                                                                                            : TF_EINTERNAL;
        tf_errorf(err, code, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return code;
    }
    return TF_OK;
}

// Checks that db is a search index of our format; TF_EBADFILE naming path otherwise.
static int check_format(sqlite3 *db, const char *path, tf_error *err) {
    sqlite3_stmt *st = NULL;
    char why[200] = "no format record";
    int ok = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM tf_meta WHERE key = 'format'", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, sizeof why, "%s", sqlite3_errmsg(db));
    } else if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        ok = v && !strcmp((const char *)v, FORMAT_NAME);
        if (!ok) snprintf(why, sizeof why, "format '%.100s', expected '" FORMAT_NAME "'", v ? (const char *)v : "");
    }
    sqlite3_finalize(st);
    if (ok) {
        st = NULL;
        ok = sqlite3_prepare_v2(db, "SELECT title, text FROM passages LIMIT 0", -1, &st, NULL) == SQLITE_OK;
        if (!ok) snprintf(why, sizeof why, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    if (!ok)
        return tf_errorf(err, TF_EBADFILE, "%s: not a toolformer search index (%s); build one with `toolformer index`",
                         path, why);
    return TF_OK;
}

// The integer the one-row query sql answers, or -1 when it fails.
static long query_long(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static long count_rows(sqlite3 *db) { return query_long(db, "SELECT count(*) FROM passages"); }

// How far a passages file has been indexed (search_index.h: "source:" + path in tf_meta).
typedef struct {
    long offset, line, added, skipped, size;
    int done;
} source_mark;

// 1 when db holds a mark under key (read into *m), 0 when none or unreadable.
static int read_mark(sqlite3 *db, const char *key, source_mark *m) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM tf_meta WHERE key = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *v = (const char *)sqlite3_column_text(st, 0);
            found = v && sscanf(v, "%ld %ld %ld %ld %ld %d", &m->offset, &m->line, &m->added, &m->skipped, &m->size,
                                &m->done) == 6 && m->offset >= 0 && m->line >= 0;
        }
    }
    sqlite3_finalize(st);
    return found;
}

// Records m under key; called inside the batch's transaction, so the mark and the passages commit together.
static int write_mark(sqlite3 *db, const char *db_path, const char *key, const source_mark *m, tf_error *err) {
    char v[160];
    snprintf(v, sizeof v, "%ld %ld %ld %ld %ld %d", m->offset, m->line, m->added, m->skipped, m->size, m->done);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO tf_meta(key, value) VALUES(?, ?)", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return tf_errorf(err, src == SQLITE_FULL || src == SQLITE_IOERR ? TF_EIO : TF_EINTERNAL,
                         "%s: recording the build's progress: %s", db_path, sqlite3_errmsg(db));
    return TF_OK;
}

// 1 when db holds no table at all (a new file, or one whose creation was interrupted and rolled back).
static int is_empty_db(sqlite3 *db) { return query_long(db, "SELECT count(*) FROM sqlite_master") == 0; }

// Parses one JSONL line; on success *title and *text point into the returned cJSON tree.
static cJSON *parse_passage(const char *line, size_t len, const char *file, long lineno, const char **title,
                            const char **text, tf_error *err) {
    cJSON *j = cJSON_ParseWithLength(line, len);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long col = at && at >= line && at <= line + len ? (long)(at - line) + 1 : 0;
        tf_errorf(err, TF_EBADFILE, "%s:%ld: not valid JSON (near column %ld)", file, lineno, col);
        return NULL;
    }
    const char *why = NULL;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "title");
    cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "text");
    if (!cJSON_IsObject(j)) why = "expected a JSON object {\"title\", \"text\"}";
    else if (!cJSON_IsString(t)) why = "\"title\" is missing or not a string";
    else if (!cJSON_IsString(x)) why = "\"text\" is missing or not a string";
    else if (!x->valuestring[0]) why = "\"text\" is empty";
    if (why) {
        tf_errorf(err, TF_EBADFILE, "%s:%ld: %s", file, lineno, why);
        cJSON_Delete(j);
        return NULL;
    }
    *title = t->valuestring;
    *text = x->valuestring;
    return j;
}

int search_index_build(const char *jsonl_path, const char *db_path, const search_build_opts *opt,
                       search_build_stats *stats, tf_error *err) {
    search_build_opts o = opt ? *opt : (search_build_opts){0};
    if (o.batch <= 0) o.batch = 10000;
    search_build_stats s = {0};
    if (stats) *stats = s;

    FILE *f = fopen(jsonl_path, "rb");
    if (!f) return tf_errorf(err, TF_EIO, "%s: cannot open passages file", jsonl_path);
    struct stat fst;
    long total_bytes = fstat(fileno(f), &fst) == 0 && S_ISREG(fst.st_mode) ? (long)fst.st_size : 0;

    struct stat dst;
    int exists = stat(db_path, &dst) == 0;
    if (exists && !o.append && !o.resume) {
        fclose(f);
        return tf_errorf(err, TF_EBADARG,
                         "%s already exists; pass --append to add passages to it, --resume to finish an "
                         "interrupted build, or remove it to rebuild",
                         db_path);
    }
    // the mark's key: the passages file's absolute path (as given when it cannot be resolved)
    char key[4200], *abs = realpath(jsonl_path, NULL);
    snprintf(key, sizeof key, "source:%s", abs ? abs : jsonl_path);
    free(abs);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        tf_errorf(err, TF_EIO, "%s: cannot open or create the index: %s", db_path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        fclose(f);
        return TF_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    int rc = TF_OK;
    sqlite3_stmt *ins = NULL;
    char *line = NULL;
    size_t linecap = 0;
    int in_tx = 0;
    tf_progress prog;
    if (exists && !is_empty_db(db)) {
        rc = check_format(db, db_path, err);
    } else {
        rc = exec_sql(db, db_path,
                      "BEGIN;"
                      "CREATE TABLE tf_meta(key TEXT PRIMARY KEY, value TEXT);"
                      "INSERT INTO tf_meta VALUES('format', '" FORMAT_NAME "');"
                      "CREATE VIRTUAL TABLE passages USING fts5(title, text,"
                      " tokenize = 'porter unicode61 remove_diacritics 2');"
                      "COMMIT;",
                      err);
    }
    if (rc) goto done;
    // The rank used by queries: BM25 with the title weighted SEARCH_TITLE_WEIGHT (stored in the index).
    char rank_sql[160];
    snprintf(rank_sql, sizeof rank_sql, "INSERT INTO passages(passages, rank) VALUES('rank', 'bm25(%.1f, 1.0)')",
             SEARCH_TITLE_WEIGHT);
    if ((rc = exec_sql(db, db_path, rank_sql, err))) goto done;
    if (sqlite3_prepare_v2(db, "INSERT INTO passages(title, text) VALUES(?, ?)", -1, &ins, NULL) != SQLITE_OK) {
        rc = sql_fail(err, db, db_path, "preparing the insert");
        goto done;
    }
    long lineno = 0, in_batch = 0, bytes = 0;
    source_mark mark = {0};
    if (o.resume && read_mark(db, key, &mark)) {
        if (mark.size != total_bytes || mark.offset > total_bytes) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: changed since the interrupted build of %s (%ld bytes then, %ld now); "
                           "remove the index and build it again", jsonl_path, db_path, mark.size, total_bytes);
            goto done;
        }
        if (fseek(f, mark.offset, SEEK_SET) != 0) {
            rc = tf_errorf(err, TF_EIO, "%s: cannot seek to byte %ld to resume", jsonl_path, mark.offset);
            goto done;
        }
        lineno = mark.line;
        bytes = mark.offset;
        s.added = mark.added;
        s.skipped = mark.skipped;
    }
    mark.size = total_bytes;
    if (o.progress) tf_progress_start(&prog, "index", total_bytes);
    ssize_t n;
    char extra[64];
    size_t got;
    int too_long;
    // lines are read in bounded memory: one longer than MAX_LINE_BYTES is passed over, not held
    while (!mark.done && (n = tf_read_line(f, &line, &linecap, MAX_LINE_BYTES + 2, &got, &too_long)) != -1) {
        lineno++;
        bytes += n;
        size_t len = got;
        char *p = line;
        if (lineno == 1 && len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3, len -= 3;  // UTF-8 BOM
        while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
        size_t k = 0;
        while (k < len && isspace((unsigned char)p[k])) k++;
        if (k == len) continue;  // blank line
        s.lines++;
        tf_error lerr;
        const char *title = NULL, *text = NULL;
        cJSON *j = NULL;
        if (too_long || (long)len > MAX_LINE_BYTES)
            tf_errorf(&lerr, TF_EBADFILE, "%s:%ld: line longer than %ld MiB", jsonl_path, lineno,
                      MAX_LINE_BYTES >> 20);
        else
            j = parse_passage(p, len, jsonl_path, lineno, &title, &text, &lerr);
        if (!j) {
            s.skipped++;
            if (o.on_bad_line) o.on_bad_line(o.ud, lerr.msg);
            continue;
        }
        if (!in_tx) {
            if ((rc = exec_sql(db, db_path, "BEGIN", err))) { cJSON_Delete(j); goto done; }
            in_tx = 1;
        }
        sqlite3_bind_text(ins, 1, title, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, text, -1, SQLITE_STATIC);
        int src = sqlite3_step(ins);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        cJSON_Delete(j);
        if (src != SQLITE_DONE) {
            rc = tf_errorf(err, src == SQLITE_FULL || src == SQLITE_IOERR ? TF_EIO : TF_EINTERNAL,
                           "%s: adding %s line %ld: %s", db_path, jsonl_path, lineno, sqlite3_errmsg(db));
            goto done;
        }
        if (++in_batch == o.batch) {
            mark = (source_mark){bytes, lineno, s.added + in_batch, s.skipped, total_bytes, 0};
            if ((rc = write_mark(db, db_path, key, &mark, err))) goto done;
            if ((rc = exec_sql(db, db_path, "COMMIT", err))) goto done;
            in_tx = 0;
            s.added += in_batch;
            in_batch = 0;
        }
        if (o.progress) {
            snprintf(extra, sizeof extra, "%ld passages", s.added + in_batch);
            tf_progress_update(&prog, bytes, extra);
        }
    }
    if (ferror(f)) {
        rc = tf_errorf(err, TF_EIO, "%s: read error after line %ld", jsonl_path, lineno);
        goto done;
    }
    if (!mark.done) {  // the last batch, with the mark saying the file is done
        if (!in_tx && (rc = exec_sql(db, db_path, "BEGIN", err))) goto done;
        in_tx = 1;
        mark = (source_mark){bytes, lineno, s.added + in_batch, s.skipped, total_bytes, 1};
        if ((rc = write_mark(db, db_path, key, &mark, err))) goto done;
        if ((rc = exec_sql(db, db_path, "COMMIT", err))) goto done;
        in_tx = 0;
        s.added += in_batch;
        in_batch = 0;
    }
    // Merge the FTS5 segments into one b-tree: faster queries, smaller file.
    if ((rc = exec_sql(db, db_path, "INSERT INTO passages(passages) VALUES('optimize')", err))) goto done;
    s.total = count_rows(db);
    if (o.progress) {
        snprintf(extra, sizeof extra, "%ld passages", s.added);
        tf_progress_finish(&prog, extra);
    }
done:
    if (in_tx) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (rc && s.total == 0) s.total = count_rows(db);
    sqlite3_finalize(ins);
    if (sqlite3_close(db) != SQLITE_OK && !rc) rc = tf_errorf(err, TF_EIO, "%s: closing the index failed", db_path);
    free(line);
    fclose(f);
    if (stats) *stats = s;
    return rc;
}

// ---- querying ----------------------------------------------------------------------------------

struct search_index {
    sqlite3 *db;
    sqlite3_stmt *q;
    sqlite3_stmt *qt;  // the same query with the title phrase as MATCH (exact-title candidates)
    sqlite3_stmt *qk;  // does any passage hold this one word (MATCH, LIMIT 1)
    spell_lexicon *lex;  // the titles' words, read when a query first holds an unknown word
    int lex_tried;       // 1 once reading them was attempted
    pthread_mutex_t mu;
    double deadline;   // tf_time_s() limit of the running query; 0: none
    char *path;
};

static int progress_cb(void *ud) {
    search_index *ix = ud;
    return ix->deadline > 0 && tf_time_s() > ix->deadline;
}

search_index *search_index_open(const char *path, tf_error *err) {
    if (!path || !*path) {
        tf_errorf(err, TF_EBADARG, "no search index given (build one with `toolformer index --data "
                                   "passages.jsonl --out FILE.db` and pass its path)");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        tf_errorf(err, TF_EIO, "%s: search index not found (build it with `toolformer index --data "
                               "passages.jsonl --out %s`)", path, path);
        return NULL;
    }
    search_index *ix = calloc(1, sizeof *ix);
    if (!ix) { tf_errorf(err, TF_ENOMEM, "out of memory"); return NULL; }
    ix->path = strdup(path);
    pthread_mutex_init(&ix->mu, NULL);
    if (!ix->path) { tf_errorf(err, TF_ENOMEM, "out of memory"); goto fail; }
    if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        tf_errorf(err, TF_EIO, "%s: cannot open the search index: %s", path,
                  ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(ix->db, 2000);  // an `index --append` may hold the write lock briefly
    if (check_format(ix->db, path, err)) goto fail;
    if (sqlite3_prepare_v3(ix->db,
                           "SELECT rowid, -rank, title, text, snippet(passages, 1, '', '', '...', ?1)"
                           " FROM passages WHERE passages MATCH ?2 ORDER BY rank LIMIT ?3",
                           -1, SQLITE_PREPARE_PERSISTENT, &ix->q, NULL) != SQLITE_OK) {
        sql_fail(err, ix->db, path, "preparing the query");
        goto fail;
    }
    if (sqlite3_prepare_v3(ix->db,
                           "SELECT rowid, -rank, title, text, snippet(passages, 1, '', '', '...', ?1)"
                           " FROM passages WHERE passages MATCH ?2 ORDER BY rank LIMIT ?3",
                           -1, SQLITE_PREPARE_PERSISTENT, &ix->qt, NULL) != SQLITE_OK) {
        sql_fail(err, ix->db, path, "preparing the title query");
        goto fail;
    }
    if (sqlite3_prepare_v3(ix->db, "SELECT rowid FROM passages WHERE passages MATCH ?1 LIMIT 1", -1,
                           SQLITE_PREPARE_PERSISTENT, &ix->qk, NULL) != SQLITE_OK) {
        sql_fail(err, ix->db, path, "preparing the word query");
        goto fail;
    }
    sqlite3_progress_handler(ix->db, 1000, progress_cb, ix);
    return ix;
fail:
    search_index_close(ix);
    return NULL;
}

void search_index_close(search_index *ix) {
    if (!ix) return;
    sqlite3_finalize(ix->q);
    sqlite3_finalize(ix->qt);
    sqlite3_finalize(ix->qk);
    spell_free(ix->lex);
    sqlite3_close(ix->db);
    pthread_mutex_destroy(&ix->mu);
    free(ix->path);
    free(ix);
}

long search_index_count(search_index *ix) {
    pthread_mutex_lock(&ix->mu);
    long n = count_rows(ix->db);
    pthread_mutex_unlock(&ix->mu);
    return n;
}

static char *dup_col(sqlite3_stmt *st, int i) {
    const unsigned char *v = sqlite3_column_text(st, i);
    return strdup(v ? (const char *)v : "");
}

void search_hits_free(search_hit *hits, int n) {
    for (int i = 0; i < n; i++) {
        free(hits[i].title);
        free(hits[i].text);
        free(hits[i].snippet);
        memset(&hits[i], 0, sizeof hits[i]);
    }
}

// The query's words (letter/digit runs, ASCII lower-cased) joined by single spaces into out;
// 0 when there is none or they do not fit.
static size_t norm_words(const char *text, char *out, size_t cap) {
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    while (*p) {
        while (*p && !is_word_byte(*p)) p++;
        if (!*p) break;
        if (o && o + 1 < cap) out[o++] = ' ';
        while (*p && is_word_byte(*p)) {
            if (o + 1 >= cap) return 0;
            out[o++] = (char)tolower(*p++);
        }
    }
    if (cap) out[o < cap ? o : cap - 1] = '\0';
    return o;
}

// Runs a prepared query (?1 snippet tokens, ?2 MATCH expression, ?3 limit) into hits[*n..limit).
static int run_query(search_index *ix, sqlite3_stmt *q, const char *expr, int limit, int snippet_tokens,
                     int timeout_ms, search_hit *hits, int *n, tf_error *err) {
    sqlite3_bind_int(q, 1, snippet_tokens > 0 ? snippet_tokens : 1);
    sqlite3_bind_text(q, 2, expr, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, limit);
    int rc = TF_OK, src = SQLITE_DONE;
    while (*n < limit && (src = sqlite3_step(q)) == SQLITE_ROW) {
        search_hit *h = &hits[*n];
        h->rowid = (long)sqlite3_column_int64(q, 0);
        h->score = sqlite3_column_double(q, 1);
        h->title = dup_col(q, 2);
        h->text = dup_col(q, 3);
        h->snippet = snippet_tokens > 0 ? dup_col(q, 4) : NULL;
        ++*n;
        if (!h->title || !h->text || (snippet_tokens > 0 && !h->snippet)) {
            rc = tf_errorf(err, TF_ENOMEM, "out of memory");
            break;
        }
    }
    if (!rc && *n < limit && src != SQLITE_DONE) {
        if (src == SQLITE_INTERRUPT)
            rc = tf_errorf(err, TF_ETOOL, "%s: search took longer than its %d ms limit", ix->path, timeout_ms);
        else
            rc = tf_errorf(err, TF_EINTERNAL, "%s: search failed: %s", ix->path, sqlite3_errmsg(ix->db));
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

// A passage whose title is the query itself (the same words, any case), as a search engine opens
// the article of that name: BM25 alone ranks a short passage that merely mentions the words above
// it ("Liechtenstein" -> "Liechtensteiner: a native or inhabitant of Liechtenstein."). Failing
// that, the article the query names beside common words: a passage whose title's words all occur
// in the query and hold every capitalised word of it ("Fiji called" -> "Fiji", not "Fiji dollar";
// "Burkina Faso works" -> "Burkina Faso", not "Burkina Faso franc"; but "French Mariana Islands"
// is no query for "Mariana Islands", and a query without a capitalised word names none). Looks among
// the TITLE_CANDIDATES passages (by the query's BM25) with a query word in their title; of
// several titled alike, the first indexed stands for the article (an encyclopaedia holds one
// article per title: the recipe indexes its countries before the WordNet glosses that share their
// names, "Bhutan, Kingdom of Bhutan: a landlocked principality"). *found = 0 if none.
#define TITLE_CANDIDATES 32

// 1 when every word of title (norm_words form) is one of the query's words (the same form).
static int words_within(const char *title, const char *query) {
    if (!*title) return 0;
    const char *p = title;
    while (*p) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int in = 0;
        for (const char *q = query; *q && !in;) {
            const char *qe = strchr(q, ' ');
            size_t qn = qe ? (size_t)(qe - q) : strlen(q);
            in = qn == n && !memcmp(p, q, n);
            q += qn + (qe != NULL);
        }
        if (!in) return 0;
        p += n + (e != NULL);
    }
    return 1;
}

// The query's capitalised words (norm_words form) into out[cap]; 0 when there is none.
static size_t capitalised_words(const char *query, char *out, size_t cap) {
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)query;
    out[0] = '\0';
    while (*p) {
        while (*p && !is_word_byte(*p)) p++;
        const unsigned char *s = p;
        while (*p && is_word_byte(*p)) p++;
        size_t n = (size_t)(p - s);
        if (!n || !isupper(*s)) continue;
        if (o + n + 2 > cap) return 0;
        if (o) out[o++] = ' ';
        for (size_t i = 0; i < n; i++) out[o++] = (char)tolower(s[i]);
        out[o] = '\0';
    }
    return o;
}

static int exact_title(search_index *ix, const char *query, int snippet_tokens, int timeout_ms, search_hit *hit,
                       int *found, tf_error *err) {
    *found = 0;
    char want[SEARCH_MAX_TERMS * (SEARCH_MAX_TERM_BYTES + 1) + 1], names[sizeof want];
    if (norm_words(query, want, sizeof want) == 0) return TF_OK;
    int named = capitalised_words(query, names, sizeof names) > 0;
    char expr[SEARCH_MAX_TERMS * (SEARCH_MAX_TERM_BYTES + 6) + 32];
    int o = snprintf(expr, sizeof expr, "title : (");
    if (!search_match_expr(query, expr + o, sizeof expr - (size_t)o - 1)) return TF_OK;
    strcat(expr, ")");
    search_hit cand[TITLE_CANDIDATES];
    int nc = 0;
    int rc = run_query(ix, ix->qt, expr, TITLE_CANDIDATES, snippet_tokens, timeout_ms, cand, &nc, err);
    // best: the exact title (lowest rowid); else the contained title of most words, best rank first
    int best = -1, best_exact = 0, best_words = 0;
    char best_title[sizeof want] = "";
    for (int i = 0; !rc && i < nc; i++) {
        char t[sizeof want];
        if (!norm_words(cand[i].title, t, sizeof t)) continue;
        int exact = !strcmp(t, want);
        if (!exact && !(named && words_within(t, want) && words_within(names, t))) continue;
        int words = 1;
        for (const char *c = t; *c; c++) words += *c == ' ';
        int better = best < 0 || exact > best_exact || (exact == best_exact && words > best_words) ||
                     (!strcmp(t, best_title) && cand[i].rowid < cand[best].rowid);
        if (better) {
            best = i, best_exact = exact, best_words = words;
            memcpy(best_title, t, strlen(t) + 1);
        }
    }
    if (best >= 0) {
        *hit = cand[best];
        memset(&cand[best], 0, sizeof cand[best]);
        *found = 1;
    }
    search_hits_free(cand, nc);
    return rc;
}

// ---- "did you mean": a query word no passage holds, replaced by the nearest title word ----------

// Reads every passage title into ix->lex (once; with no time limit: it is not the query's cost).
static void load_lexicon(search_index *ix) {
    ix->lex_tried = 1;
    spell_lexicon *lx = spell_new();
    sqlite3_stmt *st = NULL;
    double deadline = ix->deadline;
    ix->deadline = 0;
    int ok = lx && sqlite3_prepare_v2(ix->db, "SELECT title FROM passages ORDER BY rowid", -1, &st, NULL) == SQLITE_OK;
    int src = SQLITE_DONE;
    while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) ok = spell_add_title(lx, (const char *)sqlite3_column_text(st, 0)) == 0;
    ok = ok && src == SQLITE_DONE && spell_finish(lx) == 0;
    sqlite3_finalize(st);
    ix->deadline = deadline;
    if (ok) ix->lex = lx;
    else spell_free(lx);  // no correction then: queries behave as before
}

// 1 when some passage holds the word (lower-cased, letters only) w; errors count as known.
static int known_word(search_index *ix, const char *w) {
    char expr[SEARCH_MAX_TERM_BYTES + 3];
    snprintf(expr, sizeof expr, "\"%s\"", w);
    sqlite3_bind_text(ix->qk, 1, expr, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(ix->qk);
    sqlite3_reset(ix->qk);
    sqlite3_clear_bindings(ix->qk);
    return src != SQLITE_DONE;
}

// The query with each word that no passage holds (letters only, 4 or more, not a stopword)
// replaced by the nearest word of a title (search_spell.h), the first letter's case kept, into
// out[cap]. Returns the number of words replaced (0: out is the query unchanged).
static int correct_query(search_index *ix, const char *query, char *out, size_t cap) {
    size_t o = 0, qlen = strlen(query);
    int fixed = 0;
    if (qlen >= cap) return 0;
    const char *p = query;
    while (*p) {
        if (!is_word_byte((unsigned char)*p)) { out[o++] = *p++; continue; }
        const char *s = p;
        int letters = 1;
        while (*p && is_word_byte((unsigned char)*p)) letters &= isalpha((unsigned char)*p++) != 0;
        size_t len = (size_t)(p - s);
        char low[SPELL_MAX_WORD + 1], rep[SPELL_MAX_WORD + 1];
        int use = 0;
        if (letters && len >= 4 && len <= SPELL_MAX_WORD) {
            for (size_t i = 0; i < len; i++) low[i] = (char)tolower((unsigned char)s[i]);
            low[len] = '\0';
            if (!search_is_stopword(low, len) && !known_word(ix, low)) {
                if (!ix->lex_tried) load_lexicon(ix);
                use = spell_nearest(ix->lex, s, len, rep, sizeof rep);
            }
        }
        size_t rl = use ? strlen(rep) : len;
        if (o + rl + (qlen - (size_t)(p - query)) >= cap) return 0;
        if (use) {
            memcpy(out + o, rep, rl);
            if (isupper((unsigned char)s[0])) out[o] = (char)toupper((unsigned char)out[o]);
            fixed++;
        } else {
            memcpy(out + o, s, len);
        }
        o += rl;
    }
    out[o] = '\0';
    return fixed;
}

int search_index_title_name(search_index *ix, const char *word, size_t len) {
    pthread_mutex_lock(&ix->mu);
    if (!ix->lex_tried) load_lexicon(ix);
    int r = spell_is_name(ix->lex, word, len);
    pthread_mutex_unlock(&ix->mu);
    return r;
}

int search_index_query(search_index *ix, const char *query, int k, int snippet_tokens, int timeout_ms,
                       search_hit *hits, int *n, tf_error *err) {
    *n = 0;
    if (k <= 0) return TF_OK;
    char expr[SEARCH_MAX_TERMS * (SEARCH_MAX_TERM_BYTES + 6) + 1];
    if (search_match_expr(query, expr, sizeof expr) == 0) return TF_OK;
    if (snippet_tokens > 64) snippet_tokens = 64;
    pthread_mutex_lock(&ix->mu);
    ix->deadline = timeout_ms > 0 ? tf_time_s() + timeout_ms / 1000.0 : 0;
    char fixed[SEARCH_MAX_QUERY_BYTES];
    if (correct_query(ix, query, fixed, sizeof fixed) > 0) {
        query = fixed;
        search_match_expr(query, expr, sizeof expr);
    }
    search_hit first;
    int found = 0;
    int rc = exact_title(ix, query, snippet_tokens, timeout_ms, &first, &found, err);
    if (!rc && found) {  // first, then the BM25 ranking without it (its BM25 score when it is there)
        search_hit *all = calloc((size_t)k + 1, sizeof *all);
        int na = 0;
        if (!all) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        else rc = run_query(ix, ix->q, expr, k + 1, snippet_tokens, timeout_ms, all, &na, err);
        hits[(*n)++] = first;
        for (int i = 0; !rc && i < na; i++) {
            if (all[i].rowid == first.rowid) {
                hits[0].score = all[i].score;
            } else if (*n < k) {
                hits[(*n)++] = all[i];
                memset(&all[i], 0, sizeof all[i]);
            }
        }
        if (all) search_hits_free(all, na);
        free(all);
    } else if (!rc) {
        rc = run_query(ix, ix->q, expr, k, snippet_tokens, timeout_ms, hits, n, err);
    }
    ix->deadline = 0;
    pthread_mutex_unlock(&ix->mu);
    if (rc) {
        search_hits_free(hits, *n);
        *n = 0;
    }
    return rc;
}
