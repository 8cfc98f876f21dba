// corpus.c — documents from JSONL ({"id", "text", "date"}) or plain text (blank-line separated).
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tf_pipeline.h"

struct tf_corpus {
    FILE *f;
    char *path;
    int jsonl, is_stdin;
    uint64_t consumed, hash;  // bytes read so far and their FNV-1a hash (the run's identity)
    long line, index;
    char *buf;    // getline buffer
    size_t cap;
    char *text;   // the current document's text (plain mode) or strings owned by json
    cJSON *json;
    char id[32];
};

static void hash_bytes(tf_corpus *c, const char *s, size_t n, size_t consumed) {
    for (size_t i = 0; i < n; i++) c->hash = (c->hash ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    c->consumed += consumed;
}

// Reads one line into c->buf (tf_read_line) and adds it to the running hash.
static long read_line(tf_corpus *c, size_t *got, int *too_long) {
    long len = tf_read_line(c->f, &c->buf, &c->cap, TF_MAX_DOCUMENT_BYTES, got, too_long);
    if (len >= 0) hash_bytes(c, c->buf, *got, (size_t)len);
    return len;
}

tf_corpus *tf_corpus_open(const char *path, tf_error *err) {
    tf_corpus *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    c->hash = 0xcbf29ce484222325ULL;
    struct stat st;
    c->is_stdin = !strcmp(path, "-");
    if (!c->is_stdin && stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode) ||
                                                (S_ISCHR(st.st_mode) && strncmp(path, "/dev/std", 8) &&
                                                 strncmp(path, "/dev/fd/", 8) && strncmp(path, "/proc/self/fd/", 14)))) {
        tf_errorf(err, TF_EBADARG, "%s is %s, not a corpus: give a JSONL or plain-text file (or - for stdin)", path,
                  S_ISDIR(st.st_mode) ? "a directory" : "a device");
        free(c->path);
        free(c);
        return NULL;
    }
    c->f = c->is_stdin ? stdin : fopen(path, "r");
    if (!c->f) {
        tf_errorf(err, TF_EIO, "%s: cannot open: %s", path, strerror(errno));
        free(c->path);
        free(c);
        return NULL;
    }
    // The format from the first character that is not white space (or a UTF-8 byte order mark),
    // read once: the corpus may be a stream (a pipe, a FIFO, stdin) that cannot be read again.
    int ch, pos = 0;
    static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};
    while ((ch = fgetc(c->f)) != EOF) {
        char b = (char)ch;
        if (pos < 3 && (unsigned char)ch == BOM[pos]) {
            pos++;
            hash_bytes(c, &b, 1, 1);
            continue;
        }
        if (pos > 0 && pos < 3) break;  // a partial mark: not a BOM, read it as text
        pos = 3;
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') break;
        if (ch == '\n') c->line++;
        hash_bytes(c, &b, 1, 1);
    }
    c->jsonl = ch == '{';
    if (ch != EOF) ungetc(ch, c->f);
    return c;
}

void tf_corpus_read_so_far(const tf_corpus *c, uint64_t *bytes, uint64_t *hash) {
    *bytes = c->consumed;
    *hash = c->hash;
}

void tf_corpus_close(tf_corpus *c) {
    if (!c) return;
    if (!c->is_stdin) fclose(c->f);
    cJSON_Delete(c->json);
    free(c->buf);
    free(c->text);
    free(c->path);
    free(c);
}

static const char *str_field(cJSON *j, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tf_corpus_next(tf_corpus *c, tf_document *doc, long *index, tf_error *err) {
    cJSON_Delete(c->json);
    c->json = NULL;
    free(c->text);
    c->text = NULL;
    ssize_t len;
    size_t got;
    int too_long;
    if (c->jsonl) {
        while ((len = read_line(c, &got, &too_long)) >= 0) {
            c->line++;
            if (too_long) {  // passed over, not parsed
                snprintf(c->id, sizeof c->id, "%ld", c->index);
                *doc = (tf_document){c->id, "", NULL, (size_t)len};
                *index = c->index++;
                return 1;
            }
            if (strspn(c->buf, " \t\r\n") == got) continue;
            if (strlen(c->buf) < got) {
                tf_errorf(err, TF_EBADFILE, "%s:%ld: a raw NUL byte at column %zu (JSON text cannot hold one; "
                          "write \\u0000)", c->path, c->line, strlen(c->buf) + 1);
                return -1;
            }
            c->json = cJSON_ParseWithLength(c->buf, got);
            if (!c->json) {
                const char *sur = strstr(c->buf, "\\ud");
                if (!sur) sur = strstr(c->buf, "\\uD");
                if (sur && strchr("89abAB" "cdefCDEF", sur[3]))
                    tf_errorf(err, TF_EBADFILE, "%s:%ld: invalid JSON: a lone UTF-16 surrogate escape near column "
                              "%ld (\\uD800-\\uDFFF must come in pairs)", c->path, c->line, (long)(sur - c->buf) + 1);
                else
                    tf_errorf(err, TF_EBADFILE, "%s:%ld: invalid JSON near column %ld", c->path, c->line,
                              cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - c->buf) + 1 : 1L);
                return -1;
            }
            const char *text = str_field(c->json, "text");
            if (!cJSON_IsObject(c->json) || !text) {
                tf_errorf(err, TF_EBADFILE, "%s:%ld: expected a JSON object with a \"text\" string", c->path, c->line);
                return -1;
            }
            cJSON *date = cJSON_GetObjectItemCaseSensitive(c->json, "date");
            if (date && !cJSON_IsNull(date) && !cJSON_IsString(date)) {
                tf_errorf(err, TF_EBADFILE, "%s:%ld: \"date\" must be a \"YYYY-MM-DD\" string", c->path, c->line);
                return -1;
            }
            snprintf(c->id, sizeof c->id, "%ld", c->index);
            const char *id = str_field(c->json, "id");
            *doc = (tf_document){id ? id : c->id, text, str_field(c->json, "date"), 0};
            *index = c->index++;
            return 1;
        }
        if (ferror(c->f)) {
            tf_errorf(err, TF_EIO, "%s: read error after line %ld", c->path, c->line);
            return -1;
        }
        return 0;
    }
    // plain text: a document is a run of non-blank lines
    size_t n = 0, cap = 0, total = 0;
    while ((len = read_line(c, &got, &too_long)) >= 0) {
        c->line++;
        int blank = !too_long && strspn(c->buf, " \t\r\n") == got;
        if (blank) {
            if (total) break;
            continue;
        }
        total += (size_t)len;
        if (total > TF_MAX_DOCUMENT_BYTES) {  // too long: read on to its end without keeping it
            free(c->text);
            c->text = NULL;
            n = cap = 0;
            continue;
        }
        if (n + (size_t)len + 1 > cap) {
            cap = 2 * (n + (size_t)len + 1);
            char *t = realloc(c->text, cap);
            if (!t) {
                tf_errorf(err, TF_ENOMEM, "out of memory");
                return -1;
            }
            c->text = t;
        }
        memcpy(c->text + n, c->buf, (size_t)len);
        n += (size_t)len;
        c->text[n] = '\0';
    }
    if (ferror(c->f)) {
        tf_errorf(err, TF_EIO, "%s: read error after line %ld", c->path, c->line);
        return -1;
    }
    if (!total) return 0;
    snprintf(c->id, sizeof c->id, "%ld", c->index);
    if (total > TF_MAX_DOCUMENT_BYTES) {
        *doc = (tf_document){c->id, "", NULL, total};
        *index = c->index++;
        return 1;
    }
    while (n && (c->text[n - 1] == '\n' || c->text[n - 1] == '\r')) c->text[--n] = '\0';
    *doc = (tf_document){c->id, c->text, NULL, 0};
    *index = c->index++;
    return 1;
}
